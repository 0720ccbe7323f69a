"""Training data: which files (a folder of class subfolders or a CSV manifest), decoded once into memory.

Every file goes through `imageio.read_slices` and `Slice.to_input(spec)`, the same path evaluation and
export use, so the model never sees pixels prepared any other way. Images are decoded and preprocessed once,
by a pool of worker processes, and held as one float16 tensor (N, C, S, S) in the spec's normalised space:
5,245 slices at 224² take 0.5 GB, small enough to keep on the GPU. A file that can't be read is skipped,
counted and listed in the summary; it never stops a run.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .imageio import DICOM_SUFFIXES, RASTER_SUFFIXES, read_slices
from .preprocess import PreprocessSpec

MANIFEST_COLUMNS = ("file", "label")
# The classes of the brain MRI protocol, in the order of the shipped models' outputs. Any other label in the
# training data is an error, never a silent extra class (`--classes` or the --init checkpoint choose others).
DEFAULT_CLASSES = ("glioma", "meningioma", "notumor", "pituitary")
DEFAULT_MAX_MISSING = 0.01
HELD_OUT_SPLITS = ("test",)


class DataError(ValueError):
    """The data argument itself is wrong (missing folder, bad manifest); not one bad image."""


@dataclass(frozen=True)
class Record:
    path: Path
    label: str | None
    group: str | None = None
    split: str | None = None
    row: int | None = None  # line of the CSV manifest (the header is line 1); None for a folder

    def where(self) -> str:
        return f"line {self.row} ({self.path.name})" if self.row else str(self.path)


@dataclass
class ImageSet:
    """Decoded slices (one per JPEG/PNG, one per DICOM frame) and what was skipped."""

    images: torch.Tensor  # (N, C, S, S) float16, normalised per the spec
    labels: list[str | None]
    sources: list[str]  # file of each slice
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    splits: list[str | None] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)  # the rows asked for (readable or not)
    groups: list[str] = field(default_factory=list)  # near-twin group of each slice (its file where none)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def class_names(self) -> list[str]:
        return sorted({lab for lab in self.labels if lab is not None})

    def label_indices(self, classes: Sequence[str]) -> torch.Tensor:
        index = {c: i for i, c in enumerate(classes)}
        unknown = sorted({lab for lab in self.labels if lab not in index}, key=str)
        if unknown:
            raise DataError(f"labels {unknown} are not among the classes {list(classes)}")
        return torch.tensor([index[lab] for lab in self.labels], dtype=torch.long)

    def summary(self) -> dict:
        per_split: dict[str, dict[str, int]] = {}
        for lab, sp in zip(self.labels, self.splits or [None] * len(self.labels)):
            d = per_split.setdefault(sp or "all", {})
            d[lab or "(unlabeled)"] = d.get(lab or "(unlabeled)", 0) + 1
        return {
            "slices": len(self),
            "files": len(set(self.sources)),
            "per_split_class": per_split,
            "skipped_count": len(self.skipped),
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
        }


def _is_image_file(p: Path) -> bool:
    s = p.suffix.lower()
    return p.is_file() and not p.name.startswith(".") and (s in RASTER_SUFFIXES or s in DICOM_SUFFIXES)


def list_records(data: str | Path, splits: Sequence[str] | None = None) -> list[Record]:
    """Files of a dataset.

    `data` is either a CSV manifest with columns file,label[,group,split] (paths relative to the CSV's
    folder; `splits` selects rows), or a folder whose subfolders are the classes (files directly in the
    folder get no label, which suits pretraining). For a folder, `splits` must be empty.
    """
    root = Path(data)
    if root.is_file() and root.suffix.lower() == ".csv":
        return _manifest_records(root, splits)
    if root.is_dir():
        if splits:
            raise DataError(
                f"--split {','.join(splits)} needs a CSV manifest with a 'split' column; {root} is a folder"
            )
        return _folder_records(root)
    raise DataError(f"{root}: neither a folder of class subfolders nor a .csv manifest")


def _manifest_records(path: Path, splits: Sequence[str] | None) -> list[Record]:
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        cols = reader.fieldnames or []
        missing = [c for c in MANIFEST_COLUMNS if c not in cols]
        if missing:
            raise DataError(f"{path}: manifest lacks column(s) {missing}; expected file,label,group,split")
        if splits and "split" not in cols:
            raise DataError(f"{path}: --split given but the manifest has no 'split' column")
        rows = list(reader)
    wanted = set(splits) if splits else None
    if wanted:
        present = {r.get("split") for r in rows}
        absent = sorted(wanted - present)
        if absent:
            raise DataError(f"{path}: no rows with split {absent} (present: {sorted(s for s in present if s)})")
    base = path.parent
    return [
        Record(base / r["file"], r["label"] or None, r.get("group") or None, r.get("split") or None, row=i + 2)
        for i, r in enumerate(rows)
        if wanted is None or r.get("split") in wanted
    ]


def _folder_records(root: Path) -> list[Record]:
    records = [Record(p, None) for p in sorted(root.iterdir()) if _is_image_file(p)]
    for sub in sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        records += [Record(p, sub.name) for p in sorted(sub.rglob("*")) if _is_image_file(p)]
    if not records:
        raise DataError(f"{root}: no JPEG/PNG/DICOM files found (expected <class>/<image> subfolders)")
    return records


def parse_splits(text: str | Sequence[str] | None) -> list[str] | None:
    if text is None:
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    out = [s.strip() for s in items if s.strip()]
    return out or None


def _decode(task: tuple[str, dict]) -> tuple[list[np.ndarray], str | None]:
    path, spec_dict = task
    spec = PreprocessSpec.from_dict(spec_dict)
    try:
        return [s.to_input(spec).astype(np.float16) for s in read_slices(path)], None
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # one bad file, whatever the decoder raised, is reported, never fatal
        return [], f"{type(e).__name__}: {e}"


def load_images(
    records: Iterable[Record], spec: PreprocessSpec, *, workers: int = 0, progress: bool = False, desc: str = "decode"
) -> ImageSet:
    """Decode + preprocess every record once. workers=0 decodes in this process (tests, small sets)."""
    records = list(records)
    tasks = [(str(r.path), spec.to_dict()) for r in records]
    if workers and workers > 1 and len(tasks) > 32:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_decode, tasks, chunksize=max(1, min(64, len(tasks) // (4 * workers))))
            results = list(_progress(results, len(tasks), progress, desc))
    else:
        results = [_decode(t) for t in _progress(tasks, len(tasks), progress, desc)]

    arrays: list[np.ndarray] = []
    labels: list[str | None] = []
    sources: list[str] = []
    splits: list[str | None] = []
    groups: list[str] = []
    skipped: list[tuple[str, str]] = []
    for rec, (slices, err) in zip(records, results):
        if err is not None:
            skipped.append((str(rec.path), err))
            continue
        for a in slices:
            arrays.append(a)
            labels.append(rec.label)
            sources.append(str(rec.path))
            splits.append(rec.split)
            groups.append(rec.group or str(rec.path))
    shape = (0, spec.channels, spec.input_size, spec.input_size)
    images = torch.from_numpy(np.stack(arrays)) if arrays else torch.empty(shape, dtype=torch.float16)
    return ImageSet(images, labels, sources, skipped, splits, records, groups)


def _progress(it, total: int, enabled: bool, desc: str):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, desc=desc, unit="file", leave=False)


def load_dataset(
    data: str | Path,
    splits: Sequence[str] | str | None,
    spec: PreprocessSpec,
    *,
    workers: int = 0,
    progress: bool = False,
    require_labels: bool = False,
    desc: str = "decode",
) -> ImageSet:
    """list_records + load_images, with the checks every command wants (nothing readable, missing labels)."""
    records = list_records(data, parse_splits(splits))
    if not records:
        raise DataError(f"{data}: no files selected (split {splits})")
    if require_labels:
        unlabeled = [r.path for r in records if not r.label]
        if unlabeled:
            raise DataError(f"{len(unlabeled)} file(s) without a label, e.g. {unlabeled[0]}")
    ds = load_images(records, spec, workers=workers, progress=progress, desc=desc)
    if len(ds) == 0:
        reasons = Counter(r.split(":")[0] for _, r in ds.skipped)
        raise DataError(f"{data}: none of {len(records)} files could be read ({dict(reasons)})")
    return ds


# --- checks a training run makes before it decodes anything (issue 17, items 10 and 11) ---------------------


def _examples(records: Sequence[Record], n: int = 3) -> str:
    shown = ", ".join(r.where() for r in records[:n])
    return shown + (f" and {len(records) - n} more" if len(records) > n else "")


def check_labels(records: Sequence[Record], classes: Sequence[str], what: str) -> None:
    """Every label must be one of `classes`; else a DataError naming the offending rows."""
    known = set(classes)
    bad: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.label not in known:
            bad[str(r.label)].append(r)
    if bad:
        parts = [f"{label!r} in {len(rows)} row(s): {_examples(rows)}" for label, rows in sorted(bad.items())]
        raise DataError(
            f"{what}: label(s) not among the classes {list(classes)}: "
            + "; ".join(parts)
            + " (fix the labels, or name the classes with --classes)"
        )


def check_missing(ds: ImageSet, max_missing: float, what: str) -> None:
    """Stop when more than `max_missing` of the files asked for could not be read (missing or unreadable)."""
    n = len(ds.records) or (len(set(ds.sources)) + len(ds.skipped))
    bad = len(ds.skipped)
    if n and bad > max_missing * n:
        shown = "; ".join(f"{Path(f).name}: {why}" for f, why in ds.skipped[:3])
        raise DataError(
            f"{what}: {bad} of {n} files ({100 * bad / n:.1f} %) are missing or unreadable, more than "
            f"--max-missing {max_missing:g} allows (e.g. {shown}); fix the data or raise --max-missing"
        )


def _resolved(r: Record) -> str:
    return os.path.realpath(r.path)


def file_sha256(path: str | Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None  # missing/unreadable: counted by check_missing after decoding


def check_overlaps(
    train: Sequence[Record],
    others: dict[str, Sequence[Record]],
    held_out: Sequence[Record],
    *,
    allow_duplicate_rows: bool = False,
    labels_matter: bool = True,
) -> list[str]:
    """Refuse (DataError) what would make a run's figures wrong; return notes for what is only worth saying.

    Refused: the same file twice among the selected rows (by path; `allow_duplicate_rows` lets a deliberate
    repeat inside one set through), a file in training and in another selected set (val) by path, a file
    shared between training and the held-out test rows by path or by content (SHA-256), and identical files
    with different labels. Noted: identical content (different paths) inside training or between training and
    validation (near-twin slices are common in public MRI sets).
    """
    sets = {"train": list(train), **{k: list(v) for k, v in others.items()}}
    notes: list[str] = []
    for name, recs in sets.items():
        seen: dict[str, list[Record]] = defaultdict(list)
        for r in recs:
            seen[_resolved(r)].append(r)
        dups = [rows for rows in seen.values() if len(rows) > 1]
        if dups and not allow_duplicate_rows:
            raise DataError(
                f"{name}: {len(dups)} file(s) listed more than once, e.g. "
                + "; ".join(_examples(rows, 3) for rows in dups[:3])
                + " (remove the repeated rows, or pass --allow-duplicate-rows if the repeat is deliberate)"
            )
        if dups:
            notes.append(f"{name}: {len(dups)} file(s) listed more than once (allowed by --allow-duplicate-rows)")
    train_paths = {_resolved(r) for r in sets["train"]}
    for name, recs in [*list(sets.items())[1:], ("test", list(held_out))]:
        both = [r for r in recs if _resolved(r) in train_paths]
        if both:
            raise DataError(
                f"{len(both)} file(s) are both in training and in {name}: {_examples(both)}; "
                f"a file may belong to one split only"
            )
    digests: dict[str, list[tuple[str, Record]]] = defaultdict(list)
    for name, recs in [*sets.items(), ("test", list(held_out))]:
        for r in recs:
            d = file_sha256(r.path)
            if d is not None:
                digests[d].append((name, r))
    leaked, twins_train, twins_val, conflicts = [], 0, 0, []
    for entries in digests.values():
        names = {n for n, _ in entries}
        if len(entries) < 2:
            continue
        if "train" in names and "test" in names:
            leaked.append(next(r for n, r in entries if n == "test"))
        labeled = {r.label for n, r in entries if n != "test" and r.label is not None}
        if labels_matter and len(labeled) > 1:
            conflicts.append(entries)
        if names == {"train"} and len({_resolved(r) for _, r in entries}) > 1:
            twins_train += 1
        elif "train" in names and names & set(others):
            twins_val += 1
    if leaked:
        raise DataError(
            f"{len(leaked)} test file(s) have the same content (SHA-256) as a training file, e.g. "
            f"{_examples(leaked)}; remove them from one side so the test split stays unseen"
        )
    if conflicts:
        first = conflicts[0]
        raise DataError(
            f"{len(conflicts)} group(s) of identical files carry different labels, e.g. "
            + ", ".join(f"{r.where()} = {r.label}" for _, r in first[:4])
        )
    if twins_train:
        notes.append(f"train: {twins_train} group(s) of identical files under different names")
    if twins_val:
        notes.append(f"{twins_val} training file(s) have an identical copy in {', '.join(others)}")
    return notes


def rows_fingerprint(records: Sequence[Record], base: str | Path) -> dict:
    """What rows a run used (file relative to the data's folder, label, split, in order) as one SHA-256:
    --resume compares it to refuse a run continued on other data."""
    base = Path(base)
    base = base.parent if base.is_file() else base
    h = hashlib.sha256()
    for r in records:
        try:
            rel = os.path.relpath(r.path, base)
        except ValueError:
            rel = str(r.path)
        h.update(f"{rel}\t{r.label or ''}\t{r.split or ''}\n".encode())
    return {"rows": len(records), "sha256": h.hexdigest()}
