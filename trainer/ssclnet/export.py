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
CARD_FORMAT = 1  # without a gate (the card of 2026.11.23-*); with --gate: CARD_FORMAT_GATE
CARD_FORMAT_GATE = 2  # + "calibration" and "in_range" (metadata rule + feature gate, ood/gaussians.bin)
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


IN_RANGE_MEANING = (
    "An image is in range when (1) its DICOM attributes pass `in_range.metadata` (MR, within 30 degrees of axial, "
    "not a localiser, scout, mosaic, projection or diffusion/perfusion map, grayscale, not echo-planar, pixel "
    "spacing at most 1.5 mm: a structural slice), checked before inference, and (2) its encoder "
    "features lie near those of the training data: the feature-gate score (squared Mahalanobis distance to the "
    "nearest class mean, `in_range.features`) is at most the threshold, set on held-out labeled images (`threshold_set_on`) "
    "so that at least 97 % of new in-distribution images stay in range. Out of range, the viewer shows 'Outside the model's range: <reason>' instead of "
    "probabilities. In range is not a guarantee: it means the slice resembles the training data."
)

INTENDED_USE_GATED = {
    "intended_use": INTENDED_USE["intended_use"],
    "intended_input": (
        "one axial structural brain MR slice (T1, T1 post-contrast, T2, FLAIR or similar, pixel spacing up to "
        "1.5 mm; the training data also holds whole-head T1w, T2 FSE and PD series of healthy volunteers as "
        "'notumor'), grayscale, any bit depth; echo-planar (DWI, fMRI, perfusion) and other images outside this "
        "range are declined (see in_range)"
    ),
    "limits": [
        "four classes only: a slice with any other finding is forced into one of them",
        "slice-level: it does not look at neighbouring slices or at the whole study",
        "trained on public 2-D JPEG slices (Kaggle 'Brain Tumor MRI Dataset') plus 171 slices of three healthy "
        "whole-head DICOM series (T1w, T2 FSE, PD; neck to vertex) as 'notumor'; the tumour classes are not "
        "validated on DICOM from clinical scanners (the real-series benchmark holds healthy and out-of-range series "
        "only), on paediatric patients, on post-operative brains or on FLAIR or SWI",
        "'in range' (in_range) is a similarity test, not a guarantee: an image can be in range and still be "
        "misclassified, and a valid slice of an unusual scanner or contrast can be declined",
        "in range does not mean right: before the T2 whole-head series was added to training, 9 of its 55 healthy "
        "slices (skull base, posterior fossa) were called a tumour; a healthy series of another scanner or "
        "sequence can still get tumour calls at levels the training data lacks (see docs/results.md, 'Trust')",
    ],
}


def _calibration_limit(gate: dict[str, Any]) -> str:
    """The card's last limit, written from the fit-gate result so that it states what was done for this model."""
    cal, summary = gate["calibration"], gate.get("summary") or {}
    n = summary.get("val_images_used")
    on = f"{n} held-out labeled images" if n else "held-out labeled images"
    floor = float(cal.get("min_temperature") or 0.0)
    bound = f" (bounded below at T = {floor:g})" if floor > 0 else ""
    return (
        f"the feature gate's threshold and the temperature (T = {float(cal['temperature']):.3g}{bound}) were set on "
        f"{on} without a near-twin in the training data; ECE after calibration {float(cal['ece_after']):.3f} on "
        f"the {cal.get('ece_measured_on', 'test data')}: curated slices, so the probabilities are not calibrated "
        "risks for a clinical population"
    )


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
        raise SystemExit(f"ssclnet export: no such checkpoint: {path}") from None
    except Exception:
        # The trainer's checkpoints may carry plain Python objects in "args"; they are the admin's own files.
        from .checkpoint import read_torch_file  # empty/truncated/corrupt files: one line, exit 2 (issue 17)

        ckpt = read_torch_file(path)
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
    gate_dir: str | Path | None = None,
    fold: bool = True,
) -> dict[str, Any]:
    """Write the artifact directory; returns the model card. With `gate_dir` (written by `ssclnet fit-gate`),
    the card is card_format 2: temperature calibration, the in-range rule and the feature gate's
    `ood/gaussians.bin`, and the parity vectors carry each input's gate score and calibrated probabilities."""
    from .parity import model_vectors
    from .tfjs_layers import build_graph, encode_weights, fold_batchnorm_, topology

    if not VERSION_RE.fullmatch(version):
        raise SystemExit(f"ssclnet export: version {version!r} must be 1-64 of [A-Za-z0-9._-], starting alphanumeric")
    out = Path(out_dir)
    if out.exists():
        raise SystemExit(f"ssclnet export: {out} already exists; choose a new directory")
    ckpt = load_checkpoint(checkpoint)
    spec = PreprocessSpec.from_dict(ckpt.get("preprocess") or {})
    model = build_model(ckpt, spec)
    if fold:
        fold_batchnorm_(model)
    graph = build_graph(model, spec.input_size, spec.channels, fold=fold)
    data, specs = encode_weights(graph, dtype)
    if dtype == "uint8":  # parity vectors from the weights the artifact holds (see fake_quantize_uint8_)
        from .tfjs_layers import fake_quantize_uint8_

        fake_quantize_uint8_(model)
    metrics = json.loads(Path(metrics_path).read_text()) if metrics_path else None
    gate, gaussians_bytes = _load_gate(gate_dir, list(ckpt["classes"])) if gate_dir else (None, None)

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
        trust = None
        if gate is not None:
            from .ood import Gaussians

            g = Gaussians.from_bytes(gaussians_bytes, len(ckpt["classes"]), int(gate["features"]["dim"]))
            trust = (g, float(gate["calibration"]["temperature"]), float(gate["features"]["threshold"]))
        inputs, expected = model_vectors(model, spec, parity_images, trust)
        (tmp / "parity").mkdir()
        (tmp / "parity" / "inputs.bin").write_bytes(inputs.astype("<f4").tobytes())
        (tmp / "parity" / "expected.json").write_text(json.dumps(expected, indent=1))

        files = ["model.json", *shards, "parity/inputs.bin", "parity/expected.json"]
        trust_fields: dict[str, Any] = {}
        if gate is not None:
            from .ood import FILE as GAUSSIANS_FILE

            (tmp / GAUSSIANS_FILE).parent.mkdir(parents=True, exist_ok=True)
            (tmp / GAUSSIANS_FILE).write_bytes(gaussians_bytes)
            files.append(GAUSSIANS_FILE)
            trust_fields = _trust_card_fields(gate)
        card = {
            "card_format": CARD_FORMAT_GATE if gate is not None else CARD_FORMAT,
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
            "graph": "BatchNorm folded into the convolutions (bias + fused ReLU)"
            if fold
            else "conv, BatchNorm, ReLU layers",
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
                **({"soup": ckpt["soup"]} if ckpt.get("soup") else {}),
                **({"distillation": distilled} if (distilled := _distillation(ckpt)) else {}),
            },
            **(INTENDED_USE_GATED if gate is not None else INTENDED_USE),
            **({"limits": [*INTENDED_USE_GATED["limits"], _calibration_limit(gate)]} if gate is not None else {}),
            **trust_fields,
            "files": {name: sha256_file(tmp / name) for name in files},
        }
        (tmp / CARD_NAME).write_text(json.dumps(card, indent=2, default=_json_default))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the artifact is meant to be served
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return card


