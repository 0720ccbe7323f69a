"""NT-Xent against the SimCLR paper's formula, written out term by term, and its gradient."""

import math

import pytest
import torch

from ssclnet.losses import nt_xent


def direct_nt_xent(z1: torch.Tensor, z2: torch.Tensor, t: float) -> torch.Tensor:
    """SimCLR eq. (1): l(i,j) = -log exp(s_ij/t) / sum_{k != i} exp(s_ik/t), averaged over all 2N ordered
    positive pairs; z = [z1_0, z2_0, z1_1, z2_1, ...] so the positive of 2k is 2k+1 and back."""
    n = z1.shape[0]
    z = torch.stack([z1, z2], dim=1).reshape(2 * n, -1)
    total = 0.0
    for i in range(2 * n):
        j = i + 1 if i % 2 == 0 else i - 1
        sim = [torch.dot(z[i], z[k]) / (z[i].norm() * z[k].norm()) for k in range(2 * n)]
        denom = sum(torch.exp(sim[k] / t) for k in range(2 * n) if k != i)
        total = total - torch.log(torch.exp(sim[j] / t) / denom)
    return total / (2 * n)


@pytest.mark.parametrize("t", [0.1, 0.5, 1.0])
def test_matches_direct_formula(t):
    g = torch.Generator().manual_seed(7)
    z1, z2 = torch.randn(6, 5, generator=g, dtype=torch.float64), torch.randn(6, 5, generator=g, dtype=torch.float64)
    assert nt_xent(z1, z2, t).item() == pytest.approx(direct_nt_xent(z1, z2, t).item(), rel=1e-6)


def test_gradient_matches_direct_formula_and_finite_differences():
    g = torch.Generator().manual_seed(3)
    z1 = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ga = torch.autograd.grad(nt_xent(z1, z2, 0.3), (z1, z2))
    gb = torch.autograd.grad(direct_nt_xent(z1, z2, 0.3), (z1, z2))
    for a, b in zip(ga, gb):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    assert torch.autograd.gradcheck(lambda a, b: nt_xent(a, b, 0.3), (z1, z2))


def test_bounds_and_stability():
    n = 8
    z = torch.nn.functional.normalize(torch.randn(n, 16), dim=1)
    # Identical views, orthogonal-ish negatives: loss near its floor; random views: near log(2N - 1).
    aligned = nt_xent(z, z.clone(), 0.1).item()
    random_pairs = nt_xent(torch.randn(n, 16), torch.randn(n, 16), 100.0).item()
    assert aligned < random_pairs
    assert random_pairs == pytest.approx(math.log(2 * n - 1), abs=0.01)
    # Large logits (tiny temperature) in float32 stay finite thanks to logsumexp.
    huge = nt_xent(torch.randn(n, 16), torch.randn(n, 16), 1e-4)
    assert torch.isfinite(huge)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        nt_xent(torch.randn(4, 3), torch.randn(5, 3))
    with pytest.raises(ValueError):
        nt_xent(torch.randn(4, 3), torch.randn(4, 3), temperature=0)


def test_multi_crop_without_local_views_is_plain_nt_xent_and_pairs_each_local_with_both_globals():
    from ssclnet.losses import multi_crop_nt_xent

    g = torch.Generator().manual_seed(5)
    a, b, l1, l2 = (torch.randn(6, 8, generator=g, dtype=torch.float64) for _ in range(4))
    assert multi_crop_nt_xent([a, b], [], 0.2).item() == pytest.approx(nt_xent(a, b, 0.2).item(), rel=1e-12)
    pairs = [(a, b), (a, l1), (b, l1), (a, l2), (b, l2)]  # local views are never paired with each other
    expected = sum(direct_nt_xent(x, y, 0.2) for x, y in pairs) / len(pairs)
    assert multi_crop_nt_xent([a, b], [l1, l2], 0.2).item() == pytest.approx(expected.item(), rel=1e-9)
    with pytest.raises(ValueError, match="2 global views"):
        multi_crop_nt_xent([a], [l1], 0.2)
