"""Two processes on the gloo backend: the all-gathered NT-Xent equals one process running the whole batch,
and so do the gradients (the all-gather carries gradients back to the rank that made each projection)."""

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ssclnet.losses import nt_xent

N_PER_RANK, DIM, T = 4, 6, 0.5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, z1: torch.Tensor, z2: torch.Tensor, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        sl = slice(rank * N_PER_RANK, (rank + 1) * N_PER_RANK)
        a, b = z1[sl].clone().requires_grad_(True), z2[sl].clone().requires_grad_(True)
        loss = nt_xent(a, b, T)
        loss.backward()
        results[rank] = (loss.detach(), a.grad.clone(), b.grad.clone())
    finally:
        dist.destroy_process_group()


def test_gathered_loss_and_gradient_equal_single_process():
    world = 2
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(world * N_PER_RANK, DIM, generator=g, dtype=torch.float64)
    z2 = torch.randn(world * N_PER_RANK, DIM, generator=g, dtype=torch.float64)

    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        results = manager.dict()
        mp.start_processes(
            _worker, args=(world, _free_port(), z1, z2, results), nprocs=world, join=True, start_method="spawn"
        )
        results = dict(results)

    a, b = z1.clone().requires_grad_(True), z2.clone().requires_grad_(True)
    full = nt_xent(a, b, T)
    full.backward()

    # Each rank's loss is the mean over its own anchors; the global loss is the mean over ranks (what DDP's
    # gradient averaging optimises), so per-rank gradients / world = the single-process gradient.
    mean_loss = sum(results[r][0] for r in range(world)) / world
    torch.testing.assert_close(mean_loss, full.detach(), rtol=1e-10, atol=1e-12)
    for r in range(world):
        sl = slice(r * N_PER_RANK, (r + 1) * N_PER_RANK)
        torch.testing.assert_close(results[r][1] / world, a.grad[sl], rtol=1e-9, atol=1e-12)
        torch.testing.assert_close(results[r][2] / world, b.grad[sl], rtol=1e-9, atol=1e-12)
