"""Batched augmentations: shape, dtype and range kept; parameters drawn per image; reproducible; geometry."""

from pathlib import Path

import pytest
import torch

from ssclnet.augment import FINETUNE, PRETRAIN, AugmentParams, augment
from ssclnet.imageio import read_slices
from ssclnet.preprocess import PreprocessSpec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "brain-mri-mini"
IDENTITY = AugmentParams(
    max_rotation_deg=0, hflip_p=0, vflip_p=0, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0
)


def real_batch(n: int = 4, size: int = 64) -> torch.Tensor:
    spec = PreprocessSpec(input_size=size)
    files = sorted((FIXTURE / "images").rglob("*.jpg"))[:n]
    return torch.stack([torch.from_numpy(read_slices(f)[0].to_input(spec)) for f in files])


@pytest.mark.parametrize("params", [PRETRAIN, FINETUNE])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_keeps_shape_dtype_and_range(params, dtype):
    x = real_batch().to(dtype)
    y = augment(x, params, generator=torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == dtype
    assert float(y.min()) >= -1.0 and float(y.max()) <= 1.0
    assert not torch.equal(y, x)


def test_parameters_differ_per_image():
    x = real_batch(1).repeat(8, 1, 1, 1)  # the same image 8 times
    y = augment(x, PRETRAIN, generator=torch.Generator().manual_seed(1))
    flat = y.flatten(1)
    for i in range(8):
        for j in range(i + 1, 8):
            assert (flat[i] - flat[j]).abs().max() > 0.05, f"images {i} and {j} got the same augmentation"


def test_two_views_differ_and_generator_makes_it_reproducible():
    x = real_batch()
    g = torch.Generator().manual_seed(5)
    v1, v2 = augment(x, generator=g), augment(x, generator=g)
    assert (v1 - v2).abs().mean() > 0.01
    again = augment(x, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(again, v1, rtol=0, atol=0)


def test_identity_parameters_return_the_input():
    x = real_batch()
    torch.testing.assert_close(augment(x, IDENTITY), x, rtol=0, atol=1e-5)


def test_flips_are_exact_mirrors():
    x = real_batch()
    h = AugmentParams(
        max_rotation_deg=0, hflip_p=1, vflip_p=0, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0
    )
    v = AugmentParams(
        max_rotation_deg=0, hflip_p=0, vflip_p=1, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0
    )
    torch.testing.assert_close(augment(x, h), x.flip(3), rtol=0, atol=1e-5)
    torch.testing.assert_close(augment(x, v), x.flip(2), rtol=0, atol=1e-5)


def test_rotation_pads_with_background_not_border():
    # A bright image rotated 15°: the uncovered corners must be the background (-1), not smeared edges.
    # ('border' padding would return the constant image unchanged.)
    x = torch.ones(8, 1, 32, 32)
    rot = AugmentParams(
        max_rotation_deg=15, hflip_p=0, vflip_p=0, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0
    )
    y = augment(x, rot, generator=torch.Generator().manual_seed(2))
    corners = torch.stack([y[:, 0, 0, 0], y[:, 0, 0, -1], y[:, 0, -1, 0], y[:, 0, -1, -1]])
    assert bool((corners < 0.99).all()), "every rotated image pulls background into its corners"
    assert float(y.min()) == pytest.approx(-1.0, abs=1e-5)
    assert float(y[:, :, 12:20, 12:20].min()) == pytest.approx(1.0, abs=1e-5)  # the centre stays inside


def test_crop_zooms_in():
    # A centred crop of 80-90 % of the side magnifies: a centred square grows by 1/side.
    x = -torch.ones(1, 1, 100, 100)
    x[..., 40:60, 40:60] = 1.0
    p = AugmentParams(
        max_rotation_deg=0, hflip_p=0, vflip_p=0, crop_min=0.8, crop_max=0.8, brightness=0, contrast=0, gamma=0
    )
    # crop_min == crop_max leaves only the crop's position random; with side 0.8 it moves by at most 10 px.
    y = augment(x, p, generator=torch.Generator().manual_seed(0))
    bright = float((y > 0).float().sum())
    assert bright == pytest.approx(400 / 0.8**2, rel=0.1)


def test_runs_on_the_batch_device():
    x = real_batch(2)
    assert augment(x).device == x.device


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError):
        AugmentParams(crop_min=0.9, crop_max=0.8)
    with pytest.raises(ValueError):
        augment(torch.zeros(3, 8, 8))


# --- contrast randomisation (issue 15 round 2) ---

from ssclnet.augment import contrast_randomise  # noqa: E402


def test_contrast_randomise_off_makes_no_draws_and_returns_the_input():
    x = real_batch()
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert contrast_randomise(x, 0.0, generator=g) is x
    assert torch.equal(g.get_state(), state)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_contrast_randomise_keeps_shape_dtype_range_and_grey(dtype):
    x = real_batch(8).to(dtype)
    y = contrast_randomise(x, 1.0, generator=torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == dtype
    assert float(y.min()) >= -1.0 and float(y.max()) <= 1.0
    if x.shape[1] > 1:  # a grey image stays grey: every channel gets the same remap, field and noise
        assert torch.allclose(y[:, 0], y[:, 1]) and torch.allclose(y[:, 0], y[:, -1])
    assert all(not torch.equal(y[i], x[i]) for i in range(len(x)))


def test_contrast_randomise_applies_with_probability_p_and_is_reproducible():
    x = real_batch(4).repeat(16, 1, 1, 1)  # 64 images
    y1 = contrast_randomise(x, 0.4, generator=torch.Generator().manual_seed(3))
    y2 = contrast_randomise(x, 0.4, generator=torch.Generator().manual_seed(3))
    assert torch.equal(y1, y2)
    changed = (y1 != x).flatten(1).any(1).float().mean().item()
    assert 0.15 < changed < 0.65


def test_contrast_randomise_keeps_geometry_but_changes_tissue_ordering():
    """Some remaps invert the tissue ordering (T1 -> T2-like): the correlation with the input is negative for
    some images, positive for others; the background stays dark when kept."""
    x = real_batch(4).repeat(8, 1, 1, 1)
    y = contrast_randomise(x, 1.0, generator=torch.Generator().manual_seed(5))
    xf, yf = x.flatten(1), y.flatten(1)
    xc, yc = xf - xf.mean(1, keepdim=True), yf - yf.mean(1, keepdim=True)
    corr = (xc * yc).sum(1) / (xc.norm(dim=1) * yc.norm(dim=1) + 1e-6)
    assert (corr < 0).any() and (corr > 0.5).any()


def test_contrast_randomise_rejects_a_bad_probability():
    with pytest.raises(ValueError):
        contrast_randomise(real_batch(2), 1.5)


def test_strong_preset_keeps_range_and_differs_from_paper():
    from ssclnet.augment import PRESETS, STRONG

    assert set(PRESETS) == {"paper", "strong"} and PRESETS["paper"] == PRETRAIN
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    a = augment(x, STRONG, generator=torch.Generator().manual_seed(3))
    b = augment(x, STRONG, generator=torch.Generator().manual_seed(3))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert float(a.min()) >= -1.0 and float(a.max()) <= 1.0
    assert torch.equal(a, b)  # seeded: a resumed epoch replays its views
    p = augment(x, PRETRAIN, generator=torch.Generator().manual_seed(3))
    # Strong views move further from the image than the paper's (wider crops, stronger intensity changes).
    assert float((a - x).abs().mean()) > float((p - x).abs().mean())


def test_group_aware_batches_never_pair_near_twins():
    from types import SimpleNamespace

    from ssclnet.training import group_aware_batches

    groups = [f"g{i // 3}" for i in range(60)] + [f"s{i}" for i in range(40)]  # 20 triplets + 40 singletons
    rt = SimpleNamespace(world_size=1, rank=0)
    b0 = group_aware_batches(groups, 16, 0, 0, rt)
    assert b0.shape == (6, 16)
    for batch in b0.tolist():
        assert len({groups[i] for i in batch}) == len(batch)
    assert len(set(b0.flatten().tolist())) == 96  # each image at most once per epoch
    assert torch.equal(b0, group_aware_batches(groups, 16, 0, 0, rt))  # same epoch, same batches (exact resume)
    assert not torch.equal(b0, group_aware_batches(groups, 16, 1, 0, rt))
    halves = [group_aware_batches(groups, 16, 0, 0, SimpleNamespace(world_size=2, rank=r)) for r in (0, 1)]
    assert halves[0].shape == halves[1].shape == (3, 16)


def test_local_views_are_small_crops_at_the_requested_size():
    from ssclnet.augment import STRONG, local_params

    x = real_batch(4, 128)
    small = local_params(STRONG)
    assert (small.crop_min, small.crop_max) == (0.2, 0.45) and small.blur_p == STRONG.blur_p
    y = augment(x, small, generator=torch.Generator().manual_seed(0), out_size=64)
    assert y.shape == (4, 1, 64, 64) and y.dtype == x.dtype
    assert float(y.min()) >= -1.0 and float(y.max()) <= 1.0
    # With the identity parameters, a whole-image "crop" onto a half-size grid is the image downsampled.
    half = augment(x, IDENTITY, out_size=64)
    ref = torch.nn.functional.interpolate(x, size=64, mode="bilinear", align_corners=False)
    torch.testing.assert_close(half, ref, atol=1e-5, rtol=0)
