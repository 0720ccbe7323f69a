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
from dataclasses import dataclass, replace

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
    # The strong preset's extras; 0 = off and no random draws (runs without them reproduce bit for bit).
    aspect_log: float = 0.0  # crop aspect ratio exp(uniform(-a, a)) (RandomResizedCrop's 3/4..4/3 is log(4/3))
    blur_p: float = 0.0  # Gaussian blur with this probability, sigma uniform in [0.1, blur_sigma_max] pixels
    blur_sigma_max: float = 1.5
    noise_max: float = 0.0  # additive Gaussian noise, std uniform in [0, noise_max] ([0, 1] units)

    def __post_init__(self) -> None:
        if not 0 < self.crop_min <= self.crop_max <= 1:
            raise ValueError("need 0 < crop_min <= crop_max <= 1")
        if not (0 <= self.hflip_p <= 1 and 0 <= self.vflip_p <= 1):
            raise ValueError("flip probabilities must be in [0, 1]")
        if self.gamma >= 1 or self.contrast >= 1:
            raise ValueError("gamma and contrast jitter must be < 1")


# The paper's pretraining augmentations (the seed's, `--augment paper`), a strong SimCLR-style preset
# (`--augment strong`: SimCLR's ablations put wide random-resized crops and strong photometric distortion
# first; for grey MR that is brightness/contrast/gamma, blur and noise instead of colour jitter), and a
# milder set for supervised fine-tuning (labels are at stake: strong crops can cut a small lesion out of view).
PRETRAIN = AugmentParams()
STRONG = AugmentParams(
    max_rotation_deg=15.0,
    hflip_p=0.5,
    vflip_p=0.5,
    crop_min=0.45,  # side 0.45 = 20 % of the area, SimCLR's scale (0.2, 1) with 64-128 px inputs
    crop_max=1.0,
    brightness=0.3,
    contrast=0.5,
    gamma=0.5,
    aspect_log=math.log(4 / 3),
    blur_p=0.5,
    blur_sigma_max=1.5,
    noise_max=0.05,
)
PRESETS = {"paper": PRETRAIN, "strong": STRONG}
FINETUNE = AugmentParams(
    max_rotation_deg=10.0,
    hflip_p=0.5,
    vflip_p=0.0,
    crop_min=0.9,
    crop_max=1.0,
    brightness=0.05,
    contrast=0.1,
    gamma=0.1,
)

# Multi-crop's local views (`ssclnet pretrain --local-crops N`): the preset's distortions on small crops, 20-45 %
# of the side (4-20 % of the area, DINO's local scale 0.05-0.4 of the area), sampled at a lower resolution.
LOCAL_CROP_SIDE = (0.2, 0.45)


def local_params(params: AugmentParams) -> AugmentParams:
    return replace(params, crop_min=LOCAL_CROP_SIDE[0], crop_max=LOCAL_CROP_SIDE[1])


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
    sx, sy = side, side
    if params.aspect_log > 0:  # same area, aspect exp(+-a); each side capped at the whole image
        r = torch.exp(_uniform(n, -params.aspect_log, params.aspect_log, like, gen)).sqrt()
        sx, sy = (side * r).clamp(max=1.0), (side / r).clamp(max=1.0)
    # The crop's centre ranges where the crop fits: [-(1 - side), 1 - side] in normalised coordinates.
    cx = _uniform(n, -1.0, 1.0, like, gen) * (1.0 - sx)
    cy = _uniform(n, -1.0, 1.0, like, gen) * (1.0 - sy)
    cos, sin = torch.cos(angle), torch.sin(angle)
    row0 = torch.stack([cos * sx * fx, -sin * sy * fy, cx], dim=1)
    row1 = torch.stack([sin * sx * fx, cos * sy * fy, cy], dim=1)
    return torch.stack([row0, row1], dim=1)


