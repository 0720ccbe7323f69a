"""Checkpoints: one torch.save dict, written atomically (temp file + os.replace), so a run killed at any
moment leaves either the previous checkpoint or the new one, never half of one.

Format (the export helper and `evaluate` read it): {"kind": "pretrain"|"finetune", "model": state_dict
(keys `encoder.*` + `projector.*` or `classifier.*`), "classes" (finetune), "preprocess": spec dict,
"epoch": completed epochs, "optimizer", "scheduler", "rng", "args", "metrics", "data_summary", ...}.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import torch

KINDS = ("pretrain", "finetune")


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    return _atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"checkpoint {path} does not exist")
    # weights_only=False: our own files carry numpy RNG states and argument dicts. Load only trusted files.
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or ckpt.get("kind") not in KINDS or "model" not in ckpt:
        raise SystemExit(f"{path} is not an ssclnet checkpoint (expected kind pretrain or finetune)")
    if kind is not None and ckpt["kind"] != kind:
        raise SystemExit(f"{path} is a {ckpt['kind']} checkpoint, expected {kind}")
    return ckpt


def encoder_state(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The `encoder.*` weights of a pretrain or finetune checkpoint, with the prefix removed."""
    state = {k[len("encoder."):]: v for k, v in ckpt["model"].items() if k.startswith("encoder.")}
    if not state:
        raise SystemExit("checkpoint has no encoder.* weights")
    return state


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    return _atomic_write(path, lambda f: f.write(data))


def _atomic_write(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Write through a temp file in the same folder, fsync, then os.replace: a kill leaves the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
