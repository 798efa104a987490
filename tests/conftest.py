"""Shared fixtures: seeded random generators, the raw data's location, the session fits.

``small_fit`` is a real fit of the ``free`` variant to a small simulated panel
(8 dyads x 40 years, 2 chains x 300 draws; ~30-60 s, mostly compilation),
made once per session and shared by the model tests and the analysis tests
that need a real posterior. ``small_mixture_fit`` is the same for the
``mixture`` variant on a panel simulated with known observer regimes
(:func:`regime_panel`). The model is imported only when a fit is first
requested, so sessions that do not use one do not import PyMC.
"""

import os
import signal
import warnings
from pathlib import Path

import numpy as np
import pytest

from secdilemma import simulate_dyads
from secdilemma.core.parameters import ActionParams, logit

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


REGIME_BLOCK = {
    # Six dyads per block: four with one sensible and one misplaced side (the
    # regimes show in how the two read the same history), one mutually
    # misplaced, one mutually sensible; one dyad has a malign side. Half the
    # states are misplaced. A mutually misplaced benign dyad looks much like a
    # mutually *malign* sensible one (both sides certain of malice, both
    # escalating; only delta separates them), so its regimes are the hard case.
    "regime": [[0, 1], [1, 0], [0, 1], [1, 0], [1, 1], [0, 0]],
    "intent": [[1, 0], [0, 0], [0, 0], [0, 1], [0, 0], [0, 0]],
}
"""Design of the regime-recovery panels (1 = misplaced certainty, 1 = malign)."""


def regime_panel(n_blocks: int, n_years: int, seed: int):
    """Panel simulated with known regimes: sensible (l0 0, w 1, s 1) or misplaced
    certainty (l0 logit 0.85, w 0.3, s 0), DESIGN §3's default action parameters."""
    regime = np.array(REGIME_BLOCK["regime"] * n_blocks)
    intent = np.array(REGIME_BLOCK["intent"] * n_blocks)
    misplaced = regime == 1
    beliefs = {
        "l0": np.where(misplaced, logit(0.85), 0.0),
        "w": np.where(misplaced, 0.3, 1.0),
        "s": np.where(misplaced, 0.0, 1.0),
    }
    panel = simulate_dyads(len(regime), n_years, beliefs=beliefs, intent=intent, seed=seed)
    return panel.assign(regime=(("dyad", "side"), regime))


@pytest.fixture(scope="session")
def small_regime_panel():
    return regime_panel(1, 40, seed=1)


@pytest.fixture(scope="session")
def small_mixture_fit(small_regime_panel):
    from secdilemma.model.sampling import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its diagnostics are on record in its attrs
        return fit(small_regime_panel, "mixture", draws=300, tune=300, chains=2, seed=1,
                   progress_bar=False)  # fmt: skip


GROUP_REGIONS = ["Europe", "Asia", "Europe", "Asia", "Americas", "Europe"]
"""Regions of the six dyads of :func:`grouped_panel` (three groups, one of a single dyad)."""


@pytest.fixture(scope="session")
def grouped_panel():
    """Six simulated dyads under misplaced certainty with a ``region`` coord to group by."""
    panel = simulate_dyads(len(GROUP_REGIONS), 25, beliefs="misplaced_certainty", seed=3)
    return panel.assign_coords(region=("dyad", GROUP_REGIONS))


@pytest.fixture(scope="session")
def small_grouped_fit(grouped_panel):
    """``mixture`` with ``rho``, ``pi`` by region and no stored beliefs (issue 12); tiny
    settings (2 x (50 + 50), ~40 s): a real fit's structure, not a converged posterior."""
    from secdilemma.model.sampling import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its diagnostics are on record in its attrs
        return fit(grouped_panel, "mixture", draws=50, tune=50, chains=2, seed=1,
                   group_by="region", beliefs=False, progress_bar=False)  # fmt: skip


@pytest.fixture
def python_sigint():
    """Python's own SIGINT handling, as in a fresh ``secdilemma`` process.

    The tests that send SIGINT check what the package does when Python turns it into
    ``KeyboardInterrupt``. In the full suite they failed intermittently (3 of them, in 2
    of 4 runs; never alone or in shorter runs): no ``KeyboardInterrupt`` was raised while
    ``signal.getsignal(SIGINT)`` still read ``default_int_handler``, so something earlier
    in the process (not identified) had left SIGINT handled elsewhere at the C level or
    blocked in this thread. Setting the handler again installs Python's at the C level
    too, and the signal is unblocked in this thread; both are restored afterwards.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    yield
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    signal.signal(signal.SIGINT, previous)
