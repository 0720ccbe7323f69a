"""Supervised fine-tuning: a linear classifier over the encoder, either as a linear probe (`frozen`) or with
the whole network trained (`finetune`, encoder at a lower learning rate). `init="scratch"` trains the same
network from random weights on the same labels: the no-SSL baseline, compared like for like.

`distill_from` adds SimCLR v2's third step (Chen et al. 2020, "Big self-supervised models are strong
semi-supervised learners"): a fine-tuned teacher's predictions on the unlabeled images (`distill_split`, labels
there never read) become soft targets for the student, beside the labeled rows' own labels. The labels used stay
those of `train_split`; the unlabeled images are the ones pretraining already saw. Several teachers (comma-separated)
answer with the mean of their probabilities. `teacher_view="clean"` (Noisy Student, Xie et al. 2020) computes
their targets once on the un-augmented images, so a teacher costs one pass instead of one forward a step;
`"augmented"` runs them on the student's own augmented view at every step."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from . import augment as aug
from .checkpoint import check_resumable, load_checkpoint, read_torch_file, save_checkpoint
from .data import (
    DEFAULT_CLASSES,
    HELD_OUT_SPLITS,
    DataError,
    ImageSet,
    Record,
    check_labels,
    check_missing,
    check_overlaps,
    file_sha256,
    list_records,
    load_images,
    parse_splits,
    rows_fingerprint,
)
from .errors import InputError
from .evaluation import load_classifier
from .losses import distillation_loss
from .model import Classifier
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
    epoch_batches,
    fit,
    load_encoder_init,
    place_model,
    warmup_cosine,
)

ENCODER_MODES = ("frozen", "finetune")
TEACHER_VIEWS = ("clean", "augmented")
DISTILL_ROWS = ("all", "unlabeled", "split")


@dataclass
class FinetuneConfig(RunOptions):
    data: str = ""
    out: str = "runs/finetune"
    train_split: str = "train"
    val_split: str = "val"
    init: str = "scratch"
    encoder: str = "finetune"
    classes: str | None = None
    epochs: int = 100
    batch_size: int = 64
    lr: float = 1e-3
    encoder_lr_scale: float = 0.1
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    ema: float = 0.0  # per-step decay of an exponential moving average of the weights; 0 = off
    patience: int = 15
    image_size: int | None = None
    augment: bool = True
    contrast_randomise: float = 0.0  # augment.contrast_randomise's p (H8, issue 15); 0 = off
    distill_from: str = ""  # fine-tuned teacher checkpoint(s), comma-separated; "" = plain fine-tuning
    distill_split: str = "unlabeled"  # rows whose images (never their labels) the teacher labels
    distill_weight: float = 0.5  # alpha: loss = (1 - alpha) * CE(labeled rows) + alpha * distillation
    distill_temperature: float = 1.0
    teacher_view: str = "clean"  # "clean": targets once on un-augmented images; "augmented": the student's view
    # "all": the teacher's term on every row (SimCLR v2); "unlabeled": labeled rows learn from their labels only;
    # "split": on the --distill-split rows only, labeled or not (the other splits' rows learn from their labels)
    distill_rows: str = "all"


def _spec_for(cfg: FinetuneConfig, log: Logger) -> tuple[PreprocessSpec, dict | None]:
    """The preprocessing of the pretrained encoder, unless a different --image-size is asked for."""
    init_ckpt = None
    spec = PreprocessSpec(input_size=cfg.image_size or 224)
    if cfg.init != "scratch":
        if not Path(cfg.init).is_file():
            raise InputError(f"finetune: --init {cfg.init}: no such file (or use --init scratch)")
        obj = read_torch_file(cfg.init, "--init checkpoint")
        if isinstance(obj, dict) and isinstance(obj.get("preprocess"), dict):
            init_ckpt = obj
            spec = PreprocessSpec.from_dict(obj["preprocess"])
            if cfg.image_size and cfg.image_size != spec.input_size:
                log.info(f"note: encoder was pretrained at {spec.input_size}², fine-tuning at {cfg.image_size}²")
                spec = PreprocessSpec.from_dict({**obj["preprocess"], "input_size": cfg.image_size})
    return spec, init_ckpt


def pretraining_summary(ckpt: dict | None) -> dict | None:
    """What the encoder's pretraining actually was (epochs run, input size, data, hardware): the model card
    reports it, since a run cut short or shrunk to fit a CPU must not pass for the full protocol."""
    if not ckpt or ckpt.get("kind") != "pretrain":
        return None
    args = ckpt.get("args") or {}
    history = (ckpt.get("metrics") or {}).get("history") or []
    knn = [h for h in history if "knn_acc" in h]
    return {
        "epochs_run": ckpt.get("epoch"),
        "epochs_planned": args.get("epochs"),
        "input_size": (ckpt.get("preprocess") or {}).get("input_size"),
        "images": (ckpt.get("data_summary") or {}).get("slices"),
        "splits": args.get("split"),
        **{k: args.get(k) for k in ("batch_size", "lr", "temperature", "warmup_epochs", "seed")},
        "final_loss": history[-1]["loss"] if history else None,
        "knn_val_acc": knn[-1]["knn_acc"] if knn else None,
        "hardware": ckpt.get("hardware", "not recorded"),
    }


def sharded_pretraining_summary(init: str) -> dict | None:
    """pretraining_summary() for an encoder kept as a sharded-weights index (STEM.json, written by
    tools/training/encoder_snapshot.py): its settings, augmentation and kNN curve travel in the index, not in the
    weights."""
    if not str(init).endswith(".json"):
        return None
    import json

    index = json.loads(Path(init).read_text())
    settings = index.get("settings") or {}
    knn = [h for h in index.get("knn_curve") or [] if h.get("knn_acc") is not None]
    return {
        "epochs_run": index.get("epochs_run"),
        "input_size": (index.get("preprocess") or {}).get("input_size"),
        "splits": settings.get("split"),
        **{k: settings.get(k) for k in ("batch_size", "lr", "weight_decay", "temperature", "warmup_epochs", "seed")},
        "augmentation": index.get("augmentation"),
        "final_loss": knn[-1].get("loss") if knn else None,
        "knn_dev_test_acc": knn[-1]["knn_acc"] if knn else None,
        "knn_curve": [[h["epoch"], round(float(h["knn_acc"]), 4)] for h in knn],
        "hardware": index.get("hardware", "not recorded"),
        "weights": f"{Path(init).name} (float16, sha256 {index.get('sha256')}), from {index.get('from')}",
    }


@torch.no_grad()
def _logits(model, images: torch.Tensor, rt: Runtime, cfg: FinetuneConfig) -> torch.Tensor:
    """model's float32 outputs for decoded images, in batches of 256, on the run's device and memory format."""
    out = []
    for xb in images.split(256):
        x = xb.to(rt.device, torch.float32)
        if cfg.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with rt.autocast(cfg.amp):
            out.append(model(x).float())
    return torch.cat(out) if out else torch.empty(0, device=rt.device)


@torch.no_grad()
def _validate(model, val_x: torch.Tensor, val_y: torch.Tensor, rt: Runtime, cfg: FinetuneConfig) -> tuple[float, float]:
    model.eval()
    if len(val_y) == 0:
        return 0.0, 0.0
    logits, y = _logits(model, val_x, rt, cfg), val_y.to(rt.device)
    n = len(val_y)
    return float(F.cross_entropy(logits, y, reduction="sum")) / n, int((logits.argmax(1) == y).sum()) / n


def _improved(acc: float, loss: float, best: dict | None) -> bool:
    """Best = highest val accuracy; ties (frequent on small val sets) go to the lower val loss."""
    if best is None:
        return True
    return acc > best["val_acc"] + 1e-9 or (abs(acc - best["val_acc"]) <= 1e-9 and loss < best["val_loss"])


def run_finetune(cfg: FinetuneConfig, hook: Hook | None = None) -> dict:
    """Fine-tune; returns metrics (best epoch's val figures and the history). Writes best.pt and last.pt."""
    if not cfg.data:
        raise SystemExit("finetune: --data is required (a folder of class subfolders or a CSV manifest)")
    if cfg.encoder not in ENCODER_MODES:
        raise SystemExit(f"finetune: --encoder must be one of {ENCODER_MODES}")
    rt = setup_runtime(cfg.device)
    try:
        return _run(cfg, rt, hook)
    finally:
        teardown_runtime(rt)


def _records(cfg: FinetuneConfig) -> tuple[list[Record], list[Record], list[Record]]:
    """Train, val and held-out test rows (test: rows of a `test` split the run neither trains nor validates on)."""
    is_csv = str(cfg.data).lower().endswith(".csv")
    train_splits = parse_splits(cfg.train_split) if is_csv else None
    val_splits = parse_splits(cfg.val_split) if is_csv else None
    train = list_records(cfg.data, train_splits)
    if not train:
        raise DataError(f"{cfg.data}: no files selected (split {cfg.train_split})")
    unlabeled = [r for r in train if not r.label]
    if unlabeled:
        raise DataError(f"train: {len(unlabeled)} file(s) without a label, e.g. {unlabeled[0].where()}")
    val = list_records(cfg.data, val_splits) if val_splits else []
    used = set(train_splits or []) | set(val_splits or [])
    test: list[Record] = []
    if is_csv:
        test = [r for r in list_records(cfg.data) if r.split in HELD_OUT_SPLITS and r.split not in used]
    return train, val, test


class MeanTeacher(torch.nn.Module):
    """Several fine-tuned classifiers as one teacher: the log of their mean probabilities (an ensemble's
    prediction; with one member, its own log-probabilities)."""

    def __init__(self, members: list[Classifier]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([m(x).float().softmax(1) for m in self.members]).mean(0)
        return probs.clamp_min(1e-12).log()


def _teacher_paths(cfg: FinetuneConfig) -> list[str]:
    return [p.strip() for p in cfg.distill_from.split(",") if p.strip()]


def _teacher(cfg: FinetuneConfig, classes: list[str], spec: PreprocessSpec) -> MeanTeacher | None:
    """The --distill-from model(s), refused unless each answers for the same classes from the same preprocessing
    (its soft targets would otherwise mean other things)."""
    paths = _teacher_paths(cfg)
    if not paths:
        return None
    if not 0.0 <= cfg.distill_weight <= 1.0 or cfg.distill_temperature <= 0:
        raise InputError("finetune: --distill-weight must be in [0, 1] and --distill-temperature above 0")
    if cfg.teacher_view not in TEACHER_VIEWS or cfg.distill_rows not in DISTILL_ROWS:
        raise InputError(f"finetune: --teacher-view must be one of {TEACHER_VIEWS}, --distill-rows of {DISTILL_ROWS}")
    if not str(cfg.data).lower().endswith(".csv"):
        raise InputError("finetune: --distill-from needs a CSV manifest (--distill-split names its unlabeled rows)")
    members = []
    for path in paths:
        if not Path(path).is_file():
            raise InputError(f"finetune: --distill-from {path}: no such file")
        teacher, t_classes, t_spec, _ = load_classifier(path)
        if t_classes != classes:
            raise InputError(f"finetune: the teacher's classes {t_classes} ({path}) are not this run's {classes}")
        if t_spec.to_dict() != spec.to_dict():
            raise InputError(
                f"finetune: the teacher's preprocessing ({t_spec.input_size}², {path}) differs from this run's "
                f"({spec.input_size}²); fine-tune the student at the teacher's --image-size"
            )
        members.append(teacher)
    return MeanTeacher(members).requires_grad_(False).eval()


def _distill_records(cfg: FinetuneConfig, train: list[Record]) -> list[Record]:
    """The --distill-split rows with their labels dropped, less any row already among the labeled train rows."""
    rows = list_records(cfg.data, parse_splits(cfg.distill_split))
    if not rows:
        raise DataError(f"{cfg.data}: no rows in --distill-split {cfg.distill_split}")
    labeled = {r.path.resolve() for r in train}
    return [replace(r, label=None) for r in rows if r.path.resolve() not in labeled]


def _distill_mask(cfg: FinetuneConfig, train: ImageSet, n_rows: int) -> torch.Tensor:
    """The rows the teacher's term falls on: with --distill-rows unlabeled the teacher's own rows (after the labeled
    ones), with split also the labeled rows of a --distill-split split."""
    mask = torch.ones(n_rows, dtype=torch.bool)
    named = set(parse_splits(cfg.distill_split)) if cfg.distill_rows == "split" else set()
    mask[: len(train)] = torch.tensor([sp in named for sp in train.splits], dtype=torch.bool)
    return mask


def _classes(cfg: FinetuneConfig, init_ckpt: dict | None) -> list[str]:
    """--classes, else the --init checkpoint's classes (a fine-tuned model continued), else the protocol's four."""
    if cfg.classes:
        classes = [c.strip() for c in cfg.classes.split(",") if c.strip()]
    elif init_ckpt and isinstance(init_ckpt.get("classes"), list):
        classes = [str(c) for c in init_ckpt["classes"]]
    else:
        classes = list(DEFAULT_CLASSES)
    if len(classes) < 2 or len(set(classes)) != len(classes):
        raise InputError(f"finetune: need at least 2 distinct classes, got {classes}")
    return classes


def _run(cfg: FinetuneConfig, rt: Runtime, hook: Hook | None) -> dict:
    out = Path(cfg.out)
    plan = plan_run_folder("finetune", out, resume=cfg.resume, resume_if_exists=cfg.resume_if_exists, force=cfg.force)
    seed_everything(cfg.seed, cfg.deterministic)
    log = Logger(out, rt.is_main, cfg.tensorboard, cfg.quiet)
    bars = rt.is_main and progress_enabled(cfg.quiet)
    spec, init_ckpt = _spec_for(cfg, log)
    classes = _classes(cfg, init_ckpt)
    teacher = _teacher(cfg, classes, spec)
    try:
        train_recs, val_recs, test_recs = _records(cfg)
        check_labels(train_recs, classes, "train")
        check_labels(val_recs, classes, "val")
        distill_recs = _distill_records(cfg, train_recs) if teacher is not None else []
        for note in check_overlaps(
            train_recs + distill_recs,
            {"val": val_recs} if val_recs else {},
            test_recs,
            allow_duplicate_rows=cfg.allow_duplicate_rows,
        ):
            log.info(f"note: {note}")
    except DataError as e:
        raise InputError(f"finetune: {e}") from None
    absent = [c for c in classes if c not in {r.label for r in train_recs}]
    if absent:
        log.info(f"note: no training rows for class(es) {absent}")
    identity = run_identity(
        "finetune",
        cfg,
        classes=classes,
        preprocess=spec.to_dict(),
        augmentation=(aug.FINETUNE if cfg.augment else None)
        if not cfg.contrast_randomise
        else {
            "geometric": asdict(aug.FINETUNE) if cfg.augment else None,
            "contrast_p": cfg.contrast_randomise,
            "contrast": asdict(aug.CONTRAST),
        },
        model=f"Classifier(resnet18 encoder, linear {len(classes)}, encoder {cfg.encoder})",
        data={
            "train": rows_fingerprint(train_recs, cfg.data),
            **({"val": rows_fingerprint(val_recs, cfg.data)} if val_recs else {}),
            # (kept out of the settings so that runs without a teacher keep their identity, and --resume)
            **(
                {
                    "distill": rows_fingerprint(distill_recs, cfg.data),
                    "teacher": {
                        "sha256": [file_sha256(p) for p in _teacher_paths(cfg)],
                        "weight": cfg.distill_weight,
                        "temperature": cfg.distill_temperature,
                        "view": cfg.teacher_view,
                        **({"rows": cfg.distill_rows} if cfg.distill_rows != "all" else {}),
                    },
                }
                if teacher is not None
                else {}
            ),
        },
    )
    last = out / "last.pt"
    ckpt = None
    if plan.resume:  # checked before hours of decoding, not after
        ckpt = load_checkpoint(last, "finetune")
        check_resumable(ckpt, last)
        check_resume("finetune", ckpt, identity, last, log.info)

    try:
        train = load_images(train_recs, spec, workers=cfg.workers, progress=bars, desc="decode train")
        val = load_images(val_recs, spec, workers=cfg.workers, progress=bars, desc="decode val") if val_recs else None
        extra = (
            load_images(distill_recs, spec, workers=cfg.workers, progress=bars, desc="decode unlabeled")
            if distill_recs
            else None
        )
        for name, ds in (("train", train), ("val", val), ("unlabeled", extra)):
            if ds is not None and len(ds) == 0:
                raise DataError(f"{name}: none of {len(ds.records)} files could be read")
            if ds is not None:
                check_missing(ds, cfg.max_missing, name)
    except DataError as e:
        raise InputError(f"finetune: {e}") from None
    if val is None:
        log.info("no validation split (a folder, or --val-split ''): early stopping on training loss instead")
    train_y = train.label_indices(classes)
    val_y = val.label_indices(classes) if val else None
    summary = {"train": train.summary(), "val": val.summary() if val else None, "classes": classes}
    images = train.images
    if extra is not None:  # the teacher's rows: no label (-1); the student learns them from the teacher only
        images = torch.cat([train.images, extra.images])
        train_y = torch.cat([train_y, torch.full((len(extra),), -1, dtype=torch.long)])
        summary["distill"] = {"teacher": cfg.distill_from, **extra.summary()}
    skipped = train.summary()["skipped_count"] + (val.summary()["skipped_count"] if val else 0)
    log.info(f"data: {len(train)} train / {len(val) if val else 0} val slices, classes {classes}, {skipped} skipped")
    if extra is not None:
        log.info(f"distillation: {len(extra)} unlabeled slices ({cfg.distill_split}) labeled by {cfg.distill_from}")
    for f, why in (train.skipped + (val.skipped if val else []))[:10]:
        log.info(f"  skipped {f}: {why}")

    torch.manual_seed(cfg.seed)
    net = Classifier(len(classes), in_channels=spec.channels)
    if cfg.init != "scratch":
        log.info(f"encoder initialised from {cfg.init} ({load_encoder_init(cfg.init, net.encoder)})")
    frozen = cfg.encoder == "frozen"
    if frozen:
        net.encoder.requires_grad_(False)
    model = place_model(net, rt, channels_last=cfg.channels_last, compile=cfg.compile, sync_bn=not frozen)
    plain = unwrap(model)
    groups = [{"params": plain.classifier.parameters(), "lr": cfg.lr}]
    if not frozen:
        groups.append({"params": plain.encoder.parameters(), "lr": cfg.lr * cfg.encoder_lr_scale})
    optimizer = torch.optim.Adam(groups, weight_decay=cfg.weight_decay)
    n_rows = int(images.shape[0])
    batch = effective_batch_size(n_rows, cfg.batch_size, rt)
    steps = len(epoch_batches(n_rows, batch, 0, cfg.seed, rt))
    scheduler = warmup_cosine(optimizer, cfg.epochs * steps, 0)
    # With --ema the run validates, selects and ships the averaged weights (BatchNorm statistics averaged too);
    # the raw weights are kept in last.pt only so that --resume continues exactly.
    ema = AveragedModel(plain, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema), use_buffers=True) if cfg.ema else None
    shipped = ema.module if ema is not None else plain
    generator = torch.Generator(device=rt.device)
    source = BatchSource(images, rt, cfg.data_device)
    targets = None  # with --teacher-view clean: the teacher's log-probabilities of every row, on the device
    if teacher is not None:
        teacher = teacher.to(rt.device)
        if cfg.channels_last:
            teacher = teacher.to(memory_format=torch.channels_last)
        if cfg.teacher_view == "clean":
            targets = _logits(teacher, images, rt, cfg)  # log-probabilities, once, on the un-augmented images
            teacher = None
            log.info(f"teacher targets on {len(targets)} un-augmented slices computed once")
    train_y_dev = train_y.to(rt.device)
    distilling = targets is not None or teacher is not None
    distill_mask = _distill_mask(cfg, train, n_rows).to(rt.device) if distilling and cfg.distill_rows != "all" else None

    start_epoch, history, best, bad_epochs = 0, [], None, 0
    if ckpt is not None:
        try:
            plain.load_state_dict(ckpt["raw_model"] if ema is not None else ckpt["model"])
            if ema is not None:
                ema.module.load_state_dict(ckpt["model"])
                ema.n_averaged.fill_(int(ckpt["ema_updates"]))
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            set_rng_state(ckpt["rng"], generator)
            start_epoch = int(ckpt["epoch"])
            history, best, bad_epochs = (
                ckpt["metrics"]["history"],
                ckpt["metrics"]["best"],
                ckpt["metrics"]["bad_epochs"],
            )
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as e:
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise InputError(f"finetune: --resume: {last} does not fit this run ({reason})") from None
        log.info(f"resumed from {last} after epoch {start_epoch}")
    elif rt.is_main:
        plan.clear_stale()  # --force: the old run's checkpoints go only once the new run is sure to start

    log.info(
        f"finetune ({cfg.encoder}, init {cfg.init}): batch {batch} x {rt.world_size}, {steps} steps/epoch, "
        f"up to {cfg.epochs} epochs, patience {cfg.patience}, device {rt.device}"
    )
    base = {
        "kind": "finetune",
        "classes": classes,
        "preprocess": spec.to_dict(),
        "args": asdict(cfg),
        "run": identity,
        "data_summary": summary,
        "pretraining": pretraining_summary(init_ckpt) or sharded_pretraining_summary(cfg.init),
        "hardware": rt.hardware(),
    }
    track = {"best": best, "bad_epochs": bad_epochs, "improved": False}

    def _loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        if teacher is None and targets is None:
            return F.cross_entropy(logits, y, label_smoothing=cfg.label_smoothing)
        if targets is not None:
            teacher_logits = targets[idx]
        else:
            with torch.no_grad(), rt.autocast(cfg.amp):
                teacher_logits = teacher(x).float()  # the same augmented view the student sees (SimCLR v2)
        labeled = y >= 0
        supervised = (
            F.cross_entropy(logits[labeled], y[labeled], label_smoothing=cfg.label_smoothing)
            if bool(labeled.any())
            else logits.sum() * 0.0
        )
        if distill_mask is not None:
            keep = distill_mask[idx]
            if not bool(keep.any()):
                return (1.0 - cfg.distill_weight) * supervised
            logits, teacher_logits = logits[keep], teacher_logits[keep]
        distilled = distillation_loss(logits, teacher_logits, cfg.distill_temperature)
        return (1.0 - cfg.distill_weight) * supervised + cfg.distill_weight * distilled

    class Finetune(EpochTask):
        loss_name = "train_loss"

        def train_mode(self) -> None:
            model.train()
            if frozen:
                plain.encoder.eval()  # a linear probe: BatchNorm statistics stay those of the pretrained encoder

        def batches(self, epoch: int):
            return epoch_batches(n_rows, batch, epoch, cfg.seed, rt)

        def step(self, idx: torch.Tensor) -> torch.Tensor:
            x = source.get(idx)
            if cfg.augment:
                x = aug.augment(x, aug.FINETUNE, mean=spec.mean, std=spec.std, generator=generator)
            if cfg.contrast_randomise:
                x = aug.contrast_randomise(x, cfg.contrast_randomise, mean=spec.mean, std=spec.std, generator=generator)
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with rt.autocast(cfg.amp):
                logits = model(x).float()
            rows = idx.to(rt.device)
            loss = _loss(logits, train_y_dev[rows], x, rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(plain)
            return loss.detach()

        def measure(self, row: dict, n_batches: int) -> None:
            if val is not None:
                row["val_loss"], row["val_acc"] = _validate(shipped, val.images, val_y, rt, cfg)
            else:
                row["val_loss"], row["val_acc"] = row["train_loss"], -row["train_loss"]
            track["improved"] = _improved(row["val_acc"], row["val_loss"], track["best"])
            if track["improved"]:
                track["best"], track["bad_epochs"] = dict(row), 0
            else:
                track["bad_epochs"] += 1

        def describe(self, row: dict) -> str:
            return (
                f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}"
                + (f", val loss {row['val_loss']:.4f}, val acc {row['val_acc']:.3f}" if val is not None else "")
                + (" *" if track["improved"] else "")
            )

        def checkpoint(self, row: dict) -> None:
            state = {**base, "model": shipped.state_dict(), "epoch": row["epoch"], "metrics": current_metrics()}
            if track["improved"]:
                save_checkpoint(state, out / "best.pt")
            raw = {"raw_model": plain.state_dict(), "ema_updates": int(ema.n_averaged)} if ema is not None else {}
            save_checkpoint(
                {
                    **state,
                    **raw,
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "rng": rng_state(generator),
                },
                last,
            )

        def stop(self) -> bool:
            return track["bad_epochs"] >= cfg.patience

    def current_metrics() -> dict:
        return {"history": history, "best": track["best"], "bad_epochs": track["bad_epochs"]}

    fit(
        Finetune(),
        rt=rt,
        log=log,
        generator=generator,
        seed=cfg.seed,
        epochs=cfg.epochs,
        start_epoch=start_epoch,
        end_epoch=cfg.epochs,
        history=history,
        bars=bars,
        scalar_prefix="finetune",
        hook=hook,
    )
    metrics = current_metrics()
    best = track["best"]
    if best is not None and math.isfinite(best["val_loss"]):
        log.info(
            f"best epoch {best['epoch']}: val acc {best['val_acc']:.3f}, val loss {best['val_loss']:.4f} "
            f"-> {out / 'best.pt'}"
        )
    log.close()
    return metrics
