"""Evaluation metrics against hand-computed values, and the files `evaluate` writes."""

import json

import numpy as np
import pytest

from ssclnet.evaluation import compute_metrics, expected_calibration_error, format_report, plot_confusion


def test_ece_by_hand():
    # Two occupied bins of 15: (0.6, 0.6667] holds 0.62, 0.65 (1 of 2 right), (0.9333, 1] holds 0.95, 0.99 (both).
    conf = np.array([0.62, 0.65, 0.95, 0.99])
    correct = np.array([1, 0, 1, 1])
    expected = 0.5 * abs(0.5 - 0.635) + 0.5 * abs(1.0 - 0.97)
    assert expected_calibration_error(conf, correct) == pytest.approx(expected)
    assert expected_calibration_error(np.array([1.0, 1.0]), np.array([1, 1])) == 0.0
    assert expected_calibration_error(np.array([]), np.array([])) == 0.0


def test_metrics_by_hand():
    classes = ["a", "b", "c"]
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    probs = np.full((6, 3), 0.1)
    probs[np.arange(6), pred] = 0.8
    m = compute_metrics(y, probs, classes)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and m["per_class"]["b"]["recall"] == 1.0
    f1_b = 2 * (2 / 3) / (2 / 3 + 1)
    assert m["macro_f1"] == pytest.approx((0.5 + f1_b + 2 / 3) / 3)
    assert m["ece"] == pytest.approx(abs(4 / 6 - 0.8))  # one bin holds every prediction
    assert m["nll"] == pytest.approx(-(4 * np.log(0.8) + 2 * np.log(0.1)) / 6)
    report = format_report(m)
    assert "macro-F1" in report and "confusion matrix" in report
    json.dumps(m)  # serialisable as is


def test_confusion_png_is_a_png():
    m = compute_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.3, 0.7]]), ["x", "y"])
    assert plot_confusion(m)[:8] == b"\x89PNG\r\n\x1a\n"
