"""Checkpoints: one torch.save dict, written atomically (temp file + os.replace), so a run killed at any
moment leaves either the previous checkpoint or the new one, never half of one.

Format (the export helper and `evaluate` read it): {"kind": "pretrain"|"finetune", "model": state_dict
(keys `encoder.*` + `projector.*` or `classifier.*`), "classes" (finetune), "preprocess": spec dict,
"epoch": completed epochs, "optimizer", "scheduler", "rng", "args", "metrics", "data_summary", ...}.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_write, atomic_write_bytes
from .errors import InputError

KINDS = ("pretrain", "finetune")


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    return atomic_write(path, lambda f: torch.save(obj, f))


def read_torch_file(path: str | Path, what: str = "checkpoint") -> Any:
    """torch.load of a local file, with one-line errors (InputError) for missing, empty, truncated or corrupt
    files instead of a traceback from deep inside torch/pickle/zipfile."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} {path} does not exist")
    if path.suffix == ".json":
        return _read_sharded(path, what)
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{what} {path} is empty (0 bytes): a copy or a disk that failed, not a checkpoint")
    try:
        # weights_only=False: our own files carry numpy RNG states and argument dicts. Load only trusted files.
        return torch.load(path, map_location="cpu", weights_only=False)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as e:  # truncated zip, bad pickle, not a torch file at all: all mean "this file is broken"
        reason = (str(e).strip().splitlines() or [""])[0].split(". ")[0][:120]
        raise InputError(
            f"{what} {path} ({size} bytes) is not a readable checkpoint (truncated or corrupt: "
            f"{type(e).__name__}{': ' + reason if reason else ''})"
        ) from None


SHARD_BYTES = 4 * 1024 * 1024  # committed weights stay small files (as the tfjs export's shards)


def write_sharded(obj: Any, stem: str | Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """torch.save(obj) as parts of <= SHARD_BYTES (STEM.pt.partIofN) and STEM.json naming them with the SHA-256
    of the whole; read_torch_file(STEM.json) reads it back. Each file is written atomically."""
    import hashlib
    import io
    import json

    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    stem = Path(stem)
    n = max(1, -(-len(data) // SHARD_BYTES))
    parts = [f"{stem.name}.pt.part{i + 1}of{n}" for i in range(n)]
    for i, name in enumerate(parts):
        atomic_write_bytes(stem.with_name(name), data[i * SHARD_BYTES : (i + 1) * SHARD_BYTES])
    index = {"parts": parts, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), **(extra or {})}
    atomic_write_bytes(stem.with_name(stem.name + ".json"), (json.dumps(index, indent=1) + "\n").encode())
    return index


def _read_sharded(index_path: Path, what: str) -> Any:
    import hashlib
    import io
    import json

    try:
        index = json.loads(index_path.read_text())
        parts = [index_path.with_name(p) for p in index["parts"]]
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{what} {index_path} is not a sharded-weights index ({type(e).__name__})") from None
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise InputError(f"{what} {index_path}: missing part(s) {missing}")
    data = b"".join(p.read_bytes() for p in parts)
    if hashlib.sha256(data).hexdigest() != index.get("sha256"):
        raise InputError(f"{what} {index_path}: the parts do not match its SHA-256 (a part is damaged or stale)")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)


def load_checkpoint(path: str | Path, kind: str | None = None) -> dict[str, Any]:
    path = Path(path)
    ckpt = read_torch_file(path)
    if not isinstance(ckpt, dict):
        raise InputError(
            f"{path} holds a {type(ckpt).__name__}, not an ssclnet checkpoint (a dict with kind and model)"
        )
    if ckpt.get("kind") not in KINDS or not isinstance(ckpt.get("model"), dict):
        raise InputError(f"{path} is not an ssclnet checkpoint (expected kind pretrain or finetune and model weights)")
    if kind is not None and ckpt["kind"] != kind:
        raise InputError(f"{path} is a {ckpt['kind']} checkpoint, expected {kind}")
    return ckpt


RESUME_KEYS = ("model", "optimizer", "scheduler", "rng", "epoch", "metrics")


def check_resumable(ckpt: dict[str, Any], path: str | Path) -> None:
    """A checkpoint --resume can continue from (a last.pt), not a best.pt or an exported/stripped one."""
    missing = [k for k in RESUME_KEYS if k not in ckpt]
    if missing:
        raise InputError(f"{path} can't be resumed from: it lacks {', '.join(missing)} (only a run's last.pt can)")


def encoder_state(ckpt: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The `encoder.*` weights of a pretrain or finetune checkpoint, with the prefix removed."""
    state = {k[len("encoder.") :]: v for k, v in ckpt["model"].items() if k.startswith("encoder.")}
    if not state:
        raise InputError("checkpoint has no encoder.* weights")
    return state
