"""The analysis on the session's real fit (tests/conftest.py::small_fit): the NumPy engine
reads the posterior as the compiled model did, and the checks survive saving."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from secdilemma.analysis.counterfactual import counterfactual
from secdilemma.analysis.draws import read_fit
from secdilemma.analysis.likelihood import likelihood, log_likelihood
from secdilemma.analysis.predictive import posterior_predictive, ppc_table
from secdilemma.model.io import load_fit, save_fit


def test_the_engine_reads_the_fit_as_the_compiled_model(small_fit, sim_panel):
    # Beliefs, P(malign), misplaced certainty and the per-state log-likelihood of
    # every draw, recomputed with core (NumPy) from the posterior's parameters,
    # against what the compiled PyTensor model recorded while sampling.
    draws = read_fit(small_fit, panel=sim_panel)
    lik = likelihood(draws)
    post = small_fit["posterior"]
    belief = draws.unstack(lik.fitted_belief)
    np.testing.assert_allclose(belief, post["belief"].values, rtol=0, atol=1e-10)
    p_malign = draws.unstack(lik.fitted_p_malign)
    np.testing.assert_allclose(p_malign, post["p_malign"].values, rtol=0, atol=1e-9)
    last = draws.data.last_period
    final = belief[:, :, np.arange(len(last)), :, last]  # (dyad, chain, draw, side)
    mc = np.moveaxis(final, 0, 2) - p_malign[..., ::-1]
    np.testing.assert_allclose(mc, post["misplaced_certainty"].values, rtol=0, atol=1e-9)
    recomputed = log_likelihood(small_fit, "state")
    np.testing.assert_allclose(
        recomputed.values, small_fit["log_likelihood"]["move"].values, rtol=1e-10, atol=1e-9
    )


@pytest.fixture(scope="module")
def checked(small_fit, sim_panel):
    return posterior_predictive(small_fit, max_draws=100, seed=1, panel=sim_panel)


def test_predictive_checks_of_the_real_fit(checked, small_fit, sim_panel):
    group = checked["posterior_predictive"]
    modelled = small_fit["observed_data"]["move"].values >= 0
    for name in ("move_conditional", "move_generative"):
        values = group[name].values
        assert values.shape == (2, 100, 8, 2, 40)
        np.testing.assert_array_equal(~np.isnan(values), np.broadcast_to(modelled, values.shape))
    table = ppc_table(checked, panel=sim_panel)
    assert len(table) == 2 * (16 + 8) * 5
    assert table["p_value"].dropna().between(0, 1).all()
    # The fit describes its own panel: no dyad-level escalation rate is extreme.
    rates = table.query("level == 'dyad' and statistic == 'escalation_rate'")["p_value"]
    assert rates.between(0.005, 0.995).all(), rates.tolist()


def test_a_fit_with_its_checks_round_trips(checked, sim_panel, tmp_path):
    path = save_fit(checked, tmp_path / "small_checked.nc")
    loaded = load_fit(path, sim_panel)
    xr.testing.assert_identical(
        loaded["posterior_predictive"].to_dataset(), checked["posterior_predictive"].to_dataset()
    )
    pd.testing.assert_frame_equal(ppc_table(loaded), ppc_table(checked))


def test_counterfactual_with_own_parameters_is_the_fitted_path(small_fit):
    post = small_fit["posterior"]
    own = {k: post[k].sel(dyad="sim0003", side=0) for k in ("l0", "w", "s")}
    cf = counterfactual(small_fit, "sim0003", side=0, beliefs=own, max_draws=50, seed=2)
    reread = cf["beliefs_only"]
    np.testing.assert_array_equal(
        reread["belief_counterfactual"].values, reread["belief_fitted"].values
    )
    fitted = post["belief"].sel(dyad="sim0003", draw=reread["draw"].values)
    np.testing.assert_allclose(reread["belief_fitted"].values, fitted.values, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(cf["generative"]["escalation_change"].values, 0.0)


def test_a_compact_fit_keeps_what_cannot_be_recomputed(small_fit, sim_panel, tmp_path):
    # Issue #9 item 8: the belief paths are dropped and recomputed by the engine,
    # per-state summaries stored as float32, everything compressed; the
    # checksum still holds and the loaded fit reads as the full one.
    import warnings

    import arviz_stats as azs

    from secdilemma.analysis import beliefs
    from secdilemma.model.io import FitFileError

    full = save_fit(small_fit, tmp_path / "full.nc")
    compact = save_fit(small_fit, tmp_path / "compact.nc", compact=True)
    assert "belief" in small_fit["posterior"]  # the caller's fit is untouched
    assert compact.stat().st_size < 0.35 * full.stat().st_size
    loaded = load_fit(compact, sim_panel)
    post, original = loaded["posterior"], small_fit["posterior"]
    assert "belief" not in post and "compact" in loaded.attrs
    for name in ("alpha", "l0", "w", "s", "beta", "cutpoints"):  # what the engine reads
        assert post[name].dtype == np.float64
        np.testing.assert_array_equal(post[name].values, original[name].values)
    for name in ("p_malign", "misplaced_certainty", "z_w"):
        assert post[name].dtype == np.float32
        np.testing.assert_allclose(post[name].values, original[name].values, rtol=1e-6, atol=1e-7)
    recomputed = beliefs(loaded)
    np.testing.assert_allclose(recomputed.values, original["belief"].values, rtol=0, atol=1e-10)
    assert recomputed.dims == original["belief"].dims
    some = beliefs(loaded, ["sim0002"], max_draws=20, seed=3)
    stored = beliefs(small_fit, ["sim0002"], max_draws=20, seed=3)
    np.testing.assert_allclose(some.values, stored.values, rtol=0, atol=1e-10)
    xr.testing.assert_identical(
        loaded["log_likelihood"].to_dataset(), small_fit["log_likelihood"].to_dataset()
    )
    # PSIS-LOO of the compact fit is the full fit's (for a given relative efficiency:
    # arviz-stats' default averages the ESS of every posterior variable, belief paths
    # included, so the report computes it from the log-likelihood itself).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Pareto k of a small simulated fit
        assert azs.loo(loaded, reff=0.8).elpd == azs.loo(small_fit, reff=0.8).elpd
    # The record of what was dropped is covered by the checksum.
    import h5py

    with h5py.File(compact, "r+") as handle:
        handle.attrs["compact"] = '{"dropped": []}'
    with pytest.raises(FitFileError, match="checksum"):
        load_fit(compact)
