"""Batched augmentations with random parameters drawn per image, on whatever device the batch is on.

One `affine_grid`/`grid_sample` per batch combines, for each image independently:
  * rotation by an angle uniform in ±max_rotation_deg,
  * horizontal and vertical flips, each with its own probability,
  * a random square crop whose SIDE is a fraction uniform in [crop_min, crop_max] of the image's side
    (SIDE, not area: brain slices fill most of the frame, and 80–90 % of the area would be a side of
    89–95 %, a zoom too faint to matter; 80–90 % of the side keeps the whole lesion region in view in most
    crops while changing the apparent scale by up to 25 %), placed uniformly where it fits, zoomed back to
    full size with bilinear sampling.
Then a mild intensity jitter (gamma, contrast around the image mean, brightness) in the [0, 1] space that
the spec's normalisation maps to [-1, 1] (for mean = std = 0.5), clamped so the output keeps the input range.

Padding: samples falling outside the image take the background value, i.e. what a pixel at the low end of
the robust min-max gets after normalisation ((0 - mean) / std = -1). It's done by sampling x - background
with zeros padding and adding background back. 'border' padding would instead smear the edge rows into
streaks, which can be anatomy when the head touches the frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentParams:
    max_rotation_deg: float = 15.0
    hflip_p: float = 0.5
    vflip_p: float = 0.5
    crop_min: float = 0.8  # fraction of the side
    crop_max: float = 0.9
    brightness: float = 0.1  # additive, in [0, 1] intensity units
    contrast: float = 0.2  # factor uniform in [1 - c, 1 + c]
    gamma: float = 0.2  # exponent uniform in [1 - g, 1 + g]

    def __post_init__(self) -> None:
        if not 0 < self.crop_min <= self.crop_max <= 1:
            raise ValueError("need 0 < crop_min <= crop_max <= 1")
        if not (0 <= self.hflip_p <= 1 and 0 <= self.vflip_p <= 1):
            raise ValueError("flip probabilities must be in [0, 1]")
        if self.gamma >= 1 or self.contrast >= 1:
            raise ValueError("gamma and contrast jitter must be < 1")


# The paper's pretraining augmentations, and a milder set for supervised fine-tuning (labels are at stake:
# strong crops can cut a small lesion out of view).
PRETRAIN = AugmentParams()
FINETUNE = AugmentParams(max_rotation_deg=10.0, hflip_p=0.5, vflip_p=0.0, crop_min=0.9, crop_max=1.0,
                         brightness=0.05, contrast=0.1, gamma=0.1)


def _uniform(n: int, lo: float, hi: float, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    return torch.rand(n, device=like.device, dtype=torch.float32, generator=gen) * (hi - lo) + lo


def _signs(n: int, p: float, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    flip = torch.rand(n, device=like.device, generator=gen) < p
    return 1.0 - 2.0 * flip.float()


def affine_matrices(n: int, params: AugmentParams, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """(n, 2, 3) theta for affine_grid: output coords -> input coords, per image."""
    angle = _uniform(n, -1.0, 1.0, like, gen) * math.radians(params.max_rotation_deg)
    fx = _signs(n, params.hflip_p, like, gen)
    fy = _signs(n, params.vflip_p, like, gen)
    side = _uniform(n, params.crop_min, params.crop_max, like, gen)
    # The crop's centre ranges where the crop fits: [-(1 - side), 1 - side] in normalised coordinates.
    cx = _uniform(n, -1.0, 1.0, like, gen) * (1.0 - side)
    cy = _uniform(n, -1.0, 1.0, like, gen) * (1.0 - side)
    cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
    row0 = torch.stack([cos * fx, -sin * fy, cx], dim=1)
    row1 = torch.stack([sin * fx, cos * fy, cy], dim=1)
    return torch.stack([row0, row1], dim=1)


def augment(
    x: torch.Tensor,
    params: AugmentParams = PRETRAIN,
    *,
    mean: float = 0.5,
    std: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """x: (N, C, H, W) in the spec's normalised space -> a new batch of the same shape, range and dtype.

    `mean`/`std` are the spec's; `generator` (on x's device) makes the draws reproducible and resumable.
    """
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got {tuple(x.shape)}")
    n = x.shape[0]
    dtype = x.dtype
    xf = x.float()
    background = (0.0 - mean) / std
    theta = affine_matrices(n, params, xf, generator)
    grid = F.affine_grid(theta, list(xf.shape), align_corners=False)
    out = F.grid_sample(xf - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + background

    u = (out * std + mean).clamp_(0.0, 1.0)  # back to [0, 1] intensities
    g = _uniform(n, 1.0 - params.gamma, 1.0 + params.gamma, xf, generator).view(n, 1, 1, 1)
    c = _uniform(n, 1.0 - params.contrast, 1.0 + params.contrast, xf, generator).view(n, 1, 1, 1)
    b = _uniform(n, -params.brightness, params.brightness, xf, generator).view(n, 1, 1, 1)
    u = u.pow(g)
    m = u.mean(dim=(1, 2, 3), keepdim=True)
    u = ((u - m) * c + m + b).clamp_(0.0, 1.0)
    return ((u - mean) / std).to(dtype)
