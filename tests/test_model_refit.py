"""CompiledModel: compile once, refit to another panel of the same shape by swapping data.

The refit must be the fit: for the same panel, settings and seed the same
draws, bit for bit, as :func:`secdilemma.fit` (the session's ``small_fit``),
although the model was compiled with another panel: so the data containers
carry every datum the log-density reads.
"""

import json
import warnings

import numpy as np
import pytest

from secdilemma import simulate_dyads
from tests.conftest import N_DYADS, N_YEARS, SETTINGS


def test_refit_gives_the_fit_of_the_new_panel_bit_for_bit(sim_panel, small_fit):
    from secdilemma.model.sampling import CompiledModel

    other = simulate_dyads(N_DYADS, N_YEARS, beliefs="misplaced_certainty", seed=99)
    assert not np.array_equal(other["move"].values, sim_panel["move"].values)
    compiled = CompiledModel(other, "free")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refit = compiled.fit(sim_panel, **SETTINGS, progress_bar=False)
    for name in ("beta", "cutpoints", "mu_w", "w", "p_malign", "belief"):
        np.testing.assert_array_equal(refit["posterior"][name].values,
                                      small_fit["posterior"][name].values)  # fmt: skip
    assert list(refit["posterior"]["dyad"].values) == list(sim_panel["dyad"].values)
    np.testing.assert_array_equal(
        refit["observed_data"]["move"].values, small_fit["observed_data"]["move"].values
    )
    assert refit.attrs["panel_sha256"] == small_fit.attrs["panel_sha256"]
    assert refit.attrs["diagnostics"] == small_fit.attrs["diagnostics"]
    sampler = json.loads(refit.attrs["sampler"])
    assert sampler["refit"] == 0 and sampler["compile_seconds"] > 0
    assert compiled.n_fits == 1


def test_refit_refuses_a_panel_of_another_shape():
    from secdilemma.model.sampling import CompiledModel

    compiled = CompiledModel.__new__(CompiledModel)  # no compilation needed to check the shape
    compiled._shape = (2, 2, 10)
    other = simulate_dyads(3, 10, seed=3)
    with pytest.raises(ValueError, match=r"shape .* differs from the compiled model's"):
        compiled.fit(other, draws=10, tune=10, chains=1)
