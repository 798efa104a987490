"""Posterior predictive checks on fake posteriors (no sampler): regimes by hand, masks,
seeds, calibration with the true parameters, the table and its bad inputs."""

import math

import numpy as np
import pytest
import xarray as xr

from secdilemma import simulate_dyads
from secdilemma.analysis import likelihood as likelihood_module
from secdilemma.analysis.draws import read_fit
from secdilemma.analysis.likelihood import draw_latent, likelihood, log_likelihood
from secdilemma.analysis.predictive import (
    TABLE_COLUMNS,
    posterior_predictive,
    ppc_table,
    rootogram_data,
    write_table,
)
from secdilemma.files import OutputPathError
from tests.fakes import fake_fit, true_values

LN3 = math.log(3.0)


def one_dyad_two_years():
    """Both sides hold in period 0 and militarize in period 1."""
    panel = simulate_dyads(1, 2, seed=0)
    panel["move"].values = np.array([[[1.0, 3.0], [1.0, 3.0]]])
    return panel


def regime_fit(n_draws=1):
    """Two regimes whose configuration weights are derived by hand below."""
    values = {
        "beta": 4 * LN3,
        "gamma": 0.6,  # the period-0 lags are holds (x = 0): gamma plays no part
        "delta": LN3,
        "cutpoints": [-2.0, 0.0, 2 * LN3],
        "pi": 0.5,
        "alpha": np.zeros((1, 2)),
        "regime_l0": [-LN3, LN3],  # b0 = 1/4 (sensible), 3/4 (misplaced certainty)
        "regime_w": [1.0, 0.4],
        "regime_s": [1.0, 0.0],
        "regime_share": [0.75, 0.25],
    }
    return fake_fit(
        one_dyad_two_years(), values, n_draws=n_draws, regimes=("sensible", "misplaced_certainty")
    )


# Derivation. Period 1 is the only modelled year; its eta uses b[i,0] = sigmoid(l0 of
# side i's regime) and the other's period-0 hold (x = 0). P(3 | eta) = sigmoid(eta - c2),
# c2 = 2 ln 3, beta = 4 ln 3, delta = ln 3:
#   regime S (b0 = 1/4): eta(0) = ln 3   -> P = sigmoid(-ln 3) = 1/4
#                        eta(1) = 2 ln 3 -> P = sigmoid(0)     = 1/2
#   regime M (b0 = 3/4): eta(0) = 3 ln 3 -> P = sigmoid(ln 3)  = 3/4
#                        eta(1) = 4 ln 3 -> P = sigmoid(2 ln 3) = 9/10
# Intent marginal with pi = 1/2: L_S = (1/4 + 1/2) / 2 = 3/8, L_M = (3/4 + 9/10) / 2 = 33/40.
# A side's evidence term depends only on its own regime here, so the configuration
# weights factorise: P(r) L_r = 3/4 * 15/40 (S) and 1/4 * 33/40 (M), i.e. 45 : 33, so
# P(S | m) = 15/26 and P(M | m) = 11/26 per side, and
#   w(S,S) = 225/676, w(S,M) = w(M,S) = 165/676, w(M,M) = 121/676.
# P(tau = 1 | m, r): S: (1/2 * 1/2) / (3/8) = 2/3;  M: (1/2 * 9/10) / (33/40) = 6/11.
# Marginal P(tau = 1 | m) = 15/26 * 2/3 + 11/26 * 6/11 = 8/13.
# log p(m) = 2 log(3/4 * 15/40 + 1/4 * 33/40) = 2 log(39/80).
# A replicated period-1 move of one side is militarized with probability
#   15/26 * (1/3 * 1/4 + 2/3 * 1/2) + 11/26 * (5/11 * 3/4 + 6/11 * 9/10)
#   = 15/26 * 5/12 + 11/26 * 183/220.
WEIGHTS = np.array([225, 165, 165, 121]) / 676
P_MALIGN_GIVEN = {"sensible": 2 / 3, "misplaced_certainty": 6 / 11}
P_MILITARIZED = 15 / 26 * 5 / 12 + 11 / 26 * 183 / 220


