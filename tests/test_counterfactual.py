"""Counterfactual histories on fake posteriors: identity swaps, the spiral undone, bad input."""

import numpy as np
import pytest
import xarray as xr

import secdilemma as sd
from secdilemma import simulate_dyads
from secdilemma.analysis.counterfactual import counterfactual, escalation_by_year
from tests.fakes import fake_fit, true_values
from tests.test_predictive import regime_fit


@pytest.fixture(scope="module")
def spiral():
    """Benign dyads whose observers have misplaced certainty, one starting in 1950."""
    panel = simulate_dyads(4, 30, beliefs="misplaced_certainty", seed=3)
    panel = panel.assign_coords(year=np.arange(1945, 1975))
    move = panel["move"].values
    move[2, :, :5] = np.nan  # dyad sim0002's first observed year is 1950
    move[1, 1, 12] = np.nan
    panel["move"].values = move
    values = true_values(panel) | {"pi": 0.05}
    return panel, fake_fit(panel, values, n_chains=2, n_draws=100)


def test_own_parameters_give_back_the_fitted_belief_paths_exactly(spiral):
    panel, fit = spiral
    post = fit["posterior"]
    own = {k: post[k].sel(dyad="sim0002", side=1) for k in ("l0", "w", "s")}
    for beliefs in ("fitted", own):
        cf = counterfactual(fit, "sim0002", side=1, beliefs=beliefs, from_year=1960)
        reread = cf["beliefs_only"]
        np.testing.assert_array_equal(
            reread["belief_counterfactual"].values, reread["belief_fitted"].values
        )
        # The generative reading of an identity swap changes no move of any draw.
        change = cf["generative"]["escalation_change"].values
        np.testing.assert_array_equal(change, 0.0)
        np.testing.assert_array_equal(
            cf["generative"]["move_counterfactual"].values, cf["generative"]["move_baseline"].values
        )
    # The fitted paths are the beliefs the model reads off the observed moves:
    # here the recursion with the true parameters (dyad 2 left-aligned on 1950).
    years = reread["year"].values
    assert years[0] == 1950 and years[-1] == 1974
    truth = sd.belief_recursion(
        fit["constant_data"]["move_aligned"].values[2:3],
        panel["l0"].values[2:3], panel["w"].values[2:3], panel["s"].values[2:3],
        panel.attrs["beta"], panel.attrs["gamma"], panel.attrs["delta"], panel.attrs["cutpoints"],
    )  # fmt: skip
    np.testing.assert_array_equal(
        reread["belief_fitted"].values[0, 0], truth.belief[0][:, : len(years)]
    )


def test_a_sensible_reading_undoes_the_spiral(spiral):
    _, fit = spiral
    cf = counterfactual(fit, "sim0001", side=0, beliefs="sensible", seed=2)
    reread = cf["beliefs_only"]
    # Rereading the same (escalating) moves sensibly: side 0 starts at 0.5, not 0.85,
    # and ends less certain of side 1's malice than the misplaced reading.
    assert float(reread["belief_counterfactual"].isel(side=0, year=0).mean()) == pytest.approx(0.5)
    fitted_end = reread["belief_fitted"].isel(side=0, year=-1).mean()
    assert float(reread["belief_counterfactual"].isel(side=0, year=-1).mean()) < float(fitted_end)
    # Rerun generatively, the escalation rate falls, its 90 % interval below 0.
    assert cf.attrs["escalation_change_q95"] < 0 < -cf.attrs["escalation_change_mean"]
    change = cf["generative"]["escalation_change"]
    assert change.dims == ("chain", "draw")
    np.testing.assert_allclose(
        change,
        cf["generative"]["escalation_rate_counterfactual"]
        - cf["generative"]["escalation_rate_baseline"],
    )
    assert cf.attrs["escalation_change_q05"] <= cf.attrs["escalation_change_mean"]
    per_year = escalation_by_year(cf, "counterfactual")
    assert per_year.dims == ("chain", "draw", "year")


def test_years_before_from_year_are_the_observed_ones(spiral):
    _, fit = spiral
    cf = counterfactual(fit, "sim0000", side=0, beliefs="sensible", from_year=1960)
    gen = cf["generative"]
    observed = cf["beliefs_only"]["move_observed"]
    before = gen["year"] < 1960
    for run in ("move_baseline", "move_counterfactual"):
        got = gen[run].where(before, drop=True)
        np.testing.assert_array_equal(
            got.values, np.broadcast_to(observed.sel(year=got["year"]).values, got.shape)
        )
    # The swapped side's beliefs over the given years are the beliefs-only reading.
    np.testing.assert_allclose(
        gen["belief_counterfactual"].where(before, drop=True).values,
        cf["beliefs_only"]["belief_counterfactual"].where(before, drop=True).values,
        rtol=0,
        atol=0,
    )
    assert cf.attrs["from_year"] == 1960 and cf["generative"].attrs["from_year"] == 1960
    last = counterfactual(fit, "sim0000", side=1, beliefs="sensible", from_year=1974)
    assert np.isfinite(last.attrs["escalation_change_mean"])


