"""Reading slices from image files: JPEG/PNG through Pillow, DICOM through pydicom.

Every reader returns `Slice` objects carrying the stored pixels and what `preprocess` needs to turn them into
the model's input (modality LUT, photometric interpretation). A file that can't be read raises
`UnreadableImage` with a message that says why; datasets catch it, count it and go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .preprocess import PreprocessSpec, preprocess

DICOM_SUFFIXES = {".dcm", ".dicom", ""}
RASTER_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


class UnreadableImage(ValueError):
    """A file that is not an image we can classify (corrupt, no pixel data, unsupported layout)."""


@dataclass(frozen=True)
class Slice:
    pixels: np.ndarray  # (H, W) grayscale or (H, W, 3) colour, stored values
    slope: float = 1.0
    intercept: float = 0.0
    monochrome1: bool = False
    frame: int = 0

    def to_input(self, spec: PreprocessSpec) -> np.ndarray:
        return preprocess(self.pixels, spec, slope=self.slope, intercept=self.intercept, monochrome1=self.monochrome1)


def is_dicom(path: Path) -> bool:
    if path.suffix.lower() in (".dcm", ".dicom"):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(132)
        return len(head) == 132 and head[128:132] == b"DICM"
    except OSError:
        return False


def read_raster(path: Path) -> list[Slice]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im, dtype=np.float64)
            elif im.mode in ("L", "P", "1", "LA"):
                arr = np.asarray(im.convert("L"))
            else:
                arr = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise UnreadableImage(f"{path}: not a readable image ({e})") from e
    return [Slice(arr)]


def read_dicom(path: Path) -> list[Slice]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(path, force=True)
    except (InvalidDicomError, OSError, EOFError, ValueError) as e:
        raise UnreadableImage(f"{path}: not a readable DICOM file ({e})") from e
    if "PixelData" not in ds and "FloatPixelData" not in ds:
        raise UnreadableImage(f"{path}: DICOM object without pixel data (SOP class {ds.get('SOPClassUID', '?')})")
    try:
        arr = ds.pixel_array
    except Exception as e:  # pydicom raises many types for broken or unsupported pixel data
        raise UnreadableImage(f"{path}: pixel data can't be decoded ({e})") from e
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    samples = int(ds.get("SamplesPerPixel", 1))
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if samples == 3 and photometric.startswith("YBR"):
        from pydicom.pixels import convert_color_space

        arr = convert_color_space(arr, photometric, "RGB")
    # One frame of a single-frame image is (H, W[, 3]); a multi-frame one adds a leading frame axis.
    if frames == 1:
        arr = arr[None]
    mono1 = photometric == "MONOCHROME1"
    return [Slice(np.asarray(arr[i]), *frame_rescale(ds, i), mono1, i) for i in range(arr.shape[0])]


def _rescale_of(item) -> tuple[float, float] | None:
    """Slope and intercept of a functional-groups item's Pixel Value Transformation, if it has one."""
    seq = item.get("PixelValueTransformationSequence") if item is not None else None
    if not seq:
        return None
    pvt = seq[0]
    if "RescaleSlope" not in pvt and "RescaleIntercept" not in pvt:
        return None
    return float(pvt.get("RescaleSlope", 1) or 1), float(pvt.get("RescaleIntercept", 0) or 0)


def frame_rescale(ds, frame: int) -> tuple[float, float]:
    """The modality LUT of one frame: per-frame functional group, then shared, then the top-level attributes.

    Enhanced MR keeps Rescale Slope/Intercept only in the functional groups, and a frame may differ from the
    others (a negative slope inverts it), so the top-level pair alone would classify such a frame wrongly.
    """
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and frame < len(per_frame):
        found = _rescale_of(per_frame[frame])
        if found:
            return found
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        found = _rescale_of(shared[0])
        if found:
            return found
    return float(ds.get("RescaleSlope", 1) or 1), float(ds.get("RescaleIntercept", 0) or 0)


def read_slices(path: str | Path) -> list[Slice]:
    """All slices of one file (one for a JPEG/PNG or a single-frame DICOM, one per frame for multi-frame)."""
    p = Path(path)
    if not p.is_file():
        raise UnreadableImage(f"{p}: no such file")
    if p.suffix.lower() in RASTER_SUFFIXES:
        return read_raster(p)
    if is_dicom(p):
        return read_dicom(p)
    raise UnreadableImage(f"{p}: unsupported file type (expected JPEG, PNG or DICOM)")
