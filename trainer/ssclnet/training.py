"""Pieces shared by pretraining, fine-tuning and the benchmark: batches from the in-memory image tensor,
the per-epoch shuffle, model placement (channels_last, SyncBN, DDP, compile), LR schedules, encoder init."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import InputError
from .runtime import Runtime

# A hook a caller (a test, a scheduler wrapper) can pass to stop or observe a run: hook(event, epoch, step)
# with event "step" after every optimiser step and "epoch" after every checkpoint.
Hook = Callable[[str, int, int], None]


class BatchSource:
    """Gathers batches of the decoded images and puts them on the compute device.

    On a GPU the whole float16 tensor lives on the device when it fits easily (a quarter of free memory),
    so a batch is one index_select with no host work at all; otherwise it stays in host memory and each
    batch is gathered into a pinned buffer and copied with non_blocking=True.
    """

    def __init__(self, images: torch.Tensor, rt: Runtime, where: str = "auto") -> None:
        self.rt = rt
        on_device = False
        if rt.cuda and where in ("auto", "cuda"):
            free, _ = torch.cuda.mem_get_info(rt.device)
            on_device = where == "cuda" or images.numel() * images.element_size() < free // 4
        self.images = images.to(rt.device) if on_device else images.contiguous()
        self.on_device = on_device
        self._pinned: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def get(self, idx: torch.Tensor) -> torch.Tensor:
        if self.on_device or not self.rt.cuda:
            return self.images.index_select(0, idx.to(self.images.device)).to(self.rt.device, torch.float32)
        shape = (idx.numel(), *self.images.shape[1:])
        if self._pinned is None or self._pinned.shape != shape:
            self._pinned = torch.empty(shape, dtype=self.images.dtype).pin_memory()
        torch.index_select(self.images, 0, idx, out=self._pinned)
        return self._pinned.to(self.rt.device, non_blocking=True).float()


def epoch_batches(
    n: int, batch_size: int, epoch: int, seed: int, rt: Runtime, shuffle: bool = True, drop_last: bool = True
) -> torch.Tensor | list[torch.Tensor]:
    """This rank's batches of one epoch: the same seeded permutation on every rank (DistributedSampler's
    rule: seed + epoch), split between ranks; so a resumed epoch replays exactly the same order."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(
        range(n), num_replicas=rt.world_size, rank=rt.rank, shuffle=shuffle, seed=seed, drop_last=drop_last
    )
    sampler.set_epoch(epoch)
    idx = torch.tensor(list(sampler), dtype=torch.long)
    if drop_last:
        steps = len(idx) // batch_size
        return idx[: steps * batch_size].view(steps, batch_size)
    return list(idx.split(batch_size))


def group_aware_batches(groups: list[str], batch_size: int, epoch: int, seed: int, rt: Runtime) -> torch.Tensor:
    """This rank's batches of one epoch with no two images of one near-twin group in a batch: near-twins
    are false negatives for NT-Xent (the loss would push copies of one slice apart). A seeded permutation as
    in `epoch_batches`; an image whose group is already in the batch waits for the next batch (it goes first
    there), so every image is still seen about once per epoch; the incomplete last batch is dropped."""
    gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    order = torch.randperm(len(groups), generator=gen).tolist()
    batches: list[list[int]] = []
    pending: list[int] = []
    pos = 0
    while True:
        batch: list[int] = []
        seen: set[str] = set()
        waiting: list[int] = []
        for i in pending:
            if len(batch) < batch_size and groups[i] not in seen:
                batch.append(i)
                seen.add(groups[i])
            else:
                waiting.append(i)
        pending = waiting
        while len(batch) < batch_size and pos < len(order):
            i = order[pos]
            pos += 1
            if groups[i] in seen:
                pending.append(i)
            else:
                batch.append(i)
                seen.add(groups[i])
        if len(batch) < batch_size:
            break
        batches.append(batch)
    steps = len(batches) // rt.world_size  # the same count on every rank (DDP steps in lockstep)
    mine = batches[rt.rank :: rt.world_size][:steps]
    return torch.tensor(mine, dtype=torch.long).view(steps, batch_size)


