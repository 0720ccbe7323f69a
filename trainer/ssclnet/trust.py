"""Trust layer of a fine-tuned model (issue 15): the feature gate and temperature calibration fitted on data
(`fit_gate`, for `ssclnet fit-gate`), and the Python-side measurement on real series (`trust_report`, for
`ssclnet trust-report`).

`fit_gate` writes a folder that `ssclnet export --gate DIR` folds into the artifact:
  gate.json          {"calibration": {...}, "features": {...}, "summary": {...}}: the card's fields + figures
  gaussians.bin      little-endian float32 means [K x 512] then precision [512 x 512] (ssclnet.ood)
  reliability-before.png, reliability-after.png   dev test split, 15 bins, T = 1 and the fitted T
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from . import ood
from .calibration import ece, fit_temperature, softmax
from .errors import InputError
from .evaluation import ECE_BINS, plot_reliability

TUMOUR_EXCLUDE = "notumor"
# A temperature fitted on fewer clean images than this may only soften the probabilities (see _finish_gate).
MIN_CALIBRATION_IMAGES = 200

# The rule the viewer applies before inference (card in_range.metadata; H4 implements it in TypeScript and
# owns the exact image-type list; this is the Python approximation used by `trust-report`).
METADATA_RULE: dict[str, Any] = {
    "modalities": ["MR"],
    "max_angle_from_axial_deg": 30,
    "reject_image_types": [
        "LOCALIZER",
        "SCOUT",
        "MOSAIC",
        "VFRAME",
        "PROJECTION IMAGE",
        "DIFFUSION",
        "ADC",
        "TRACEW",
        "PERFUSION",
    ],
    "reject_series_descriptions": ["localizer", "localiser", "scout", "survey"],
    "photometric": ["MONOCHROME1", "MONOCHROME2"],
    # The model reads structural slices (T1, T2, FLAIR, PD): echo-planar acquisitions (DWI, fMRI, perfusion) and
    # coarse grids (field maps, EPI, scouts at 1.6-4 mm) are a different kind of image, declined by name.
    "reject_scanning_sequences": ["EP"],
    "max_pixel_spacing_mm": 1.5,
}
METADATA_NOTES = (
    "DICOM input only (JPEG/PNG have no metadata and meet only the feature gate). Angle: between the slice normal "
    "(row x column of Image Orientation (Patient); for enhanced multi-frame the frame's own) and the patient S axis; "
    "a missing orientation is allowed. Image Type / Frame Type holding any reject_image_types value, a Siemens "
    "mosaic (0019,100A > 1), a series description containing a reject_series_descriptions word (case-insensitive), "
    "a non-image SOP class, Samples per Pixel != 1 or another photometric interpretation are out of range; so are "
    "echo-planar acquisitions (Scanning Sequence holding a reject_scanning_sequences value, or Echo Planar Pulse "
    "Sequence YES) and images whose larger in-plane pixel spacing exceeds max_pixel_spacing_mm. The "
    "viewer's implementation (extension/src/inference/inRange.ts) is the reference."
)


# ----------------------------------------------------------------------------------------------- forward


def forward_features(model, images, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, 512) float64, logits (N, K) float64) of preprocessed NCHW images, in eval mode, float32."""
    import torch

    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for chunk in images.split(batch_size):
            f = model.encoder(chunk.to(torch.float32))
            feats.append(f.double().numpy())
            logits.append(model.classifier(f).double().numpy())
    if not feats:
        return np.zeros((0, 512)), np.zeros((0, model.classifier.out_features))
    return np.concatenate(feats), np.concatenate(logits)


def _load(data: str, split: str | None, spec, *, labels: bool = True):
    from .data import load_dataset

    sel = split if str(data).lower().endswith(".csv") else None
    return load_dataset(data, sel, spec, require_labels=labels)


