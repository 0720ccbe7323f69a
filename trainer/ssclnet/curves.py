"""A run's per-epoch history as a CSV and a PNG curve (the SSL health signal: kNN accuracy of the frozen
encoder next to the loss), rewritten atomically after every epoch so a stalled recipe is seen within minutes."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import median

from .atomic import atomic_write_bytes


def write_history_csv(history: Sequence[dict], path: str | Path) -> Path:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
    w.writeheader()
    for row in history:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return atomic_write_bytes(path, buf.getvalue().encode())


def read_history_csv(path: str | Path) -> list[dict]:
    """The rows `write_history_csv` wrote, numbers as numbers and empty cells left out."""
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            row: dict = {}
            for k, v in raw.items():
                if v not in ("", None):
                    row[k] = int(v) if k == "epoch" else float(v)
            rows.append(row)
    return rows


def _points(history: Sequence[dict], metric: str) -> list[tuple[int, float]]:
    """(epoch, value) where `metric` was measured (the kNN monitor runs every few epochs)."""
    return [(r["epoch"], r[metric]) for r in history if r.get(metric) is not None]


def summarize_history(history: Sequence[dict], metric: str = "knn_acc") -> dict:
    """One run's line of a recipe study: `metric` at the start, its best and last value, wall and median speed."""
    m = _points(history, metric)
    if not m:
        raise ValueError(f"no {metric} in this history")
    best = max(m, key=lambda p: p[1])
    speeds = [r["pairs_per_s"] for r in history if "pairs_per_s" in r]
    seconds = [r["seconds"] for r in history if "seconds" in r]  # a trimmed history (a snapshot's kNN curve) has none
    return {
        "epochs": max(r["epoch"] for r in history),
        "first": m[0][1],
        "best": best[1],
        "best_epoch": best[0],
        "last": m[-1][1],
        "minutes": sum(seconds) / 60 if seconds else None,
        "pairs_per_s": median(speeds) if speeds else None,
    }


def plot_runs(histories: Mapping[str, Sequence[dict]], path: str | Path, title: str, metric: str = "knn_acc") -> Path:
    """`metric` of several runs on one axis, so the levers of a recipe study are compared at a glance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation import figure_png

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, history in histories.items():
        m = _points(history, metric)
        if m:
            ax.plot(*zip(*m), "o-", ms=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{metric} (dev test)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    data = figure_png(fig)
    plt.close(fig)
    return atomic_write_bytes(path, data)


def plot_history(history: Sequence[dict], path: str | Path, title: str, metric: str = "knn_acc") -> Path:
    """Loss (left axis) and `metric` (right axis, points where measured) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation import figure_png

    fig, ax = plt.subplots(figsize=(6, 3.6))
    pts = _points(history, "loss")
    if pts:
        ax.plot(*zip(*pts), color="tab:blue", label="loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NT-Xent loss", color="tab:blue")
    ax2 = ax.twinx()
    m = _points(history, metric)
    if m:
        ax2.plot(*zip(*m), "o-", color="tab:red", label=metric)
    ax2.set_ylabel(f"{metric} (dev test)", color="tab:red")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    data = figure_png(fig)
    plt.close(fig)
    return atomic_write_bytes(path, data)
