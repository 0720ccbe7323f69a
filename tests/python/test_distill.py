"""`ssclnet finetune --distill-from`: SimCLR v2's distillation step. The loss is the cross-entropy of the
student's tempered distribution against the teacher's; the unlabeled rows' labels are never read; a teacher of
other classes or preprocessing is refused before anything is trained."""

import csv
import math

import pytest
import torch
import torch.nn.functional as F
from conftest import FIXTURE

from ssclnet.checkpoint import load_checkpoint
from ssclnet.cli import main
from ssclnet.evaluation import load_classifier
from ssclnet.finetuning import MeanTeacher
from ssclnet.losses import distillation_loss

MANIFEST = FIXTURE / "manifest.csv"
COMMON = ["--epochs", "1", "--batch-size", "16", "--image-size", "32", "--quiet", "--no-tensorboard"]


@pytest.mark.parametrize("t", [1.0, 2.0, 4.0])
def test_loss_is_soft_cross_entropy_and_smallest_at_the_teacher(t):
    g = torch.Generator().manual_seed(5)
    teacher = torch.randn(6, 4, generator=g, dtype=torch.float64)
    student = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    p = F.softmax(teacher / t, 1)
    direct = -(p * F.log_softmax(student / t, 1)).sum(1).mean() * t * t
    assert distillation_loss(student, teacher, t).item() == pytest.approx(direct.item(), rel=1e-6)
    # its gradient is (softmax(s/T) - softmax(t/T)) * T / N: zero where the student matches the teacher
    (grad,) = torch.autograd.grad(distillation_loss(student, teacher, t), student)
    torch.testing.assert_close(grad, (F.softmax(student / t, 1) - p).detach() * t / 6, rtol=1e-5, atol=1e-7)
    at_teacher = teacher.clone().requires_grad_(True)
    (zero,) = torch.autograd.grad(distillation_loss(at_teacher, teacher, t), at_teacher)
    assert zero.abs().max().item() < 1e-6  # (computed in float32)
    entropy = -(p * p.log()).sum(1).mean().item() * t * t
    assert distillation_loss(teacher, teacher, t).item() == pytest.approx(entropy, rel=1e-6)


def test_one_hot_teacher_gives_the_cross_entropy_of_its_labels():
    g = torch.Generator().manual_seed(1)
    student = torch.randn(8, 4, generator=g)
    labels = torch.randint(0, 4, (8,), generator=g)
    teacher = F.one_hot(labels, 4).float() * 1e4
    assert distillation_loss(student, teacher).item() == pytest.approx(
        F.cross_entropy(student, labels).item(), rel=1e-5
    )


def finetune(out, *extra: str, data=MANIFEST, train: str = "val", val: str = "test") -> int:
    return main(
        ["finetune", "--data", str(data), "--out", str(out), "--train-split", train, "--val-split", val, *extra]
    )


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    out = tmp_path_factory.mktemp("teacher") / "t"
    assert finetune(out, *COMMON) == 0
    return out / "best.pt"


def _manifest(tmp_path, name: str, relabel) -> str:
    """The fixture manifest (absolute paths) with relabel(rows) applied."""
    rows = list(csv.DictReader(MANIFEST.open()))
    for r in rows:
        r["file"] = str((MANIFEST.parent / r["file"]).resolve())
    relabel(rows)
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return str(path)


def _student(data, out, teacher, alpha: str = "0.5", view: str = "clean") -> dict:
    extra = ["--distill-from", str(teacher), "--distill-split", "train", "--distill-weight", alpha, "--seed", "3"]
    extra += ["--teacher-view", view]
    assert finetune(out, *extra, *COMMON, data=data) == 0
    return load_checkpoint(out / "last.pt", "finetune")


