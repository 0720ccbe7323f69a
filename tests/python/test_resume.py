"""A run killed part-way and resumed with --resume ends in the same state as one that never stopped."""

import re

import pytest
import torch
from conftest import FIXTURE

from ssclnet.checkpoint import load_checkpoint
from ssclnet.finetuning import FinetuneConfig, run_finetune
from ssclnet.pretraining import PretrainConfig, run_pretrain

MANIFEST = str(FIXTURE / "manifest.csv")


class Killed(Exception):
    pass


def kill_at(epoch: int, step: int):
    """A hook that stops the run mid-epoch, after the previous epoch's checkpoint, like a SIGKILL would."""

    def hook(event: str, e: int, s: int) -> None:
        if event == "step" and (e, s) == (epoch, step):
            raise Killed()

    return hook


def assert_same_state(a: dict, b: dict) -> None:
    assert a["epoch"] == b["epoch"]
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=1e-6, msg=k)
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    for i in sa:
        for name in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(sa[i][name], sb[i][name], rtol=1e-5, atol=1e-9)
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]


def test_pretrain_resume_equals_uninterrupted(tmp_path):
    # 16 images, batch 8: 2 steps per epoch; the kill falls after the first step of epoch 2.
    cfg = dict(
        data=MANIFEST,
        split="val",
        epochs=2,
        batch_size=8,
        image_size=32,
        lr=1e-3,
        warmup_epochs=1,
        monitor_every=0,
        tensorboard=False,
        quiet=True,
        seed=4,
        deterministic=True,
    )
    run_pretrain(PretrainConfig(out=str(tmp_path / "straight"), **cfg))
    with pytest.raises(Killed):
        run_pretrain(PretrainConfig(out=str(tmp_path / "killed"), **cfg), hook=kill_at(epoch=1, step=0))
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1  # epoch 2 was lost mid-way
    run_pretrain(PretrainConfig(out=str(tmp_path / "killed"), resume=True, **cfg))
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert_same_state(a, b)
    assert [h["loss"] for h in a["metrics"]["history"]] == pytest.approx(
        [h["loss"] for h in b["metrics"]["history"]], rel=1e-6
    )


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_finetune_resume_equals_uninterrupted(tmp_path, ema):
    cfg = dict(
        ema=ema,
        data=MANIFEST,
        train_split="val",
        val_split="test",
        epochs=2,
        batch_size=8,
        image_size=32,
        tensorboard=False,
        quiet=True,
        seed=2,
        patience=100,
        deterministic=True,
    )
    run_finetune(FinetuneConfig(out=str(tmp_path / "straight"), **cfg))
    with pytest.raises(Killed):
        run_finetune(FinetuneConfig(out=str(tmp_path / "killed"), **cfg), hook=kill_at(epoch=1, step=0))
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1
    run_finetune(FinetuneConfig(out=str(tmp_path / "killed"), resume=True, **cfg))
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert_same_state(a, b)
    assert a["metrics"]["best"]["epoch"] == b["metrics"]["best"]["epoch"]
    best_a, best_b = (
        load_checkpoint(tmp_path / "straight" / "best.pt"),
        load_checkpoint(tmp_path / "killed" / "best.pt"),
    )
    for k in best_a["model"]:
        torch.testing.assert_close(best_a["model"][k], best_b["model"][k], rtol=0, atol=1e-6)
    if ema:
        # The averaged weights are what the run validates and writes; the raw ones travel only for --resume.
        for k in a["raw_model"]:
            torch.testing.assert_close(a["raw_model"][k], b["raw_model"][k], rtol=0, atol=1e-6, msg=k)
        assert a["ema_updates"] == b["ema_updates"] == 4
        w = "classifier.weight"
        assert not torch.allclose(a["model"][w], a["raw_model"][w])


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    from ssclnet import checkpoint

    target = tmp_path / "last.pt"
    checkpoint.save_checkpoint({"kind": "pretrain", "model": {}, "epoch": 1}, target)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", boom)
    with pytest.raises(OSError):
        checkpoint.save_checkpoint({"kind": "pretrain", "model": {}, "epoch": 2}, target)
    assert torch.load(target, weights_only=False)["epoch"] == 1  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # and no temp file is left behind


