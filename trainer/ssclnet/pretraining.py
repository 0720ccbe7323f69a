"""SimCLR pretraining of the ResNet-18 encoder (SSCLNet's self-supervised stage). Labels are never used for
training; the optional monitor uses the labeled train/val splits only to *measure* the encoder (kNN)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import augment as aug
from .checkpoint import check_resumable, load_checkpoint, save_checkpoint
from .curves import plot_history, write_history_csv
from .data import (
    HELD_OUT_SPLITS,
    DataError,
    check_missing,
    check_overlaps,
    list_records,
    load_dataset,
    load_images,
    parse_splits,
    rows_fingerprint,
)
from .errors import InputError
from .losses import DEFAULT_TEMPERATURE, multi_crop_nt_xent
from .model import SimCLRModel
from .preprocess import PreprocessSpec
from .runguard import check_resume, plan_run_folder, run_identity
from .runtime import (
    Logger,
    RunOptions,
    Runtime,
    progress_enabled,
    rng_state,
    seed_everything,
    set_rng_state,
    setup_runtime,
    teardown_runtime,
    unwrap,
)
from .training import (
    BatchSource,
    EpochTask,
    Hook,
    effective_batch_size,
    embed,
    epoch_batches,
    epoch_seed,
    fit,
    group_aware_batches,
    knn_accuracy,
    load_encoder_init,
    load_projector_init,
    place_model,
    read_init,
    warmup_cosine,
)


@dataclass
class PretrainConfig(RunOptions):
    data: str = ""
    out: str = "runs/pretrain"
    split: str | None = None
    epochs: int = 100
    batch_size: int = 256
    lr: float = 3e-4
    weight_decay: float = 1e-6
    warmup_epochs: int = 2
    stop_after: int | None = None
    temperature: float = DEFAULT_TEMPERATURE
    image_size: int = 224
    sync_bn: bool = True
    init: str | None = None
    monitor_every: int = 5
    monitor_data: str | None = None
    monitor_train_split: str = "train"
    monitor_val_split: str = "test"
    knn_k: int = 20
    augment: str = "paper"
    group_batches: bool = False
    optimizer: str = "adam"
    local_crops: int = 0
    local_size: int = 0  # 0: half of image_size

    def local_side(self) -> int:
        return self.local_size or max(16, self.image_size // 2)


class SimCLRStep:
    """One optimisation step: two augmented views per image (on the batch's device), both through the
    model in one forward pass, NT-Xent, backward, Adam, schedule. With `local_crops` N, also N small local
    views per image, through the model in a second pass (one resolution per BatchNorm batch), and the
    multi-crop NT-Xent. Split into `views` (data work) and `update` (compute) so the benchmark can time them apart."""

    def __init__(
        self,
        model,
        optimizer,
        scheduler,
        rt: Runtime,
        spec: PreprocessSpec,
        cfg: PretrainConfig,
        generator: torch.Generator,
    ) -> None:
        self.model, self.optimizer, self.scheduler, self.rt = model, optimizer, scheduler, rt
        self.spec, self.cfg, self.generator = spec, cfg, generator

    def views(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[both global views stacked (2N, ...)], then, with local crops, [all local views stacked (kN, ...)]."""
        kw = dict(mean=self.spec.mean, std=self.spec.std, generator=self.generator)
        params = aug.PRESETS[self.cfg.augment]
        out = [torch.cat([aug.augment(x, params, **kw), aug.augment(x, params, **kw)])]
        if self.cfg.local_crops > 0:
            small = aug.local_params(params)
            side = self.cfg.local_side()
            out.append(torch.cat([aug.augment(x, small, **kw, out_size=side) for _ in range(self.cfg.local_crops)]))
        return [v.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last else v for v in out]

    def update(self, views: list[torch.Tensor]) -> torch.Tensor:
        with self.rt.autocast(self.cfg.amp):
            zs = [self.model(v).float() for v in views]
        local = list(zs[1].chunk(self.cfg.local_crops)) if len(zs) > 1 else []
        loss = multi_crop_nt_xent(list(zs[0].chunk(2)), local, self.cfg.temperature)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return loss.detach()


OPTIMIZERS = ("adam", "adamw", "sgd")


def make_optimizer(name: str, model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """Adam (the seed's), AdamW (decoupled decay), or SGD with Nesterov momentum 0.9. For AdamW and SGD,
    BatchNorm and bias parameters get no weight decay (the usual SimCLR/timm exclusion)."""
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    decay = [p for p in model.parameters() if p.ndim > 1]
    plain = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)
    raise InputError(f"--optimizer {name}: choose one of {', '.join(OPTIMIZERS)}")


def build(cfg: PretrainConfig, rt: Runtime, steps_per_epoch: int):
    """Model, optimiser, schedule and augmentation generator for a run (also used by the benchmark)."""
    torch.manual_seed(cfg.seed)
    net = SimCLRModel()
    init_note = None
    if cfg.init:
        loaded = read_init(cfg.init)  # a sharded index is joined and hashed once, for both parts
        init_note = load_encoder_init(cfg.init, net.encoder, loaded)
        if load_projector_init(cfg.init, net.projector, loaded):
            init_note += ", with its projection head"
    model = place_model(net, rt, channels_last=cfg.channels_last, compile=cfg.compile, sync_bn=cfg.sync_bn)
    optimizer = make_optimizer(cfg.optimizer, model, cfg.lr, cfg.weight_decay)
    scheduler = warmup_cosine(optimizer, cfg.epochs * steps_per_epoch, cfg.warmup_epochs * steps_per_epoch)
    generator = torch.Generator(device=rt.device)
    generator.manual_seed(epoch_seed(cfg.seed, 0, rt.rank))
    return model, optimizer, scheduler, generator, init_note


def _load_monitor(cfg: PretrainConfig, spec: PreprocessSpec, log: Logger):
    source = cfg.monitor_data or cfg.data
    if cfg.monitor_every <= 0 or not str(source).lower().endswith(".csv"):
        if cfg.monitor_every > 0:
            log.info("monitor: off (needs a CSV manifest with labeled train/val splits: --monitor-data)")
        return None
    try:
        bank = load_dataset(source, cfg.monitor_train_split, spec, workers=cfg.workers, require_labels=True)
        val = load_dataset(source, cfg.monitor_val_split, spec, workers=cfg.workers, require_labels=True)
    except DataError as e:
        log.info(f"monitor: off ({e})")
        return None
    classes = sorted(set(bank.class_names()) | set(val.class_names()))
    return bank.images, bank.label_indices(classes), val.images, val.label_indices(classes), classes


def run_pretrain(cfg: PretrainConfig, hook: Hook | None = None) -> dict:
    """Pretrain; returns the final checkpoint's metrics. Writes <out>/last.pt every epoch, <out>/tb."""
    if not cfg.data:
        raise SystemExit("pretrain: --data is required (a folder of images or a CSV manifest)")
    rt = setup_runtime(cfg.device)
    try:
        return _run(cfg, rt, hook)
    finally:
        teardown_runtime(rt)


def _run(cfg: PretrainConfig, rt: Runtime, hook: Hook | None) -> dict:
    out = Path(cfg.out)
    plan = plan_run_folder("pretrain", out, resume=cfg.resume, resume_if_exists=cfg.resume_if_exists, force=cfg.force)
    seed_everything(cfg.seed, cfg.deterministic)
    log = Logger(out, rt.is_main, cfg.tensorboard, cfg.quiet)
    bars = rt.is_main and progress_enabled(cfg.quiet)
    spec = PreprocessSpec(input_size=cfg.image_size)
    if cfg.augment not in aug.PRESETS:
        raise InputError(f"pretrain: --augment {cfg.augment}: choose one of {', '.join(aug.PRESETS)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise InputError(f"pretrain: --optimizer {cfg.optimizer}: choose one of {', '.join(OPTIMIZERS)}")
    if cfg.local_crops < 0 or not 0 <= cfg.local_size <= cfg.image_size:
        raise InputError("pretrain: --local-crops must be >= 0 and --local-size in [0, --image-size]")

    t0 = time.perf_counter()
    try:
        splits = parse_splits(cfg.split)
        records = list_records(cfg.data, splits)
        if not records:
            raise DataError(f"{cfg.data}: no files selected (split {cfg.split})")
        is_csv = str(cfg.data).lower().endswith(".csv")
        held_out = (
            [r for r in list_records(cfg.data) if r.split in HELD_OUT_SPLITS and r.split not in (splits or [])]
            if is_csv
            else []
        )
        for note in check_overlaps(
            records, {}, held_out, allow_duplicate_rows=cfg.allow_duplicate_rows, labels_matter=False
        ):
            log.info(f"note: {note}")
    except DataError as e:
        raise InputError(f"pretrain: {e}") from None
    identity = run_identity(
        "pretrain",
        cfg,
        classes=None,
        preprocess=spec.to_dict(),
        augmentation=aug.PRESETS[cfg.augment],
        model="SimCLRModel(resnet18 encoder, projection 512-512-128)",
        data={"train": rows_fingerprint(records, cfg.data)},
    )
    last = out / "last.pt"
    ckpt = None
    if plan.resume:  # checked before decoding, not after
        ckpt = load_checkpoint(last, "pretrain")
        check_resumable(ckpt, last)
        check_resume("pretrain", ckpt, identity, last, log.info)
    try:
        ds = load_images(records, spec, workers=cfg.workers, progress=bars)
        if len(ds) == 0:
            raise DataError(f"{cfg.data}: none of {len(records)} files could be read")
        check_missing(ds, cfg.max_missing, "pretrain data")
    except DataError as e:
        raise InputError(f"pretrain: {e}") from None
    summary = ds.summary()
    log.info(
        f"data: {summary['slices']} slices from {summary['files']} files, {summary['skipped_count']} skipped "
        f"({time.perf_counter() - t0:.1f} s to decode)"
    )
    for f, why in ds.skipped[:10]:
        log.info(f"  skipped {f}: {why}")
    monitor = _load_monitor(cfg, spec, log) if rt.is_main else None

    batch = effective_batch_size(len(ds), cfg.batch_size, rt)

    def batches_of(epoch: int):
        if cfg.group_batches:
            return group_aware_batches(ds.groups, batch, epoch, cfg.seed, rt)
        return epoch_batches(len(ds), batch, epoch, cfg.seed, rt)

    steps = len(batches_of(0))
    model, optimizer, scheduler, generator, init_note = build(cfg, rt, steps)
    if init_note:
        log.info(f"encoder initialised from {cfg.init} ({init_note})")
    source = BatchSource(ds.images, rt, cfg.data_device)
    step_fn = SimCLRStep(model, optimizer, scheduler, rt, spec, cfg, generator)

    start_epoch, history = 0, []
    if ckpt is not None:
        try:
            unwrap(model).load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            set_rng_state(ckpt["rng"], generator)
            start_epoch, history = int(ckpt["epoch"]), list(ckpt["metrics"].get("history", []))
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise InputError(f"pretrain: --resume: {last} does not fit this run ({reason})") from None
        log.info(f"resumed from {last} after epoch {start_epoch}")
    elif rt.is_main:
        plan.clear_stale()  # --force: the old run's checkpoint goes only once the new run is sure to start

    log.info(
        f"pretrain: {len(ds)} images, {rt.world_size} process(es) x batch {batch}, {steps} steps/epoch, "
        f"epochs {start_epoch}->{cfg.epochs}, device {rt.device}"
    )

    def measure_knn() -> float:
        enc = unwrap(model).encoder
        bank_x, bank_y, val_x, val_y, classes = monitor
        fa = embed(enc, bank_x, rt, channels_last=cfg.channels_last, amp=cfg.amp)
        fb = embed(enc, val_x, rt, channels_last=cfg.channels_last, amp=cfg.amp)
        return knn_accuracy(fa, bank_y, fb, val_y, len(classes), k=cfg.knn_k)

    def write_curves() -> None:
        if rt.is_main and history:
            write_history_csv(history, out / "history.csv")
            title = (
                f"pretrain {out.name}: --augment {cfg.augment}, {cfg.image_size}px, batch {batch}, T {cfg.temperature}"
                + (f", {cfg.local_crops} local crops at {cfg.local_side()}px" if cfg.local_crops else "")
            )
            plot_history(history, out / "curve.png", title)

    if monitor is not None and not history:  # the starting point of the curve: the encoder before any step
        history.append({"epoch": 0, "loss": None, "knn_acc": measure_knn()})
        log.info(f"epoch 0 (initial encoder): kNN acc {history[0]['knn_acc']:.3f}")
        log.scalars(0, **{"pretrain/knn_acc": history[0]["knn_acc"]})
    end_epoch = min(cfg.epochs, cfg.stop_after) if cfg.stop_after else cfg.epochs

    class Pretrain(EpochTask):
        def train_mode(self) -> None:
            model.train()

        def batches(self, epoch: int):
            return batches_of(epoch)

        def step(self, idx: torch.Tensor) -> torch.Tensor:
            return step_fn.update(step_fn.views(source.get(idx)))

        def measure(self, row: dict, n_batches: int) -> None:
            row["lr"] = scheduler.get_last_lr()[0]
            row["pairs_per_s"] = n_batches * batch * rt.world_size / max(row["seconds"], 1e-9)
            if monitor is not None and (row["epoch"] % cfg.monitor_every == 0 or row["epoch"] == end_epoch):
                row["knn_acc"] = measure_knn()

        def describe(self, row: dict) -> str:
            return f"epoch {row['epoch']}/{cfg.epochs}: loss {row['loss']:.4f}, {row['pairs_per_s']:.0f} pairs/s" + (
                f", kNN acc {row['knn_acc']:.3f}" if "knn_acc" in row else ""
            )

        def checkpoint(self, row: dict) -> None:
            write_curves()
            metrics = {"history": history, **{k: v for k, v in row.items() if k != "epoch"}}
            save_checkpoint(
                {
                    "kind": "pretrain",
                    "model": unwrap(model).state_dict(),
                    "preprocess": spec.to_dict(),
                    "epoch": row["epoch"],
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_state(generator),
                    "args": asdict(cfg),
                    "run": identity,
                    "metrics": metrics,
                    "data_summary": summary,
                    "hardware": rt.hardware(),
                },
                last,
            )

    fit(
        Pretrain(),
        rt=rt,
        log=log,
        generator=generator,
        seed=cfg.seed,
        epochs=cfg.epochs,
        start_epoch=start_epoch,
        end_epoch=end_epoch,
        history=history,
        bars=bars,
        scalar_prefix="pretrain",
        hook=hook,
    )
    last_row = history[-1] if history else {}
    metrics = {"history": history, **{k: v for k, v in last_row.items() if k != "epoch"}}
    log.close()
    return metrics
