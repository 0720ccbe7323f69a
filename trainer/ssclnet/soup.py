"""Uniform weight soup (Wortsman et al. 2022, "Model soups"): one classifier whose weights are the mean of
several classifiers fine-tuned from the same pretrained encoder with different seeds.

Why a soup and not an ensemble: the viewer pays one forward pass per slice either way, so the soup's gain (often
above its best ingredient, when the ingredients share a pretrained start and so one loss basin) is free at
inference. Averaging is only meaningful for such ingredients, so checkpoints with another encoder start, other
classes or other preprocessing are refused. BatchNorm statistics are averaged like the weights (as the EMA in
`ssclnet finetune --ema` does); they then need not match the averaged weights' activations: the soup of two
seeds in docs/results.md (issue 15, round 6) came out less confident than either (NLL up, fitted T < 1).
`recompute_batchnorm` is the known remedy (SWA's `update_bn`, Izmailov et al. 2018): one pass over training images
re-estimates every BatchNorm layer's statistics for the averaged weights (`ssclnet soup --bn-split`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from .checkpoint import load_checkpoint
from .data import file_sha256
from .errors import InputError

# What identifies a run's starting point and task; ingredients must agree on all of it.
_SAME_ARGS = ("init", "encoder", "image_size")
# Training state of one run that means nothing for an average.
_RUN_STATE = ("optimizer", "scheduler", "rng", "raw_model", "ema_updates")


def average_checkpoints(paths: Sequence[str | Path]) -> dict[str, Any]:
    """A finetune checkpoint whose `model` is the element-wise mean of the given checkpoints' models.

    The first checkpoint's other fields (classes, preprocess, args, pretraining, ...) are kept; `soup` lists every
    ingredient (path, SHA-256, seed, epoch, validation figures) and `epoch` is None (no one run's epoch)."""
    if len(paths) < 2:
        raise InputError(f"soup: give at least two checkpoints to average (got {len(paths)})")
    ckpts = [load_checkpoint(p, "finetune") for p in paths]
    first, first_path = ckpts[0], paths[0]
    for ckpt, path in zip(ckpts[1:], paths[1:]):
        _check_compatible(first, first_path, ckpt, path)
    soup = {k: v for k, v in first.items() if k not in _RUN_STATE}
    soup["model"] = _mean_state([c["model"] for c in ckpts])
    soup["epoch"] = None
    soup["soup"] = [_ingredient(c, p) for c, p in zip(ckpts, paths)]
    return soup


def recompute_batchnorm(soup: dict[str, Any], images: torch.Tensor, batch_size: int = 128) -> None:
    """Replace the soup's BatchNorm running statistics by their plain mean over `images` (preprocessed, un-augmented:
    the inputs the model will see), computed with the averaged weights; nothing else changes."""
    from torch.optim.swa_utils import update_bn  # runs without gradients, resets and re-averages every BatchNorm

    from .evaluation import classifier_from_checkpoint

    if len(images) == 0:
        raise InputError("soup: no images to recompute the BatchNorm statistics on")
    model = classifier_from_checkpoint(soup)
    update_bn((chunk.float() for chunk in images.split(batch_size)), model)
    soup["model"] = {k: v.clone() for k, v in model.state_dict().items()}
    soup["batchnorm_recomputed_on"] = len(images)


def _check_compatible(a: dict, a_path, b: dict, b_path) -> None:
    def differs(what: str, x, y) -> InputError:
        return InputError(
            f"soup: {b_path} has another {what} than {a_path} ({y!r} vs {x!r}); only runs fine-tuned "
            "from one pretrained start on one task can be averaged"
        )

    if list(a["classes"]) != list(b["classes"]):
        raise differs("class list", a["classes"], b["classes"])
    if a.get("preprocess") != b.get("preprocess"):
        raise differs("preprocessing", a.get("preprocess"), b.get("preprocess"))
    args_a, args_b = a.get("args") or {}, b.get("args") or {}
    for key in _SAME_ARGS:
        if args_a.get(key) != args_b.get(key):
            raise differs(f"--{key.replace('_', '-')}", args_a.get(key), args_b.get(key))
    if a["model"].keys() != b["model"].keys():
        raise differs("set of weights", sorted(a["model"])[:3], sorted(b["model"])[:3])
    for k, v in a["model"].items():
        if v.shape != b["model"][k].shape:
            raise differs(f"shape of {k}", tuple(v.shape), tuple(b["model"][k].shape))


def _mean_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in states[0].items():
        if v.is_floating_point():
            # float64 sum: the mean of float16/float32 weights is not rounded twice
            out[k] = (sum(s[k].double() for s in states) / len(states)).to(v.dtype)
        else:  # BatchNorm's num_batches_tracked: a count, not a weight
            out[k] = max(s[k] for s in states).clone()
    return out


def _ingredient(ckpt: dict, path) -> dict[str, Any]:
    best = (ckpt.get("metrics") or {}).get("best") or {}
    return {
        "path": str(path),
        "sha256": file_sha256(path),
        "seed": (ckpt.get("args") or {}).get("seed"),
        "epoch": ckpt.get("epoch"),
        "validation": {k: best[k] for k in ("epoch", "val_acc", "val_loss") if k in best} or None,
    }