def epoch_seed(seed: int, epoch: int, rank: int) -> int:
    """The augmentation generator is reseeded from (seed, epoch, rank) at every epoch: each rank draws its
    own parameters, and a run resumed with the same number of ranks replays an epoch exactly."""
    return (seed * 1_000_003 + epoch) * 1_009 + rank


def effective_batch_size(n: int, batch_size: int, rt: Runtime) -> int:
    """The per-rank batch size, shrunk for sets smaller than one global batch (BatchNorm needs >= 2)."""
    per_rank = n // rt.world_size
    if per_rank < 2:
        raise SystemExit(f"only {n} images for {rt.world_size} process(es): need at least 2 per process")
    return min(batch_size, per_rank)


def place_model(
    model: nn.Module, rt: Runtime, *, channels_last: bool, compile: bool, sync_bn: bool = True
) -> nn.Module:
    if rt.distributed and sync_bn and rt.cuda:  # (SyncBatchNorm is CUDA-only; CPU/gloo runs are for tests)
        # SimCLR's global BatchNorm: statistics over all ranks, so no rank can solve the task from its own
        # batch statistics (the "information leak" of per-device BN in the SimCLR paper).
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model = model.to(rt.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if rt.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[rt.local_rank] if rt.cuda else None)
    if compile:
        model = torch.compile(model)
    return model


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int):
    """Linear warm-up then cosine decay to 0, stepped once per optimiser step."""
    total_steps, warmup_steps = max(1, total_steps), max(0, min(warmup_steps, total_steps - 1))

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def read_init(path: str | Path) -> Any:
    """The object of an --init file (a checkpoint, a state dict, or a sharded index joined and hash-checked)."""
    from .checkpoint import read_torch_file

    return read_torch_file(Path(path), "--init checkpoint")


def load_encoder_init(path: str | Path, encoder: nn.Module, loaded: Any = None) -> str:
    """Initialise an Encoder from a local file: an ssclnet checkpoint (pretrain or finetune) or a plain
    torchvision ResNet-18 state dict (e.g. ImageNet weights copied here by hand; the 3-channel conv1 is
    summed to the model's 1 channel, the usual way to keep its response to gray images, and `fc` dropped).
    `loaded`: the file's object when the caller has read it already (read_init), so it is read once."""
    from .checkpoint import encoder_state

    obj = read_init(path) if loaded is None else loaded
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "kind" in obj:
        state, what = encoder_state(obj), f"{obj['kind']} checkpoint"
    elif isinstance(obj, dict) and isinstance(obj.get("conv1.weight"), torch.Tensor):
        state = {k: v for k, v in obj.items() if not k.startswith(("fc.", "projector."))}
        want = encoder.conv1.weight.shape[1]
        if state["conv1.weight"].shape[1] != want:
            state["conv1.weight"] = state["conv1.weight"].sum(dim=1, keepdim=True).repeat(1, want, 1, 1) / want
        what = "ResNet-18 state dict"
    else:
        raise InputError(
            f"--init {path}: neither an ssclnet checkpoint nor a ResNet-18 state dict (it holds a {type(obj).__name__})"
        )
    try:
        missing, unexpected = encoder.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise InputError(
            f"--init {path}: weights don't fit the encoder ({str(e).strip().splitlines()[-1][:200]})"
        ) from None
    if missing or unexpected:
        raise InputError(
            f"--init {path}: weights don't fit the encoder (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    return what


def load_projector_init(path: str | Path, projector: nn.Module, loaded: Any = None) -> bool:
    """The projection head of an encoder snapshot (tools/training/encoder_snapshot.py keeps it under
    "projector.*"), or of a pretrain checkpoint; False (head left as initialised) when the file has none."""
    obj = read_init(path) if loaded is None else loaded
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict) and "kind" in obj:
        obj = obj["model"]
    if not isinstance(obj, dict):
        return False
    state = {k[len("projector.") :]: v.float() for k, v in obj.items() if k.startswith("projector.")}
    if not state:
        return False
    projector.load_state_dict(state)
    return True


