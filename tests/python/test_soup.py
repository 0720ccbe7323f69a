"""`ssclnet soup`: the average of two fine-tuned runs of one start is a checkpoint the other commands read;
runs that do not share a start, classes or preprocessing are refused, and nothing is written then."""

import pytest
import torch
from conftest import FIXTURE

from ssclnet.checkpoint import load_checkpoint, save_checkpoint
from ssclnet.cli import main

MANIFEST = str(FIXTURE / "manifest.csv")


def finetune(out, seed: int) -> str:
    args = ["finetune", "--data", MANIFEST, "--out", str(out), "--epochs", "1", "--train-split", "val"]
    args += ["--val-split", "test", "--batch-size", "16", "--image-size", "32", "--seed", str(seed)]
    assert main([*args, "--quiet", "--no-tensorboard"]) == 0
    return str(out / "best.pt")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("soup")
    return finetune(root / "s0", 0), finetune(root / "s1", 1)


def test_soup_is_the_mean_and_reads_as_a_checkpoint(runs, tmp_path, capsys):
    out = tmp_path / "soup.pt"
    assert main(["soup", *runs, "--out", str(out), "--data", MANIFEST, "--split", "test"]) == 0
    table = capsys.readouterr().out
    assert table.count("\n") >= 5 and "soup" in table and "test of" in table
    a, b = (load_checkpoint(p) for p in runs)
    soup = load_checkpoint(out, "finetune")
    w = "classifier.weight"
    assert not torch.equal(a["model"][w], b["model"][w])  # two seeds: two different models
    for key in (w, "encoder.conv1.weight", "encoder.bn1.running_var"):
        torch.testing.assert_close(soup["model"][key], (a["model"][key] + b["model"][key]) / 2)
    assert [i["seed"] for i in soup["soup"]] == [0, 1] and all(len(i["sha256"]) == 64 for i in soup["soup"])
    assert "optimizer" not in soup and soup["classes"] == a["classes"]
    assert main(["evaluate", "--checkpoint", str(out), "--data", MANIFEST, "--out", str(tmp_path / "ev")]) == 0


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c.update(classes=list(reversed(c["classes"]))), "class list"),
        (lambda c: c["args"].update(init="another-encoder.pt"), "--init"),
        (lambda c: c["preprocess"].update(input_size=64), "preprocessing"),
    ],
)
def test_runs_of_another_start_or_task_are_refused(runs, tmp_path, capsys, change, message):
    other = load_checkpoint(runs[1])
    change(other)
    save_checkpoint(other, tmp_path / "other.pt")
    out = tmp_path / "soup.pt"
    assert main(["soup", runs[0], str(tmp_path / "other.pt"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "can be averaged" in err
    assert not out.exists()


def test_one_checkpoint_or_an_existing_out_is_refused(runs, tmp_path, capsys):
    out = tmp_path / "soup.pt"
    assert main(["soup", runs[0], "--out", str(out)]) == 2
    assert "at least two" in capsys.readouterr().err and not out.exists()
    out.write_bytes(b"keep")
    assert main(["soup", *runs, "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err and out.read_bytes() == b"keep"
    assert main(["soup", *runs, "--out", str(out), "--force"]) == 0
    assert load_checkpoint(out)["epoch"] is None


def test_bn_split_recomputes_the_batchnorm_statistics_for_the_averaged_weights(runs, tmp_path, capsys):
    out = tmp_path / "soup-bn.pt"
    assert main(["soup", *runs, "--out", str(out), "--bn-data", MANIFEST, "--bn-split", "val"]) == 0
    assert "BatchNorm statistics recomputed on" in capsys.readouterr().out
    a, b = (load_checkpoint(p) for p in runs)
    soup = load_checkpoint(out, "finetune")
    for key in ("classifier.weight", "encoder.conv1.weight", "encoder.bn1.weight"):  # weights: still the mean
        torch.testing.assert_close(soup["model"][key], (a["model"][key] + b["model"][key]) / 2)
    # the first BatchNorm's running mean is now the mean of its input (conv1 of the averaged weights) over the
    # val images, which the averaged statistics were not
    from ssclnet.data import load_dataset
    from ssclnet.preprocess import PreprocessSpec

    images = load_dataset(MANIFEST, "val", PreprocessSpec.from_dict(soup["preprocess"])).images.float()
    assert len(images) <= 128  # one batch: update_bn's mean of batch means is the plain mean
    conv = torch.nn.functional.conv2d(images, soup["model"]["encoder.conv1.weight"], stride=2, padding=3)
    expected = conv.mean(dim=(0, 2, 3))
    torch.testing.assert_close(soup["model"]["encoder.bn1.running_mean"], expected, rtol=1e-4, atol=1e-5)
    averaged = (a["model"]["encoder.bn1.running_mean"] + b["model"]["encoder.bn1.running_mean"]) / 2
    assert not torch.allclose(averaged, expected, atol=1e-3)
    assert soup["batchnorm_recomputed_on"] == len(images)


def test_bn_split_without_a_manifest_is_refused(runs, tmp_path, capsys):
    out = tmp_path / "soup.pt"
    assert main(["soup", *runs, "--out", str(out), "--bn-split", "train"]) == 2
    assert "--bn-data" in capsys.readouterr().err and not out.exists()
