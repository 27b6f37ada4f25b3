"""Shared test fixtures."""

import os
from pathlib import Path

import pytest

import genre  # noqa: F401 - before any numpy: tests hold the kernels the stages hold (genre.kernels)

ROOT = Path(__file__).resolve().parents[1]
GTZAN_SAMPLE = ROOT.parent / "shared" / "gtzan-sample"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def gtzan_sample() -> Path:
    """The 10 real GTZAN clips beside the checkout (one per genre); skip where absent."""
    if not GTZAN_SAMPLE.is_dir():
        pytest.skip(f"real GTZAN sample not found at {GTZAN_SAMPLE}")
    return GTZAN_SAMPLE
