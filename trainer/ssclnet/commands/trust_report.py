"""`ssclnet trust-report`: the Python-side trust figures of a model on real series and the dev test split:
per series, slices declined by a Python approximation of the viewer's metadata gate and by the feature gate,
and the calls on what stays in range; on the dev test split, the in-range rate and per-class recall on the
in-range images; for a sweep of thresholds set on val. The viewer-path benchmark is `npm run bench:series`."""

from __future__ import annotations

import argparse

from .common import add_threads_arg, apply_threads

EXAMPLE = """examples:
  ssclnet trust-report --model build/2026.12.02-1 --series data/trust/benchmark-series.csv \\
      --dev ../shared/data/brain-mri-2d/dev/splits-protocol-500.csv --json runs/trust/report.json
  ssclnet trust-report --checkpoint runs/trust/ft/best.pt --gate runs/trust/gate --series ...
--model reads an exported artifact (float16 weights imported back to PyTorch, the card's gate and temperature).
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "trust-report",
        help="feature gate / calls per real series, in-range rate on dev test",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="an exported model folder with card_format 2 (gate + calibration)")
    src.add_argument("--checkpoint", help="a fine-tuned checkpoint (needs --gate)")
    p.add_argument("--gate", help="folder written by `ssclnet fit-gate` (with --checkpoint)")
    p.add_argument("--series", required=True, help="CSV folder,expected (folders relative to the CSV)")
    p.add_argument("--dev", help="dev manifest for in-range rate and recall (file,label,group,split)")
    p.add_argument("--dev-split", default="test")
    p.add_argument("--val-split", default="val", help="dev split for the threshold sweep ('' to skip)")
    p.add_argument("--json", help="write the whole report here")
    add_threads_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    import json
    from pathlib import Path

    from ..ood import Gaussians
    from ..trust import format_report, load_gate, trust_report

    apply_threads(args)
    if args.model:
        from ..import_tfjs import import_artifact
        from ..model import Classifier
        from ..preprocess import PreprocessSpec

        ckpt = import_artifact(args.model)
        card = json.loads((Path(args.model) / "model-card.json").read_text())
        feats = (card.get("in_range") or {}).get("features")
        if not feats or "calibration" not in card:
            raise SystemExit(f"trust-report: {args.model} has no in_range.features/calibration (card_format 2)")
        classes, spec = ckpt["classes"], PreprocessSpec.from_dict(ckpt["preprocess"])
        model = Classifier(len(classes), in_channels=spec.channels)
        model.load_state_dict(ckpt["model"])
        g = Gaussians.read(Path(args.model) / feats["file"], len(classes), int(feats["dim"]))
        thr, temp = float(feats["threshold"]), float(card["calibration"]["temperature"])
    else:
        from ..evaluation import load_classifier

        if not args.gate:
            raise SystemExit("trust-report: --checkpoint needs --gate")
        model, classes, spec, _ = load_classifier(args.checkpoint)
        gate, data = load_gate(args.gate)
        g = Gaussians.from_bytes(data, len(classes), int(gate["features"]["dim"]))
        thr, temp = float(gate["features"]["threshold"]), float(gate["calibration"]["temperature"])
    rep = trust_report(
        model, classes, spec, g, thr, temp, args.series, args.dev, args.dev_split, args.val_split or None
    )
    rep["model"] = args.model or args.checkpoint
    print(format_report(rep))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rep, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0
