"""`ssclnet fit-gate`: fit the feature gate (class-conditional Gaussians, tied covariance, Mahalanobis score)
and the temperature of a fine-tuned checkpoint; `ssclnet export --gate DIR` folds the result into the artifact."""

from __future__ import annotations

import argparse

from .common import add_threads_arg, apply_threads

EXAMPLE = """example:
  ssclnet fit-gate --checkpoint runs/trust/ft/best.pt --data runs/trust/finetune.csv \\
      --fit-split train,unlabeled,wholehead --val-split val \\
      --test-data ../shared/data/brain-mri-2d/dev/splits-protocol-500.csv --test-split test --out runs/trust/gate
writes <out>/gate.json (card fields + figures), gaussians.bin, reliability-before.png, reliability-after.png,
features.npz (the features, reused by a rerun with the same inputs) and scores.npz (for --rethreshold)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit-gate",
        help="fit the feature gate (Mahalanobis) and temperature calibration",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--checkpoint", required=True, help="fine-tuned checkpoint (ssclnet finetune's best.pt)")
    p.add_argument("--data", required=True, help="CSV manifest file,label,group,split with the training rows")
    p.add_argument(
        "--fit-split",
        default="train,unlabeled",
        help="split(s) whose features fit the class Gaussians: the training data (comma-separated)",
    )
    p.add_argument("--val-split", default="val", help="labeled split for the threshold and the temperature")
    p.add_argument("--test-data", help="manifest for the ECE/in-range figures (default: --data)")
    p.add_argument("--test-split", default="test", help="split of --test-data for the figures (default test)")
    p.add_argument(
        "--target", type=float, default=0.97, help="share of --val-split that must stay in range (default 0.97)"
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="probability that the threshold keeps >= --target of in-distribution images in range, over the draw "
        "of the calibration set (default 0.95: a conformal bound, needs >= 99 images at 0.97; 0: the plain "
        "quantile)",
    )
    p.add_argument(
        "--leak-free",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="use only the val rows whose manifest group has no member among the --fit-split rows "
        "(default; the dev protocol keeps near-twins of val images in unlabeled)",
    )
    p.add_argument(
        "--per-group",
        type=int,
        default=0,
        help="use at most N rows of each manifest group of --val-split (near-identical slices of one patient; "
        "default 0: all)",
    )
    p.add_argument(
        "--rethreshold",
        action="store_true",
        help="reuse <out>'s saved scores and Gaussians; redo only the threshold and the temperature",
    )
    p.add_argument("--out", required=True, help="folder for gate.json, gaussians.bin and the PNGs")
    add_threads_arg(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..trust import fit_gate, rethreshold_gate

    apply_threads(args)
    if args.rethreshold:
        g = rethreshold_gate(
            args.out,
            data=args.data,
            fit_split=args.fit_split,
            val_split=args.val_split,
            target=args.target,
            confidence=args.confidence,
            leak_free=args.leak_free,
            per_group=args.per_group,
        )
    else:
        g = fit_gate(
            args.checkpoint,
            args.data,
            args.fit_split,
            args.val_split,
            args.test_data or args.data,
            args.test_split,
            args.out,
            target=args.target,
            confidence=args.confidence,
            leak_free=args.leak_free,
            per_group=args.per_group,
        )
    c, f, s = g["calibration"], g["features"], g["summary"]
    print(
        f"temperature {c['temperature']:.4f}: ECE on {c['ece_measured_on']} {c['ece_before']:.4f} -> {c['ece_after']:.4f}"
    )
    print(
        f"feature gate: threshold {f['threshold']:.2f} (val in range {f['in_range_rate_val']:.3f}, "
        f"shrinkage {f['shrinkage']:.3f}); dev {args.test_split} in range {s['test_in_range_rate']:.3f}"
    )
    print("recall in range: " + ", ".join(f"{k} {v['correct']}/{v['n']}" for k, v in s["test_recall_in_range"].items()))
    print(f"wrote {args.out}/gate.json, gaussians.bin, reliability-before.png, reliability-after.png")
    return 0
