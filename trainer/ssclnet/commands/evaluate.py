"""`ssclnet evaluate`: accuracy, per-class P/R/F1, macro-F1, confusion matrix, ECE of a fine-tuned model."""

from __future__ import annotations

import argparse

from ..config import add_config_arg


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="metrics of a fine-tuned checkpoint on a labeled split",
        description=__doc__ + "\nWrites <out>/metrics.json, confusion.png, reliability.png.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arg(p)
    p.add_argument("--checkpoint", help="a finetune checkpoint, e.g. runs/finetune/best.pt")
    p.add_argument("--data", help="a folder of class subfolders, or a CSV manifest file,label,group,split")
    p.add_argument("--split", default="test", help="split(s) to evaluate (CSV only; default test)")
    p.add_argument("--out", help="folder for metrics.json + PNGs (default: <checkpoint folder>/eval-<split>)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=0, help="decode processes (0: in this process)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..evaluation import evaluate_checkpoint, format_report

    if not args.checkpoint or not args.data:
        raise SystemExit("evaluate: --checkpoint and --data are required")
    out = (
        Path(args.out) if args.out else Path(args.checkpoint).parent / f"eval-{(args.split or 'all').replace(',', '+')}"
    )
    m = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        args.split,
        out=out,
        batch_size=args.batch_size,
        device=args.device,
        workers=args.workers,
    )
    print(format_report(m))
    if m["skipped_count"]:
        print(f"\n{m['skipped_count']} unreadable file(s) skipped (listed in metrics.json)")
    print(f"\nwrote {out}/metrics.json, confusion.png, reliability.png")
    return 0
