"""The headline variant fitted to the whole bundled rivalry population (issue 12, item 3).

Slow (about 7.5 minutes on 2 cores): ``mixture`` on the 110 Thompson-Dreyer rivalries x 69
years at the package's defaults, 4 x (1000 + 1000), belief paths not stored. Measured at
seed 1 (``benchmarks/population.json``, twice, identical diagnostics): 0 divergences,
R-hat <= 1.003, min bulk ESS 667 over the shared parameters. What is asserted is what a
researcher relies on: the diagnostics gate passes, the regime share is learned from the
data (contraction), and the per-state quantities are probabilities of every state.
"""

import json
import warnings

import numpy as np
import pytest

from secdilemma.data.load import load_dyads
from secdilemma.model.io import fit_diagnostics
from secdilemma.model.sampling import fit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def population_fit():
    panel = load_dyads(panel="rivalries")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failure is asserted below, with its message
        result = fit(panel, "mixture", seed=1, progress_bar=False, beliefs=False)
    return panel, result


def test_the_population_fit_passes_every_diagnostic(population_fit):
    _, result = population_fit
    diagnostics = fit_diagnostics(result)
    assert diagnostics.ok, diagnostics.summary()
    assert int(result["sample_stats"]["diverging"].sum()) == 0


def test_the_population_informs_the_regime_share_and_every_state(population_fit):
    panel, result = population_fit
    rows = json.loads(result.attrs["contraction"])
    rho = [r for r in rows if r["quantity"] == "rho"]
    # rho ~ Beta(2, 2) a priori (variance 0.05); 220 observing states must shrink it by
    # far more than the 0.1 below which a quantity counts as barely informed.
    assert rho and rho[0]["contraction"] > 0.5, rho
    p = result["posterior"]["p_misplaced"]
    assert p.sizes["dyad"] == panel.sizes["dyad"] == 110 and p.sizes["side"] == 2
    values = p.values
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
