"""A run folder holds one run: starting over it, resuming nothing, or resuming with other settings is refused.

- `plan_run_folder`: `--out` already holding a run is refused unless `--force` (or `--resume`); `--resume`
  without `<out>/last.pt` is refused (a typo in `--out` must not start a fresh run silently);
  `--resume-if-exists` is the job-script form (resume when there is a checkpoint, else start).
- `run_identity` / `check_resume`: every checkpoint stores what defines the run (settings, classes,
  preprocessing, augmentation, model, and a SHA-256 of the data rows used); `--resume` compares and names
  every difference. Safe to change on resume: see `RESUME_SAFE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputError

IDENTITY_FORMAT = 1

# Settings that define a run: changing any of them on --resume would continue a different run from the
# middle of this one (another schedule, data, labels or model), so it is refused.
IDENTITY_SETTINGS = {
    "finetune": (
        "train_split",
        "val_split",
        "init",
        "encoder",
        "batch_size",
        "lr",
        "encoder_lr_scale",
        "weight_decay",
        "label_smoothing",
        "ema",
        "augment",
        "seed",
    ),
    "pretrain": (
        "split",
        "init",
        "batch_size",
        "lr",
        "weight_decay",
        "warmup_epochs",
        "temperature",
        "sync_bn",
        "optimizer",
        "group_batches",
        "local_crops",
        "local_size",
        "seed",
    ),
}
# What --resume may change: how long (more epochs: the cosine schedule stretches, as documented), when to stop,
# and how the run executes or logs. Nothing here changes what the model learns from.
RESUME_SAFE = (
    "epochs",
    "stop_after",
    "patience",
    "workers",
    "device",
    "data_device",
    "amp",
    "channels_last",
    "compile",
    "tensorboard",
    "quiet",
    "deterministic",
    "monitor_every",
    "monitor_data",
    "monitor_train_split",
    "monitor_val_split",
    "knn_k",
    "max_missing",
    "allow_duplicate_rows",
    "data",
)

FLAG = {
    "preprocess": "preprocessing (--image-size)",
    "classes": "classes (order)",
    "augmentation": "augmentation",
    "model": "model",
    "data": "data rows",
}


@dataclass
class FolderPlan:
    resume: bool
    stale: list[Path] = field(default_factory=list)  # old checkpoints --force replaces

    def clear_stale(self) -> None:
        for p in self.stale:
            p.unlink(missing_ok=True)


def plan_run_folder(
    kind: str, out: Path, *, resume: bool, resume_if_exists: bool = False, force: bool = False
) -> FolderPlan:
    last = out / "last.pt"
    existing = [p for p in (out / "last.pt", out / "best.pt") if p.exists()]
    if force and (resume or resume_if_exists):
        raise InputError(f"{kind}: --force starts a new run and --resume continues one: give one of them")
    if resume:
        if not last.is_file():
            raise InputError(
                f"{kind}: --resume: there is no {last} to resume (wrong --out? without --resume a new "
                f"run starts there; --resume-if-exists does either)"
            )
        return FolderPlan(resume=True)
    if resume_if_exists and last.is_file():
        return FolderPlan(resume=True)
    if existing and not force:
        raise InputError(
            f"{kind}: {out} already holds a run ({', '.join(p.name for p in existing)}); continue it "
            f"with --resume, replace it with --force, or choose another --out"
        )
    return FolderPlan(resume=False, stale=existing)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def run_identity(
    kind: str,
    cfg: Any,
    *,
    classes: list[str] | None,
    preprocess: dict,
    augmentation: Any,
    model: str,
    data: dict[str, dict],
) -> dict:
    settings = {k: getattr(cfg, k, None) for k in IDENTITY_SETTINGS[kind]}
    return _json_safe(
        {
            "format": IDENTITY_FORMAT,
            "kind": kind,
            "settings": settings,
            "classes": classes,
            "preprocess": preprocess,
            "augmentation": asdict(augmentation) if hasattr(augmentation, "__dataclass_fields__") else augmentation,
            "model": model,
            "data": data,
        }
    )


def _legacy_identity(kind: str, ckpt: dict) -> dict:
    """What a checkpoint written before run identities can still tell (its args, classes, preprocessing)."""
    args = ckpt.get("args") or {}
    return {
        "kind": kind,
        "settings": {k: args.get(k) for k in IDENTITY_SETTINGS[kind] if k in args},
        "classes": ckpt.get("classes"),
        "preprocess": ckpt.get("preprocess"),
    }


def _short(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"rows", "sha256"}:
        return f"{v['rows']} rows, sha256 {str(v['sha256'])[:12]}"
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


_OFF = (None, 0, 0.0, False)


def check_resume(kind: str, ckpt: dict, now: dict, path: Path, log: Callable[[str], None]) -> None:
    """Refuse (InputError) a resume whose run-defining settings differ from the checkpoint's, naming each."""
    then = ckpt.get("run")
    if not isinstance(then, dict):
        then = _json_safe(_legacy_identity(kind, ckpt))
        log(
            f"note: {path} was written by an older ssclnet without a data hash: its settings are checked, its "
            f"data rows can't be"
        )
    changes: list[str] = []
    for key, value in (then.get("settings") or {}).items():
        if key in now["settings"] and now["settings"][key] != value:
            changes.append(f"--{key.replace('_', '-')} {_short(value)} -> {_short(now['settings'][key])}")
    for key in ("classes", "preprocess", "augmentation", "model"):
        if key in then and then[key] is not None and then[key] != now.get(key):
            a, b = then[key], now.get(key)
            if isinstance(a, dict) and isinstance(b, dict):
                # A key only one side has (a field added to the dataclass since) matches when it is off there.
                diff = [
                    f"{k} {_short(a.get(k))} -> {_short(b.get(k))}"
                    for k in sorted(set(a) | set(b))
                    if (a[k] != b[k] if k in a and k in b else (a.get(k) if k in a else b.get(k)) not in _OFF)
                ]
                changes.append(f"{FLAG[key]}: {', '.join(diff)}")
            else:
                changes.append(f"{FLAG[key]} {_short(a)} -> {_short(b)}")
    for name, fp in (then.get("data") or {}).items():
        cur = (now.get("data") or {}).get(name)
        if cur != fp:
            changes.append(f"{name} data rows ({_short(fp)}) -> ({_short(cur)})")
    if changes:
        raise InputError(
            f"{kind}: --resume refused, {path} belongs to a run with other settings: "
            + "; ".join(changes)
            + ". Resume with the original settings, or start a new run (another "
            "--out, or --force). Safe to change on resume: --epochs, --stop-after, --patience, and how "
            "the run executes (--workers, --device, --data-device, --amp, --channels-last, --compile, "
            "logging, monitor options)"
        )
