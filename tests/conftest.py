"""Shared fixtures: seeded random generators, the raw data's location, the session fit.

``small_fit`` is a real fit of the ``free`` variant to a small simulated panel
(8 dyads x 40 years, 2 chains x 300 draws; ~30-60 s, mostly compilation),
made once per session and shared by the model tests and the analysis tests
that need a real posterior. The model is imported only when it is first
requested, so sessions that do not use it do not import PyMC.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from secdilemma import simulate_dyads
from secdilemma.core.parameters import ActionParams

RAW_DIR = Path(
    os.environ.get(
        "SECDILEMMA_RAW", Path(__file__).resolve().parents[2] / "shared" / "data" / "raw"
    )
)

N_DYADS, N_YEARS = 8, 40
SETTINGS = {"draws": 300, "tune": 300, "chains": 2, "seed": 17}
TRUE = ActionParams()  # beta 2, gamma 0.6, delta 1, c (-1.5, 1, 3)
# Intents: every combination twice, so that half of the 16 states are malign.
INTENT = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 2)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator with a fixed seed for each test."""
    return np.random.default_rng(20261127)


@pytest.fixture(scope="session")
def sim_panel():
    # Sensible observers: the regime in which MEASUREMENTS.md found every
    # parameter identified.
    return simulate_dyads(N_DYADS, N_YEARS, beliefs="sensible", intent=INTENT, action=TRUE, seed=4)


@pytest.fixture(scope="session")
def small_fit(sim_panel):
    from secdilemma.model.diagnostics import FitDiagnosticsWarning
    from secdilemma.model.sampling import fit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit(sim_panel, "free", **SETTINGS, progress_bar=False)
    result.attrs["_test_warned"] = int(
        any(issubclass(w.category, FitDiagnosticsWarning) for w in caught)
    )
    return result
