"""Shared test fixtures: the official reference outputs beside the clone."""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "fomm_reference"
CONFIGS = REPO / "configs"


def nhwc(array):
    """NCHW fixture arrays to the port's NHWC layout."""
    return np.transpose(array, (0, 2, 3, 1))


@pytest.fixture(scope="session")
def fixtures_dir():
    if not FIXTURES.is_dir():
        pytest.fail(f"reference fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def reference_io(fixtures_dir):
    return dict(np.load(fixtures_dir / "vox_small_io.npz"))