def augment(
    x: torch.Tensor,
    params: AugmentParams = PRETRAIN,
    *,
    mean: float = 0.5,
    std: float = 0.5,
    generator: torch.Generator | None = None,
    out_size: int | None = None,
) -> torch.Tensor:
    """x: (N, C, H, W) in the spec's normalised space -> a new batch of the same shape, range and dtype.

    `mean`/`std` are the spec's; `generator` (on x's device) makes the draws reproducible and resumable.
    `out_size`: sample each crop onto an out_size x out_size grid instead (multi-crop's small local views).
    """
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got {tuple(x.shape)}")
    n = x.shape[0]
    dtype = x.dtype
    xf = x.float()
    background = (0.0 - mean) / std
    theta = affine_matrices(n, params, xf, generator)
    shape = list(xf.shape) if out_size is None else [n, xf.shape[1], out_size, out_size]
    grid = F.affine_grid(theta, shape, align_corners=False)
    out = F.grid_sample(xf - background, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + background

    u = (out * std + mean).clamp_(0.0, 1.0)  # back to [0, 1] intensities
    g = _uniform(n, 1.0 - params.gamma, 1.0 + params.gamma, xf, generator).view(n, 1, 1, 1)
    c = _uniform(n, 1.0 - params.contrast, 1.0 + params.contrast, xf, generator).view(n, 1, 1, 1)
    b = _uniform(n, -params.brightness, params.brightness, xf, generator).view(n, 1, 1, 1)
    u = u.pow(g)
    m = u.mean(dim=(1, 2, 3), keepdim=True)
    u = ((u - m) * c + m + b).clamp_(0.0, 1.0)
    if params.blur_p > 0:
        u = _random_blur(u, params.blur_p, params.blur_sigma_max, generator)
    if params.noise_max > 0:
        sigma = _uniform(n, 0.0, params.noise_max, xf, generator).view(n, 1, 1, 1)
        u = (u + sigma * torch.randn(u.shape, device=u.device, generator=generator)).clamp_(0.0, 1.0)
    return ((u - mean) / std).to(dtype)


def _random_blur(u: torch.Tensor, p: float, sigma_max: float, gen: torch.Generator | None) -> torch.Tensor:
    """Separable Gaussian blur of a random subset (probability p), sigma uniform in [0.1, sigma_max] per image."""
    n, c, h, w = u.shape
    sigma = _uniform(n, 0.1, sigma_max, u, gen)
    chosen = torch.rand(n, device=u.device, generator=gen) < p
    radius = max(1, math.ceil(3 * sigma_max))
    t = torch.arange(-radius, radius + 1, device=u.device, dtype=torch.float32)
    k = torch.exp(-0.5 * (t.view(1, -1) / sigma.view(-1, 1)) ** 2)
    k = k / k.sum(dim=1, keepdim=True)  # (n, K): one kernel per image, applied as a grouped conv
    x = u.reshape(1, n * c, h, w)
    kk = k.repeat_interleave(c, dim=0)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kk.view(n * c, 1, 1, -1), groups=n * c)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kk.view(n * c, 1, -1, 1), groups=n * c)
    return torch.where(chosen.view(n, 1, 1, 1), x.view(n, c, h, w), u)


# --- Contrast randomisation (domain randomisation of the intensity mapping, in the spirit of SynthSeg:
# Billot et al. 2023). A brain MRI's tissue contrast depends on the sequence (T1, T2, PD, FLAIR, EPI, GRE field
# maps...), and a model trained on a few sequences learns "tumour" partly from contrast. Remapping each training
# image's intensities with a random curve (monotone, inverted or non-monotone) plus gamma, a smooth bias field,
# blur and noise, for images of EVERY class, leaves shape and structure as the only stable cue. Default off
# (`p = 0`): no random draws are made, so runs without it reproduce bit for bit.


@dataclass(frozen=True)
class ContrastParams:
    knots: int = 6  # control points of the piecewise-linear intensity curve over [0, 1]
    keep_background_p: float = 0.9  # the curve maps 0 to 0 (air stays dark, as on every MR sequence)
    background_level: float = 0.06  # intensities below this count as background when it is kept dark
    gamma_log_range: float = math.log(2.0)  # gamma = exp(uniform(-r, r)): 0.5 .. 2
    bias_max: float = 0.5  # multiplicative bias field exp(b * (field - 0.5)), b uniform in [0, bias_max]
    blur_p: float = 0.3
    noise_max: float = 0.04  # Gaussian noise std uniform in [0, noise_max] (in [0, 1] units)


