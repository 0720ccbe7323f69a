"""The inverse of `ssclnet.tfjs_layers`: an exported TensorFlow.js LayersModel (model.json + shards + model
card) back to a `Classifier` state dict and a fine-tune checkpoint, so that a shipped model can be the start
of further training when its PyTorch checkpoint was not kept.

Mapping (exactly the export's, reversed):
  stem_conv/kernel (HWIO)            -> encoder.conv1.weight (OIHW)
  stem_bn/{gamma,beta,moving_mean,moving_variance} -> encoder.bn1.{weight,bias,running_mean,running_var}
  layer{L}_{B}_conv{1,2}/kernel      -> encoder.layer{L}.{B}.conv{1,2}.weight
  layer{L}_{B}_bn{1,2}/...           -> encoder.layer{L}.{B}.bn{1,2}.*
  layer{L}_{B}_down_conv/kernel      -> encoder.layer{L}.{B}.downsample.0.weight
  layer{L}_{B}_down_bn/...           -> encoder.layer{L}.{B}.downsample.1.*
  logits/kernel (in, out), logits/bias -> classifier.weight (out, in), classifier.bias
An artifact exported with BatchNorm folded into its convs (`tfjs_layers.build_graph(fold=True)`) has a bias on
each conv and no BatchNorm layers: the conv kernel is taken as it is and its BatchNorm becomes the identity plus
that bias (weight 1, running mean 0, running variance 1 - eps), the same function.
float16 weights (tfjs "quantization" dtype float16) come back as float32; `num_batches_tracked` is 0.
The import is checked against the artifact's own parity vectors (`check_parity`): PyTorch on the imported
weights must reproduce parity/expected.json within the artifact's tolerance.

Command line: `python3 -m ssclnet.import_tfjs MODEL_DIR --out imported.pt` (verifies hashes and parity).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

BN_MAP = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean", "moving_variance": "running_var"}


def read_weights(model_dir: str | Path) -> dict[str, np.ndarray]:
    """{tfjs weight name: float32 array} from model.json's weightsManifest and its shards."""
    d = Path(model_dir)
    mj = json.loads((d / "model.json").read_text())
    out: dict[str, np.ndarray] = {}
    for group in mj["weightsManifest"]:
        data = b"".join((d / p).read_bytes() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            n = math.prod(w["shape"])
            q = (w.get("quantization") or {}).get("dtype")
            if q == "float16":
                a = np.frombuffer(data, "<f2", n, off).astype(np.float32)
                off += 2 * n
            elif q is None and w.get("dtype", "float32") == "float32":
                a = np.frombuffer(data, "<f4", n, off).astype(np.float32)
                off += 4 * n
            else:
                raise ValueError(f"{d}: weight {w['name']}: unsupported dtype/quantization {w.get('dtype')}/{q}")
            out[w["name"]] = a.reshape(w["shape"])
        if off != len(data):
            raise ValueError(f"{d}: the manifest covers {off} bytes of {len(data)} in its shards")
    return out


def _torch_name(tf_name: str) -> tuple[str, str]:
    """tfjs 'layer/param' -> (torch parameter name, kind) with kind 'conv' | 'bn' | 'dense_kernel' | 'bias'."""
    layer, param = tf_name.split("/")
    if layer == "logits":
        return ("classifier.weight", "dense_kernel") if param == "kernel" else ("classifier.bias", "bias")
    if layer == "stem_conv":
        return ("encoder.conv1.weight", "conv") if param == "kernel" else ("encoder.bn1.bias", "folded_bias")
    if layer == "stem_bn":
        return f"encoder.bn1.{BN_MAP[param]}", "bn"
    m = re.fullmatch(r"layer(\d)_(\d+)_(conv1|conv2|bn1|bn2|down_conv|down_bn)", layer)
    if not m:
        raise ValueError(f"unknown tfjs layer {layer!r}")
    li, bi, part = m.groups()
    prefix = f"encoder.layer{li}.{bi}"
    if part in ("conv1", "conv2"):
        return (
            (f"{prefix}.{part}.weight", "conv") if param == "kernel" else (f"{prefix}.bn{part[-1]}.bias", "folded_bias")
        )
    if part == "down_conv":
        return (
            (f"{prefix}.downsample.0.weight", "conv")
            if param == "kernel"
            else (f"{prefix}.downsample.1.bias", "folded_bias")
        )
    if part == "down_bn":
        return f"{prefix}.downsample.1.{BN_MAP[param]}", "bn"
    return f"{prefix}.{part}.{BN_MAP[param]}", "bn"


def state_dict_from_tfjs(model_dir: str | Path, num_classes: int, in_channels: int = 1) -> dict[str, Any]:
    """A complete, strictly loadable `Classifier` state dict from an exported model folder."""
    import torch

    from .model import Classifier

    ref = Classifier(num_classes, in_channels=in_channels).state_dict()
    state: dict[str, Any] = {}
    for name, value in read_weights(model_dir).items():
        key, kind = _torch_name(name)
        if kind == "conv":
            value = value.transpose(3, 2, 0, 1)  # HWIO -> OIHW
        elif kind == "dense_kernel":
            value = value.T  # (in, out) -> (out, in)
        if key not in ref:
            raise ValueError(f"{name} -> {key}: not a Classifier parameter")
        if kind == "folded_bias":
            bn = key[: -len(".bias")]
            eps = 1e-5  # torch.nn.BatchNorm2d's default, which Classifier uses
            state[f"{bn}.weight"] = torch.ones_like(ref[f"{bn}.weight"])
            state[f"{bn}.running_mean"] = torch.zeros_like(ref[f"{bn}.running_mean"])
            state[f"{bn}.running_var"] = torch.full_like(ref[f"{bn}.running_var"], 1.0 - eps)
        if tuple(ref[key].shape) != value.shape:
            raise ValueError(f"{name} -> {key}: shape {value.shape}, the Classifier wants {tuple(ref[key].shape)}")
        state[key] = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    for key, v in ref.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros_like(v)
    missing = sorted(set(ref) - set(state))
    if missing:
        raise ValueError(f"{model_dir}: the artifact lacks {len(missing)} parameter(s), e.g. {missing[:3]}")
    return state


def import_artifact(model_dir: str | Path, *, verify: bool = True) -> dict[str, Any]:
    """A fine-tune checkpoint dict (`ssclnet finetune --init`, `ssclnet evaluate`, `ssclnet export` read it)
    rebuilt from an exported model folder and its card."""
    from .export import CARD_NAME, verify_artifact
    from .preprocess import PreprocessSpec

    d = Path(model_dir)
    card = verify_artifact(d) if verify else json.loads((d / CARD_NAME).read_text())
    spec = PreprocessSpec.from_dict(card["preprocess"])
    classes = list(card["classes"])
    training = card.get("training") or {}
    return {
        "kind": "finetune",
        "model": state_dict_from_tfjs(d, len(classes), spec.channels),
        "classes": classes,
        "preprocess": spec.to_dict(),
        "epoch": training.get("epoch"),
        "args": training.get("args", "not recorded"),
        "pretraining": training.get("pretraining"),
        "hardware": training.get("hardware", "not recorded"),
        "data_summary": training.get("data_summary", "not recorded"),
        "metrics": training.get("validation_metrics", "not recorded"),
        "imported_from": {
            "version": card.get("version"),
            "dtype": card.get("dtype"),
            "card_sha256": _sha256(d / CARD_NAME),
        },
    }


def _sha256(p: Path) -> str:
    from .export import sha256_file

    return sha256_file(p)


def check_parity(model_dir: str | Path, ckpt: dict[str, Any]) -> dict[str, float]:
    """Run the imported weights on the artifact's parity inputs; returns max |d logit|, max |d p| and the
    tolerance (the artifact's own for its dtype). Raises ValueError beyond the tolerance."""
    import torch

    from .model import Classifier

    d = Path(model_dir)
    exp = json.loads((d / "parity" / "expected.json").read_text())
    card = json.loads((d / "model-card.json").read_text())
    n, s, _, c = exp["input_shape"]
    x = (
        np.frombuffer((d / "parity" / "inputs.bin").read_bytes(), "<f4")
        .reshape(n, s, s, c)
        .transpose(0, 3, 1, 2)
        .copy()
    )
    model = Classifier(len(ckpt["classes"]), in_channels=c)
    model.load_state_dict(ckpt["model"])
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x))).double()
    probs = torch.softmax(logits, 1).numpy()
    d_logit = float(np.abs(logits.numpy() - np.asarray(exp["logits"])).max())
    d_p = float(np.abs(probs - np.asarray(exp["probabilities"])).max())
    tol = float(exp.get("tolerance", {}).get(card.get("dtype", "float32"), 2e-3))
    if not d_p <= tol:
        raise ValueError(f"{d}: imported weights miss the parity vectors: max |dp| {d_p:.2e} > {tol:.0e}")
    return {"max_abs_logit": d_logit, "max_abs_prob": d_p, "tolerance": tol, "inputs": int(n)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m ssclnet.import_tfjs", description="exported tfjs model folder -> ssclnet fine-tune checkpoint"
    )
    p.add_argument("model_dir", help="an exported model folder (model.json, shards, model-card.json, parity/)")
    p.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    args = p.parse_args(argv)
    from .checkpoint import save_checkpoint

    ckpt = import_artifact(args.model_dir)
    parity = check_parity(args.model_dir, ckpt)
    ckpt["imported_from"]["parity"] = parity
    save_checkpoint(ckpt, args.out)
    print(
        f"imported {args.model_dir} ({ckpt['imported_from']['dtype']}) -> {args.out}; parity on "
        f"{parity['inputs']} inputs: max |dlogit| {parity['max_abs_logit']:.2e}, max |dp| "
        f"{parity['max_abs_prob']:.2e} (tolerance {parity['tolerance']:.0e})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
