"""Shared fixtures: seeded random generators and the location of the raw data."""

import os
from pathlib import Path

import numpy as np
import pytest

RAW_DIR = Path(
    os.environ.get(
        "SECDILEMMA_RAW", Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    )
)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed for each test."""
    return np.random.default_rng(20261127)
