"""Shared test fixtures: the official reference outputs beside the clone."""

import numpy as np
import pytest

from tests.harness import FIXTURES, load_fixture_models


@pytest.fixture(scope="session")
def fixtures_dir():
    if not FIXTURES.is_dir():
        pytest.fail(f"reference fixtures not found at {FIXTURES}")
    return FIXTURES


@pytest.fixture(scope="session")
def reference_io(fixtures_dir):
    return dict(np.load(fixtures_dir / "vox_small_io.npz"))


@pytest.fixture(scope="session")
def train_io(fixtures_dir):
    """One official training iteration's tensors (TRAIN_README.md)."""
    return dict(np.load(fixtures_dir / "vox_small_train_io.npz"))


@pytest.fixture(scope="session")
def fixture_models(fixtures_dir):
    """The fixture checkpoint's networks (its config's grid convention), as
    loaded, shared by the tests that only run inference on them
    (``fixtures_dir`` first: a clear failure without the fixtures)."""
    return load_fixture_models()
