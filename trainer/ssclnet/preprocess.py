"""The one preprocessing specification of SSCLNet, and its Python implementation.

The specification travels in the model card (`model-card.json`, key `preprocess`); the viewer implements
exactly the same steps in TypeScript (`extension/src/inference/preprocess.ts`). Shared parity vectors check
that both give the same tensor. Change a step here and there together, and bump `SPEC_VERSION`.

Steps, in order, on one grayscale slice of any bit depth:
  1. stored values -> float64 with the modality LUT (value * slope + intercept); colour images are turned
     into luma with BT.601 weights (0.299 R + 0.587 G + 0.114 B), as floats, never rounded;
  2. MONOCHROME1 images are inverted (x -> min + max - x) so that bright always means high signal;
  3. the image is padded to a square, centred (extra pixel at the bottom/right), with its minimum value;
  4. resized to `input_size` with a separable triangle filter whose support widens with the downscale factor
     (antialiased bilinear, the rule PIL calls BILINEAR), weights computed per output pixel in float64;
  5. robust min-max: lo, hi = the values at ranks floor(q * (n - 1)) of the sorted resized pixels for
     q = low_percentile / 100 and high_percentile / 100; x -> clip((x - lo) / (hi - lo), 0, 1), or 0 where
     hi - lo <= 1e-6 (a blank slice);
  6. x -> (x - mean) / std, as float32; `channels` copies (the model takes 1).

Why a fixed per-slice rule rather than the DICOM window or the user's VOI: the training JPEGs were windowed
by unknown hands, and a radiologist's live window changes from minute to minute. A rank-based rule gives the
same input for the same anatomy whatever the bit depth, rescale or display window, so JPEG training images
and 16-bit DICOM slices meet the model on the same scale.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

SPEC_VERSION = 1
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class PreprocessSpec:
    input_size: int = 224
    channels: int = 1
    fit: str = "pad-square-min"
    resize: str = "triangle-antialiased"
    low_percentile: float = 0.5
    high_percentile: float = 99.5
    mean: float = 0.5
    std: float = 0.5
    color: str = "luma-bt601"
    dicom: dict[str, Any] = field(
        default_factory=lambda: {
            "modality_lut": "rescale slope/intercept applied before every other step",
            "photometric": "MONOCHROME1 inverted; RGB/YBR converted to luma",
            "voi": "ignored: intensity comes from step 5 (robust min-max), not from the stored or user window",
            "multiframe": "each frame is one slice",
        }
    )
    layout: str = "NHWC for TensorFlow.js, NCHW for PyTorch"
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        if self.input_size < 16:
            raise ValueError(f"input_size must be at least 16, got {self.input_size}")
        if not 0 <= self.low_percentile < self.high_percentile <= 100:
            raise ValueError("need 0 <= low_percentile < high_percentile <= 100")
        if self.std <= 0:
            raise ValueError("std must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PreprocessSpec:
        if d.get("version", SPEC_VERSION) != SPEC_VERSION:
            raise ValueError(f"preprocessing spec version {d.get('version')} is not {SPEC_VERSION}")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def to_luma(pixels: np.ndarray) -> np.ndarray:
    """2-D float64 luma of a (H, W) or (H, W, 3|4) array."""
    a = np.asarray(pixels)
    if a.ndim == 2:
        return a.astype(np.float64)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        rgb = a[..., :3].astype(np.float64)
        return rgb @ np.asarray(LUMA_WEIGHTS, dtype=np.float64)
    raise ValueError(f"expected a 2-D grayscale or (H, W, 3) colour image, got shape {a.shape}")


def pad_to_square(img: np.ndarray) -> np.ndarray:
    h, w = img.shape
    m = max(h, w)
    if h == w:
        return img
    out = np.full((m, m), img.min(), dtype=np.float64)
    top, left = (m - h) // 2, (m - w) // 2
    out[top : top + h, left : left + w] = img
    return out


@lru_cache(maxsize=64)
def triangle_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) resampling matrix of the antialiased triangle filter; rows sum to 1 (read-only)."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    w = np.zeros((out_size, in_size), dtype=np.float64)
    for i in range(out_size):
        center = (i + 0.5) * scale
        j0 = max(0, int(math.floor(center - support)))
        j1 = min(in_size, int(math.ceil(center + support)))
        for j in range(j0, j1):
            w[i, j] = max(0.0, 1.0 - abs((j + 0.5 - center) / support))
        s = w[i].sum()
        if s > 0:
            w[i] /= s
    w.flags.writeable = False
    return w


def resize_square(img: np.ndarray, size: int) -> np.ndarray:
    m = img.shape[0]
    if m == size:
        return img.astype(np.float64)
    wts = triangle_weights(m, size)
    return wts @ img @ wts.T


def rank_value(sorted_values: np.ndarray, q: float) -> float:
    n = sorted_values.size
    return float(sorted_values[int(math.floor(q * (n - 1)))])


def robust_unit(img: np.ndarray, low_percentile: float, high_percentile: float) -> np.ndarray:
    s = np.sort(img, axis=None)
    lo = rank_value(s, low_percentile / 100.0)
    hi = rank_value(s, high_percentile / 100.0)
    if hi - lo <= 1e-6:
        return np.zeros_like(img)
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0)


def preprocess(
    pixels: np.ndarray,
    spec: PreprocessSpec,
    *,
    slope: float = 1.0,
    intercept: float = 0.0,
    monochrome1: bool = False,
) -> np.ndarray:
    """One slice -> float32 array (channels, input_size, input_size), ready for the PyTorch model."""
    img = to_luma(pixels)
    if img.size == 0:
        raise ValueError("empty image")
    if slope != 1.0 or intercept != 0.0:
        img = img * float(slope) + float(intercept)
    if monochrome1:
        img = img.min() + img.max() - img
    img = resize_square(pad_to_square(img), spec.input_size)
    img = robust_unit(img, spec.low_percentile, spec.high_percentile)
    img = (img - spec.mean) / spec.std
    out = img.astype(np.float32)[None]
    if spec.channels > 1:
        out = np.repeat(out, spec.channels, axis=0)
    return out
