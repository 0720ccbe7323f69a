"""A run's per-epoch history as a CSV and a PNG curve (the SSL health signal: kNN accuracy of the frozen
encoder next to the loss), rewritten atomically after every epoch so a stalled recipe is seen within minutes."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .checkpoint import atomic_write_bytes


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


def plot_history(history: Sequence[dict], path: str | Path, title: str, metric: str = "knn_acc") -> Path:
    """Loss (left axis) and `metric` (right axis, points where measured) against the epoch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .evaluation import figure_png

    fig, ax = plt.subplots(figsize=(6, 3.6))
    pts = [(r["epoch"], r["loss"]) for r in history if r.get("loss") is not None]
    if pts:
        ax.plot(*zip(*pts), color="tab:blue", label="loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("NT-Xent loss", color="tab:blue")
    ax2 = ax.twinx()
    m = [(r["epoch"], r[metric]) for r in history if r.get(metric) is not None]
    if m:
        ax2.plot(*zip(*m), "o-", color="tab:red", label=metric)
    ax2.set_ylabel(f"{metric} (dev test)", color="tab:red")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    data = figure_png(fig)
    plt.close(fig)
    return atomic_write_bytes(path, data)
