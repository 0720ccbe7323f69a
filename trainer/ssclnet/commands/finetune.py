"""`ssclnet finetune`: a classifier over the (pretrained or random) encoder, with early stopping on val."""

from __future__ import annotations

import argparse

from ..config import add_config_arg
from .common import add_data_args, add_run_folder_args, add_runtime_args

EXAMPLE = """examples:
  ssclnet finetune --data splits-protocol-500.csv --init runs/pretrain/last.pt --encoder finetune --out runs/ft
  ssclnet finetune --data splits-protocol-500.csv --init runs/pretrain/last.pt --encoder frozen --out runs/probe
  ssclnet finetune --data splits-protocol-500.csv --init scratch --out runs/scratch   (no-SSL baseline)
  ssclnet finetune --data splits-protocol-500.csv --init runs/pretrain/last.pt --distill-from runs/ft/best.pt
      --distill-split unlabeled --out runs/student   (SimCLR v2: the teacher labels the unlabeled images)
writes <out>/best.pt (best val accuracy, ties to lower val loss) and <out>/last.pt (every epoch, for --resume)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="supervised fine-tuning / linear probe / from-scratch baseline",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arg(p)
    add_data_args(p, split_help=None)
    p.add_argument("--train-split", default="train", help="labeled split(s) to train on (CSV; comma-separated)")
    p.add_argument("--val-split", default="val", help="split for early stopping and best checkpoint (CSV)")
    p.add_argument("--out", default="runs/finetune", help="run folder: best.pt, last.pt, tb/")
    p.add_argument(
        "--init",
        default="scratch",
        help="pretrain checkpoint (or any ssclnet checkpoint / ResNet-18 state dict), or 'scratch'",
    )
    p.add_argument(
        "--encoder",
        choices=("frozen", "finetune"),
        default="finetune",
        help="frozen: linear probe; finetune: train all, encoder at lr x --encoder-lr-scale",
    )
    p.add_argument(
        "--classes",
        help="comma-separated class order (default: the --init checkpoint's classes, else "
        "glioma,meningioma,notumor,pituitary); any other label in the data is an error",
    )
    p.add_argument("--epochs", type=int, default=100, help="maximum epochs (early stopping usually ends sooner)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate of the classifier head")
    p.add_argument("--encoder-lr-scale", type=float, default=0.1, help="encoder lr = lr x this (finetune mode)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument(
        "--ema",
        type=float,
        default=0.0,
        metavar="DECAY",
        help="validate, select and write an exponential moving average of the weights with this per-step decay "
        "(e.g. 0.995; default 0: off)",
    )
    p.add_argument("--patience", type=int, default=15, help="epochs without val improvement before stopping")
    p.add_argument("--image-size", type=int, help="input side (default: the pretrained encoder's, else 224)")
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="mild train-time augmentation (rotation ±10°, h-flip, crop 90-100%%, light jitter)",
    )
    p.add_argument(
        "--contrast-randomise",
        type=float,
        default=0.0,
        metavar="P",
        help="with probability P per training image, remap its intensities with a random curve "
        "(monotone/inverted/non-monotone), gamma, bias field, blur, noise (default 0: off)",
    )
    p.add_argument(
        "--distill-from",
        default="",
        metavar="TEACHER",
        help="SimCLR v2's distillation: fine-tuned checkpoint(s), comma-separated (their mean probabilities), whose "
        "predictions on the --distill-split images (their labels never read) are soft targets beside the labeled "
        "rows (default: off)",
    )
    p.add_argument(
        "--teacher-view",
        choices=("clean", "augmented"),
        default="clean",
        help="clean: the teacher's targets once, on un-augmented images (Noisy Student); augmented: the teacher "
        "answers on the student's augmented view at every step (one teacher forward a step)",
    )
    p.add_argument(
        "--distill-rows",
        choices=("all", "unlabeled", "split"),
        default="all",
        help="all: the teacher's term on every row of a batch (SimCLR v2); unlabeled: only on the --distill-split "
        "rows, labeled rows learn from their labels alone (when the teacher never saw what those labels teach); "
        "split: on the rows of the --distill-split splits, labeled (training) rows included, the other "
        "training rows by their labels alone",
    )
    p.add_argument("--distill-split", default="unlabeled", help="the teacher's rows (CSV split; comma-separated)")
    p.add_argument(
        "--distill-weight",
        type=float,
        default=0.5,
        metavar="ALPHA",
        help="loss = (1 - ALPHA) x cross-entropy on labeled rows + ALPHA x distillation on the rows --distill-rows "
        "names",
    )
    p.add_argument("--distill-temperature", type=float, default=1.0, help="temperature of teacher and student")
    add_run_folder_args(p)
    add_runtime_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..finetuning import FinetuneConfig, run_finetune

    run_finetune(FinetuneConfig.from_args(args))
    return 0
