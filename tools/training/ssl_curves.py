"""Compares SSL pretraining runs: one kNN-vs-epoch figure and the rows of docs/results.md's recipe table.

python tools/training/ssl_curves.py --out docs/figures/ssl-ablations.png runs/ssl/e1-rerun runs/ssl/e6-t05 ...
Each RUN is an `ssclnet pretrain` folder (its history.csv); a label may be given as LABEL=RUN.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssclnet.curves import plot_runs, read_history_csv, summarize_history


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", metavar="[LABEL=]RUN")
    p.add_argument("--out", help="PNG with every run's kNN curve")
    p.add_argument("--title", default="kNN accuracy (k = 20, cosine; bank: the 400 train labels)")
    args = p.parse_args(argv)
    histories = {}
    for spec in args.runs:
        label, _, folder = spec.rpartition("=")
        path = Path(folder) / "history.csv"
        if not path.is_file():
            print(f"ssl_curves: {path} not found (is {folder} an `ssclnet pretrain` folder?)", file=sys.stderr)
            return 2
        histories[label or Path(folder).name] = read_history_csv(path)
    print("| run | epochs | wall (compute) | pairs/s (median) | kNN epoch 0 → best → last |")
    print("|---|---|---|---|---|")
    for label, h in histories.items():
        s = summarize_history(h)
        speed = f"{s['pairs_per_s']:.0f}" if s["pairs_per_s"] is not None else "–"
        wall = f"{s['minutes']:.1f} min" if s["minutes"] is not None else "–"
        print(
            f"| {label} | {s['epochs']} | {wall} | {speed} | "
            f"{s['first']:.3f} → {s['best']:.3f} (epoch {s['best_epoch']}) → {s['last']:.3f} |"
        )
    if args.out:
        print(f"wrote {plot_runs(histories, args.out, args.title)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