def test_regime_configuration_weights_equal_the_hand_derivation():
    draws = read_fit(regime_fit())
    assert draws.n_configurations == 4 and draws.regimes == ("sensible", "misplaced_certainty")
    np.testing.assert_array_equal(draws.configuration_regime, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_allclose(draws.log_prior[0, :, 0], np.log([9 / 16, 3 / 16, 3 / 16, 1 / 16]))
    lik = likelihood(draws)
    np.testing.assert_allclose(lik.weights[0, :, 0], WEIGHTS, rtol=0, atol=1e-14)
    # P(tau = 1 | m, k) of side 0 is its own regime's; side 1's likewise.
    np.testing.assert_allclose(lik.p_malign[0, :, 0, 0], [2 / 3, 2 / 3, 6 / 11, 6 / 11], atol=1e-14)
    np.testing.assert_allclose(lik.p_malign[0, :, 0, 1], [2 / 3, 6 / 11, 2 / 3, 6 / 11], atol=1e-14)
    np.testing.assert_allclose(lik.fitted_p_malign[0, 0], [8 / 13, 8 / 13], atol=1e-14)
    np.testing.assert_allclose(lik.dyad_ll[0, 0], 2 * math.log(39 / 80), rtol=1e-14)
    dyad = log_likelihood(regime_fit(), "dyad")
    assert dyad.dims == ("chain", "draw", "dyad")
    np.testing.assert_allclose(dyad.values.ravel(), 2 * math.log(39 / 80), rtol=1e-14)
    with pytest.raises(ValueError, match="'state' is not a valid unit for a fit with observer"):
        log_likelihood(regime_fit(), "state")


def test_regime_latent_draws_and_replicates_follow_their_posterior():
    # 20 000 identical draws: each frequency within 4.5 binomial SEs of its probability
    # (SE <= sqrt(0.25 / 20 000) = 0.0035).
    n = 20_000
    fit = regime_fit(n_draws=n)
    draws = read_fit(fit)
    rng = np.random.default_rng(3)
    configuration, tau = draw_latent(likelihood(draws), rng.random((n, 1)), rng.random((n, 1, 2)))
    freq = np.bincount(configuration[:, 0], minlength=4) / n
    np.testing.assert_allclose(freq, WEIGHTS, atol=4.5 * 0.0035)
    for k, (r0, _) in enumerate(draws.configuration_regime):
        chosen = configuration[:, 0] == k
        want = P_MALIGN_GIVEN[draws.regimes[r0]]
        se = math.sqrt(want * (1 - want) / chosen.sum())
        assert abs(tau[chosen, 0, 0].mean() - want) < 4.5 * se
    out = posterior_predictive(fit, seed=5)["posterior_predictive"]
    for name in ("move_conditional", "move_generative"):
        period1 = out[name].values[0, :, 0, :, 1]  # (draw, side)
        np.testing.assert_allclose((period1 == 3).mean(axis=0), P_MILITARIZED, atol=4.5 * 0.0035)
        assert np.isnan(out[name].values[..., 0]).all()  # period 0 is given, not replicated


@pytest.fixture(scope="module")
def sim():
    """A simulated panel with missing moves, a late start and an early end, and its true fit."""
    rng = np.random.default_rng(1)
    n = 6
    beliefs = {
        "l0": rng.normal(0, 1, (n, 2)),
        "w": rng.uniform(0.3, 1, (n, 2)),
        "s": rng.uniform(0, 1, (n, 2)),
    }
    panel = simulate_dyads(n, 20, beliefs=beliefs, intent=rng.integers(0, 2, (n, 2)), seed=2)
    move = panel["move"].values
    move[0, 1, 6] = np.nan
    move[1, 0, 2:4] = np.nan
    move[2, :, :5] = np.nan  # starts in year 5: period 0 is year 5
    move[3, :, -4:] = np.nan  # ends 4 years early
    panel["move"].values = move
    return panel, fake_fit(panel, true_values(panel), n_chains=2, n_draws=40)


def test_per_state_fit_reads_as_one_configuration(sim):
    panel, fit = sim
    draws = read_fit(fit)
    assert draws.n_configurations == 1 and not draws.has_regimes
    lik = likelihood(draws)
    np.testing.assert_array_equal(lik.weights, 1.0)
    # Dyads 0, 1 and 4, 5 start in year 0: the engine's beliefs on the observed moves are
    # the recursion's (the simulated truth before moves were masked differs, so compare
    # with a direct recursion).
    from secdilemma import belief_recursion

    direct = belief_recursion(
        fit["constant_data"]["move_aligned"].values,
        panel["l0"].values, panel["w"].values, panel["s"].values,
        panel.attrs["beta"], panel.attrs["gamma"], panel.attrs["delta"], panel.attrs["cutpoints"],
    )  # fmt: skip
    np.testing.assert_array_equal(lik.belief[0, 0], direct.belief)
    state = log_likelihood(fit, "state")
    np.testing.assert_allclose(state.sum("side"), log_likelihood(fit, "dyad"), rtol=1e-13)


def test_replicates_are_missing_exactly_where_the_data_are(sim):
    _, fit = sim
    out = posterior_predictive(fit, seed=1)
    group = out["posterior_predictive"]
    modelled = fit["observed_data"]["move"].values >= 0
    for name in ("move_conditional", "move_generative"):
        values = group[name]
        assert values.dims == ("chain", "draw", "dyad", "side", "year")
        assert values.shape == (2, 40, 6, 2, fit["constant_data"].sizes["year"])
        v = values.values
        np.testing.assert_array_equal(~np.isnan(v), np.broadcast_to(modelled, v.shape))
        assert set(np.unique(v[~np.isnan(v)])) <= {0.0, 1.0, 2.0, 3.0}
    # The generative beliefs exist up to each dyad's last period only.
    last = fit["constant_data"]["last_period"].values
    belief = group["belief_generative"].values
    for d, t_last in enumerate(last):
        assert not np.isnan(belief[:, :, d, :, : t_last + 1]).any()
        assert np.isnan(belief[:, :, d, :, t_last + 1 :]).all()
    # The fit itself is untouched and the other groups are carried over.
    assert "posterior_predictive" not in fit.children
    assert set(out.children) == set(fit.children) | {"posterior_predictive"}


def test_same_seed_same_replicates_and_chunking_changes_nothing(sim, monkeypatch):
    _, fit = sim
    a = posterior_predictive(fit, seed=7)["posterior_predictive"].to_dataset()
    b = posterior_predictive(fit, seed=7)["posterior_predictive"].to_dataset()
    xr.testing.assert_identical(a, b)
    c = posterior_predictive(fit, seed=8)["posterior_predictive"].to_dataset()
    assert not np.array_equal(
        a["move_generative"].values, c["move_generative"].values, equal_nan=True
    )
    # One kind alone gives the same replicates as both together.
    alone = posterior_predictive(fit, kinds=["conditional"], seed=7)["posterior_predictive"]
    np.testing.assert_array_equal(alone["move_conditional"].values, a["move_conditional"].values)
    assert "move_generative" not in alone
    # All randomness is drawn before the chunked computation.
    monkeypatch.setattr(likelihood_module, "CELLS_PER_CHUNK", 500)
    chunked = posterior_predictive(fit, seed=7)["posterior_predictive"].to_dataset()
    xr.testing.assert_identical(a, chunked)


def test_subsampled_draws_keep_the_chain_draw_layout(sim):
    _, fit = sim
    group = posterior_predictive(fit, max_draws=10, seed=3)["posterior_predictive"]
    assert group.sizes["chain"] == 2 and group.sizes["draw"] == 10
    draws = group["draw"].values
    assert np.all(np.diff(draws) > 0) and set(draws) <= set(range(40))


def test_generative_replicates_make_their_own_spirals():
    # Two benign misplaced-certainty observers: the generative replicate, fed only the
    # first year, must end in mutual certainty of malice (DESIGN §3), the sensible ones not.
    for regime, final in (("misplaced_certainty", (0.9, 1.0)), ("sensible", (0.0, 0.3))):
        panel = simulate_dyads(20, 40, beliefs=regime, seed=3)
        fit = fake_fit(panel, true_values(panel) | {"pi": 0.05}, n_draws=20)
        belief = posterior_predictive(fit, kinds=["generative"], seed=1)["posterior_predictive"][
            "belief_generative"
        ]
        mean_final = float(belief.isel(year=-1).mean())
        assert final[0] <= mean_final <= final[1], (regime, mean_final)


@pytest.mark.parametrize("seed", [0, 1])
def test_true_parameters_give_calibrated_p_values(seed):
    # With the true parameters, the observed panel is a draw of the replicating model.
    # For 40 dyads x 30 years (5 % of moves missing) and 200 draws, the state-level
    # mid-p values (about 400: 80 states x 5 statistics) are not piled at 0 or 1:
    # at most 10 % lie outside [0.025, 0.975] (5 % under uniformity; the seeds
    # checked gave 2-5 %, intents drawn from their posterior pull p towards 0.5 a
    # little) and their spread is at least 0.2 (0.29 under uniformity; observed
    # 0.25-0.27). The same check with wrong parameters (misplaced-certainty beliefs,
    # beta 0.5, gamma 0) puts about 30 % outside: the bound has power.
    rng = np.random.default_rng(seed)
    n = 40
    beliefs = {
        "l0": rng.normal(0, 1, (n, 2)),
        "w": rng.uniform(0.3, 1, (n, 2)),
        "s": rng.uniform(0, 1, (n, 2)),
    }
    panel = simulate_dyads(
        n, 30, beliefs=beliefs, intent=rng.integers(0, 2, (n, 2)),
        alpha=rng.normal(0, 0.3, (n, 2)), seed=seed,
    )  # fmt: skip
    move = panel["move"].values
    move[rng.random(move.shape) < 0.05] = np.nan
    panel["move"].values = move
    true = true_values(panel)
    wrong = true | {
        "l0": np.full((n, 2), 2.0), "w": np.full((n, 2), 0.2), "s": np.zeros((n, 2)),
        "beta": 0.5, "gamma": 0.0,
    }  # fmt: skip
    for values, calibrated in ((true, True), (wrong, False)):
        table = ppc_table(posterior_predictive(fake_fit(panel, values, 2, 100), seed=seed))
        for kind in ("conditional", "generative"):
            p = table.query("kind == @kind and level == 'state'")["p_value"].dropna().to_numpy()
            assert len(p) > 350
            extreme = np.mean((p < 0.025) | (p > 0.975))
            if calibrated:
                assert extreme <= 0.10, (kind, extreme)
                assert p.std() >= 0.2, (kind, p.std())
            else:
                assert extreme >= 0.2, (kind, extreme)


def test_table_is_tidy_and_names_states(sim, tmp_path):
    panel, fit = sim
    out = posterior_predictive(fit, seed=1)
    table = ppc_table(out, panel=panel)
    assert tuple(table.columns) == TABLE_COLUMNS
    # 2 kinds x (6 dyads x 2 sides + 6 dyads) x 5 statistics.
    assert len(table) == 2 * 18 * 5
    state_rows = table.query("level == 'state'")
    assert state_rows["side"].notna().all() and table.query("level == 'dyad'")["side"].isna().all()
    assert set(state_rows["state"]) == set(panel["state"].values.ravel())
    assert table["p_value"].dropna().between(0, 1).all()
    assert (table["n_draws"] <= 80).all()
    path = write_table(table, tmp_path / "tables" / "ppc.csv")
    assert path.read_text().splitlines()[0] == ",".join(TABLE_COLUMNS)


def test_rootogram_data_is_integer_without_missing_cells(sim):
    _, fit = sim
    out = posterior_predictive(fit, seed=1)
    tree = rootogram_data(out, "generative", dyad="sim0001")
    rep, obs = tree["posterior_predictive"]["move"], tree["observed_data"]["move"]
    assert rep.dtype == np.int64 and obs.dtype == np.int64
    assert rep.dims == ("chain", "draw", "cell") and obs.dims == ("cell",)
    modelled = fit["observed_data"]["move"].values[1]
    assert obs.sizes["cell"] == (modelled >= 0).sum()
    np.testing.assert_array_equal(np.sort(obs.values), np.sort(modelled[modelled >= 0]))
    whole = rootogram_data(out, "conditional")
    assert whole["observed_data"].sizes["cell"] == (fit["observed_data"]["move"].values >= 0).sum()


def test_bad_input_is_named(sim, tmp_path):
    panel, fit = sim
    other = simulate_dyads(6, 20, seed=99)
    with pytest.raises(ValueError, match="panel: is not the panel this fit was made from"):
        posterior_predictive(fit, panel=other)
    with pytest.raises(ValueError, match="lacks the fit's dyads"):
        posterior_predictive(fit, panel=panel.isel(dyad=[0, 1]))
    with pytest.raises(ValueError, match="kinds: expected some of"):
        posterior_predictive(fit, kinds=["prior"])
    with pytest.raises(ValueError, match="no 'constant_data' group"):
        posterior_predictive(xr.DataTree.from_dict({"posterior": fit["posterior"].to_dataset()}))
    with pytest.raises(ValueError, match="no 'move_conditional'"):
        rootogram_data(fit)
    with pytest.raises(ValueError, match="no posterior predictive replicates"):
        ppc_table(fit)
    with pytest.raises(ValueError, match="max_draws: must be a positive integer"):
        posterior_predictive(fit, max_draws=0)
    with pytest.raises(ValueError, match="dyad: 'XYZ' is not in the fit"):
        rootogram_data(posterior_predictive(fit, seed=1), dyad="XYZ")
    broken = fit.copy()
    broken["posterior"] = xr.DataTree(fit["posterior"].to_dataset().drop_vars("pi"))
    with pytest.raises(ValueError, match=r"posterior lacks \['pi'\]"):
        posterior_predictive(broken)
    # An output folder that cannot be written: nothing is written, the path is named.
    table = ppc_table(posterior_predictive(fit, seed=1))
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    with pytest.raises(OutputPathError, match="not_a_folder"):
        write_table(table, blocker / "ppc.csv")
    with pytest.raises(OutputPathError, match="is a directory"):
        write_table(table, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]
