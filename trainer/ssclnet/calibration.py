"""Temperature scaling (Guo et al., "On Calibration of Modern Neural Networks", ICML 2017).

One scalar T > 0 divides the logits: calibrated p = softmax(logits / T). T is fitted by minimising the
negative log-likelihood on held-out labeled data (the dev `val` split), here as a bounded 1-D search over
log T (Brent's method: the NLL of T is smooth and unimodal in log T), so no gradient code and no learning
rate. Accuracy is unchanged (argmax does not move); only the confidence does.
"""

from __future__ import annotations

import numpy as np

from .evaluation import ECE_BINS, expected_calibration_error

T_MIN, T_MAX = 0.05, 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    y = np.asarray(labels, dtype=int)
    return float(-logp[np.arange(len(y)), y].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """argmin_T NLL(softmax(logits / T), labels) over T in [0.05, 20]."""
    from scipy.optimize import minimize_scalar

    if len(labels) == 0:
        raise ValueError("no labeled logits to fit a temperature on")
    res = minimize_scalar(
        lambda lt: nll(logits, labels, float(np.exp(lt))),
        bounds=(np.log(T_MIN), np.log(T_MAX)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(res.x))


def ece(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0, bins: int = ECE_BINS) -> float:
    p = softmax(logits, temperature)
    return expected_calibration_error(p.max(1), p.argmax(1) == np.asarray(labels), bins)
