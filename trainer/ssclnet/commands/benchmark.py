"""`ssclnet benchmark`: pretraining throughput (image pairs/s), peak memory, data vs compute time."""

from __future__ import annotations

import argparse

from ..config import add_config_arg


def add_parser(sub) -> None:
    p = sub.add_parser(
        "benchmark",
        help="pretraining speed: pairs/s, peak memory, data/compute split",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example (goal on one H100: >= 5000 pairs/s):\n"
        "  ssclnet benchmark --batch-size 256 --image-size 224 --steps 50 --compile",
    )
    add_config_arg(p)
    p.add_argument("--batch-size", type=int, default=256, help="image pairs per step per process")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--steps", type=int, default=20, help="timed steps (each loop)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (cuDNN autotune, compile)")
    p.add_argument("--data", help="real images (folder or CSV) instead of synthetic ones")
    p.add_argument("--split", help="CSV split(s) of --data")
    p.add_argument("--workers", type=int, default=0, help="decode processes for --data")
    p.add_argument("--epoch-images", type=int, default=5245, help="images per epoch for the 100-epoch estimate")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast on CUDA")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from ..benchmarking import format_result, run_benchmark

    r = run_benchmark(
        batch_size=args.batch_size,
        image_size=args.image_size,
        steps=args.steps,
        warmup=args.warmup,
        data=args.data,
        split=args.split,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        compile=args.compile,
        workers=args.workers,
        epoch_images=args.epoch_images,
    )
    print(json.dumps(r, indent=2) if args.json else format_result(r))
    return 0