def test_regime_fits_swap_one_side_in_every_configuration():
    fit = regime_fit(n_draws=50)
    same = counterfactual(fit, "sim0000", side=0, beliefs="fitted")
    np.testing.assert_array_equal(
        same["beliefs_only"]["belief_counterfactual"].values,
        same["beliefs_only"]["belief_fitted"].values,
    )
    # The fitted belief is the configuration-weighted average: side 0 starts at
    # 15/26 * 1/4 + 11/26 * 3/4 (P(sensible) = 15/26, b0 = 1/4; misplaced b0 = 3/4).
    start = same["beliefs_only"]["belief_fitted"].isel(side=0, year=0).values
    np.testing.assert_allclose(start, 15 / 26 * 0.25 + 11 / 26 * 0.75, rtol=1e-14)
    swapped = counterfactual(fit, "sim0000", side=0, beliefs={"l0": 0.0, "w": 1.0, "s": 1.0})
    np.testing.assert_allclose(
        swapped["beliefs_only"]["belief_counterfactual"].isel(side=0, year=0), 0.5
    )


def test_states_by_name_with_a_panel(spiral):
    panel, fit = spiral
    cf = counterfactual(fit, "sim0003", side="sim0003b", panel=panel)
    assert cf.attrs["side"] == 1 and cf.attrs["state"] == "sim0003b"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dyad": "USA-RUS"}, r"dyad: 'USA-RUS' is not in the fit; its dyads are \['sim0000'"),
        ({"side": 2}, "side: expected 0 or 1 or a state name of dyad 'sim0000'"),
        ({"side": "USA"}, r"state names need panel="),
        ({"beliefs": {"l0": 0.0, "w": 1.5, "s": 1.0}}, r"w: discount must lie in \(0, 1\]"),
        ({"beliefs": {"l0": 0.0, "w": 0.0, "s": 1.0}}, r"w: discount must lie in \(0, 1\]"),
        ({"beliefs": {"l0": 0.0, "w": 1.0, "s": -0.1}}, r"s: sensibility must lie in \[0, 1\]"),
        ({"beliefs": {"l0": 0.0, "w": 1.0}}, "beliefs: a mapping needs exactly l0, w and s"),
        ({"beliefs": "paranoid"}, "beliefs: unknown belief regime 'paranoid'"),
        ({"beliefs": {"l0": np.zeros(3), "w": 1.0, "s": 1.0}}, r"beliefs: l0 has shape \(3,\)"),
        ({"from_year": 1944}, r"from_year: 1944 is outside the years of sim0000 \(1945-1974\)"),
        ({"from_year": 1975}, "from_year: 1975 is outside the years"),
        ({"from_year": 1945}, "from_year: 1945 is sim0000's first observed year, the baseline"),
        ({"from_year": 1950.5}, "from_year: expected a calendar year"),
        ({"max_draws": -1}, "max_draws: must be a positive integer"),
    ],
)
def test_bad_input_is_named(spiral, kwargs, message):
    _, fit = spiral
    args = {"dyad": "sim0000", "side": 0} | kwargs
    dyad = args.pop("dyad")
    with pytest.raises(ValueError, match=message):
        counterfactual(fit, dyad, **args)


def test_a_fit_from_another_panel_is_refused(spiral):
    _, fit = spiral
    other = simulate_dyads(4, 30, beliefs="sensible", seed=4).assign_coords(
        year=np.arange(1945, 1975)
    )
    with pytest.raises(ValueError, match="panel: is not the panel this fit was made from"):
        counterfactual(fit, "sim0000", side=0, panel=other)
    short = xr.DataArray(np.zeros((1, 3)), dims=("chain", "draw"))  # not the fit's draws
    with pytest.raises(ValueError, match="beliefs: l0 lacks some of the fit's chains or draws"):
        counterfactual(fit, "sim0000", side=0, beliefs={"l0": short, "w": 1.0, "s": 1.0})


def test_one_dyad_of_a_grouped_fit_keeps_its_own_groups_shares(small_grouped_fit, grouped_panel):
    # Grouped shares are per dyad (issue 12): the draws of one dyad carry that dyad's pi
    # and configuration prior, so its likelihood equals its slice of the whole panel's,
    # and a counterfactual of a grouped fit without stored beliefs runs.
    from secdilemma.analysis.draws import read_fit
    from secdilemma.analysis.likelihood import likelihood

    draws = read_fit(small_grouped_fit, max_draws=10, seed=2, panel=grouped_panel)
    whole = likelihood(draws)
    for d in (1, 4):
        one = draws.select_dyads([d])
        np.testing.assert_array_equal(one.pi, draws.pi[:, :, [d]])
        np.testing.assert_array_equal(one.log_prior, draws.log_prior[:, :, [d]])
        np.testing.assert_allclose(likelihood(one).config_ll, whole.config_ll[:, :, [d]])
    cf = counterfactual(small_grouped_fit, "sim0004", side=0, beliefs="sensible", max_draws=10,
                        seed=2, panel=grouped_panel)  # fmt: skip
    change = cf["generative"]["escalation_change"].values
    assert change.shape == (2, 10) and np.isfinite(change).all()
