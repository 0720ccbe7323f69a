"""Export a fine-tuned checkpoint as a TensorFlow.js LayersModel with its model card and parity vectors.

Output directory (written to a temporary sibling and renamed, so a failed export leaves nothing behind):
  model.json                 layers-model topology + weightsManifest
  group1-shard{i}of{n}.bin   weights, little-endian, at most 4 MB per shard (float32 or float16)
  parity/inputs.bin          preprocessed inputs (float32 NHWC) ...
  parity/expected.json       ... with PyTorch's logits and probabilities
  model-card.json            what the viewer needs (classes, preprocessing) and what a reader needs to judge
                             the model (metrics, data, intended use), plus the SHA-256 of every other file
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .preprocess import PreprocessSpec

SHARD_BYTES = 4 * 1024 * 1024
CARD_NAME = "model-card.json"
CARD_FORMAT = 1
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

INTENDED_USE = {
    "intended_use": (
        "Research and teaching: a second look at single axial brain MR slices, sorted into the four classes "
        "below, inside a DICOM viewer. Not a medical device; not for diagnosis or treatment decisions."
    ),
    "intended_input": "one axial brain MR slice (T1, T1 post-contrast, T2 or similar), grayscale, any bit depth",
    "limits": [
        "four classes only: a slice with any other finding is forced into one of them",
        "no 'not a brain slice' answer: neck, skull-top and scout images also get one of the four classes",
        "slice-level: it does not look at neighbouring slices or at the whole study",
        "trained on public 2-D JPEG slices (Kaggle 'Brain Tumor MRI Dataset'); not validated on DICOM from "
        "clinical scanners, on non-axial planes, on paediatric patients, on post-operative brains or on "
        "other sequences (DWI, FLAIR, perfusion, proton density)",
        "probabilities are not calibrated risks",
    ],
}


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise SystemExit(f"ssclnet export: no such checkpoint: {path}")
    except Exception:
        # The trainer's checkpoints may carry plain Python objects in "args"; they are the admin's own files.
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, dict) or "model" not in ckpt or "classes" not in ckpt:
        raise SystemExit(f"ssclnet export: {path} is not a fine-tuned checkpoint (needs 'model' and 'classes')")
    if ckpt.get("kind", "finetune") != "finetune":
        raise SystemExit(f"ssclnet export: {path} is a {ckpt.get('kind')!r} checkpoint; export a fine-tuned one")
    return ckpt


def build_model(ckpt: dict[str, Any], spec: PreprocessSpec):
    from .model import Classifier

    model = Classifier(len(ckpt["classes"]), in_channels=spec.channels)
    # State dicts saved from DistributedDataParallel or torch.compile carry a wrapper prefix.
    state = {re.sub(r"^(module\.|_orig_mod\.)+", "", k): v for k, v in ckpt["model"].items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise SystemExit(
            f"ssclnet export: checkpoint does not match the Classifier (missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model.eval()


def headline_metrics(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """accuracy and macro_f1 from an `ssclnet evaluate` JSON (top level or under 'metrics'), else None."""
    if not metrics:
        return {"accuracy": None, "macro_f1": None}
    src = metrics.get("metrics", metrics) if isinstance(metrics.get("metrics"), dict) else metrics
    return {k: src.get(k) for k in ("accuracy", "macro_f1")}


def write_shards(out: Path, data: bytes) -> list[str]:
    n = max(1, -(-len(data) // SHARD_BYTES))
    names = []
    for i in range(n):
        name = f"group1-shard{i + 1}of{n}.bin"
        (out / name).write_bytes(data[i * SHARD_BYTES : (i + 1) * SHARD_BYTES])
        names.append(name)
    return names


def export(
    checkpoint: str | Path,
    out_dir: str | Path,
    version: str,
    dtype: str = "float32",
    metrics_path: str | Path | None = None,
    parity_images: list[str] | None = None,
) -> dict[str, Any]:
    """Write the artifact directory; returns the model card."""
    from .parity import model_vectors
    from .tfjs_layers import build_graph, encode_weights, topology

    if not VERSION_RE.match(version):
        raise SystemExit(f"ssclnet export: version {version!r} must be 1-64 of [A-Za-z0-9._-], starting alphanumeric")
    out = Path(out_dir)
    if out.exists():
        raise SystemExit(f"ssclnet export: {out} already exists; choose a new directory")
    ckpt = load_checkpoint(checkpoint)
    spec = PreprocessSpec.from_dict(ckpt.get("preprocess") or {})
    model = build_model(ckpt, spec)
    graph = build_graph(model, spec.input_size, spec.channels)
    data, specs = encode_weights(graph, dtype)
    metrics = json.loads(Path(metrics_path).read_text()) if metrics_path else None

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        shards = write_shards(tmp, data)
        model_json = {
            "format": "layers-model",
            "generatedBy": "ssclnet export (PyTorch)",
            "convertedBy": "ssclnet.tfjs_layers",
            "modelTopology": topology(graph),
            "weightsManifest": [{"paths": shards, "weights": specs}],
        }
        (tmp / "model.json").write_text(json.dumps(model_json))
        inputs, expected = model_vectors(model, spec, parity_images)
        (tmp / "parity").mkdir()
        (tmp / "parity" / "inputs.bin").write_bytes(inputs.astype("<f4").tobytes())
        (tmp / "parity" / "expected.json").write_text(json.dumps(expected, indent=1))

        files = ["model.json", *shards, "parity/inputs.bin", "parity/expected.json"]
        card = {
            "card_format": CARD_FORMAT,
            "name": "SSCLNet brain MRI slice classifier",
            "version": version,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "classes": list(ckpt["classes"]),
            "preprocess": spec.to_dict(),
            "input": {
                "size": spec.input_size,
                "shape": [None, spec.input_size, spec.input_size, spec.channels],
                "layout": "NHWC",
                "dtype": "float32",
            },
            "output": {"layer": "probabilities", "kind": "softmax probabilities, ordered as classes"},
            "architecture": "ResNet-18 encoder (1 input channel, SimCLR-pretrained) + linear classifier",
            "format": "tfjs layers-model",
            "dtype": dtype,
            "parameters": int(sum(v.size for _, v in graph.weights)),
            "metrics": {
                "split": (metrics or {}).get("split", "dev test") if metrics else None,
                **headline_metrics(metrics),
                "detail": metrics if metrics else "not measured",
            },
            "training": {
                "epoch": ckpt.get("epoch"),
                "input_size": spec.input_size,
                "hardware": ckpt.get("hardware", "not recorded"),
                "pretraining": ckpt.get("pretraining") or _no_pretraining(ckpt),
                "data_summary": ckpt.get("data_summary", "not recorded"),
                "args": ckpt.get("args", "not recorded"),
                "validation_metrics": ckpt.get("metrics", "not recorded"),
            },
            **INTENDED_USE,
            "files": {name: sha256_file(tmp / name) for name in files},
        }
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2, default=_json_default))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the artifact is meant to be served
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return card


def _no_pretraining(ckpt: dict[str, Any]) -> str:
    init = (ckpt.get("args") or {}).get("init", "scratch")
    return "none: supervised from random weights" if init == "scratch" else f"not recorded (encoder from {init})"


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.generic,)):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "__dict__"):
        return vars(o)
    return str(o)


def verify_artifact(model_dir: str | Path) -> dict[str, Any]:
    """Load the card and check every listed file's SHA-256 and that every shard of model.json is listed."""
    d = Path(model_dir)
    card_path = d / CARD_NAME
    if not card_path.is_file():
        raise ValueError(f"{d}: no {CARD_NAME}; not an exported model directory")
    card = json.loads(card_path.read_text())
    files = card.get("files") or {}
    if "model.json" not in files:
        raise ValueError(f"{card_path}: 'files' does not list model.json")
    for name, digest in files.items():
        p = d / name
        if not p.is_file():
            raise ValueError(f"{d}: {name} is listed in the card but missing")
        actual = sha256_file(p)
        if actual != digest:
            raise ValueError(f"{d}: SHA-256 mismatch for {name}: card says {digest}, file has {actual}")
    manifest = json.loads((d / "model.json").read_text()).get("weightsManifest", [])
    for group in manifest:
        for shard in group["paths"]:
            if shard not in files:
                raise ValueError(f"{d}: shard {shard} of model.json is not listed in the card")
    return card