# --- issue 17 items 9, 10, 12: a run folder holds one run; resume only what it holds, with its settings --------

FT = dict(
    data=MANIFEST,
    train_split="val",
    val_split="test",
    epochs=1,
    batch_size=8,
    image_size=32,
    tensorboard=False,
    quiet=True,
    seed=2,
    patience=100,
)
PT = dict(
    data=MANIFEST,
    split="val",
    epochs=1,
    batch_size=8,
    image_size=32,
    warmup_epochs=0,
    monitor_every=0,
    tensorboard=False,
    quiet=True,
    seed=4,
)


def test_an_existing_run_is_not_overwritten_without_force(tmp_path, capsys):
    from ssclnet.cli import main

    out = tmp_path / "ft"
    run_finetune(FinetuneConfig(out=str(out), **FT))
    before = (out / "last.pt").read_bytes()
    with pytest.raises(SystemExit, match=r"already holds a run .*--resume.*--force"):
        run_finetune(FinetuneConfig(out=str(out), **FT))
    assert (out / "last.pt").read_bytes() == before
    args = [
        "finetune",
        "--data",
        MANIFEST,
        "--train-split",
        "val",
        "--val-split",
        "test",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--image-size",
        "32",
        "--quiet",
        "--no-tensorboard",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ssclnet finetune: ") and len(err.splitlines()) == 1 and "Traceback" not in err
    assert main([*args, "--force", "--seed", "9"]) == 0
    assert load_checkpoint(out / "last.pt")["args"]["seed"] == 9
    assert main([*args, "--force", "--resume"]) == 2  # contradictory

    pt = tmp_path / "pt"
    run_pretrain(PretrainConfig(out=str(pt), **PT))
    with pytest.raises(SystemExit, match="already holds a run"):
        run_pretrain(PretrainConfig(out=str(pt), **PT))


def test_resume_needs_a_checkpoint(tmp_path):
    for run, cfg in ((run_finetune, FinetuneConfig), (run_pretrain, PretrainConfig)):
        base = FT if cfg is FinetuneConfig else PT
        out = tmp_path / cfg.__name__
        with pytest.raises(SystemExit, match=r"--resume: there is no .*last\.pt to resume"):
            run(cfg(out=str(out), resume=True, **base))
        assert not (out / "last.pt").exists()
        run(cfg(out=str(out), resume_if_exists=True, **base))  # the job-script form starts a new run
        assert load_checkpoint(out / "last.pt")["epoch"] == 1
        run(cfg(out=str(out), resume_if_exists=True, **{**base, "epochs": 2}))  # ... and continues it
        assert load_checkpoint(out / "last.pt")["epoch"] == 2


def test_resume_refuses_changed_settings_and_names_them(tmp_path):
    import csv

    out = tmp_path / "ft"
    run_finetune(FinetuneConfig(out=str(out), **FT))
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["run"]["classes"] == ["glioma", "meningioma", "notumor", "pituitary"]
    assert set(ckpt["run"]["data"]) == {"train", "val"} and len(ckpt["run"]["data"]["train"]["sha256"]) == 64
    before = (out / "last.pt").read_bytes()
    changed = [
        ({"classes": "pituitary,notumor,meningioma,glioma"}, "classes (order)"),
        ({"image_size": 48}, "input_size 32 -> 48"),
        ({"augment": False}, "augmentation"),
        ({"encoder": "frozen"}, "--encoder 'finetune' -> 'frozen'"),
        ({"lr": 0.01}, "--lr 0.001 -> 0.01"),
        ({"batch_size": 4}, "--batch-size 8 -> 4"),
        ({"train_split": "train"}, "--train-split 'val' -> 'train'"),
        ({"seed": 3}, "--seed 2 -> 3"),
    ]
    for change, named in changed:
        with pytest.raises(SystemExit) as e:
            run_finetune(FinetuneConfig(out=str(out), resume=True, **{**FT, "epochs": 2, **change}))
        assert "--resume refused" in str(e.value) and named in str(e.value), (change, str(e.value))
    # Same split names, other rows (one label changed in a copy of the manifest): the data hash differs.
    rows = list(csv.DictReader(open(MANIFEST)))
    for r in rows:
        r["file"] = str(FIXTURE / r["file"])
    first_val = next(r for r in rows if r["split"] == "val")
    rows.remove(first_val)
    other = tmp_path / "other.csv"
    with open(other, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(SystemExit, match=r"train data rows \(16 rows.*\) -> \(15 rows"):
        run_finetune(FinetuneConfig(out=str(out), resume=True, **{**FT, "data": str(other), "epochs": 2}))
    assert (out / "last.pt").read_bytes() == before  # every refusal left the run as it was
    # More epochs (and how the run executes) may change.
    run_finetune(FinetuneConfig(out=str(out), resume=True, **{**FT, "epochs": 2, "patience": 5, "workers": 0}))
    assert load_checkpoint(out / "last.pt")["epoch"] == 2

    pt = tmp_path / "pt"
    run_pretrain(PretrainConfig(out=str(pt), **PT))
    with pytest.raises(SystemExit, match=r"input_size 32 -> 64"):
        run_pretrain(PretrainConfig(out=str(pt), resume=True, **{**PT, "image_size": 64, "epochs": 2}))
    with pytest.raises(SystemExit, match=r"--temperature 0.5 -> 0.1"):
        run_pretrain(PretrainConfig(out=str(pt), resume=True, **{**PT, "temperature": 0.1, "epochs": 2}))


def test_checkpoints_of_older_runs_resume_with_their_settings_checked(tmp_path):
    out = tmp_path / "ft"
    run_finetune(FinetuneConfig(out=str(out), **FT))
    ckpt = torch.load(out / "last.pt", weights_only=False)
    del ckpt["run"]  # as written before run identities existed
    torch.save(ckpt, out / "last.pt")
    with pytest.raises(SystemExit, match=re.escape("--lr 0.001 -> 0.01")):
        run_finetune(FinetuneConfig(out=str(out), resume=True, **{**FT, "epochs": 2, "lr": 0.01}))
    run_finetune(FinetuneConfig(out=str(out), resume=True, **{**FT, "epochs": 2}))
    assert load_checkpoint(out / "last.pt")["epoch"] == 2


@pytest.mark.parametrize("damage", ["empty", "truncated", "list", "no-kind", "text", "best-not-last"])
def test_corrupt_checkpoints_give_one_line_errors(tmp_path, capsys, damage):
    from ssclnet.cli import main

    out = tmp_path / "ft"
    run_finetune(FinetuneConfig(out=str(out), **FT))
    last = out / "last.pt"
    good = last.read_bytes()
    if damage == "empty":
        last.write_bytes(b"")
    elif damage == "truncated":
        last.write_bytes(good[: len(good) // 2])
    elif damage == "list":
        torch.save([1, 2, 3], last)
    elif damage == "no-kind":
        torch.save({"model": {}}, last)
    elif damage == "text":
        last.write_text("not a checkpoint\n")
    elif damage == "best-not-last":
        last.write_bytes((out / "best.pt").read_bytes())
        ckpt = torch.load(last, weights_only=False)
        ckpt.pop("optimizer", None)
        torch.save(ckpt, last)
    base = ["--data", MANIFEST, "--image-size", "32", "--quiet"]
    commands = [
        [
            "finetune",
            *base,
            "--train-split",
            "val",
            "--val-split",
            "test",
            "--out",
            str(out),
            "--epochs",
            "2",
            "--batch-size",
            "8",
            "--seed",
            "2",
            "--patience",
            "100",
            "--no-tensorboard",
            "--resume",
        ],
        [
            "finetune",
            *base,
            "--train-split",
            "val",
            "--val-split",
            "test",
            "--out",
            str(tmp_path / "x"),
            "--epochs",
            "1",
            "--init",
            str(last),
            "--no-tensorboard",
        ],
    ]
    if damage == "best-not-last":
        commands = commands[:1]  # a fine --init and --checkpoint; only --resume needs the optimizer state
    else:
        commands.append(["evaluate", "--checkpoint", str(last), "--data", MANIFEST, "--out", str(tmp_path / "ev")])
        if damage in ("empty", "truncated", "text"):
            commands.append(["export", "--checkpoint", str(last), "--out", str(tmp_path / "ex"), "--version", "v1"])
    for argv in commands:
        assert main(argv) == 2, argv[:1]
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert str(last) in err and err.startswith(f"ssclnet {argv[0]}"), err
