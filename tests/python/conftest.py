"""Shared by the trainer tests: the committed fixture images, and one intra-op thread for the tiny runs."""

from pathlib import Path

import pytest
import torch

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "brain-mri-mini"
MANIFEST = FIXTURE / "manifest.csv"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread: on a busy 2-core machine, OpenMP threads spin-waiting for each other made these
    tiny-batch runs 5-10x slower than a single thread (measured); results don't depend on it."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
