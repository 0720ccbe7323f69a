"""CPU speed levers of one SimCLR step (issue 19): the project's ResNet-18 + projection head + NT-Xent, forward and
backward on a batch of view pairs, under each setting in turn; prints images/s (two views per pair) as a table.

  python tools/training/cpu_speed.py [--image-size 64] [--batch-size 128] [--steps 6] [--json FILE]

Settings: fp32 NCHW; fp32 channels-last; bf16 autocast (channels-last); torch.compile (channels-last); and the
fp32 channels-last step with 1 intra-op thread. Synthetic inputs: a step's cost does not depend on pixel content.
Run it on an otherwise idle machine: every row shares the same cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch

from ssclnet.losses import nt_xent
from ssclnet.model import SimCLRModel


def measure(
    *, image_size: int, batch: int, steps: int, channels_last: bool, bf16: bool, compiled: bool, threads: int | None
) -> float:
    """Images/s of optimiser steps (2 x batch views each), after two untimed warm-up steps."""
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(0)
        model = SimCLRModel()
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        model = model.to(memory_format=fmt)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        fwd = torch.compile(model) if compiled else model
        x = (torch.rand(2 * batch, 1, image_size, image_size) * 2 - 1).contiguous(memory_format=fmt)

        def step() -> None:
            ctx = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
            with ctx:
                z = fwd(x)
            loss = nt_xent(z[:batch].float(), z[batch:].float(), 0.2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        for _ in range(2):
            step()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        return steps * 2 * batch / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old_threads)


ROWS = [
    ("fp32, NCHW", dict(channels_last=False, bf16=False, compiled=False, threads=None)),
    ("fp32, channels-last (the trainer's default)", dict(channels_last=True, bf16=False, compiled=False, threads=None)),
    ("bf16 autocast, channels-last", dict(channels_last=True, bf16=True, compiled=False, threads=None)),
    ("torch.compile, fp32, channels-last", dict(channels_last=True, bf16=False, compiled=True, threads=None)),
    ("fp32, channels-last, 1 thread", dict(channels_last=True, bf16=False, compiled=False, threads=1)),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image-size", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=128, help="view pairs per step")
    p.add_argument("--steps", type=int, default=6, help="timed steps per setting")
    p.add_argument("--only", help="comma-separated row numbers (1-based) to run")
    p.add_argument("--json", help="also write the rows as JSON")
    a = p.parse_args(argv)
    pick = {int(i) for i in a.only.split(",")} if a.only else set(range(1, len(ROWS) + 1))
    out = []
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads, {a.image_size}², batch {a.batch_size}"
    )
    print("| setting | images/s | pairs/s |\n|---|---|---|")
    for i, (name, kw) in enumerate(ROWS, 1):
        if i not in pick:
            continue
        try:
            ips = measure(image_size=a.image_size, batch=a.batch_size, steps=a.steps, **kw)
            out.append({"setting": name, "images_per_s": ips})
            print(f"| {name} | {ips:.1f} | {ips / 2:.1f} |", flush=True)
        except Exception as e:  # a lever this machine lacks (e.g. no compiler for torch.compile) is a row, not a crash
            out.append({"setting": name, "error": f"{type(e).__name__}: {e}"[:200]})
            print(f"| {name} | failed: {type(e).__name__} | - |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(
                {"torch": torch.__version__, "image_size": a.image_size, "batch": a.batch_size, "rows": out},
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
