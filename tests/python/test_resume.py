"""A run killed part-way and resumed with --resume ends in the same state as one that never stopped."""


import pytest
import torch

from ssclnet.checkpoint import load_checkpoint
from ssclnet.finetuning import FinetuneConfig, run_finetune
from ssclnet.pretraining import PretrainConfig, run_pretrain

from conftest import FIXTURE

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
    cfg = dict(data=MANIFEST, split="val", epochs=2, batch_size=8, image_size=32, lr=1e-3,
               warmup_epochs=1, monitor_every=0, tensorboard=False, quiet=True, seed=4, deterministic=True)
    run_pretrain(PretrainConfig(out=str(tmp_path / "straight"), **cfg))
    with pytest.raises(Killed):
        run_pretrain(PretrainConfig(out=str(tmp_path / "killed"), **cfg), hook=kill_at(epoch=1, step=0))
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1  # epoch 2 was lost mid-way
    run_pretrain(PretrainConfig(out=str(tmp_path / "killed"), resume=True, **cfg))
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert_same_state(a, b)
    assert [h["loss"] for h in a["metrics"]["history"]] == pytest.approx([h["loss"] for h in b["metrics"]["history"]], rel=1e-6)


def test_finetune_resume_equals_uninterrupted(tmp_path):
    cfg = dict(data=MANIFEST, train_split="val", val_split="test", epochs=2, batch_size=8, image_size=32,
               tensorboard=False, quiet=True, seed=2, patience=100, deterministic=True)
    run_finetune(FinetuneConfig(out=str(tmp_path / "straight"), **cfg))
    with pytest.raises(Killed):
        run_finetune(FinetuneConfig(out=str(tmp_path / "killed"), **cfg), hook=kill_at(epoch=1, step=0))
    assert load_checkpoint(tmp_path / "killed" / "last.pt")["epoch"] == 1
    run_finetune(FinetuneConfig(out=str(tmp_path / "killed"), resume=True, **cfg))
    a = load_checkpoint(tmp_path / "straight" / "last.pt")
    b = load_checkpoint(tmp_path / "killed" / "last.pt")
    assert_same_state(a, b)
    assert a["metrics"]["best"]["epoch"] == b["metrics"]["best"]["epoch"]
    best_a, best_b = load_checkpoint(tmp_path / "straight" / "best.pt"), load_checkpoint(tmp_path / "killed" / "best.pt")
    for k in best_a["model"]:
        torch.testing.assert_close(best_a["model"][k], best_b["model"][k], rtol=0, atol=1e-6)


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
