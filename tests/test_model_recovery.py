"""Full-size statistical checks of the fitted models (``slow``: minutes each).

Run with ``pytest -m slow tests/test_model_recovery.py``.
"""

import warnings

import numpy as np
import pytest

from secdilemma import simulate_dyads
from secdilemma.core.parameters import ActionParams
from secdilemma.model.diagnostics import FitDiagnosticsWarning
from secdilemma.model.io import fit_diagnostics
from secdilemma.model.sampling import fit
from tests.recovery import check_recovery

pytestmark = pytest.mark.slow

N_DYADS, N_YEARS = 12, 60
FULL = {"draws": 1000, "tune": 1000, "chains": 4}
TRUE = ActionParams()  # beta 2, gamma 0.6, delta 1, c (-1.5, 1, 3)
# Every combination of intents three times: 12 of 24 states malign.
INTENT = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3)


def _fit(panel, seed):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitDiagnosticsWarning)
        result = fit(panel, "free", **FULL, seed=seed, progress_bar=False)
    return result, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def sensible_fit():
    panel = simulate_dyads(
        N_DYADS, N_YEARS, beliefs="sensible", intent=INTENT, action=TRUE, seed=101
    )
    return panel, *_fit(panel, seed=1)


@pytest.fixture(scope="module")
def misplaced_fit():
    panel = simulate_dyads(
        N_DYADS, N_YEARS, beliefs="misplaced_certainty", intent=INTENT, action=TRUE, seed=102
    )
    return panel, *_fit(panel, seed=2)


def test_recovery_of_action_parameters_and_intents(sensible_fit):
    panel, result, warned = sensible_fit
    # 24 states x 59 modelled years: MEASUREMENTS.md recovered beta to +-0.25 and
    # delta to +-0.28 at this size, so 90 % intervals are ~0.8-0.9 wide; the
    # truth must lie inside each (a 10 % miss chance per parameter at a random
    # seed; the seed is fixed).
    # Each intent is informed by 59 moves with delta = 1, but alpha[i] and
    # delta * tau[i] both shift a state's whole series, which shrinks P(malign)
    # towards the estimated share of malign states (the small default test shows
    # it). We ask for two thirds of the 24 states (16; calling all benign scores
    # 12) on the right side of 0.5, and a ranking that separates the types:
    # P(malign state ranks above a benign one) = AUC >= 0.85 (chance: 0.5).
    check_recovery(result["posterior"], panel, TRUE, tail=0.05, min_right=16, min_auc=0.85)
    diagnostics = fit_diagnostics(result)
    assert diagnostics.n_divergent == 0, warned


def test_free_variant_tells_misplaced_certainty_from_sensibility(sensible_fit, misplaced_fit):
    # Data from misplaced-certainty observers (s = 0, w = 0.3, l0 = logit 0.85)
    # against sensible ones (s = 1, w = 1): the free variant's population means
    # of sensibility and discount must be clearly lower for the former. Clearly:
    # the posterior probability that mu (misplaced) < mu (sensible), from
    # independent draws of the two posteriors, is at least 0.9. (MEASUREMENTS.md:
    # mu_s 2.9 +- 0.8 vs -0.2 +- 1.4; mu_w 2.2 +- 0.9 vs -0.1 +- 1.5.)
    rng = np.random.default_rng(0)
    for name in ("mu_s", "mu_w"):
        sensible = sensible_fit[1]["posterior"][name].values.ravel()
        misplaced = misplaced_fit[1]["posterior"][name].values.ravel()
        prob = np.mean(rng.permutation(misplaced) < rng.permutation(sensible))
        assert prob >= 0.9, (name, misplaced.mean(), sensible.mean(), prob)


def test_pymc_sampler_fallback_gives_the_same_kind_of_fit():
    # PyMC's own NUTS (the fallback when nutpie is unavailable): a tiny fit with
    # the same groups, dims and provenance as a nutpie fit.
    panel = simulate_dyads(3, 15, beliefs="sensible", intent=INTENT[:3], action=TRUE, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitDiagnosticsWarning)
        result = fit(
            panel, "sensible", draws=100, tune=100, chains=2, seed=3, sampler="pymc",
            progress_bar=False,
        )  # fmt: skip
    assert set(result.children) == {
        "posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data",
    }  # fmt: skip
    assert result["log_likelihood"]["move"].dims == ("chain", "draw", "dyad", "side")
    assert '"name": "pymc"' in result.attrs["sampler"]
    assert "diverging" in result["sample_stats"] and "energy" in result["sample_stats"]
