"""Figures for docs/results.md ("Where the model looks"): the faithfulness table and the heatmap grid.

  python tools/explain/gradcam_figures.py faithfulness [--model models] [--per-class 25] [--layers layer3,layer4]
        [--methods gradcam,gradcam++]        # prints the table (Adebayo et al. 2018 checks), and --json FILE
  python tools/explain/gradcam_figures.py grid [--model models] [--out docs/figures/gradcam-grid.png]
        # each class: 3 correct and 2 wrong calls of the dev test split, Grad-CAM of the predicted class

Data: ../shared/data/brain-mri-2d/dev/splits-protocol-500.csv, split `test` (override with --data/--split).
Run from the repository root with the trainer installed (`pip install -e trainer`) or PYTHONPATH=trainer.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "trainer"))

from ssclnet import explain as E  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "brain-mri-2d" / "dev" / "splits-protocol-500.csv"


def faithfulness(args) -> int:
    model, classes, spec, desc = E.load_model(model_dir=args.model)
    recs = E.sample_records(args.data, args.split, classes, args.per_class, seed=args.seed)
    x = torch.from_numpy(E.load_inputs([r.path for r in recs], spec))
    y = np.array([classes.index(r.label) for r in recs])
    print(
        f"model {desc}; {len(recs)} dev {args.split} images ({args.per_class} per class, seed {args.seed}); "
        f"mask {args.fraction:.0%} of the pixels; random masks: mean of 3"
    )
    rows = []
    for layer in args.layers.split(","):
        for method in args.methods.split(","):
            t = time.perf_counter()
            res = E.cam(model, x, layer=layer, method=method)
            depth = 1 + E.CASCADE.index(f"{layer}.0")
            rnd = E.cam(E.randomised_copy(model, depth, args.seed), x, layer=layer, method=method)
            rho = np.array([E.spearman(a, b) for a, b in zip(res.heatmaps, rnd.heatmaps)])
            # Independent randomisation of the head only (the logit layer): does the map follow the class weights?
            rho_head = np.array(
                [
                    E.spearman(a, b)
                    for a, b in zip(
                        res.heatmaps,
                        E.cam(E.randomised_copy(model, 1, args.seed), x, layer=layer, method=method).heatmaps,
                    )
                ]
            )
            row = {
                "layer": layer,
                "method": method,
                "map": list(res.raw.shape[1:]),
                "randomised": "+".join(E.CASCADE[:depth]),
                "spearman_cascade_mean": float(rho.mean()),
                "spearman_cascade_median": float(np.median(rho)),
                "spearman_cascade_max": float(rho.max()),
                "spearman_head_mean": float(rho_head.mean()),
                "accuracy": float((res.class_index == y).mean()),
                "deletion": {},
            }
            for fill in E.FILLS:
                for baseline in E.BASELINES:
                    d = E.deletion(model, x, res, args.fraction, seed=args.seed, fill=fill, baseline=baseline)
                    per_class = {
                        c: [float(d["drop_top"][y == k].mean()), float(d["drop_random"][y == k].mean())]
                        for k, c in enumerate(classes)
                    }
                    row["deletion"][f"{fill}/{baseline}"] = {
                        "drop_top": float(d["drop_top"].mean()),
                        "drop_random": float(d["drop_random"].mean()),
                        "logit_drop_top": float(d["logit_drop_top"].mean()),
                        "logit_drop_random": float(d["logit_drop_random"].mean()),
                        "logit_per_class": {
                            c: [float(d["logit_drop_top"][y == k].mean()), float(d["logit_drop_random"][y == k].mean())]
                            for k, c in enumerate(classes)
                        },
                        "wins": float((d["drop_top"] > d["drop_random"]).mean()),
                        "per_class": per_class,
                    }
            row["seconds"] = time.perf_counter() - t
            rows.append(row)
            print(
                f"\n{layer} {method} (map {row['map'][0]}x{row['map'][1]}): Spearman trained vs randomised "
                f"[{row['randomised']}] mean {row['spearman_cascade_mean']:.3f} median "
                f"{row['spearman_cascade_median']:.3f} max {row['spearman_cascade_max']:.3f}; head only mean "
                f"{row['spearman_head_mean']:.3f}"
            )
            for k, v in row["deletion"].items():
                pc = ", ".join(f"{c} {a:.3f}/{b:.3f}" for c, (a, b) in v["per_class"].items())
                lc = ", ".join(f"{c} {a:.2f}/{b:.2f}" for c, (a, b) in v["logit_per_class"].items())
                print(
                    f"  deletion fill/random={k:13s} drop top {v['drop_top']:.3f} vs random {v['drop_random']:.3f} "
                    f"(top > random on {v['wins']:.0%}); per class top/random: {pc}\n"
                    f"      logit drop top {v['logit_drop_top']:.2f} vs random {v['logit_drop_random']:.2f}; per class: {lc}"
                )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"model": desc, "n": len(recs), "fraction": args.fraction, "rows": rows}, indent=1) + "\n"
        )
    return 0


def grid(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ssclnet.data import list_records

    model, classes, spec, desc = E.load_model(model_dir=args.model)
    recs = list_records(args.data, [args.split])
    x = torch.from_numpy(E.load_inputs([r.path for r in recs], spec))
    y = np.array([classes.index(r.label) for r in recs])
    with torch.no_grad():
        pred = torch.cat([model(c).argmax(1) for c in x.split(64)]).numpy()
    print(f"{desc}: {len(recs)} dev {args.split} images, accuracy {(pred == y).mean():.4f}")
    rng = np.random.default_rng(args.seed)
    picks: list[tuple[int, bool]] = []
    for k in range(len(classes)):
        ok, bad = np.flatnonzero((y == k) & (pred == k)), np.flatnonzero((y == k) & (pred != k))
        picks += [(int(i), True) for i in sorted(rng.choice(ok, min(args.correct, len(ok)), replace=False))]
        picks += [(int(i), False) for i in sorted(rng.choice(bad, min(args.wrong, len(bad)), replace=False))]
    idx = [i for i, _ in picks]
    res = E.cam(model, x[idx], layer=args.layer, method=args.method)
    cols = args.correct + args.wrong
    fig, axes = plt.subplots(len(classes), cols, figsize=(cols * 1.9, len(classes) * 2.05))
    for j, ((i, ok), ax) in enumerate(zip(picks, axes.ravel())):
        c = res.class_index[j]
        ax.imshow(E.overlay_rgb(x[i, 0].numpy(), res.heatmaps[j]))
        ax.set_title(
            f"{'✓' if ok else '✗'} {classes[y[i]]}\n→ {classes[c]} {res.probabilities[j, c]:.2f}",
            fontsize=7,
            color="black" if ok else "firebrick",
        )
        ax.axis("off")
    fig.suptitle(
        f"Grad-CAM ({args.layer}, predicted class), model {Path(desc.split()[0]).name}: "
        f"rows = true class; {args.correct} correct, {args.wrong} wrong calls each",
        fontsize=8,
    )
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=args.dpi)
    shrink_png(buf.getvalue(), args.out)
    print(
        f"wrote {args.out} ({Path(args.out).stat().st_size // 1024} KB): "
        + "; ".join(
            f"{Path(recs[i].path).name} {classes[y[i]]}->{classes[res.class_index[j]]}"
            for j, (i, _) in enumerate(picks)
        )
    )
    return 0


def shrink_png(data: bytes, out: str | Path, colours: int = 256) -> None:
    """A PNG with an adaptive palette (few hundred KB instead of ~700 KB for the grid)."""
    from PIL import Image

    img = Image.open(io.BytesIO(data)).convert("RGB")
    img.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, optimize=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("faithfulness", "grid"):
        s = sub.add_parser(name)
        s.add_argument("--model", default=str(REPO / "models"), help="registry (its latest) or model folder")
        s.add_argument("--data", default=str(DATA))
        s.add_argument("--split", default="test")
        s.add_argument("--seed", type=int, default=0)
        s.add_argument("--threads", type=int, default=1)
    f = sub.choices["faithfulness"]
    f.add_argument("--per-class", type=int, default=25)
    f.add_argument("--layers", default="layer3,layer4")
    f.add_argument("--methods", default="gradcam,gradcam++")
    f.add_argument("--fraction", type=float, default=0.1)
    f.add_argument("--json")
    g = sub.choices["grid"]
    g.add_argument("--out", default=str(REPO / "docs" / "figures" / "gradcam-grid.png"))
    g.add_argument("--layer", default=E.DEFAULT_LAYER)
    g.add_argument("--method", default=E.DEFAULT_METHOD)
    g.add_argument("--correct", type=int, default=3)
    g.add_argument("--wrong", type=int, default=2)
    g.add_argument("--dpi", type=int, default=90)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    return faithfulness(args) if args.cmd == "faithfulness" else grid(args)


if __name__ == "__main__":
    sys.exit(main())