@pytest.mark.parametrize("label", ["", "not-a-class"])
def test_student_runs_without_reading_unlabeled_labels_and_records_its_teacher(teacher, tmp_path, label):
    """The `train` rows are the student's unlabeled set here: blank or unknown labels there change nothing."""

    def relabel(rows):
        for r in rows:
            if r["split"] == "train":
                r["label"] = label

    ckpt = _student(_manifest(tmp_path, "m.csv", relabel), tmp_path / "student", teacher)
    assert ckpt["data_summary"]["distill"]["slices"] == 32
    assert ckpt["data_summary"]["distill"]["teacher"] == str(teacher)
    data = ckpt["run"]["data"]
    assert data["distill"]["rows"] == 32 and [len(h) for h in data["teacher"]["sha256"]] == [64]
    assert data["teacher"]["weight"] == 0.5 and data["teacher"]["temperature"] == 1.0
    assert ckpt["args"]["distill_from"] == str(teacher)
    assert all(math.isfinite(h["train_loss"]) for h in ckpt["metrics"]["history"])


@pytest.mark.parametrize("view", ["clean", "augmented"])
def test_alpha_one_learns_from_the_teacher_alone_and_alpha_half_from_both(teacher, tmp_path, view):
    """With alpha = 1 the labeled rows' labels drop out of the loss: permuting them changes nothing, while a
    different teacher changes the student; with alpha = 0.5 the labels count."""

    def rotate_labels(rows):
        labeled = [r for r in rows if r["split"] == "val"]
        labels = [r["label"] for r in labeled]
        for r, lab in zip(labeled, labels[1:] + labels[:1]):
            r["label"] = lab

    right, wrong = str(MANIFEST), _manifest(tmp_path, "wrong.csv", rotate_labels)
    assert finetune(tmp_path / "t2", "--seed", "9", *COMMON) == 0
    other = tmp_path / "t2" / "best.pt"
    key = "classifier.weight"

    def weights(data, name, t, alpha):
        return _student(data, tmp_path / name, t, alpha, view)["model"][key]

    right1 = weights(right, "r1", teacher, "1")
    torch.testing.assert_close(right1, weights(wrong, "w1", teacher, "1"), rtol=0, atol=0)
    assert not torch.equal(right1, weights(right, "o1", other, "1"))
    assert not torch.equal(weights(right, "r5", teacher, "0.5"), weights(wrong, "w5", teacher, "0.5"))


def test_several_teachers_answer_with_their_mean_probabilities(teacher, tmp_path):
    assert finetune(tmp_path / "t2", "--seed", "9", *COMMON) == 0
    other = tmp_path / "t2" / "best.pt"
    members = [load_classifier(p)[0].eval() for p in (teacher, other)]
    x = torch.randn(5, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        mean = (members[0](x).softmax(1) + members[1](x).softmax(1)) / 2
        torch.testing.assert_close(MeanTeacher(members)(x).exp(), mean)
        torch.testing.assert_close(MeanTeacher(members[:1])(x), members[0](x).log_softmax(1), rtol=1e-5, atol=1e-6)
    ckpt = _student(str(MANIFEST), tmp_path / "s", f"{teacher},{other}")
    assert [len(h) for h in ckpt["run"]["data"]["teacher"]["sha256"]] == [64, 64]
    assert ckpt["run"]["data"]["teacher"]["view"] == "clean"


def test_plain_finetuning_has_no_teacher_in_its_identity(teacher):
    run = load_checkpoint(teacher, "finetune")["run"]
    assert "teacher" not in run["data"] and "distill" not in run["data"]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--image-size", "64", "--distill-from", "TEACHER"], "preprocessing"),
        (["--image-size", "32", "--distill-from", "MISSING"], "no such file"),
        (["--image-size", "32", "--distill-from", "TEACHER", "--distill-weight", "2"], "--distill-weight"),
        (["--image-size", "32", "--distill-from", "TEACHER", "--classes", "a,b,c,d"], "teacher's classes"),
    ],
)
def test_a_teacher_that_does_not_fit_is_refused_and_nothing_is_written(teacher, tmp_path, capsys, extra, message):
    extra = [{"TEACHER": str(teacher), "MISSING": str(tmp_path / "no.pt")}.get(a, a) for a in extra]
    out = tmp_path / "s"
    assert finetune(out, *extra, "--distill-split", "train", "--epochs", "1", "--quiet", "--no-tensorboard") == 2
    assert message in capsys.readouterr().err and not (out / "best.pt").exists() and not (out / "last.pt").exists()


