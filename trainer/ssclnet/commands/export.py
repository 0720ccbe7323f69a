"""`ssclnet export`: a fine-tuned checkpoint -> TensorFlow.js LayersModel + model card + parity vectors."""

import argparse


def add_parser(sub):
    p = sub.add_parser("export", help="export a fine-tuned checkpoint for the viewer (TensorFlow.js + model card)")
    p.add_argument("--checkpoint", required=True, help="fine-tuned checkpoint written by `ssclnet finetune`")
    p.add_argument("--out", required=True, help="new directory to create (refused if it exists)")
    p.add_argument("--version", required=True, help="model version, e.g. 2026.11.23-1 ([A-Za-z0-9._-])")
    p.add_argument(
        "--dtype",
        choices=("float32", "float16", "uint8"),
        default="float32",
        help="weight storage (default float32); uint8 = tfjs affine uint8 for the large convolutions, float16 for "
        "the rest (half the bytes of float16)",
    )
    p.add_argument("--metrics", help="JSON written by `ssclnet evaluate` on the dev test split, for the card")
    p.add_argument("--parity-images", nargs="*", help="real images for the parity vectors (default: synthetic)")
    p.add_argument(
        "--gate",
        help="folder written by `ssclnet fit-gate`: adds calibration, in_range and ood/gaussians.bin (card_format 2)",
    )
    p.add_argument(
        "--fold-batchnorm",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="fold each BatchNorm into its conv (bias + fused ReLU): fewer, fused layers for TF.js (default on)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ssclnet.export import export

    card = export(
        args.checkpoint,
        args.out,
        args.version,
        args.dtype,
        args.metrics,
        args.parity_images,
        args.gate,
        fold=args.fold_batchnorm,
    )
    total = sum((Path(args.out) / f).stat().st_size for f in card["files"])
    print(
        f"exported {card['version']} ({card['dtype']}, {len(card['classes'])} classes, input {card['input']['size']}) "
        f"to {args.out}: {len(card['files'])} files, {total / 1e6:.1f} MB"
    )
    return 0
