"""Where and how a run executes: device, processes (torchrun/DDP), seeds, progress bars, logs."""

from __future__ import annotations

import os
import platform
import random
import sys
from contextlib import nullcontext
from dataclasses import dataclass, fields

import numpy as np
import torch


@dataclass
class RunOptions:
    """How a job runs (seeding, devices, precision, logging), shared by pretraining and fine-tuning configs."""

    seed: int = 0
    workers: int = 0  # decode processes; 0 = in this process
    device: str = "auto"
    data_device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    resume: bool = False
    resume_if_exists: bool = False  # job scripts: resume when <out>/last.pt exists, else start
    force: bool = False  # start a new run in an --out that holds one (its checkpoints are replaced)
    max_missing: float = 0.01  # stop when more than this fraction of a set's files can't be read
    allow_duplicate_rows: bool = False  # let a file listed twice in one set through (deliberate oversampling)
    tensorboard: bool = True
    quiet: bool = False
    deterministic: bool = False

    @classmethod
    def from_args(cls, args):
        """The config from parsed command-line flags (attributes named like the fields)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def autocast(self, enabled: bool = True):
        """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); plain fp32 elsewhere."""
        if self.cuda and enabled:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def hardware(self) -> str:
        """What trained the model, for the checkpoint and the model card (figures mean little without it)."""
        if self.cuda:
            name = torch.cuda.get_device_name(self.device)
            return f"{self.world_size} x {name} (CUDA {torch.version.cuda}), torch {torch.__version__}"
        return (
            f"CPU {platform.machine()} ({os.cpu_count()} cores, {torch.get_num_threads()} threads), "
            f"{self.world_size} process(es), torch {torch.__version__}"
        )

    def barrier(self) -> None:
        if self.distributed:
            torch.distributed.barrier()


def setup_runtime(device: str = "auto") -> Runtime:
    """Single process, or one rank of a `torchrun` launch (env:// rendezvous: RANK, WORLD_SIZE, LOCAL_RANK)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    want_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is visible")
    if world > 1:
        import torch.distributed as dist

        rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
        if not dist.is_initialized():
            dist.init_process_group(backend="nccl" if want_cuda else "gloo", init_method="env://")
        if want_cuda:
            torch.cuda.set_device(local_rank)
            dev = torch.device("cuda", local_rank)
        else:
            dev = torch.device("cpu")
        return Runtime(dev, rank, world, local_rank)
    if want_cuda:
        return Runtime(torch.device("cuda", torch.cuda.current_device()))
    if device not in ("auto", "cpu"):
        return Runtime(torch.device(device))
    return Runtime(torch.device("cpu"))


def teardown_runtime(rt: Runtime) -> None:
    if rt.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def seed_everything(seed: int, deterministic: bool = False) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    elif torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick the fastest kernels
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def rng_state(*generators: torch.Generator) -> dict:
    """Everything random a resumed run needs to continue exactly."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "generators": [g.get_state() for g in generators],
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, *generators: torch.Generator) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    for g, s in zip(generators, state.get("generators", [])):
        g.set_state(s)
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def progress_enabled(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def progress(iterable, *, total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled, leave=False, dynamic_ncols=True)


class Logger:
    """Rank-0 console + TensorBoard scalars (<out>/tb); silent on other ranks."""

    def __init__(self, out_dir, enabled: bool, tensorboard: bool, quiet: bool) -> None:
        self.enabled, self.quiet = enabled, quiet
        self.writer = None
        if enabled and tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(out_dir / "tb"))

    def info(self, msg: str) -> None:
        if self.enabled and not self.quiet:
            print(msg, flush=True)

    def scalars(self, step: int, **values: float) -> None:
        if self.writer is not None:
            for k, v in values.items():
                self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DDP and/or torch.compile wrappers (its state_dict keys are the contract)."""
    while True:
        if hasattr(model, "module"):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model
