"""`ssclnet pretrain`: SimCLR self-supervised pretraining of the ResNet-18 encoder."""

from __future__ import annotations

import argparse

from ..config import add_config_arg
from .common import add_data_args, add_run_folder_args, add_runtime_args

EXAMPLE = """example:
  ssclnet pretrain --data ../shared/data/brain-mri-2d/dev/splits-protocol-500.csv \\
      --split unlabeled,train,val --out runs/pretrain --workers 16
  torchrun --nproc-per-node 4 -m ssclnet.cli pretrain ...   (several GPUs: DDP, global NT-Xent)
  ssclnet pretrain ... --resume                               (continue a killed run from <out>/last.pt)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "pretrain",
        help="self-supervised SimCLR pretraining (labels ignored)",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_config_arg(p)
    add_data_args(p, split_help="splits to pretrain on, e.g. unlabeled,train,val")
    p.add_argument("--out", default="runs/pretrain", help="run folder: last.pt (every epoch), tb/")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=256, help="images per process per step (2 views each)")
    p.add_argument("--lr", type=float, default=3e-4, help="peak learning rate (linear warm-up, then cosine decay)")
    p.add_argument("--weight-decay", type=float, default=1e-6)
    p.add_argument("--warmup-epochs", type=int, default=2)
    p.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop after this epoch (a time-boxed run; the schedule still spans --epochs, "
        "and --resume with a larger --epochs continues it)",
    )
    p.add_argument(
        "--augment",
        choices=["paper", "strong"],
        default="paper",
        help="augmentation preset: paper (the seed's: 80-90%% side crops, +-15 deg, flips, mild intensity) or "
        "strong (SimCLR-style: 20-100%% area crops with aspect jitter, strong brightness/contrast/gamma, blur, noise)",
    )
    p.add_argument(
        "--group-batches",
        action="store_true",
        help="no two images of one near-twin group (the manifest's group column) in a batch: no false negatives",
    )
    p.add_argument(
        "--optimizer",
        choices=["adam", "adamw", "sgd"],
        default="adam",
        help="adam (the seed's), adamw, or sgd (Nesterov momentum 0.9); no decay on BN/bias for adamw/sgd",
    )
    p.add_argument("--temperature", type=float, default=0.5, help="NT-Xent temperature (see docs/trainer.md)")
    p.add_argument(
        "--local-crops",
        type=int,
        default=0,
        help="multi-crop: N extra small views per image (20-45%% of the side, the preset's distortions), each "
        "paired with both global views in the NT-Xent (0: off, plain SimCLR)",
    )
    p.add_argument("--local-size", type=int, default=0, help="side of the local views in pixels (0: --image-size / 2)")
    p.add_argument("--image-size", type=int, default=224, help="input side, stored in the preprocessing spec")
    p.add_argument("--init", help="start the encoder from a local checkpoint (ssclnet or a ResNet-18 state dict)")
    add_run_folder_args(p)
    p.add_argument(
        "--sync-bn",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="BatchNorm statistics across all processes under torchrun",
    )
    p.add_argument(
        "--monitor-every",
        type=int,
        default=5,
        help="kNN accuracy of the encoder every N epochs (0: off); uses labels only to measure",
    )
    p.add_argument("--monitor-data", help="CSV with labeled train/val splits for the monitor (default: --data)")
    p.add_argument("--monitor-train-split", default="train", help="memory bank split of the kNN monitor")
    p.add_argument(
        "--monitor-val-split", default="test", help="split the kNN monitor scores (measured only, never selects)"
    )
    p.add_argument("--knn-k", type=int, default=20)
    add_runtime_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..pretraining import PretrainConfig, run_pretrain

    run_pretrain(PretrainConfig.from_args(args))
    return 0
