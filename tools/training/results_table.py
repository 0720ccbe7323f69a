"""Prints the dev-test results table of docs/results.md from `ssclnet evaluate` outputs (metrics.json files).

python tools/training/results_table.py runs/a-ssl-probe runs/b-ssl-ft runs/c-scratch runs/d-all-labels runs/e-ssl-all-labels
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = {  # run folder name -> row label; unknown folders are shown by name
    "a-ssl-probe": "(a) SSL + linear probe",
    "b-ssl-ft": "(b) SSL + fine-tuning (SSCLNet)",
    "c-scratch": "(c) supervised from scratch, same 400 labels",
    "d-all-labels": "(d) supervised, all non-test labels",
    "e-ssl-all-labels": "(e) SSL + fine-tuning, all non-test labels",
}


def main(runs: list[str]) -> int:
    if not runs or runs[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if runs else 2
    rows = [(Path(r), json.loads((Path(r) / "eval-test" / "metrics.json").read_text())) for r in runs]
    classes = list(rows[0][1]["per_class"])
    print("| run | accuracy | macro-F1 | " + " | ".join(f"F1 {c}" for c in classes) + " | ECE | n |")
    print("|---|---|---|" + "---|" * len(classes) + "---|---|")
    for run, m in rows:
        f1 = " | ".join(f"{m['per_class'][c]['f1']:.3f}" for c in classes)
        print(
            f"| {ROWS.get(run.name, run.name)} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} | {f1} | {m['ece']:.3f} | {m['n']} |"
        )
    print()
    for run, m in rows:
        print(
            f"{ROWS.get(run.name, run.name)}: confusion (rows true, columns predicted: {', '.join(classes)}): "
            + "; ".join(" ".join(f"{v:>3}" for v in r) for r in m["confusion_matrix"])
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
