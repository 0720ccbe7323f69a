"""A recipe study's comparison (tools/training/ssl_curves.py): histories written by a run read back as numbers,
each run's kNN start → best → last and speed are summarized, and all curves are drawn on one figure."""

import importlib.util
from pathlib import Path

import pytest

from ssclnet.curves import read_history_csv, summarize_history, write_history_csv

TOOL = Path(__file__).resolve().parents[2] / "tools" / "training" / "ssl_curves.py"
HISTORY = [
    {"epoch": 0, "knn_acc": 0.70},
    {"epoch": 1, "loss": 5.5, "seconds": 60.0, "pairs_per_s": 90.0},
    {"epoch": 2, "loss": 5.0, "seconds": 66.0, "pairs_per_s": 80.0, "knn_acc": 0.75},
    {"epoch": 3, "loss": 4.8, "seconds": 54.0, "pairs_per_s": 100.0},
    {"epoch": 4, "loss": 4.6, "seconds": 60.0, "pairs_per_s": 85.0, "knn_acc": 0.72},
]


def tool():
    spec = importlib.util.spec_from_file_location("ssl_curves", TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_history_round_trips_and_summarizes(tmp_path):
    write_history_csv(HISTORY, tmp_path / "history.csv")
    assert (tmp_path / "history.csv").stat().st_mode & 0o777 == 0o644  # readable like any other written file
    back = read_history_csv(tmp_path / "history.csv")
    assert back == HISTORY
    s = summarize_history(back)
    assert (s["epochs"], s["first"], s["best"], s["best_epoch"], s["last"]) == (4, 0.70, 0.75, 2, 0.72)
    assert s["minutes"] == pytest.approx(4.0) and s["pairs_per_s"] == pytest.approx(87.5)
    trimmed = summarize_history([{"epoch": 0, "knn_acc": 0.70}, {"epoch": 30, "knn_acc": 0.79}])  # a snapshot's curve
    assert trimmed["minutes"] is None and trimmed["pairs_per_s"] is None  # unknown, not "0.0 min"
    with pytest.raises(ValueError, match="no knn_acc"):
        summarize_history([{"epoch": 1, "loss": 5.0}])


def test_tool_prints_rows_and_draws_every_run(tmp_path, capsys):
    for name, shift in (("a", 0.0), ("b", 0.05)):
        rows = [dict(r, knn_acc=r["knn_acc"] + shift) if "knn_acc" in r else r for r in HISTORY]
        write_history_csv(rows, tmp_path / name / "history.csv")
    out = tmp_path / "cmp.png"
    assert tool().main(["--out", str(out), f"T 0.5={tmp_path / 'a'}", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert "| T 0.5 | 4 | 4.0 min | 88 | 0.700 → 0.750 (epoch 2) → 0.720 |" in printed
    assert "| b | 4 | 4.0 min | 88 | 0.750 → 0.800 (epoch 2) → 0.770 |" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tool_refuses_a_folder_without_history(tmp_path, capsys):
    assert tool().main([str(tmp_path / "nothing")]) == 2
    assert "history.csv not found" in capsys.readouterr().err