def _recalls(y: np.ndarray, pred: np.ndarray, mask: np.ndarray, classes: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for i, c in enumerate(classes):
        m = (y == i) & mask
        out[c] = {
            "correct": int((pred[m] == i).sum()),
            "n": int(m.sum()),
            "recall": float((pred[m] == i).mean()) if m.any() else float("nan"),
        }
    return out


# ---------------------------------------------------------------------------------------------- fit-gate


def leak_free_mask(data: str, val_split: str, fit_split: str) -> np.ndarray:
    """Which rows of `val_split` have no near-twin among the `fit_split` rows (same `group`, the dev manifest's
    near-duplicate sets). In the dev protocol near-twins of val images sit in `unlabeled`, so a model trained on
    unlabeled has seen 60 of the 100 val images in another copy: those would set the threshold and the
    temperature on effectively seen data (too tight a threshold, too sharp a temperature)."""
    from .data import list_records, parse_splits

    fit_groups = {r.group for r in list_records(data, parse_splits(fit_split)) if r.group}
    return np.array([not (r.group and r.group in fit_groups) for r in list_records(data, parse_splits(val_split))])


def per_group_mask(data: str, val_split: str, per_group: int) -> np.ndarray:
    """The first `per_group` rows of each manifest group in `val_split` (all rows if per_group <= 0). A group holds
    near-identical slices (up to 18 in the held-out calib split); counted once each they would weigh as many
    independent images and set the threshold's quantile on one patient's score."""
    from .data import list_records, parse_splits

    seen: dict[str, int] = {}
    keep = []
    for i, r in enumerate(list_records(data, parse_splits(val_split))):
        g = r.group or f"row:{i}"
        seen[g] = seen.get(g, 0) + 1
        keep.append(per_group <= 0 or seen[g] <= per_group)
    return np.array(keep, dtype=bool)


def _val_mask(data: str, val_split: str, fit_split: str, leak_free: bool, per_group: int, n: int) -> np.ndarray:
    keep = leak_free_mask(data, val_split, fit_split) if leak_free else np.ones(n, bool)
    if len(keep) != n:
        raise SystemExit("fit-gate: val rows and decoded val images differ (a multi-frame or unreadable file?)")
    return keep & per_group_mask(data, val_split, per_group)


def fit_gate(
    checkpoint: str,
    data: str,
    fit_split: str,
    val_split: str,
    test_data: str,
    test_split: str,
    out: str | Path,
    *,
    target: float = 0.97,
    confidence: float = 0.0,
    leak_free: bool = True,
    per_group: int = 0,
    reuse_features: bool = True,
    log=print,
) -> dict[str, Any]:
    """Features of the fit/val/test sets (cached in <out>/features.npz, reused when the checkpoint and the
    selections match), class Gaussians on the fit set, threshold and temperature on val (only its leak-free
    rows unless leak_free=False), figures on test."""
    from .evaluation import load_classifier

    out = Path(out)
    model, classes, spec, _ = load_classifier(checkpoint)
    key = json.dumps([str(checkpoint), str(data), fit_split, val_split, str(test_data), test_split])
    cache = out / "features.npz"
    if reuse_features and cache.is_file() and str(np.load(cache)["key"]) == key:
        log(f"fit-gate: reusing the features in {cache}")
        c = np.load(cache)
        f_fit, y_fit, fit_splits_arr = c["f_fit"], c["y_fit"], c["fit_splits"]
        f_val, z_val, y_val, f_test, z_test, y_test = (
            c[k] for k in ("f_val", "z_val", "y_val", "f_test", "z_test", "y_test")
        )
    else:
        log(f"fit-gate: decoding {data} [{fit_split}], [{val_split}] and {test_data} [{test_split}]")
        fit = _load(data, fit_split, spec)
        val = _load(data, val_split, spec)
        test = _load(test_data, test_split, spec)
        f_fit, _ = forward_features(model, fit.images)
        f_val, z_val = forward_features(model, val.images)
        f_test, z_test = forward_features(model, test.images)
        y_fit, y_val, y_test = (s.label_indices(classes).numpy() for s in (fit, val, test))
        fit_splits_arr = np.asarray(fit.splits, dtype=str)
        out.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            cache,
            key=key,
            f_fit=f_fit,
            y_fit=y_fit,
            fit_splits=fit_splits_arr,
            f_val=f_val,
            z_val=z_val,
            y_val=y_val,
            f_test=f_test,
            z_test=z_test,
            y_test=y_test,
        )
    keep = _val_mask(data, val_split, fit_split, leak_free, per_group, len(y_val))
    return _finish_gate(
        out,
        classes,
        f_fit,
        y_fit,
        fit_splits_arr,
        f_val,
        z_val,
        y_val,
        keep,
        f_test,
        z_test,
        y_test,
        target=target,
        confidence=confidence,
        data=data,
        fit_split=fit_split,
        val_split=val_split,
        test_split=test_split,
        checkpoint=checkpoint,
        per_group=per_group,
    )


