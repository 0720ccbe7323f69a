"""Data selection (CSV manifest with splits, folder of class subfolders) and decoding; unreadable files are
skipped, counted and listed, and never stop a run."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FIXTURE

from ssclnet.data import DataError, list_records, load_dataset, load_images, parse_splits
from ssclnet.preprocess import PreprocessSpec

MANIFEST = FIXTURE / "manifest.csv"
SPEC = PreprocessSpec(input_size=32)


def test_manifest_splits_are_selected():
    rows = list(csv.DictReader(open(MANIFEST)))
    train = list_records(MANIFEST, ["train"])
    both = list_records(MANIFEST, parse_splits("train, val"))
    assert len(train) == sum(r["split"] == "train" for r in rows) == 32
    assert len(both) == 48 and {r.split for r in both} == {"train", "val"}
    assert all(r.path.is_file() for r in both)  # relative to the CSV's folder
    assert len(list_records(MANIFEST)) == len(rows)


def test_manifest_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="no rows with split"):
        list_records(MANIFEST, ["unlabeled"])
    bad = tmp_path / "m.csv"
    bad.write_text("path,class\na.jpg,x\n")
    with pytest.raises(DataError, match="lacks column"):
        list_records(bad)
    with pytest.raises(DataError, match="neither"):
        list_records(tmp_path / "missing")


def test_folder_of_class_subfolders(tmp_path):
    for cls in ("glioma", "notumor"):
        (tmp_path / cls).mkdir()
        for f in sorted((FIXTURE / "images" / cls).glob("*.jpg"))[:3]:
            shutil.copy(f, tmp_path / cls / f.name)
    recs = list_records(tmp_path)
    assert sorted({r.label for r in recs}) == ["glioma", "notumor"] and len(recs) == 6
    ds = load_images(recs, SPEC)
    assert ds.images.shape == (6, 1, 32, 32) and ds.images.dtype == torch.float16
    assert ds.class_names() == ["glioma", "notumor"]
    with pytest.raises(DataError, match="CSV manifest"):
        list_records(tmp_path, ["train"])


def test_decoded_images_follow_the_spec():
    from ssclnet.imageio import read_slices

    ds = load_dataset(MANIFEST, "val", SPEC)
    first = read_slices(ds.sources[0])[0].to_input(SPEC)
    np.testing.assert_allclose(ds.images[0].float().numpy(), first, atol=1e-3)  # float16 storage
    assert float(ds.images.min()) >= -1 and float(ds.images.max()) <= 1


def _write_dicom(path: Path, frames: int = 1, with_pixels: bool = True) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID, "MR"
    if with_pixels:
        rng = np.random.default_rng(0)
        px = rng.integers(0, 4000, size=(frames, 20, 24), dtype=np.uint16)
        ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 20, 24, 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        if frames > 1:
            ds.NumberOfFrames = frames
        ds.PixelData = (px if frames > 1 else px[0]).tobytes()
    ds.save_as(path, enforce_file_format=True)


def test_unreadable_files_are_skipped_counted_and_listed(tmp_path):
    good = sorted((FIXTURE / "images" / "pituitary").glob("*.jpg"))[:3]
    cls = tmp_path / "pituitary"
    cls.mkdir()
    for f in good:
        shutil.copy(f, cls / f.name)
    (cls / "truncated.jpg").write_bytes(good[0].read_bytes()[:300])
    (cls / "text.png").write_text("not an image")
    (cls / "empty.jpg").write_bytes(b"")
    _write_dicom(cls / "nopixels.dcm", with_pixels=False)
    _write_dicom(cls / "multiframe.dcm", frames=3)

    ds = load_images(list_records(tmp_path), SPEC)
    skipped = {Path(f).name for f, _ in ds.skipped}
    assert skipped == {"truncated.jpg", "text.png", "empty.jpg", "nopixels.dcm"}
    assert len(ds) == 3 + 3  # three JPEGs + three frames of the multi-frame DICOM, all labeled pituitary
    assert ds.labels == ["pituitary"] * 6
    summary = ds.summary()
    assert summary["skipped_count"] == 4 and summary["files"] == 4
    assert all(s["reason"] for s in summary["skipped"])


def test_worker_pool_gives_the_same_result_as_serial(tmp_path):
    recs = list_records(MANIFEST, ["train"]) * 2  # 64 records: enough for load_images to use the pool
    serial = load_images(recs, SPEC, workers=0)
    pooled = load_images(recs, SPEC, workers=2)
    assert torch.equal(serial.images, pooled.images) and serial.labels == pooled.labels


def test_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_text("junk")
    with pytest.raises(DataError, match="none of 1 files"):
        load_dataset(tmp_path, None, SPEC)


def test_a_run_goes_on_past_bad_files(tmp_path):
    from ssclnet.checkpoint import load_checkpoint
    from ssclnet.pretraining import PretrainConfig, run_pretrain

    data = tmp_path / "data"
    data.mkdir()
    for f in sorted((FIXTURE / "images" / "glioma").glob("*.jpg"))[:6]:
        shutil.copy(f, data / f.name)
    (data / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    run_pretrain(
        PretrainConfig(
            data=str(data),
            out=str(tmp_path / "run"),
            epochs=1,
            batch_size=6,
            image_size=32,
            monitor_every=0,
            tensorboard=False,
            quiet=True,
            max_missing=0.2,
        )
    )
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt", "pretrain")
    assert ckpt["epoch"] == 1
    assert ckpt["data_summary"]["skipped_count"] == 1
    assert ckpt["data_summary"]["skipped"][0]["file"].endswith("broken.jpg")


# --- issue 17 item 11: classes, missing files, duplicates and train/test overlap ---------------------------------

FT = dict(epochs=1, batch_size=8, image_size=32, tensorboard=False, quiet=True, patience=100)


def _rows(split=None):
    rows = list(csv.DictReader(open(MANIFEST)))
    for r in rows:
        r["file"] = str(FIXTURE / r["file"])
    return [r for r in rows if split is None or r["split"] == split]


def _manifest(path: Path, rows) -> str:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "label", "group", "split"])
        w.writeheader()
        w.writerows(rows)
    return str(path)


def test_classes_default_to_the_protocol_four_and_other_labels_are_errors_naming_rows(tmp_path, capsys):
    from ssclnet.checkpoint import load_checkpoint
    from ssclnet.cli import main
    from ssclnet.data import DEFAULT_CLASSES
    from ssclnet.finetuning import FinetuneConfig, run_finetune

    rows = _rows("val") + _rows("test")
    # Only two of the four classes in this data: the model still has the protocol's four outputs, in order.
    two = [r for r in rows if r["label"] in ("notumor", "glioma")]
    m = _manifest(tmp_path / "two.csv", two)
    run_finetune(FinetuneConfig(data=m, train_split="val", val_split="test", out=str(tmp_path / "ft"), **FT))
    assert load_checkpoint(tmp_path / "ft" / "best.pt")["classes"] == list(DEFAULT_CLASSES)

    bad = [dict(r) for r in rows]
    bad[2]["label"] = "Glioma"
    bad[5]["label"] = "astrocytoma"
    bad[6]["label"] = "astrocytoma"
    m = _manifest(tmp_path / "bad.csv", bad)
    args = [
        "finetune",
        "--data",
        m,
        "--train-split",
        "val",
        "--val-split",
        "test",
        "--out",
        str(tmp_path / "x"),
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--quiet",
        "--no-tensorboard",
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "'Glioma' in 1 row(s): line 4" in err and "'astrocytoma' in 2 row(s): line 7" in err and "line 8" in err
    assert not (tmp_path / "x" / "last.pt").exists()
    # --classes names another class set: then those labels are fine, and the order is the one given.
    ok = [dict(r) for r in rows if r["label"] in ("notumor", "glioma")]
    m = _manifest(tmp_path / "ok.csv", ok)
    run_finetune(
        FinetuneConfig(
            data=m, train_split="val", val_split="test", out=str(tmp_path / "ft2"), classes="notumor,glioma", **FT
        )
    )
    assert load_checkpoint(tmp_path / "ft2" / "best.pt")["classes"] == ["notumor", "glioma"]


def test_too_many_missing_files_stop_the_run(tmp_path):
    from ssclnet.finetuning import FinetuneConfig, run_finetune
    from ssclnet.pretraining import PretrainConfig, run_pretrain

    rows = _rows("val") + _rows("test")
    gone = [dict(r) for r in rows]
    for r in gone[:12]:  # 12 of the 16 training files are missing
        r["file"] = str(tmp_path / "missing" / Path(r["file"]).name)
    m = _manifest(tmp_path / "m.csv", gone)
    with pytest.raises(
        SystemExit, match=r"train: 12 of 16 files \(75.0 %\) are missing or unreadable.*--max-missing 0.01"
    ):
        run_finetune(FinetuneConfig(data=m, train_split="val", val_split="test", out=str(tmp_path / "a"), **FT))
    assert not (tmp_path / "a" / "last.pt").exists()
    with pytest.raises(SystemExit, match="pretrain data: 12 of 16 files"):
        run_pretrain(
            PretrainConfig(
                data=m,
                split="val",
                out=str(tmp_path / "p"),
                epochs=1,
                batch_size=4,
                image_size=32,
                monitor_every=0,
                tensorboard=False,
                quiet=True,
            )
        )
    one = [dict(r) for r in rows]
    one[0]["file"] = str(tmp_path / "missing.jpg")  # 1 of 16 = 6 %: allowed by a looser limit
    m = _manifest(tmp_path / "one.csv", one)
    run_finetune(
        FinetuneConfig(data=m, train_split="val", val_split="test", out=str(tmp_path / "b"), max_missing=0.1, **FT)
    )
    assert (tmp_path / "b" / "last.pt").is_file()


def test_duplicate_rows_and_train_test_overlap_are_refused(tmp_path):
    from ssclnet.finetuning import FinetuneConfig, run_finetune

    train, test = _rows("train")[:16], _rows("test")
    cfg = dict(train_split="train", val_split="", **FT)

    def run(rows, name, **kw):
        run_finetune(
            FinetuneConfig(data=_manifest(tmp_path / f"{name}.csv", rows), out=str(tmp_path / name), **cfg, **kw)
        )

    with pytest.raises(SystemExit, match=r"train: 1 file\(s\) listed more than once.*--allow-duplicate-rows"):
        run([*train, dict(train[3]), *test], "dup")
    run([*train, dict(train[3]), *test], "dup-ok", allow_duplicate_rows=True)  # deliberate oversampling
    leak = [*train, *test, {**train[5], "split": "test"}]
    with pytest.raises(SystemExit, match=r"1 file\(s\) are both in training and in test"):
        run(leak, "leak-path")
    copy = tmp_path / "copy-of-a-train-image.jpg"
    shutil.copy(train[7]["file"], copy)
    with pytest.raises(SystemExit, match=r"1 test file\(s\) have the same content \(SHA-256\) as a training file"):
        run([*train, *test, {**test[0], "file": str(copy), "label": train[7]["label"]}], "leak-content")
    twin = tmp_path / "twin.jpg"
    shutil.copy(train[1]["file"], twin)
    other = next(c for c in ("glioma", "meningioma", "notumor", "pituitary") if c != train[1]["label"])
    with pytest.raises(SystemExit, match="identical files carry different labels"):
        run([*train, {**train[1], "file": str(twin), "label": other}, *test], "conflict")
    for name in ("dup", "leak-path", "leak-content", "conflict"):
        assert not (tmp_path / name / "last.pt").exists()
