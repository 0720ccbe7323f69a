"""Evaluation of a fine-tuned checkpoint: accuracy, per-class precision/recall/F1, macro-F1, confusion
matrix, expected calibration error; written as metrics.json + confusion.png + reliability.png.

`evaluate_checkpoint(...)` is the Python API (the model card takes its dict); `ssclnet evaluate` wraps it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_write_bytes
from .checkpoint import load_checkpoint
from .data import DataError, load_dataset
from .model import Classifier
from .preprocess import PreprocessSpec
from .runtime import Runtime, setup_runtime

ECE_BINS = 15


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width confidence bins of |accuracy - mean confidence| weighted by the bin's share
    (Guo et al. 2017); bins are (lo, hi], the first one [0, hi]."""
    confidence = np.asarray(confidence, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    if confidence.size == 0:
        return 0.0
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = which == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - confidence[m].mean())
    return float(ece)


def compute_metrics(y_true: np.ndarray, probs: np.ndarray, classes: list[str]) -> dict:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true, dtype=int)
    probs = np.asarray(probs, dtype=np.float64)
    pred = probs.argmax(1)
    labels = list(range(len(classes)))
    p, r, f1, support = precision_recall_fscore_support(y_true, pred, labels=labels, zero_division=0)
    cm = confusion_matrix(y_true, pred, labels=labels)
    conf = probs.max(1)
    nll = float(-np.log(np.clip(probs[np.arange(len(y_true)), y_true], 1e-12, 1)).mean()) if len(y_true) else 0.0
    return {
        "n": int(len(y_true)),
        "accuracy": float((pred == y_true).mean()) if len(y_true) else 0.0,
        "macro_f1": float(f1.mean()),
        "per_class": {
            c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i, c in enumerate(classes)
        },
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_axes": "rows = true class, columns = predicted class, in `classes` order",
        "classes": list(classes),
        "ece": expected_calibration_error(conf, pred == y_true),
        "ece_bins": ECE_BINS,
        "nll": nll,
    }


def format_report(m: dict) -> str:
    classes = m["classes"]
    w = max(10, *(len(c) for c in classes))
    lines = [
        f"n = {m['n']}   accuracy {m['accuracy']:.4f}   macro-F1 {m['macro_f1']:.4f}   "
        f"ECE({m['ece_bins']} bins) {m['ece']:.4f}   NLL {m['nll']:.4f}",
        "",
        f"{'class':<{w}}  precision  recall     f1  support",
    ]
    for c in classes:
        pc = m["per_class"][c]
        lines.append(f"{c:<{w}}  {pc['precision']:9.4f}  {pc['recall']:6.4f}  {pc['f1']:5.4f}  {pc['support']:7d}")
    lines += [
        "",
        "confusion matrix (rows true, columns predicted):",
        " " * (w + 2) + " ".join(f"{c[:8]:>8}" for c in classes),
    ]
    for c, row in zip(classes, m["confusion_matrix"]):
        lines.append(f"{c:<{w}}  " + " ".join(f"{v:8d}" for v in row))
    return "\n".join(lines)


def figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    return buf.getvalue()


def plot_confusion(m: dict, title: str = "") -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(m["confusion_matrix"])
    classes = m["classes"]
    fig, ax = plt.subplots(figsize=(1.2 * len(classes) + 2.5, 1.1 * len(classes) + 2))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or f"accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} (n={m['n']})")
    peak = cm.max() if cm.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", color="white" if cm[i, j] > peak / 2 else "black")
    data = figure_png(fig)
    plt.close(fig)
    return data


def plot_reliability(confidence: np.ndarray, correct: np.ndarray, ece: float, bins: int = ECE_BINS) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    acc = [correct[which == b].mean() if (which == b).any() else np.nan for b in range(bins)]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.bar((np.arange(bins) + 0.5) / bins, acc, width=1 / bins, edgecolor="black", label="accuracy")
    ax.plot([0, 1], [0, 1], "--", color="gray", label="perfect calibration")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"reliability (ECE {ece:.3f})")
    ax.legend(loc="upper left")
    data = figure_png(fig)
    plt.close(fig)
    return data


@torch.no_grad()
def predict_probs(model: torch.nn.Module, images: torch.Tensor, rt: Runtime, batch_size: int = 128) -> np.ndarray:
    model.eval()
    out = []
    for chunk in images.split(batch_size):
        logits = model(chunk.to(rt.device, torch.float32)).float()
        out.append(torch.softmax(logits, dim=1).cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, 0))


def classifier_from_checkpoint(ckpt: dict) -> Classifier:
    """The classifier a loaded finetune checkpoint (or soup) describes, its weights loaded."""
    model = Classifier(len(ckpt["classes"]), in_channels=PreprocessSpec.from_dict(ckpt["preprocess"]).channels)
    model.load_state_dict(ckpt["model"])
    return model


def load_classifier(checkpoint: str | Path) -> tuple[Classifier, list[str], PreprocessSpec, dict]:
    ckpt = load_checkpoint(checkpoint, "finetune")
    return classifier_from_checkpoint(ckpt), list(ckpt["classes"]), PreprocessSpec.from_dict(ckpt["preprocess"]), ckpt


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | Path,
    split: str | None = "test",
    *,
    out: str | Path | None = None,
    batch_size: int = 128,
    device: str = "auto",
    workers: int = 0,
) -> dict:
    """Metrics dict of a fine-tuned checkpoint on a labeled data set; with `out`, also writes
    metrics.json, confusion.png and reliability.png there (atomically)."""
    model, classes, spec, ckpt = load_classifier(checkpoint)
    rt = setup_runtime(device)
    model.to(rt.device)
    split_sel = split if str(data).lower().endswith(".csv") else None
    try:
        ds = load_dataset(data, split_sel, spec, workers=workers, require_labels=True)
        y = ds.label_indices(classes)
    except DataError as e:
        raise SystemExit(f"evaluate: {e}") from e
    probs = predict_probs(model, ds.images, rt, batch_size)
    m = compute_metrics(y.numpy(), probs, classes)
    m.update(
        {
            "checkpoint": str(checkpoint),
            "checkpoint_epoch": ckpt.get("epoch"),
            "data": str(data),
            "split": split_sel,
            "skipped_count": len(ds.skipped),
            "skipped": [{"file": f, "reason": r} for f, r in ds.skipped],
        }
    )
    if out is not None:
        out = Path(out)
        atomic_write_bytes(out / "metrics.json", (json.dumps(m, indent=2) + "\n").encode())
        atomic_write_bytes(out / "confusion.png", plot_confusion(m))
        conf = probs.max(1)
        atomic_write_bytes(
            out / "reliability.png", plot_reliability(conf, (probs.argmax(1) == y.numpy()).astype(float), m["ece"])
        )
    return m
