"""Batched augmentations: shape, dtype and range kept; parameters drawn per image; reproducible; geometry."""

from pathlib import Path

import pytest
import torch

from ssclnet.augment import FINETUNE, PRETRAIN, AugmentParams, augment
from ssclnet.imageio import read_slices
from ssclnet.preprocess import PreprocessSpec

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "brain-mri-mini"
IDENTITY = AugmentParams(max_rotation_deg=0, hflip_p=0, vflip_p=0, crop_min=1, crop_max=1,
                         brightness=0, contrast=0, gamma=0)


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
    h = AugmentParams(max_rotation_deg=0, hflip_p=1, vflip_p=0, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0)
    v = AugmentParams(max_rotation_deg=0, hflip_p=0, vflip_p=1, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0)
    torch.testing.assert_close(augment(x, h), x.flip(3), rtol=0, atol=1e-5)
    torch.testing.assert_close(augment(x, v), x.flip(2), rtol=0, atol=1e-5)


def test_rotation_pads_with_background_not_border():
    # A bright image rotated 15°: the uncovered corners must be the background (-1), not smeared edges.
    # ('border' padding would return the constant image unchanged.)
    x = torch.ones(8, 1, 32, 32)
    rot = AugmentParams(max_rotation_deg=15, hflip_p=0, vflip_p=0, crop_min=1, crop_max=1, brightness=0, contrast=0, gamma=0)
    y = augment(x, rot, generator=torch.Generator().manual_seed(2))
    corners = torch.stack([y[:, 0, 0, 0], y[:, 0, 0, -1], y[:, 0, -1, 0], y[:, 0, -1, -1]])
    assert bool((corners < 0.99).all()), "every rotated image pulls background into its corners"
    assert float(y.min()) == pytest.approx(-1.0, abs=1e-5)
    assert float(y[:, :, 12:20, 12:20].min()) == pytest.approx(1.0, abs=1e-5)  # the centre stays inside


def test_crop_zooms_in():
    # A centred crop of 80-90 % of the side magnifies: a centred square grows by 1/side.
    x = -torch.ones(1, 1, 100, 100)
    x[..., 40:60, 40:60] = 1.0
    p = AugmentParams(max_rotation_deg=0, hflip_p=0, vflip_p=0, crop_min=0.8, crop_max=0.8, brightness=0, contrast=0, gamma=0)
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
