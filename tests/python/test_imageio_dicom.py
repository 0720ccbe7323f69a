"""DICOM reading in the trainer agrees with the viewer's reader (extension/src/inference/dicomFile.ts) on the
synthetic edge cases of tests/fixtures/dicom-input (written with pydicom at test time)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ssclnet.imageio import read_slices

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dicom-input"


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    out = tmp_path_factory.mktemp("dicom-input")
    subprocess.run([sys.executable, str(FIXTURES / "make_fixtures.py"), str(out)], check=True, capture_output=True)
    return out


def expected(out: Path) -> dict:
    return json.loads((out / "expected.json").read_text())


def test_enhanced_mr_frames_get_their_own_rescale(made):
    ref = expected(made)["enhanced.dcm"]
    slices = read_slices(made / "enhanced.dcm")
    assert [s.slope for s in slices] == ref["slopes"]  # 1, -1, 0.5: a negative slope must not be dropped
    assert [s.intercept for s in slices] == ref["intercepts"]


def test_bits_above_bits_stored_are_masked(made):
    ref = expected(made)["masked.dcm"]
    (s,) = read_slices(made / "masked.dcm")
    assert s.pixels.max() < 2**12
    np.testing.assert_array_equal(s.pixels.astype(np.int64).ravel(), np.asarray(ref["pixels"]))
