"""Flags several subcommands share (kept here so they read the same everywhere)."""

from __future__ import annotations

import argparse


def add_data_args(p: argparse.ArgumentParser, *, split_help: str | None) -> None:
    p.add_argument(
        "--data",
        help="a folder of class subfolders, or a CSV manifest file,label,group,split "
        "(paths relative to the CSV's folder)",
    )
    if split_help:
        p.add_argument("--split", default=None, help=split_help + " (CSV only; comma-separated)")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="processes decoding images before training (default 0: in the main process; "
        "use the CPU count on a server)",
    )


def add_run_folder_args(p: argparse.ArgumentParser, *, checkpoint: str = "<out>/last.pt") -> None:
    """--resume / --resume-if-exists / --force and the data sanity limits of the training commands."""
    p.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the run in --out from {checkpoint}; refused when it does not exist or when "
        "run-defining settings changed (--epochs, --patience, --stop-after, devices may change)",
    )
    p.add_argument(
        "--resume-if-exists",
        action="store_true",
        help="for job scripts: --resume when --out holds a checkpoint, else start a new run",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="start a new run even though --out holds one (its best.pt/last.pt are replaced)",
    )
    p.add_argument(
        "--max-missing",
        type=float,
        default=0.01,
        help="stop when more than this fraction of a set's files is missing or unreadable (default 0.01)",
    )
    p.add_argument(
        "--allow-duplicate-rows",
        action="store_true",
        help="accept a file listed more than once in one set (never between training and test)",
    )


def add_runtime_args(p: argparse.ArgumentParser, *, train: bool = True) -> None:
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cuda, cpu")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling and augmentations")
    p.add_argument(
        "--amp", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast on CUDA (ignored on CPU)"
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="NHWC memory format (faster convolutions on tensor cores)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    if train:
        p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
        p.add_argument(
            "--data-device",
            default="auto",
            choices=("auto", "cuda", "cpu"),
            help="where decoded images live: auto = on the GPU when they take < 1/4 of its free memory",
        )
        p.add_argument(
            "--tensorboard", action=argparse.BooleanOptionalAction, default=True, help="TensorBoard scalars in <out>/tb"
        )
        p.add_argument(
            "--deterministic", action="store_true", help="deterministic algorithms (exactly repeatable, slower on GPU)"
        )


def add_threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")


def apply_threads(args: argparse.Namespace) -> None:
    """--threads: torch's intra-op thread count (0 leaves torch's default). torch is imported only when it runs."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