CONTRAST = ContrastParams()


def _curves(n: int, k: int, like: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """(n, k) curve values at k equally spaced knots: a third monotone increasing, a third decreasing
    (inversion-like: T1 -> T2-like), a third non-monotone (arbitrary tissue ordering)."""
    v = torch.rand(n, k, device=like.device, generator=gen)
    kind = torch.randint(0, 3, (n,), device=like.device, generator=gen)
    inc = v.sort(dim=1).values
    dec = inc.flip(1)
    out = torch.where((kind == 0).view(n, 1), inc, torch.where((kind == 1).view(n, 1), dec, v))
    return out


def contrast_randomise(
    x: torch.Tensor,
    p: float,
    params: ContrastParams = CONTRAST,
    *,
    mean: float = 0.5,
    std: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """With probability p per image, replace its intensity mapping by a random one (see ContrastParams).
    x: (N, C, H, W) in the spec's normalised space; returns the same shape, dtype and range."""
    if not 0 <= p <= 1:
        raise ValueError("contrast randomisation probability must be in [0, 1]")
    if p == 0 or x.shape[0] == 0:
        return x
    if x.ndim != 4:
        raise ValueError(f"expected (N, C, H, W), got {tuple(x.shape)}")
    n, c, h, w = x.shape
    dtype = x.dtype
    u = (x.float() * std + mean).clamp(0.0, 1.0)
    sel = torch.rand(n, device=x.device, generator=generator) < p
    k = params.knots
    v = _curves(n, k, u, generator)
    keep_bg = torch.rand(n, device=x.device, generator=generator) < params.keep_background_p
    # piecewise-linear remap, per image: position t = u * (k - 1), value = lerp between knots
    t = u * (k - 1)
    lo = t.floor().clamp(max=k - 2).long()
    frac = t - lo.float()
    vv = v.view(n, 1, 1, k).expand(n, c, h, k)
    a = torch.gather(vv, 3, lo.clamp(0, k - 2))
    b = torch.gather(vv, 3, (lo + 1).clamp(0, k - 1))
    r = a + (b - a) * frac
    bg = (u < params.background_level).float()
    r = torch.where(keep_bg.view(n, 1, 1, 1), r * (1 - bg), r)
    # gamma
    g = torch.exp(_uniform(n, -params.gamma_log_range, params.gamma_log_range, u, generator)).view(n, 1, 1, 1)
    r = r.clamp(0.0, 1.0).pow(g)
    # smooth multiplicative bias field from a 4x4 random grid
    field = torch.rand(n, 1, 4, 4, device=x.device, generator=generator)
    field = F.interpolate(field, size=(h, w), mode="bicubic", align_corners=False)
    bstr = _uniform(n, 0.0, params.bias_max, u, generator).view(n, 1, 1, 1)
    r = r * torch.exp(bstr * (field - 0.5))
    # blur (3x3 binomial) for some images
    blur = (torch.rand(n, device=x.device, generator=generator) < params.blur_p).view(n, 1, 1, 1)
    kern = torch.tensor([1.0, 2.0, 1.0], device=x.device)
    kern = (kern[:, None] * kern[None, :] / 16.0).view(1, 1, 3, 3).repeat(c, 1, 1, 1)
    blurred = F.conv2d(F.pad(r, (1, 1, 1, 1), mode="replicate"), kern, groups=c)
    r = torch.where(blur, blurred, r)
    # noise
    sigma = _uniform(n, 0.0, params.noise_max, u, generator).view(n, 1, 1, 1)
    r = r + sigma * torch.randn((n, 1, h, w), device=x.device, generator=generator)  # same on every channel
    # back to the preprocessing's [0, 1] range: min-max per image (as the robust min-max of preprocessing does)
    lo_v = r.amin(dim=(1, 2, 3), keepdim=True)
    hi_v = r.amax(dim=(1, 2, 3), keepdim=True)
    r = ((r - lo_v) / (hi_v - lo_v).clamp_min(1e-6)).clamp(0.0, 1.0)
    return torch.where(sel.view(n, 1, 1, 1), ((r - mean) / std).to(dtype), x)  # unselected: exactly the input
