"""Parity vectors: what PyTorch computes, written down so that the TypeScript side can be checked against it.

- `model_vectors`: preprocessed inputs (float32 NHWC) with PyTorch's logits and probabilities; `ssclnet export`
  writes them into the artifact (`parity/`), and the jest parity test runs them through the viewer's module.
- `preprocess_vectors`: raw decoded pixels of real files with the Python preprocessing's output, so that the
  TypeScript preprocessing can be compared on identical pixels (decoders are compared separately).
- `random_checkpoint`: a randomly initialised Classifier in the trainer's checkpoint format, with non-trivial
  BatchNorm statistics (so that a wrong epsilon or a missing BN parameter shows in the parity test).

Command line (used by the tests): `python3 -m ssclnet.parity random-checkpoint --out F [--input-size N]`,
`python3 -m ssclnet.parity preprocess --out DIR [--input-size N] FILE...`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .preprocess import PreprocessSpec, preprocess

DEFAULT_CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


def synthetic_slices(n: int = 4, seed: int = 0) -> list[np.ndarray]:
    """Deterministic slice-like patterns of different shapes and bit depths (a bright ellipse on noise)."""
    rng = np.random.default_rng(seed)
    shapes = [(96, 80), (64, 64), (120, 90), (70, 100)]
    out = []
    for i in range(n):
        h, w = shapes[i % len(shapes)]
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx = h * (0.4 + 0.2 * rng.random()), w * (0.4 + 0.2 * rng.random())
        r = ((yy - cy) / (0.35 * h)) ** 2 + ((xx - cx) / (0.3 * w)) ** 2
        img = np.where(r < 1, 800 + 400 * np.cos(xx / (3 + i)), 50) + rng.normal(0, 30, (h, w))
        blob = ((yy - cy - 5) ** 2 + (xx - cx + 4) ** 2) < (4 + 2 * i) ** 2
        img = np.clip(img + 900 * blob, 0, 4095)
        out.append(img.astype(np.uint16) if i % 2 == 0 else (img / 16).astype(np.uint8))
    return out


def model_vectors(
    model, spec: PreprocessSpec, images: list[str] | None = None, trust: tuple[Any, float, float] | None = None
) -> tuple[np.ndarray, dict[str, Any]]:
    """(inputs NHWC float32, expected) where expected holds logits and probabilities from PyTorch; with
    `trust` = (ood.Gaussians, temperature, threshold) also each input's feature-gate `score` (float32
    Gaussians as stored in the artifact), `in_range` and `calibrated_probabilities` (softmax(logits / T))."""
    import torch

    from .imageio import read_slices

    if images:
        slices = [read_slices(p)[0] for p in images]
        arrays = [s.to_input(spec) for s in slices]
        sources = [Path(p).name for p in images]
    else:
        arrays = [preprocess(a, spec) for a in synthetic_slices()]
        sources = [f"synthetic-{i}" for i in range(len(arrays))]
    nchw = np.stack(arrays).astype(np.float32)
    with torch.no_grad():
        feats = model.encoder(torch.from_numpy(nchw))
        logits = model.classifier(feats).double()
        probs = torch.softmax(logits, dim=1)
    expected = {
        "count": int(nchw.shape[0]),
        "input_shape": [int(nchw.shape[0]), spec.input_size, spec.input_size, spec.channels],
        "input_layout": "NHWC float32 little-endian, preprocessed",
        "sources": sources,
        "logits": logits.numpy().tolist(),
        "probabilities": probs.numpy().tolist(),
        "tolerance": {"float32": 1e-4, "float16": 2e-3},
    }
    if trust is not None:
        gaussians, temperature, threshold = trust
        scores = gaussians.as_float32().scores(feats.double().numpy())
        expected["score"] = [float(v) for v in scores]
        expected["in_range"] = [bool(v <= threshold) for v in scores]
        expected["calibrated_probabilities"] = torch.softmax(logits / temperature, dim=1).numpy().tolist()
        expected["temperature"] = temperature
        expected["threshold"] = threshold
        expected["tolerance"]["score_relative"] = 1e-2
    return np.ascontiguousarray(nchw.transpose(0, 2, 3, 1)), expected


def random_checkpoint(path: str | Path, input_size: int = 64, classes: list[str] | None = None, seed: int = 0) -> None:
    import torch

    from .model import Classifier

    classes = classes or DEFAULT_CLASSES
    torch.manual_seed(seed)
    spec = PreprocessSpec(input_size=input_size)
    model = Classifier(len(classes), in_channels=spec.channels)
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    with torch.no_grad():
        model.classifier.weight.mul_(2.0)  # spread the probabilities so that they are not all ~1/K
    ckpt = {
        "kind": "finetune",
        "model": model.state_dict(),
        "classes": classes,
        "preprocess": spec.to_dict(),
        "epoch": 0,
        "args": {"note": "randomly initialised for tests; not trained"},
        "data_summary": {"note": "none: random weights"},
    }
    tmp = Path(str(path) + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)


def preprocess_vectors(files: list[str], out_dir: str | Path, spec: PreprocessSpec) -> None:
    """For each file: raw pixels (float64 LE, as decoded by Pillow/pydicom) and the preprocessed tensor."""
    from .imageio import read_slices

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for i, f in enumerate(files):
        s = read_slices(f)[0]
        pixels = np.asarray(s.pixels)
        channels = 1 if pixels.ndim == 2 else pixels.shape[2]
        (out / f"raw-{i}.bin").write_bytes(pixels.astype("<f8").tobytes())
        tensor = s.to_input(spec)  # (C, S, S)
        (out / f"tensor-{i}.bin").write_bytes(np.ascontiguousarray(tensor.transpose(1, 2, 0)).astype("<f4").tobytes())
        entries.append(
            {
                "file": str(f),
                "height": int(pixels.shape[0]),
                "width": int(pixels.shape[1]),
                "channels": int(channels),
                "slope": s.slope,
                "intercept": s.intercept,
                "monochrome1": s.monochrome1,
                "raw": f"raw-{i}.bin",
                "tensor": f"tensor-{i}.bin",
            }
        )
    (out / "vectors.json").write_text(json.dumps({"preprocess": spec.to_dict(), "entries": entries}, indent=2))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m ssclnet.parity")
    sub = p.add_subparsers(dest="cmd", required=True)
    rc = sub.add_parser("random-checkpoint")
    rc.add_argument("--out", required=True)
    rc.add_argument("--input-size", type=int, default=64)
    rc.add_argument("--seed", type=int, default=0)
    pv = sub.add_parser("preprocess")
    pv.add_argument("--out", required=True)
    pv.add_argument("--input-size", type=int, default=224)
    pv.add_argument("files", nargs="+")
    args = p.parse_args(argv)
    if args.cmd == "random-checkpoint":
        random_checkpoint(args.out, args.input_size, seed=args.seed)
    else:
        preprocess_vectors(args.files, args.out, PreprocessSpec(input_size=args.input_size))
    return 0


if __name__ == "__main__":
    sys.exit(main())