def _load_gate(gate_dir: str | Path, classes: list[str]) -> tuple[dict[str, Any], bytes]:
    from .trust import load_gate

    d = Path(gate_dir)
    if not (d / "gate.json").is_file() or not (d / "gaussians.bin").is_file():
        raise SystemExit(f"ssclnet export: --gate {d} needs gate.json and gaussians.bin (ssclnet fit-gate --out)")
    gate, data = load_gate(d)
    if list(gate["summary"]["classes"]) != list(classes):
        raise SystemExit(
            f"ssclnet export: --gate {d} was fitted for classes {gate['summary']['classes']}, "
            f"the checkpoint has {classes}"
        )
    return gate, data


def _trust_card_fields(gate: dict[str, Any]) -> dict[str, Any]:
    """The card's `calibration` and `in_range` (CONTRACT card_format 2) from a fit-gate result."""
    from .trust import METADATA_NOTES, METADATA_RULE

    cal = gate["calibration"]
    feats = {
        k: gate["features"][k]
        for k in (
            "method",
            "layer",
            "dim",
            "file",
            "layout",
            "score",
            "threshold",
            "fitted_on",
            "shrinkage",
            "threshold_set_on",
            "in_range_rate_val",
            "target_in_range",
            "reference",
        )
    }
    if "target_confidence" in gate["features"]:  # gates fitted before the conformal rule have none
        feats["target_confidence"] = gate["features"]["target_confidence"]
    summary = gate.get("summary") or {}
    feats["in_range_rate_test"] = summary.get("test_in_range_rate")
    return {
        "calibration": {
            k: cal[k]
            for k in ("method", "temperature", "fitted_on", "ece_before", "ece_after", "bins", "ece_measured_on")
        },
        "in_range": {
            "meaning": IN_RANGE_MEANING,
            "metadata": {**METADATA_RULE, "notes": METADATA_NOTES},
            "features": feats,
        },
    }


def _distillation(ckpt: dict[str, Any]) -> dict[str, Any] | None:
    """Which teachers a distilled student learned from, on how many unlabeled slices (finetune --distill-from)."""
    data = (ckpt.get("run") or {}).get("data") or {}
    if "teacher" not in data:
        return None
    teachers = str((ckpt.get("args") or {}).get("distill_from", "")).split(",")
    return {
        "teachers": [{"checkpoint": t, "sha256": h} for t, h in zip(teachers, data["teacher"]["sha256"])],
        **{k: data["teacher"][k] for k in ("weight", "temperature", "view")},
        "distilled_rows": data["teacher"].get("rows", "all"),
        "unlabeled_rows": data["distill"]["rows"],
        "labels_used": "the --train-split rows' only: the unlabeled rows' labels are never read",
    }


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
