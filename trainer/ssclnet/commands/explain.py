"""`ssclnet explain`: where the model looked. Grad-CAM heatmaps (Selvaraju et al. 2017) of the predicted (or a
given) class for image files or for a model artifact's parity inputs, from a checkpoint or an exported tfjs model
(imported back with ssclnet.import_tfjs; float16 weights come back exactly, so the heatmaps are the viewer's)."""

from __future__ import annotations

import argparse

from .common import add_threads_arg, apply_threads

EXAMPLE = """examples:
  ssclnet explain --model models --images slice1.jpg slice2.dcm --out runs/explain
  ssclnet explain --checkpoint runs/e-ssl-all-labels/best.pt --images tests/fixtures/parity/jpeg/*.jpg --out runs/explain
  ssclnet explain --model models --parity --no-png --out tests/fixtures/gradcam     # the jest parity fixture
writes <out>/gradcam.json (per input: class explained, probabilities, the raw map; plus the raw maps of every
layer3/layer4 x gradcam/gradcam++ variant), <out>/heatmaps.u8.bin (N x S x S uint8 = round(255 x heatmap)),
and <out>/<name>-gradcam.png (slice and overlay) unless --no-png
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "explain",
        help="Grad-CAM heatmaps: where the model looked",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="fine-tuned checkpoint (ssclnet finetune's best.pt)")
    src.add_argument("--model", help="exported model folder, or a registry folder (its latest version)")
    inp = p.add_mutually_exclusive_group(required=True)
    inp.add_argument("--images", nargs="+", metavar="FILE", help="JPEG/PNG/DICOM files (every DICOM frame counts)")
    inp.add_argument(
        "--parity", action="store_true", help="the artifact's parity inputs (parity/inputs.bin; --model only)"
    )
    p.add_argument("--out", required=True, help="output folder (created; files in it are overwritten)")
    p.add_argument("--layer", default=None, help="target: layer1..layer4, a ResNet stage's output (default layer3)")
    p.add_argument("--method", default=None, help="gradcam (default) or gradcam++")
    p.add_argument("--class", dest="cls", default=None, help="class name or index to explain (default: predicted)")
    p.add_argument("--no-png", action="store_true", help="write no PNG overlays")
    add_threads_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    import numpy as np
    import torch

    from .. import explain as E
    from ..errors import InputError

    apply_threads(args)
    layer = args.layer or E.DEFAULT_LAYER
    method = args.method or E.DEFAULT_METHOD
    try:
        E.tfjs_layer(layer)
        if method not in E.METHODS:
            raise ValueError(f"--method must be one of {', '.join(E.METHODS)}")
        if args.parity and not args.model:
            raise ValueError("--parity needs --model (the artifact holds the parity inputs)")
        model, classes, spec, desc = E.load_model(args.checkpoint, args.model)
    except (ValueError, FileNotFoundError) as e:
        raise InputError(f"explain: {e}") from e
    cls = None
    if args.cls is not None:
        cls = classes.index(args.cls) if args.cls in classes else int(args.cls) if args.cls.isdigit() else -1
        if not 0 <= cls < len(classes):
            raise InputError(f"explain: --class {args.cls!r} is not one of {classes} or an index")

    if args.parity:
        x, names = E.parity_inputs(args.model)
    else:
        from ..imageio import UnreadableImage, read_slices

        arrays, names = [], []
        for f in args.images:
            try:
                slices = read_slices(f)
            except (UnreadableImage, OSError, ValueError) as e:
                raise InputError(f"explain: {f}: {e}") from e
            for s in slices:
                arrays.append(s.to_input(spec))
                names.append(Path(f).name + (f"#{s.frame}" if len(slices) > 1 else ""))
        x = np.stack(arrays).astype(np.float32)
    xt = torch.from_numpy(x)
    res = E.cam(model, xt, layer=layer, method=method, class_index=cls)
    variants = {}
    for lv in ("layer3", "layer4"):
        for mv in E.METHODS:
            r = res if (lv, mv) == (layer, method) else E.cam(model, xt, layer=lv, method=mv, class_index=cls)
            variants[f"{lv}/{mv}"] = {
                "layer": E.tfjs_layer(lv),
                "method": mv,
                "shape": list(r.raw.shape[1:]),
                "raw": [m.ravel().tolist() for m in r.raw],
            }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    q = np.clip(np.round(res.heatmaps * 255), 0, 255).astype(np.uint8)
    (out / "heatmaps.u8.bin").write_bytes(q.tobytes())
    doc = {
        "format": 1,
        "model": desc,
        "model_version": (
            json.loads((E.resolve_model_dir(args.model) / "model-card.json").read_text())["version"]
            if args.model
            else None
        ),
        "layer": E.tfjs_layer(layer),
        "method": method,
        "class_requested": cls,
        "input_shape": [int(x.shape[0]), int(x.shape[2]), int(x.shape[3]), int(x.shape[1])],
        "heatmaps": {
            "file": "heatmaps.u8.bin",
            "dtype": "uint8",
            "scale": 255,
            "note": "N x S x S row-major, round(255 x heatmap): quantisation error <= 0.002",
        },
        "upsample": "bilinear, half-pixel centres (align_corners=False), then min-max to 0..1 per image",
        "inputs": [
            {
                "source": n,
                "class_index": int(res.class_index[i]),
                "class": classes[int(res.class_index[i])],
                "logits": res.logits[i].tolist(),
                "probabilities": res.probabilities[i].tolist(),
                "raw": res.raw[i].ravel().tolist(),
                "raw_shape": list(res.raw.shape[1:]),
            }
            for i, n in enumerate(names)
        ],
        "variants": variants,
    }
    (out / "gradcam.json").write_text(json.dumps(doc, indent=1) + "\n")
    if not args.no_png:
        for i, n in enumerate(names):
            c = int(res.class_index[i])
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in n)
            E.save_overlay(
                out / f"{safe}-gradcam.png",
                x[i, 0],
                res.heatmaps[i],
                f"{n}: {classes[c]} {res.probabilities[i, c]:.2f} (Grad-CAM {layer})",
            )
    for i, n in enumerate(names):
        c = int(res.class_index[i])
        print(
            f"{n}: {classes[c]} p={res.probabilities[i, c]:.3f} (map {res.raw.shape[1]}x{res.raw.shape[2]}, "
            f"peak at row, col {tuple(int(v) for v in np.unravel_index(res.heatmaps[i].argmax(), res.heatmaps[i].shape))})"
        )
    print(
        f"wrote {out}/gradcam.json, heatmaps.u8.bin"
        + ("" if args.no_png else f" and {len(names)} PNG(s)")
        + f"; model {desc}, {method} on {E.tfjs_layer(layer)}"
    )
    return 0