@torch.no_grad()
def embed(
    encoder: nn.Module,
    images: torch.Tensor,
    rt: Runtime,
    *,
    batch_size: int = 256,
    channels_last: bool = False,
    amp: bool = True,
) -> torch.Tensor:
    """(N, 512) float32 encoder features of already preprocessed images, in eval mode."""
    was_training = encoder.training
    encoder.eval()
    feats = []
    for chunk in images.split(batch_size):
        x = chunk.to(rt.device, torch.float32, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with rt.autocast(amp):
            feats.append(encoder(x).float())
    encoder.train(was_training)
    return torch.cat(feats) if feats else torch.empty(0, 512)


def knn_accuracy(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    val_feats: torch.Tensor,
    val_labels: torch.Tensor,
    num_classes: int,
    k: int = 20,
    t: float = 0.07,
) -> float:
    """Weighted kNN (cosine similarity, votes exp(sim / t), as in InstDisc/DINO) of val against a train bank."""
    a = nn.functional.normalize(train_feats.float(), dim=1)
    b = nn.functional.normalize(val_feats.float(), dim=1)
    sims = b @ a.T
    k = min(k, a.shape[0])
    top, idx = sims.topk(k, dim=1)
    votes = torch.zeros(b.shape[0], num_classes, device=b.device)
    votes.scatter_add_(1, train_labels.to(b.device)[idx], (top / t).exp())
    return float((votes.argmax(1) == val_labels.to(b.device)).float().mean())


class EpochTask:
    """What one kind of run does inside `fit`'s loop: pretraining and fine-tuning differ only here.

    `batches(epoch)` gives the epoch's batches of indices, `step(idx)` takes one optimiser step and returns the
    detached loss, `measure(row)` adds the epoch's measurements to its history row (kNN, validation),
    `checkpoint(row)` writes the run's files (rank 0 only), `describe(row)` is the epoch's log line, and
    `stop()` ends the run early (patience)."""

    loss_name = "loss"

    def train_mode(self) -> None: ...

    def batches(self, epoch: int): ...

    def step(self, idx: torch.Tensor) -> torch.Tensor: ...

    def measure(self, row: dict, n_batches: int) -> None: ...

    def checkpoint(self, row: dict) -> None: ...

    def describe(self, row: dict) -> str:
        return f"epoch {row['epoch']}: {self.loss_name} {row[self.loss_name]:.4f}"

    def stop(self) -> bool:
        return False


def fit(
    task: EpochTask,
    *,
    rt: Runtime,
    log,
    generator: torch.Generator,
    seed: int,
    epochs: int,
    start_epoch: int,
    end_epoch: int,
    history: list[dict],
    bars: bool,
    scalar_prefix: str,
    hook: Hook | None = None,
) -> list[dict]:
    """The one training loop of pretraining and fine-tuning: per epoch, the augmentation generator is reseeded
    from (seed, epoch, rank) so a resumed epoch replays exactly; the task's batches go through `task.step`; the
    mean loss is averaged over ranks; the task measures and checkpoints; TensorBoard and the log get the row.
    Appends to and returns `history`."""
    import time

    from .runtime import progress

    for epoch in range(start_epoch, end_epoch):
        if task.stop():
            break
        t_epoch = time.perf_counter()
        generator.manual_seed(epoch_seed(seed, epoch, rt.rank))
        task.train_mode()
        loss_sum = torch.zeros((), device=rt.device)
        batches = task.batches(epoch)
        bar = progress(batches, total=len(batches), desc=f"epoch {epoch + 1}/{epochs}", enabled=bars)
        for i, idx in enumerate(bar):
            loss = task.step(idx)
            loss_sum += loss
            if bars and i % 10 == 0:
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if hook:
                hook("step", epoch, i)
        if rt.distributed:
            torch.distributed.all_reduce(loss_sum)
            loss_sum /= rt.world_size
        row = {"epoch": epoch + 1, task.loss_name: float(loss_sum) / max(1, len(batches))}
        row["seconds"] = time.perf_counter() - t_epoch
        task.measure(row, len(batches))
        history.append(row)
        log.scalars(epoch + 1, **{f"{scalar_prefix}/{k}": v for k, v in row.items() if k != "epoch"})
        log.info(task.describe(row))
        if rt.is_main:
            task.checkpoint(row)
        rt.barrier()
        if hook:
            hook("epoch", epoch, len(batches))
    return history
