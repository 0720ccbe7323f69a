"""NT-Xent, SimCLR's contrastive loss, for one process or many (all-gather with gradients).

For 2N projections (two views of N images) and temperature t, anchor i's loss is
    l_i = -sim(i, pos(i)) / t + log sum_{k != i} exp(sim(i, k) / t),    sim = cosine similarity,
and the loss is the mean over the 2N anchors. Written with logsumexp and the anchor's own column masked to
-inf, so it's stable in any precision; computed in float32 (or float64) even under bf16 autocast.

Temperature: 0.5 by default. SimCLR's small-data ablation (CIFAR-10, their appendix B.9) found 0.5 best
across batch sizes, and this data argues the same way: it holds many near-twin slices (see the data README),
which end up as negatives of each other; a low temperature (0.1) concentrates the gradient on the hardest
negatives, i.e. on pushing those false negatives apart. Pass --temperature 0.1 for large, diverse sets.

Several processes: each computes the loss of its own 2N anchors against the 2M projections of all ranks
(gathered by `GatherWithGrad`, an all-gather whose backward sums every rank's gradient and hands each rank
the part for the projections it produced). DDP then averages the parameter gradients, which makes
the update exactly that of one process running the whole global batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEFAULT_TEMPERATURE = 0.5


class GatherWithGrad(torch.autograd.Function):
    """all_gather (same shape on every rank) that keeps the graph: backward all-reduces the gradient of the
    gathered tensor (each rank's loss touches everyone's projections) and returns this rank's slice.
    Written here rather than torch.distributed.nn.functional.all_gather, deprecated in recent PyTorch."""

    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        ctx.rank, ctx.n = dist.get_rank(), z.shape[0]
        parts = [torch.empty_like(z) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, z.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        return grad[ctx.rank * ctx.n : (ctx.rank + 1) * ctx.n]


def _gather(z: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """(all ranks' z concatenated in rank order, this rank's offset in it, world size)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return z, 0, 1
    return GatherWithGrad.apply(z), dist.get_rank() * z.shape[0], dist.get_world_size()


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = DEFAULT_TEMPERATURE) -> torch.Tensor:
    """NT-Xent of paired projections z1[i] <-> z2[i], each (N, D); gathers across ranks when distributed."""
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D), got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    n = z1.shape[0]
    if z1.dtype in (torch.float16, torch.bfloat16):  # float32 at least, float64 kept (tests)
        z1, z2 = z1.float(), z2.float()
    z1 = F.normalize(z1, dim=1)
    z2 = F.normalize(z2, dim=1)
    all1, offset, _ = _gather(z1)
    all2, _, _ = _gather(z2)
    m = all1.shape[0]
    anchors = torch.cat([z1, z2], dim=0)  # (2N, D): this rank's anchors
    keys = torch.cat([all1, all2], dim=0)  # (2M, D): everyone's projections
    logits = anchors @ keys.T / temperature  # (2N, 2M)

    local = torch.arange(n, device=z1.device) + offset
    self_cols = torch.cat([local, local + m])
    pos_cols = torch.cat([local + m, local])
    rows = torch.arange(2 * n, device=z1.device)
    logits = logits.index_put((rows, self_cols), torch.tensor(float("-inf"), device=logits.device, dtype=logits.dtype))
    loss = torch.logsumexp(logits, dim=1) - logits[rows, pos_cols]
    return loss.mean()


def multi_crop_nt_xent(
    global_z: list[torch.Tensor], local_z: list[torch.Tensor], temperature: float = DEFAULT_TEMPERATURE
) -> torch.Tensor:
    """NT-Xent over the views of multi-crop (Caron et al. 2020, SwAV; DINO's pairing): the global views' pair and
    every (global, local) pair, each an ordinary NT-Xent with its own in-batch negatives, averaged with equal
    weight. Local views are not paired with each other: two small crops may share nothing. With no local views
    this is `nt_xent(global_z[0], global_z[1])` exactly."""
    if len(global_z) != 2:
        raise ValueError(f"multi-crop needs exactly 2 global views, got {len(global_z)}")
    pairs = [(global_z[0], global_z[1])] + [(g, v) for v in local_z for g in global_z]
    return torch.stack([nt_xent(a, b, temperature) for a, b in pairs]).mean()


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """SimCLR v2's distillation term (Chen et al. 2020, eq. 2): the cross-entropy of the student's tempered
    distribution against the teacher's, averaged over the batch. Scaled by T² (Hinton et al.) so its gradient
    keeps one size whatever the temperature. Computed in float32: the teacher's probabilities are targets."""
    t = float(temperature)
    target = F.softmax(teacher_logits.float() / t, dim=1)
    log_p = F.log_softmax(student_logits.float() / t, dim=1)
    return -(target * log_p).sum(1).mean() * (t * t)
