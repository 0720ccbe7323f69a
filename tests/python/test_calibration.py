"""Temperature scaling (ssclnet.calibration): recovers a known temperature, never moves the argmax."""

from __future__ import annotations

import numpy as np
import pytest

from ssclnet.calibration import ece, fit_temperature, nll, softmax


def _synthetic(t_true: float, n: int = 20000, k: int = 4, seed: int = 0):
    """Logits z whose labels are drawn from softmax(z / t_true): the NLL-optimal temperature is t_true."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 4, (n, k))
    p = softmax(z, t_true)
    y = (rng.random(n)[:, None] > p.cumsum(1)).sum(1)
    return z, np.minimum(y, k - 1)


@pytest.mark.parametrize("t_true", [0.5, 1.0, 2.5])
def test_recovers_a_known_temperature(t_true):
    z, y = _synthetic(t_true)
    t = fit_temperature(z, y)
    assert t == pytest.approx(t_true, rel=0.05)
    assert nll(z, y, t) <= nll(z, y, 1.0) + 1e-12
    assert ece(z, y, t) < 0.02


def test_overconfident_logits_get_t_above_one_and_lower_ece():
    z, y = _synthetic(2.0, seed=3)
    t = fit_temperature(z, y)
    assert t > 1.5
    assert ece(z, y, t) < ece(z, y, 1.0)
    assert (softmax(z, t).argmax(1) == z.argmax(1)).all()  # accuracy is unchanged


def test_softmax_is_stable_for_large_logits():
    p = softmax(np.array([[1000.0, 0.0, -1000.0]]), 0.5)
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)