def test_unlabeled_rows_that_are_test_rows_are_refused(teacher, tmp_path, capsys):
    out = tmp_path / "leak"
    assert finetune(out, "--distill-from", str(teacher), "--distill-split", "test", *COMMON, val="train") == 2
    assert "test" in capsys.readouterr().err and not (out / "best.pt").exists()


def test_the_model_card_names_the_teachers(teacher, tmp_path):
    import json

    _student(str(MANIFEST), tmp_path / "s", teacher)
    out = tmp_path / "model"
    assert main(["export", "--checkpoint", str(tmp_path / "s" / "best.pt"), "--out", str(out), "--version", "t1"]) == 0
    card = json.loads((out / "model-card.json").read_text())
    distillation = card["training"]["distillation"]
    assert distillation["teachers"] == [{"checkpoint": str(teacher), "sha256": distillation["teachers"][0]["sha256"]}]
    assert len(distillation["teachers"][0]["sha256"]) == 64 and distillation["unlabeled_rows"] == 32
    assert distillation["view"] == "clean" and distillation["weight"] == 0.5


def test_distill_rows_unlabeled_leaves_labeled_rows_to_their_labels(teacher, tmp_path):
    """The distill split here is the labeled split itself, so no row is unlabeled: with --distill-rows unlabeled
    the teacher has nothing to say (two teachers, one student), with all it does."""
    assert finetune(tmp_path / "t2", "--seed", "9", *COMMON) == 0
    other = str(tmp_path / "t2" / "best.pt")

    def student(name, t, rows):
        extra = ["--distill-from", t, "--distill-split", "val", "--distill-rows", rows, "--seed", "3"]
        assert finetune(tmp_path / name, *extra, *COMMON) == 0
        return load_checkpoint(tmp_path / name / "last.pt", "finetune")["model"]["classifier.weight"]

    torch.testing.assert_close(
        student("u1", str(teacher), "unlabeled"), student("u2", other, "unlabeled"), rtol=0, atol=0
    )
    assert not torch.equal(student("a1", str(teacher), "all"), student("a2", other, "all"))


@pytest.mark.parametrize("rows, expected", [("split", 16), ("all", 48), ("unlabeled", 0)])
def test_distill_rows_split_puts_the_teacher_on_its_split_alone(teacher, tmp_path, monkeypatch, rows, expected):
    """Training on the 32 `train` and 16 `val` rows with --distill-split val: the teacher's term sees each `val`
    row once an epoch with `split`, every row with `all`, none with `unlabeled` (every row is labeled)."""
    import ssclnet.finetuning as ft

    seen = []

    def counting(student, teacher_logits, temperature=1.0):
        seen.append(len(student))
        return distillation_loss(student, teacher_logits, temperature)

    monkeypatch.setattr(ft, "distillation_loss", counting)
    extra = ["--distill-from", str(teacher), "--distill-split", "val", "--distill-rows", rows, "--seed", "3"]
    assert finetune(tmp_path / rows, *extra, *COMMON, train="train,val") == 0
    assert sum(seen) == expected
    ckpt = load_checkpoint(tmp_path / rows / "last.pt", "finetune")
    assert ckpt["run"]["data"]["teacher"].get("rows", "all") == rows


def test_distill_mask_marks_the_named_splits_and_the_teachers_own_rows():
    from ssclnet.data import ImageSet
    from ssclnet.finetuning import FinetuneConfig, _distill_mask

    labeled = ImageSet(
        torch.zeros(4, 1, 2, 2),
        ["glioma"] * 4,
        ["a", "b", "c", "d"],
        splits=["train", "unlabeled", "wholehead", "train"],
    )
    cfg = FinetuneConfig(distill_rows="split", distill_split="train,unlabeled")
    assert _distill_mask(cfg, labeled, 6).tolist() == [True, True, False, True, True, True]
    cfg = FinetuneConfig(distill_rows="unlabeled", distill_split="train,unlabeled")
    assert _distill_mask(cfg, labeled, 6).tolist() == [False, False, False, False, True, True]
