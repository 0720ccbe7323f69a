"""Export a model to ONNX (the same ResNet-18 the viewer runs in TensorFlow.js), for the browser benchmark's
onnxruntime-web comparison. Softmax is appended so both engines compute the same thing.

    python3 tools/bench/export_onnx.py --checkpoint CKPT --out model.onnx
    python3 tools/bench/export_onnx.py --artifact models/2026.12.02-1 --out model.onnx   # a published tfjs model

--artifact reads the TensorFlow.js artifact itself (ssclnet.import_tfjs, SHA-256 verified), so the ONNX file has
exactly the weights the viewer runs (float16 weights widened to float32, as tfjs does when it loads them).
Needs the `onnx` package (pip install onnx).
"""

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))
from ssclnet.export import load_checkpoint
from ssclnet.model import Classifier


def main() -> int:
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="trainer checkpoint (.pt)")
    src.add_argument("--artifact", help="exported TensorFlow.js model folder (model-card.json, model.json, shards)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.artifact:
        from ssclnet.import_tfjs import import_artifact

        ckpt = import_artifact(args.artifact)
    else:
        ckpt = load_checkpoint(args.checkpoint)
    spec = ckpt["preprocess"]
    model = Classifier(len(ckpt["classes"]), in_channels=spec["channels"])
    model.load_state_dict(ckpt["model"])
    net = torch.nn.Sequential(model, torch.nn.Softmax(dim=1)).eval()
    size = spec["input_size"]
    x = torch.zeros(1, spec["channels"], size, size)
    tmp = Path(args.out + ".tmp")
    torch.onnx.export(
        net,
        (x,),
        str(tmp),
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "n"}, "probabilities": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    tmp.replace(args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes), input 1x{spec['channels']}x{size}x{size}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
