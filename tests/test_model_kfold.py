"""Real K-fold refits (secdilemma.model.kfold) on the session fit (tests/conftest.py::small_fit):
the model is compiled once, a held-out dyad is masked (its likelihood terms are exactly 0 and
its state effects follow their prior), chains start at the full fit's draws, and compare()
refits the dyad it is asked to.

Cost: one compilation of the small panel's model (~10-30 s; compare() reuses it) and two
short refits."""

import warnings

import numpy as np
import pytest

from secdilemma.analysis.comparison import compare
from secdilemma.model.builder import LOGLIK_DETERMINISTIC, model_data
from secdilemma.model.kfold import DyadRefitter, RefitSettings, mask_dyads

SETTINGS = RefitSettings(draws=150, tune=150, chains=2, seed=3)

pytestmark = pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto:UserWarning")


@pytest.fixture(scope="module")
def refitter(small_fit, sim_panel):
    return DyadRefitter(small_fit, sim_panel, SETTINGS)


@pytest.fixture(scope="module")
def refit_of_first_dyad(refitter):
    return refitter.refit([0])


def test_masking_removes_a_dyad_from_the_data_only(sim_panel):
    data = model_data(sim_panel)
    masked = mask_dyads(data, [1, 3])
    assert not masked.observed[[1, 3]].any() and not masked.modelled[[1, 3]].any()
    keep = [0, 2, 4, 5, 6, 7]
    np.testing.assert_array_equal(masked.observed[keep], data.observed[keep])
    np.testing.assert_array_equal(masked.modelled[keep], data.modelled[keep])
    np.testing.assert_array_equal(masked.move, data.move)  # shapes and values kept
    # The centred cutpoints' constant follows the dyads that remain.
    assert masked.lag_reference == pytest.approx(
        model_data(sim_panel.isel(dyad=keep)).lag_reference
    )


def test_start_points_are_the_full_fits_draws(refitter, small_fit):
    # A draw mapped to the sampler's unconstrained space has the log-density nutpie
    # recorded for it while sampling the full fit: the mapping is exact.
    compiled = refitter.compiled
    points = [(0, 5), (1, 123)]
    x = compiled.unconstrained(small_fit["posterior"].to_dataset(), points)
    assert x.shape == (2, compiled.compiled.n_dim)
    for row, (chain, draw) in zip(x, points, strict=True):
        logp = compiled.compiled.logp_func(row)[0]
        recorded = float(small_fit["sample_stats"]["logp"].isel(chain=chain, draw=draw))
        assert logp == pytest.approx(recorded, abs=1e-8)


def test_a_held_out_dyad_has_no_likelihood_and_its_effects_follow_the_prior(refit_of_first_dyad):
    posterior, record = refit_of_first_dyad
    ll = posterior[LOGLIK_DETERMINISTIC]
    held = ll.isel(dyad=0)
    # Masked: both intents' sums are 0, so the term is logaddexp(log(1 - pi), log(pi)) = 0.
    np.testing.assert_allclose(held.values, 0.0, rtol=0, atol=1e-12)
    assert (ll.isel(dyad=slice(1, None)) < 0).all()  # every other state keeps its term
    # Nothing informs the held-out states' z but their Normal(0, 1) prior; 300 draws
    # (some autocorrelation): mean within 0.3, sd within 0.7-1.3 of the prior's.
    for name in ("z_alpha", "z_l0", "z_w", "z_s"):
        z = posterior[name].isel(dyad=0).values.ravel()
        assert abs(z.mean()) < 0.3, name
        assert 0.7 < z.std() < 1.3, name
    assert record["dyads"] == ["sim0000"] and record["draws"] == 150
    assert record["seed"] == SETTINGS.fold_seed([0])


def test_compare_refits_the_dyads_asked_for(small_fit, sim_panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compare({"free": small_fit}, sim_panel, refit=["sim0002"], settings=SETTINGS)
    rows = result.pointwise.set_index("unit")
    assert rows.loc[["sim0002:0", "sim0002:1"], "refitted"].all()
    assert rows["refitted"].sum() == 2
    held = rows.loc[["sim0002:0", "sim0002:1"]]
    # The fresh effects are drawn until their share of the error is below 0.05 nats or
    # no longer the larger share; what remains is the refit's own Monte Carlo error
    # over 2 x 150 autocorrelated draws, which 0.15 nats bounds with room.
    assert np.isfinite(held["elpd"]).all() and (held["mc_se"] < 0.15).all()
    assert (held["n_fresh"] >= 16).all()
    # Holding the dyad out costs predictive density: its states are predicted from the
    # population alone (allow Monte Carlo and PSIS error).
    assert (held["elpd"] < held["elpd_psis"] + 1.0).all()
    assert result.table.loc["free", "method"] == "PSIS-LOO + K-fold (1 dyads)"
    assert len(result.refits) == 1 and result.refits.loc[0, "dyads"] == ["sim0002"]
    assert result.refits.loc[0, "seconds"] > 0
