"""The feature gate: is an image inside the range the model was trained on?

Class-conditional Gaussians with one shared ("tied") covariance on the 512-d encoder features after global
average pooling (layer `avgpool`), as in Lee et al., "A Simple Unified Framework for Detecting
Out-of-Distribution Samples and Adversarial Attacks" (NeurIPS 2018), without their input perturbation and
layer ensemble (the viewer has one forward pass and the `avgpool` output only):

  mu_c      = mean feature of training class c
  Sigma     = covariance of (f - mu_{y(f)}) pooled over all training images, shrunk with Ledoit-Wolf
              (512 dimensions against a few thousand images: the raw estimate is ill-conditioned)
  P         = Sigma^-1
  score(f)  = min_c (f - mu_c)^T P (f - mu_c)          (squared Mahalanobis distance to the nearest class)
  out of range  <=>  score > threshold

The threshold is the smallest value that keeps at least `target` (0.97) of a held-out in-distribution set in
range (`threshold_for`). Mahalanobis on penultimate features beats max-softmax on medical OOD benchmarks
(e.g. Berger et al., "Confidence-based OOD detection: a comparative study and analysis", UNSURE 2021, on chest
X-rays; Cao et al., "A benchmark of medical out of distribution detection", 2020), and unlike softmax it
does not grow more confident far from the data.

On-disk format (`ood/gaussians.bin` in the artifact): little-endian float32, means [n_classes x dim]
row-major, then precision [dim x dim] row-major. The card's `in_range.features` says the rest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

METHOD = "mahalanobis-tied"
LAYER = "avgpool"
SCORE_TEXT = "min over classes c of (f - mu_c)^T P (f - mu_c)"
FILE = "ood/gaussians.bin"


@dataclass
class Gaussians:
    means: np.ndarray  # (K, D) float64
    precision: np.ndarray  # (D, D) float64, symmetric positive definite
    shrinkage: float = 0.0
    counts: list[int] | None = None

    @property
    def n_classes(self) -> int:
        return int(self.means.shape[0])

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def scores(self, features: np.ndarray) -> np.ndarray:
        return mahalanobis_scores(features, self.means, self.precision)

    def to_bytes(self) -> bytes:
        return (
            np.ascontiguousarray(self.means, dtype="<f4").tobytes()
            + np.ascontiguousarray(self.precision, dtype="<f4").tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes, n_classes: int, dim: int) -> Gaussians:
        want = 4 * (n_classes * dim + dim * dim)
        if len(data) != want:
            raise ValueError(f"gaussians.bin has {len(data)} bytes; {n_classes} classes x {dim} dims need {want}")
        a = np.frombuffer(data, "<f4").astype(np.float64)
        return cls(a[: n_classes * dim].reshape(n_classes, dim), a[n_classes * dim :].reshape(dim, dim))

    def write(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(self.to_bytes())

    @classmethod
    def read(cls, path: str | Path, n_classes: int, dim: int) -> Gaussians:
        return cls.from_bytes(Path(path).read_bytes(), n_classes, dim)

    def as_float32(self) -> Gaussians:
        """What a reader of the .bin file gets (float32 values), for scores that match the viewer's."""
        return Gaussians.from_bytes(self.to_bytes(), self.n_classes, self.dim)


def fit_gaussians(
    features: np.ndarray, labels: np.ndarray, n_classes: int, *, shrinkage: str | float = "ledoit-wolf"
) -> Gaussians:
    """Class means and the precision of the shared, shrunk covariance of the class-centred features."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=int)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError("features must be (N, D) with one label each")
    counts = [int((y == c).sum()) for c in range(n_classes)]
    if min(counts) == 0:
        raise ValueError(f"every class needs training features; counts {counts}")
    means = np.stack([x[y == c].mean(0) for c in range(n_classes)])
    centred = x - means[y]
    if shrinkage == "ledoit-wolf":
        from sklearn.covariance import LedoitWolf

        lw = LedoitWolf(assume_centered=True).fit(centred)
        cov, alpha = lw.covariance_, float(lw.shrinkage_)
    else:
        alpha = float(shrinkage)
        emp = centred.T @ centred / len(centred)
        mu = np.trace(emp) / emp.shape[0]
        cov = (1 - alpha) * emp + alpha * mu * np.eye(emp.shape[0])
    precision = np.linalg.inv(cov)
    precision = 0.5 * (precision + precision.T)
    return Gaussians(means, precision, alpha, counts)


def mahalanobis_scores(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """(N,) min over classes of the squared Mahalanobis distance, computed in float64."""
    f = np.asarray(features, dtype=np.float64)
    out = np.full(len(f), np.inf)
    for mu in np.asarray(means, dtype=np.float64):
        d = f - mu
        out = np.minimum(out, np.einsum("nd,de,ne->n", d, precision, d))
    return out


def _sorted_scores(scores: np.ndarray) -> np.ndarray:
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if s.size == 0:
        raise ValueError("no scores to set a threshold on")
    return s


def _plain_rank(n: int, target: float) -> int:
    """ceil(target * n), at least 1: the rank of the plain quantile."""
    if not 0 < target <= 1:
        raise ValueError("target must be in (0, 1]")
    return max(1, math.ceil(target * n - 1e-9))


def threshold_for(scores: np.ndarray, target: float = 0.97) -> float:
    """The smallest threshold t with mean(scores <= t) >= target: the ceil(target * n)-th smallest score."""
    s = _sorted_scores(scores)
    return float(s[_plain_rank(s.size, target) - 1])


def threshold_with_confidence(scores: np.ndarray, target: float = 0.97, confidence: float = 0.95) -> tuple[float, int]:
    """The smallest order statistic s_(k) of n calibration scores that keeps >= `target` of new in-distribution
    images in range with probability >= `confidence` over the draw of the calibration set. For a new score
    exchangeable with the n, the share at or below s_(k) is Beta(k, n + 1 - k) distributed (the
    calibration-conditional guarantee of split conformal prediction: Vovk 2012; Angelopoulos & Bates 2021,
    section 3.2), so a plain quantile keeps the target only about half the time. Returns (threshold, k).
    `confidence` 0 gives the plain quantile (threshold_for)."""
    s = _sorted_scores(scores)
    n = s.size
    if confidence <= 0:
        k0 = _plain_rank(n, target)
        return float(s[k0 - 1]), k0
    if not confidence < 1:
        raise ValueError("confidence must be in [0, 1)")
    if not 0 < target < 1:
        raise ValueError("target must be in (0, 1) when a confidence is asked for")
    from scipy.stats import beta

    k = np.arange(1, n + 1)
    ok = beta.sf(target, k, n + 1 - k) >= confidence
    if not ok.any():
        need = math.ceil(math.log(1 - confidence) / math.log(target))
        raise ValueError(
            f"{n} calibration images are too few to keep {target:.0%} in range with {confidence:.0%} confidence "
            f"(at least {need} are needed)"
        )
    k0 = int(k[ok.argmax()])
    return float(s[k0 - 1]), k0


def in_range_rate(scores: np.ndarray, threshold: float) -> float:
    s = np.asarray(scores)
    return float((s <= threshold).mean()) if s.size else float("nan")
