"""`ssclnet soup`: average the weights of fine-tuned runs that share one pretrained start (a uniform model soup);
with --data, compare the soup and each ingredient on a held-out split before choosing what to ship."""

from __future__ import annotations

import argparse

EXAMPLE = """example:
  ssclnet soup runs/ft-s0/best.pt runs/ft-s1/best.pt --out runs/soup/best.pt \\
      --data runs/trust/finetune.csv --split calib --bn-split train,unlabeled,wholehead
writes the averaged checkpoint (fit-gate, evaluate and export read it like a best.pt); the table compares accuracy,
macro-F1 and NLL of the soup and of each ingredient on --split (use a split no run trained or selected on)
"""


def add_parser(sub) -> None:
    p = sub.add_parser(
        "soup",
        help="average fine-tuned runs of one pretrained start into one model (uniform weight soup)",
        description=__doc__,
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoints", nargs="+", help="two or more finetune checkpoints (best.pt of runs with other seeds)")
    p.add_argument("--out", required=True, help="the averaged checkpoint to write (refused if it exists, see --force)")
    p.add_argument("--force", action="store_true", help="replace --out when it exists")
    p.add_argument("--data", help="CSV manifest with a labeled held-out split to compare the models on")
    p.add_argument("--split", default="calib", help="split of --data for the comparison (default calib)")
    p.add_argument(
        "--bn-split",
        help="recompute the soup's BatchNorm statistics on these splits of --bn-data (the runs' training splits, "
        "comma-separated; default: keep the averaged statistics)",
    )
    p.add_argument("--bn-data", help="CSV manifest for --bn-split (default: --data)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..checkpoint import save_checkpoint
    from ..errors import InputError
    from ..soup import average_checkpoints

    out = Path(args.out)
    if out.exists() and not args.force:
        raise InputError(f"soup: {out} exists; pass --force to replace it")
    soup = average_checkpoints(args.checkpoints)
    if args.bn_split:
        _recompute_bn(args, soup)
    if args.data:
        _compare(args, soup)
    save_checkpoint(soup, out)
    print(f"wrote {out}: the mean of {len(args.checkpoints)} checkpoints")
    return 0


def _decode(data: str, split: str, soup: dict, require_labels: bool = False):
    """The split's images, preprocessed as the soup's card says; a data problem is the user's input error."""
    from ..data import DataError, load_dataset
    from ..errors import InputError
    from ..preprocess import PreprocessSpec

    try:
        return load_dataset(data, split, PreprocessSpec.from_dict(soup["preprocess"]), require_labels=require_labels)
    except DataError as e:
        raise InputError(f"soup: {e}") from None


def _recompute_bn(args, soup: dict) -> None:
    from ..errors import InputError
    from ..soup import recompute_batchnorm

    data = args.bn_data or args.data
    if not data:
        raise InputError("soup: --bn-split needs --bn-data (or --data): the manifest of the runs' training rows")
    ds = _decode(data, args.bn_split, soup)
    recompute_batchnorm(soup, ds.images)
    print(f"BatchNorm statistics recomputed on {len(ds.images)} images ({args.bn_split} of {data})")


def _compare(args, soup: dict) -> None:
    """Accuracy, macro-F1 and NLL of every ingredient and of the soup on one labeled split (decoded once)."""
    import numpy as np

    from ..data import DataError
    from ..errors import InputError
    from ..evaluation import classifier_from_checkpoint, compute_metrics, load_classifier, predict_probs
    from ..runtime import setup_runtime

    classes = list(soup["classes"])
    ds = _decode(args.data, args.split, soup, require_labels=True)
    try:
        y = ds.label_indices(classes).numpy()
    except DataError as e:
        raise InputError(f"soup: {e}") from None
    rt = setup_runtime(args.device)
    models = [(p, load_classifier(p)[0]) for p in args.checkpoints] + [("soup", classifier_from_checkpoint(soup))]
    print(f"{args.split} of {args.data}: {len(y)} images")
    print(f"{'model':<48} {'accuracy':>8} {'macro-F1':>8} {'NLL':>7}")
    for name, model in models:
        probs = predict_probs(model.to(rt.device), ds.images, rt)
        m = compute_metrics(y, probs, classes)
        nll = float(-np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None)).mean())
        print(f"{str(name)[-48:]:<48} {m['accuracy']:>8.4f} {m['macro_f1']:>8.4f} {nll:>7.4f}")