def _finish_gate(
    out: Path,
    classes,
    f_fit,
    y_fit,
    fit_splits_arr,
    f_val,
    z_val,
    y_val,
    keep,
    f_test,
    z_test,
    y_test,
    *,
    target,
    confidence: float = 0.0,
    data,
    fit_split,
    val_split,
    test_split,
    checkpoint,
    fitted=None,
    per_group: int = 0,
) -> dict[str, Any]:
    """`fitted` = (Gaussians, s_fit, s_val_all, s_test) skips the fit and the scoring (rethreshold_gate)."""
    from .atomic import atomic_write_bytes

    if fitted is None:
        g = ood.fit_gaussians(f_fit, y_fit, len(classes))
        g32 = g.as_float32()  # the values the viewer reads from gaussians.bin
        s_fit, s_val_all, s_test = g32.scores(f_fit), g32.scores(f_val), g32.scores(f_test)
    else:
        g, s_fit, s_val_all, s_test = fitted
    s_val, zv, yv = s_val_all[keep], z_val[keep], y_val[keep]
    try:
        thr, k = ood.threshold_with_confidence(s_val, target, confidence)
    except ValueError as e:
        raise InputError(
            f"fit-gate: {e}; hold out more whole groups (wholehead --calibration-images) or give --confidence 0"
        ) from None
    t_fitted = fit_temperature(zv, yv)
    # On a small calibration set only softening is allowed: a fine-tuned network is overconfident (Guo et al.
    # 2017), and the 40 leak-free images of the protocol's val split are easy ones, so a fitted T < 1 sharpened
    # what was already too sharp (rounds 1 and 3 of issue 15: T 0.92 and 0.65 raised the dev test ECE). A held-out
    # split of whole groups (wholehead --calibration-images) is large and clean enough to be taken as fitted.
    min_t = 1.0 if len(yv) < MIN_CALIBRATION_IMAGES else 0.0
    t = max(t_fitted, min_t)
    ece_before, ece_after = ece(z_test, y_test, 1.0), ece(z_test, y_test, t)

    pred_test = z_test.argmax(1)
    in_test = s_test <= thr
    fit_splits = {str(sp): int(n) for sp, n in zip(*np.unique(fit_splits_arr, return_counts=True))}
    in_fit_by_split = {sp: ood.in_range_rate(s_fit[fit_splits_arr == sp], thr) for sp in fit_splits}
    per_class = ", ".join(f"{int((yv == i).sum())} {c}" for i, c in enumerate(classes))
    val_desc = (
        f"the labeled '{val_split}' split, {int(keep.sum())} of its {len(keep)} images ({per_class}): none with a "
        "near-twin (same manifest group) in the training rows"
        + (f", at most {per_group} of each group" if per_group > 0 else "")
        if not keep.all()
        else f"the labeled '{val_split}' split ({len(keep)} images)"
    )
    gate = {
        "calibration": {
            "method": "temperature",
            "temperature": t,
            "temperature_fitted": t_fitted,
            "min_temperature": min_t,
            "fitted_on": f"{val_desc}: NLL minimised over T (bounded 1-D search on log T)"
            + (f", then T >= 1 (fewer than {MIN_CALIBRATION_IMAGES} images)" if min_t else ""),
            "ece_before": ece_before,
            "ece_after": ece_after,
            "bins": ECE_BINS,
            "ece_measured_on": f"dev '{test_split}' split ({len(y_test)} images)",
            "nll_val_before": float(_nll(zv, yv, 1.0)),
            "nll_val_after": float(_nll(zv, yv, t)),
        },
        "features": {
            "method": ood.METHOD,
            "layer": ood.LAYER,
            "dim": g.dim,
            "file": ood.FILE,
            "layout": "little-endian float32: means [n_classes x dim] row-major, then precision [dim x dim] "
            "row-major (inverse of the Ledoit-Wolf-shrunk shared covariance)",
            "score": ood.SCORE_TEXT,
            "threshold": thr,
            "fitted_on": f"encoder features of the training data: {data} splits {fit_split} "
            f"({len(s_fit)} rows: {fit_splits}; whole-head slices count once per manifest row)",
            "shrinkage": g.shrinkage,
            "threshold_set_on": f"{val_desc}: the {k}-th smallest of {len(s_val)} scores"
            + (
                f", the first order statistic that keeps >= {target:g} of in-distribution images in range with "
                f"probability >= {confidence:g} (its coverage is Beta(k, n + 1 - k) distributed)"
                if confidence > 0
                else f" (ceil({target} x n): the plain quantile)"
            ),
            "in_range_rate_val": ood.in_range_rate(s_val, thr),
            "target_in_range": target,
            "target_confidence": confidence,
            "reference": "Lee et al. 2018, 'A Simple Unified Framework for Detecting Out-of-Distribution Samples "
            "and Adversarial Attacks' (tied covariance, no input perturbation, one layer)",
        },
        "summary": {
            "classes": classes,
            "test_in_range_rate": float(in_test.mean()),
            "test_accuracy": float((pred_test == y_test).mean()),
            "test_recall_all": _recalls(y_test, pred_test, np.ones_like(in_test), classes),
            "test_recall_in_range": _recalls(y_test, pred_test, in_test, classes),
            "fit_in_range_rate_by_split": in_fit_by_split,
            "score_quantiles_val": {q: float(np.quantile(s_val, q)) for q in (0.5, 0.9, 0.95, 0.97, 0.99, 1.0)},
            "score_quantiles_fit": {q: float(np.quantile(s_fit, q)) for q in (0.5, 0.9, 0.95, 0.97, 0.99, 1.0)},
            "score_quantiles_test": {q: float(np.quantile(s_test, q)) for q in (0.5, 0.9, 0.95, 0.97, 0.99, 1.0)},
            "checkpoint": str(checkpoint),
            "val_images_used": int(keep.sum()),
            "val_images_total": int(len(keep)),
            "val_in_range_rate_all_100": ood.in_range_rate(s_val_all, thr),
            "test_nll_before": float(_nll(z_test, y_test, 1.0)),
            "test_nll_after": float(_nll(z_test, y_test, t)),
            "test_ece_by_temperature": {
                f"{tt:g}": ece(z_test, y_test, tt) for tt in (0.8, 0.9, 1.0, 1.2, 1.4, 1.6, 2.0)
            },
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    g.write(out / "gaussians.bin")
    atomic_write_bytes(out / "gate.json", (json.dumps(gate, indent=2) + "\n").encode())
    for name, temp, e in (("before", 1.0, ece_before), ("after", t, ece_after)):
        p = softmax(z_test, temp)
        atomic_write_bytes(
            out / f"reliability-{name}.png", plot_reliability(p.max(1), (p.argmax(1) == y_test).astype(float), e)
        )
    np.savez_compressed(
        out / "scores.npz",
        val=s_val_all,
        val_used=keep,
        test=s_test,
        fit=s_fit,
        test_logits=z_test,
        test_y=y_test,
        val_logits=z_val,
        val_y=y_val,
    )
    return gate


def rethreshold_gate(
    out: str | Path,
    *,
    data: str,
    fit_split: str,
    val_split: str,
    target: float = 0.97,
    confidence: float = 0.0,
    leak_free: bool = True,
    per_group: int = 0,
) -> dict[str, Any]:
    """Redo the threshold and the temperature of a fitted gate folder from its saved scores and logits
    (scores.npz, gaussians.bin, gate.json), e.g. with the leak-free val selection; the Gaussians are unchanged."""
    out = Path(out)
    old = json.loads((out / "gate.json").read_text())
    classes = old["summary"]["classes"]
    z = np.load(out / "scores.npz")
    g = ood.Gaussians.read(out / "gaussians.bin", len(classes), int(old["features"]["dim"]))
    g.shrinkage = float(old["features"]["shrinkage"])
    keep = _val_mask(data, val_split, fit_split, leak_free, per_group, len(z["val_y"]))
    from .data import list_records, parse_splits

    fit_splits_arr = np.asarray([r.split or "" for r in list_records(data, parse_splits(fit_split))], dtype=str)
    if len(fit_splits_arr) != len(z["fit"]):
        raise SystemExit("rethreshold: the fit rows of the manifest and the saved scores differ")
    gate = _finish_gate(
        out,
        classes,
        None,
        None,
        fit_splits_arr,
        None,
        z["val_logits"],
        z["val_y"],
        keep,
        None,
        z["test_logits"],
        z["test_y"],
        target=target,
        confidence=confidence,
        data=data,
        fit_split=fit_split,
        val_split=val_split,
        test_split=old["calibration"]["ece_measured_on"].split("'")[1],
        checkpoint=old["summary"]["checkpoint"],
        per_group=per_group,
        fitted=(g, z["fit"], z["val"], z["test"]),
    )
    return gate


def _nll(z, y, t):
    from .calibration import nll

    return nll(z, y, t)


def load_gate(gate_dir: str | Path) -> tuple[dict[str, Any], bytes]:
    d = Path(gate_dir)
    gate = json.loads((d / "gate.json").read_text())
    data = (d / "gaussians.bin").read_bytes()
    f = gate["features"]
    ood.Gaussians.from_bytes(data, len(gate["summary"]["classes"]), int(f["dim"]))  # size check
    return gate, data


# ------------------------------------------------------------------------------------------ metadata gate


def metadata_reason(path: str | Path, rule: dict[str, Any] = METADATA_RULE) -> str | None:
    """Why a DICOM file is out of range by its attributes (None: in range): a Python approximation of the
    viewer's rule (extension/src/inference/inRange.ts) for the report, at file level (frame 0 of a
    multi-frame object). Files that are not DICOM have no metadata (None)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:
        return None
    if "SOPClassUID" not in ds and "Modality" not in ds:
        return None
    modality = str(ds.get("Modality", "")).upper()
    if modality and modality not in rule["modalities"]:
        return f"not MR ({modality})"
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    if photometric not in rule["photometric"] or int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return f"a colour image ({photometric})"

    def frame_item(name: str, seq: str, attr: str):
        for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
            try:
                return getattr(getattr(ds, groups)[0], seq)[0].get(attr)
            except (AttributeError, IndexError, KeyError, TypeError):
                continue
        return None

    types = [str(v).upper() for v in (ds.get("ImageType") or [])]
    types += [str(v).upper() for v in (frame_item("", "MRImageFrameTypeSequence", "FrameType") or [])]
    for bad in rule["reject_image_types"]:
        if bad in types:
            return f"image type {bad}"
    mosaic = ds.get((0x0019, 0x100A))
    try:
        if mosaic is not None and int(mosaic.value) > 1:
            return "image type MOSAIC (Siemens 0019,100A)"
    except (TypeError, ValueError):
        pass
    desc = str(ds.get("SeriesDescription", "")).lower()
    for word in rule.get("reject_series_descriptions", []):
        if word in desc:
            return f"series description '{desc}'"
    iop = ds.get("ImageOrientationPatient") or frame_item("", "PlaneOrientationSequence", "ImageOrientationPatient")
    if iop is None:
        return None  # plane unknown: only the feature gate applies
    r, c = np.asarray([float(v) for v in iop[:3]]), np.asarray([float(v) for v in iop[3:6]])
    n = np.cross(r, c)
    norm = np.linalg.norm(n)
    if norm < 1e-6:
        return None
    angle = math.degrees(math.acos(min(1.0, abs(n[2]) / norm)))
    if angle > rule["max_angle_from_axial_deg"]:
        return f"not axial ({angle:.0f} deg)"
    return _acquisition_reason(ds, rule, frame_item)


def _acquisition_reason(ds, rule: dict[str, Any], frame_item) -> str | None:
    """Echo-planar or coarse-grid acquisitions (the last two checks of the viewer's rule)."""
    value = ds.get("ScanningSequence") or []
    sequences = [str(v).upper() for v in ([value] if isinstance(value, str) else value)]
    if (
        any(q in sequences for q in rule.get("reject_scanning_sequences", []))
        or str(ds.get("EchoPlanarPulseSequence", "")).upper() == "YES"
    ):
        return "an echo-planar image (DWI, fMRI or perfusion)"
    spacing = frame_item("", "PixelMeasuresSequence", "PixelSpacing") or ds.get("PixelSpacing")
    try:
        largest = max(float(v) for v in spacing) if spacing else 0.0
    except (TypeError, ValueError):
        largest = 0.0
    if largest > rule.get("max_pixel_spacing_mm", float("inf")):
        return f"pixel spacing {largest:.2f} mm"
    return None


# ------------------------------------------------------------------------------------------- trust-report


def _series_files(folder: Path) -> list[Path]:
    skip = {"SOURCE.txt", "README.md", "manifest.csv"}
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.name not in skip and not p.name.startswith(("LICENSE", "."))
    )


def trust_report(
    model,
    classes: list[str],
    spec,
    gaussians: ood.Gaussians,
    threshold: float,
    temperature: float,
    series_csv: str | Path,
    dev: str | None,
    dev_split: str = "test",
    val_split: str | None = "val",
    sweep: tuple[float, ...] = (0.95, 0.97, 0.98, 0.99, 1.0),
) -> dict[str, Any]:
    """Per benchmark series and on the dev test split: what the feature gate declines and what is called."""
    from .imageio import UnreadableImage, read_slices

    series_csv = Path(series_csv)
    rows = list(csv.DictReader(open(series_csv, newline="")))
    notumor = classes.index(TUMOUR_EXCLUDE) if TUMOUR_EXCLUDE in classes else -1
    val_scores = None
    if dev and val_split:
        val = _load(dev, val_split, spec)
        fv, _ = forward_features(model, val.images)
        val_scores = gaussians.scores(fv)
        try:  # the sweep uses the val rows without a near-twin in the dev training rows, as fit-gate does
            keep = leak_free_mask(dev, val_split, "train,unlabeled")
            if len(keep) == len(val_scores) and keep.any():
                val_scores = val_scores[keep]
        except Exception:
            pass
    thresholds = {"chosen": threshold}
    if val_scores is not None:
        thresholds.update({f"val q{q:g}": ood.threshold_for(val_scores, q) for q in sweep})

    series_out = []
    for r in rows:
        folder = (series_csv.parent / r["folder"]).resolve()
        slices, meta, unreadable, slice_names = [], [], [], []
        for f in _series_files(folder):
            reason = metadata_reason(f)
            try:
                for k, s in enumerate(read_slices(f)):
                    slices.append(s.to_input(spec))
                    meta.append(reason)
                    slice_names.append(f.name if k == 0 else f"{f.name}#{k}")
            except (UnreadableImage, Exception) as e:  # counted, never fatal
                unreadable.append(f"{f.name}: {type(e).__name__}: {str(e)[:120]}")
        entry: dict[str, Any] = {
            "series": folder.name,
            "expected": r.get("expected", ""),
            "slices": len(slices),
            "unreadable_files": unreadable,
        }
        if slices:
            import torch

            x = torch.from_numpy(np.stack(slices).astype(np.float32))
            feats, logits = forward_features(model, x, batch_size=32)
            scores = gaussians.scores(feats)
            pred = logits.argmax(1)
            conf = softmax(logits, temperature).max(1)
            meta_ok = np.array([m is None for m in meta])
            entry["metadata_declined"] = int((~meta_ok).sum())
            entry["metadata_reasons"] = (
                {k: int(v) for k, v in zip(*np.unique([m for m in meta if m], return_counts=True))}
                if (~meta_ok).any()
                else {}
            )
            entry["score_median"] = float(np.median(scores))
            entry["gates"] = {}
            for name, thr in thresholds.items():
                in_feat = scores <= thr
                both = in_feat & meta_ok
                entry["gates"][name] = {
                    "threshold": thr,
                    "features_only": _calls(pred, in_feat, classes, notumor),
                    "metadata_and_features": _calls(pred, both, classes, notumor),
                }
            entry["no_gate"] = _calls(pred, np.ones(len(pred), bool), classes, notumor)
            entry["median_calibrated_confidence"] = float(np.median(conf))
            # per-slice rows of every tumour call (before any gate): which slice, how sure, and which gate stops it
            entry["tumour_slices"] = [
                {
                    "index": int(i),
                    "file": slice_names[i],
                    "class": classes[int(pred[i])],
                    "p_calibrated": round(float(conf[i]), 4),
                    "score": round(float(scores[i]), 2),
                    "metadata": meta[i],
                    "in_range_chosen": bool(meta_ok[i] and scores[i] <= threshold),
                }
                for i in range(len(pred))
                if int(pred[i]) != notumor
            ]
        series_out.append(entry)

    report: dict[str, Any] = {
        "report_format": 1,
        "classes": classes,
        "threshold": threshold,
        "temperature": temperature,
        "thresholds": thresholds,
        "series": series_out,
    }
    if dev:
        test = _load(dev, dev_split, spec)
        ft, zt = forward_features(model, test.images)
        yt = test.label_indices(classes).numpy()
        st = gaussians.scores(ft)
        pt = zt.argmax(1)
        report["dev"] = {"split": dev_split, "n": int(len(yt)), "accuracy": float((pt == yt).mean()), "gates": {}}
        for name, thr in thresholds.items():
            m = st <= thr
            report["dev"]["gates"][name] = {
                "threshold": thr,
                "in_range_rate": float(m.mean()),
                "recall_in_range": _recalls(yt, pt, m, classes),
                "ece_in_range_calibrated": ece(zt[m], yt[m], temperature),
            }
        report["dev"]["recall_all"] = _recalls(yt, pt, np.ones(len(yt), bool), classes)
        report["dev"]["ece_before"] = ece(zt, yt, 1.0)
        report["dev"]["ece_after"] = ece(zt, yt, temperature)
    report["totals"] = _totals(series_out, list(thresholds))
    return report


def _calls(pred: np.ndarray, in_range: np.ndarray, classes: list[str], notumor: int) -> dict[str, Any]:
    n = len(pred)
    called = {c: int(((pred == i) & in_range).sum()) for i, c in enumerate(classes)}
    tumour = sum(v for i, (c, v) in enumerate(called.items()) if i != notumor)
    return {
        "declined": int((~in_range).sum()),
        "called": called,
        "tumour": int(tumour),
        "tumour_rate": tumour / n if n else 0.0,
        "declined_rate": float((~in_range).mean()) if n else 0.0,
    }


def _totals(series: list[dict], gate_names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for exp in sorted({s["expected"] for s in series}):
        ss = [s for s in series if s["expected"] == exp and s["slices"]]
        n = sum(s["slices"] for s in ss)
        out[exp] = {"series": len(ss), "slices": n, "gates": {}}
        for g in gate_names:
            for mode in ("features_only", "metadata_and_features"):
                dec = sum(s["gates"][g][mode]["declined"] for s in ss)
                tum = sum(s["gates"][g][mode]["tumour"] for s in ss)
                out[exp]["gates"].setdefault(g, {})[mode] = {
                    "declined": dec,
                    "tumour": tum,
                    "declined_rate": dec / n if n else 0.0,
                    "tumour_rate": tum / n if n else 0.0,
                }
        out[exp]["no_gate_tumour_rate"] = sum(s["no_gate"]["tumour"] for s in ss) / n if n else 0.0
    return out


def format_report(rep: dict[str, Any], gate: str = "chosen") -> str:
    classes = rep["classes"]
    short = [c[:4] for c in classes]
    lines = [
        f"threshold ({gate}) {rep['thresholds'][gate]:.2f}, temperature {rep['temperature']:.3f}",
        "",
        f"{'series':<48} {'expected':<19} {'n':>4} {'meta':>4} {'feat':>4} "
        + " ".join(f"{s:>4}" for s in short)
        + "  tumour%  (features only: decl, tumour%)",
    ]
    for s in rep["series"]:
        if not s["slices"]:
            lines.append(
                f"{s['series']:<48} {s['expected']:<19} {0:>4}  unreadable: {len(s['unreadable_files'])} file(s)"
            )
            continue
        both = s["gates"][gate]["metadata_and_features"]
        fo = s["gates"][gate]["features_only"]
        feat_only_decl = both["declined"] - s["metadata_declined"]
        lines.append(
            f"{s['series']:<48} {s['expected']:<19} {s['slices']:>4} {s['metadata_declined']:>4} "
            f"{feat_only_decl:>4} "
            + " ".join(f"{both['called'][c]:>4}" for c in classes)
            + f"  {100 * both['tumour_rate']:6.1f}   ({fo['declined']}, {100 * fo['tumour_rate']:.1f}%)"
        )
    rows = [
        (s["series"], t)
        for s in rep["series"]
        if s.get("expected") == "notumor-or-abstain"
        for t in s.get("tumour_slices", [])
    ]
    if rows:
        lines += ["", "tumour calls on notumor-or-abstain series (before gates; in = kept by metadata+features gate):"]
        lines += [
            f"  {name:<40} #{t['index']:<3} {t['file'][:28]:<28} {t['class']:<10} p {t['p_calibrated']:.3f} "
            f"score {t['score']:8.1f} {'in' if t['in_range_chosen'] else 'declined'}"
            for name, t in rows
        ]
    lines.append("")
    for exp, t in rep["totals"].items():
        b, f = t["gates"][gate]["metadata_and_features"], t["gates"][gate]["features_only"]
        lines.append(
            f"{exp:<19} {t['series']} series, {t['slices']} slices: declined {100 * b['declined_rate']:.1f}%, "
            f"tumour {100 * b['tumour_rate']:.1f}% (features only: declined {100 * f['declined_rate']:.1f}%, "
            f"tumour {100 * f['tumour_rate']:.1f}%; no gate: tumour {100 * t['no_gate_tumour_rate']:.1f}%)"
        )
    if "dev" in rep:
        d = rep["dev"]
        g = d["gates"][gate]
        lines += [
            "",
            f"dev {d['split']} (n={d['n']}): accuracy {d['accuracy']:.4f}, in range {100 * g['in_range_rate']:.1f}%, "
            f"ECE {d['ece_before']:.4f} -> {d['ece_after']:.4f}",
            "  recall (all):      " + ", ".join(f"{c} {v['correct']}/{v['n']}" for c, v in d["recall_all"].items()),
            "  recall (in range): "
            + ", ".join(f"{c} {v['correct']}/{v['n']}" for c, v in g["recall_in_range"].items()),
        ]
    lines += ["", "threshold sweep (metadata+features; declined% abstain, tumour% notumor-or-abstain, dev in-range%):"]
    for name in rep["thresholds"]:
        tot = rep["totals"]
        ab = tot.get("abstain", {}).get("gates", {}).get(name, {}).get("metadata_and_features", {})
        ab_f = tot.get("abstain", {}).get("gates", {}).get(name, {}).get("features_only", {})
        no = tot.get("notumor-or-abstain", {}).get("gates", {}).get(name, {}).get("metadata_and_features", {})
        dv = rep.get("dev", {}).get("gates", {}).get(name, {})
        lines.append(
            f"  {name:<10} thr {rep['thresholds'][name]:9.2f}: abstain declined {100 * ab.get('declined_rate', 0):5.1f}% "
            f"(features only {100 * ab_f.get('declined_rate', 0):5.1f}%), notumor-or-abstain tumour "
            f"{100 * no.get('tumour_rate', 0):4.1f}%, dev in range {100 * dv.get('in_range_rate', float('nan')):5.1f}%"
        )
    return "\n".join(lines)
