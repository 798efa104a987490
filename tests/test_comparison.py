"""Model comparison (secdilemma.analysis.comparison) on fake posteriors: the LOO unit, the
table and stacking, K-fold bookkeeping with a fake sampler, the held-out density against
independent calculations, and bad input. The real refits are in test_comparison_refit.py."""

import json
import math

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr
from numpy.polynomial.hermite_e import hermegauss
from scipy.special import expit, logit, logsumexp

from secdilemma import simulate_dyads
from secdilemma.analysis.comparison import (
    Comparison,
    ComparisonError,
    DyadKFold,
    compare,
    heldout_errors,
    heldout_log_likelihood,
    log_mean_exp,
    loo_unit,
    pointwise_log_likelihood,
    write_comparison,
)
from secdilemma.analysis.likelihood import log_likelihood
from secdilemma.core.parameters import ActionParams
from secdilemma.files import OutputPathError
from secdilemma.model.io import panel_sha256
from secdilemma.model.variants import load_variant
from tests import naive
from tests.fakes import fake_fit

pytestmark = pytest.mark.filterwarnings(  # the reference PSIS-LOO of the fakes' few draws
    "ignore:Estimated shape parameter of Pareto:UserWarning"
)

TRUE = ActionParams()  # beta 2, gamma 0.6, delta 1, c (-1.5, 1, 3)
REGIMES = ("sensible", "misplaced_certainty")
# The regime parameters of the simulator's named regimes (core.parameters.REGIMES).
REGIME_VALUES = {
    "regime_l0": [0.0, float(logit(0.85))],
    "regime_w": [1.0, 0.3],
    "regime_s": [1.0, 0.0],
}
FAKE_NAMES = ("beta", "gamma", "delta", "pi", "cutpoints", "alpha", "l0", "w", "s",
              "regime_l0", "regime_w", "regime_s", "regime_share")  # fmt: skip
"""Variables tests/fakes.py knows; the others (population scales) are added as scalars."""


def active(regimes):
    """Values and names of the active regimes (a real fit records only those)."""
    index = [REGIMES.index(r) for r in regimes]
    return {k: [v[i] for i in index] for k, v in REGIME_VALUES.items()}, tuple(regimes)


def panel_of(beliefs, n_dyads=6, n_years=25, seed=3):
    intent = np.array([[0, 0], [0, 1], [1, 0]] * (n_dyads // 3))
    alpha = np.random.default_rng(seed).normal(0.0, 0.3, (n_dyads, 2))
    return simulate_dyads(
        n_dyads, n_years, beliefs=beliefs, intent=intent, action=TRUE, alpha=alpha, seed=seed
    )


def jittered(rng, value, sd, n):
    value = np.asarray(value, dtype=float)
    return value + sd * rng.standard_normal((n, *value.shape))


def posterior_values(panel, rng, n, kind, *, beliefs=None, share=None):
    """Per-draw values around the panel's true parameters, for a variant of ``kind``;
    ``share`` maps the active regimes to their shares."""
    values = {
        "beta": jittered(rng, TRUE.beta, 0.05, n),
        "gamma": jittered(rng, TRUE.gamma, 0.03, n),
        "delta": np.abs(jittered(rng, TRUE.delta, 0.05, n)),
        "cutpoints": jittered(rng, TRUE.cutpoints, 0.0, n) + 0.05 * rng.standard_normal((n, 1)),
        "pi": np.clip(jittered(rng, 0.5, 0.03, n), 0.05, 0.95),
        "alpha": jittered(rng, panel["alpha"].values, 0.1, n),
        "sigma_alpha": np.abs(jittered(rng, 0.3, 0.03, n)),
    }
    if kind == "free":
        b = beliefs or {k: panel[k].values for k in ("l0", "w", "s")}
        values |= {
            "l0": jittered(rng, b["l0"], 0.1, n),
            "w": np.clip(jittered(rng, b["w"], 0.02, n), 0.01, 1.0),
            "s": np.clip(jittered(rng, b["s"], 0.02, n), 0.0, 1.0),
            "mu_l0": jittered(rng, 0.0, 0.1, n),
            "sigma_l0": np.abs(jittered(rng, 0.5, 0.05, n)),
            "mu_w": jittered(rng, 1.0, 0.1, n),
            "sigma_w": np.abs(jittered(rng, 0.3, 0.03, n)),
            "mu_s": jittered(rng, 1.0, 0.1, n),
            "sigma_s": np.abs(jittered(rng, 0.3, 0.03, n)),
        }
    else:
        regime_values, _ = active(share)
        r = len(share)
        values |= {k: np.broadcast_to(v, (n, r)).copy() for k, v in regime_values.items()}
        values["regime_share"] = np.broadcast_to(list(share.values()), (n, r)).copy()
    return values


def comparable(panel, values, variant, *, n_chains=2, n_draws=100, regimes=None, ok=1):
    """A fake fit with the groups and attrs :func:`compare` reads: the log-likelihood is the
    engine's (one term per state, or per dyad where the sides are coupled)."""
    known = {k: v for k, v in values.items() if k in FAKE_NAMES}
    fit = fake_fit(panel, known, n_chains=n_chains, n_draws=n_draws, regimes=regimes)
    posterior = fit["posterior"].to_dataset()
    for name, value in values.items():
        if name not in FAKE_NAMES:
            v = np.broadcast_to(np.asarray(value, dtype=float), (n_chains * n_draws,))
            posterior[name] = (("chain", "draw"), v.reshape(n_chains, n_draws))
    fit["posterior"] = posterior
    coupled = regimes is not None and len(regimes) > 1
    ll = log_likelihood(fit, "dyad" if coupled else "state")
    fit["log_likelihood"] = xr.Dataset({"move": ll})
    fit.attrs = {
        "variant": load_variant(variant).to_json(),
        "panel_sha256": json.dumps(panel_sha256(panel)),
        "diagnostics_ok": ok,
        "diagnostics": json.dumps({"failures": [] if ok else ["R-hat > 1.01 for pi"]}),
    }
    return fit


@pytest.fixture(scope="module")
def sensible_panel():
    return panel_of("sensible")


@pytest.fixture(scope="module")
def sensible_fits(sensible_panel):
    """Three fits of a sensible-observer panel: at the truth as ``sensible`` and as ``free``,
    and with misplaced-certainty beliefs (wrong)."""
    rng = np.random.default_rng(5)
    n = 200
    return {
        "sensible": comparable(
            sensible_panel,
            posterior_values(sensible_panel, rng, n, "regime", share={"sensible": 1.0}),
            "sensible",
            regimes=("sensible",),
        ),
        "free": comparable(
            sensible_panel, posterior_values(sensible_panel, rng, n, "free"), "free", ok=0
        ),
        "misplaced_certainty": comparable(
            sensible_panel,
            posterior_values(sensible_panel, rng, n, "regime", share={"misplaced_certainty": 1.0}),
            "misplaced_certainty",
            regimes=("misplaced_certainty",),
        ),
    }


@pytest.fixture(scope="module")
def mixture_fit(sensible_panel):
    rng = np.random.default_rng(6)
    share = {"sensible": 0.7, "misplaced_certainty": 0.3}
    values = posterior_values(sensible_panel, rng, 200, "regime", share=share)
    return comparable(sensible_panel, values, "mixture", regimes=REGIMES)


def own_refit(fit):
    """A fake sampler: the 'refit' is the full fit's posterior (no sampling)."""
    calls = []

    def refit(dyads):
        calls.append(list(dyads))
        return fit["posterior"].to_dataset(), {"dyads": list(dyads), "seconds": 0.0}

    refit.calls = calls
    return refit


# ----------------------------------------------------------------------------- the unit


def test_the_unit_is_the_state_and_becomes_the_dyad_with_a_mixture(sensible_fits, mixture_fit):
    assert loo_unit(sensible_fits) == "state"
    assert loo_unit({**sensible_fits, "mixture": mixture_fit}) == "dyad"
    assert loo_unit(sensible_fits, "dyad") == "dyad"
    fit = sensible_fits["free"]
    state = pointwise_log_likelihood(fit, "state")
    assert state.dims == ("chain", "draw", "state") and state.sizes["state"] == 12
    assert state["state"].values[:2].tolist() == ["sim0000:0", "sim0000:1"]
    assert state["dyad"].values[:3].tolist() == ["sim0000", "sim0000", "sim0001"]
    raw = fit["log_likelihood"]["move"]
    np.testing.assert_array_equal(state.values[:, :, 3], raw.isel(dyad=1, side=1).values)
    dyad = pointwise_log_likelihood(fit, "dyad")
    np.testing.assert_allclose(dyad.values, raw.sum("side").values)
    # The mixture's own terms are per dyad already.
    assert pointwise_log_likelihood(mixture_fit, "dyad").dims == ("chain", "draw", "dyad")


def test_a_mixture_makes_every_fit_compared_per_dyad(sensible_fits, mixture_fit, sensible_panel):
    fits = {**sensible_fits, "mixture": mixture_fit}
    result = compare(fits, sensible_panel, refit="none")
    assert result.unit == "dyad"
    assert (result.table["n_units"] == 6).all()
    assert set(result.pointwise["side"]) == {-1}
    # The per-state fits' dyad elpd is PSIS-LOO of their state terms summed over sides.
    ll = fits["free"]["log_likelihood"]["move"].sum("side")
    tree = xr.DataTree.from_dict(
        {
            "posterior": fits["free"]["posterior"].to_dataset(),
            "log_likelihood": xr.Dataset({"move": ll}),
        }
    )
    reference = azs.loo(tree, pointwise=True)
    assert result.table.loc["free", "elpd"] == pytest.approx(float(reference.elpd), abs=1e-8)
    assert any("LOO unit is the dyad because fit 'mixture'" in n for n in result.notes)


def test_state_unit_with_a_mixture_is_refused_naming_the_fit(sensible_fits, mixture_fit):
    with pytest.raises(ComparisonError, match=r"fit 'mixture'.*per dyad"):
        compare({**sensible_fits, "mixture": mixture_fit}, unit="state", refit="none")


# ----------------------------------------------------------------------------- table, stacking


def test_psis_table_ranks_the_truth_first_and_stacks_weights(sensible_fits, sensible_panel):
    result = compare(sensible_fits, sensible_panel, refit="none")
    assert isinstance(result, Comparison) and result.unit == "state"
    table = result.table
    assert table.index[0] in ("sensible", "free")  # both hold the true beliefs
    assert table.loc["misplaced_certainty", "rank"] == 2
    assert (
        table.loc["misplaced_certainty", "elpd_diff"] < -2 * table.loc["misplaced_certainty", "dse"]
    )
    assert result.weights.sum() == pytest.approx(1.0, abs=1e-6)
    assert result.weights["misplaced_certainty"] < 0.05
    # elpd per model equals arviz's PSIS-LOO of the stacked state terms, and the sum of
    # the pointwise table.
    for name, fit in sensible_fits.items():
        ll = pointwise_log_likelihood(fit, "state")
        tree = xr.DataTree.from_dict(
            {"posterior": fit["posterior"].to_dataset(), "log_likelihood": xr.Dataset({"move": ll})}
        )
        reference = azs.loo(tree, pointwise=True)
        assert table.loc[name, "elpd"] == pytest.approx(float(reference.elpd), abs=1e-8)
        rows = result.pointwise[result.pointwise["model"] == name]
        assert rows["elpd"].sum() == pytest.approx(table.loc[name, "elpd"], abs=1e-8)
        np.testing.assert_allclose(rows["pareto_k"], reference.pareto_k.values)
    assert (table["method"] == "PSIS-LOO").all() and (table["refitted"] == 0).all()
    # Stacking weights as arviz computes them from the pointwise elpd.
    again = azs.compare(result.elpd, method="stacking", round_to="none")
    np.testing.assert_allclose(again.loc[table.index, "weight"], table["weight"], atol=1e-6)
    # The flagged fit is named, and still compared.
    assert result.flagged == ("free",)
    assert any("fit 'free' is flagged diagnostics_ok = 0" in n for n in result.notes)
    assert table.loc["free", "diagnostics_ok"] == 0


def test_the_tables_are_written_atomically(sensible_fits, sensible_panel, tmp_path):
    result = compare(sensible_fits, sensible_panel, refit="none")
    csv, md = write_comparison(result, tmp_path / "cmp.csv", tmp_path / "cmp.md")
    text = md.read_text()
    assert text.startswith("Model comparison; LOO unit: the observing state (12 units).")
    assert "| sensible |" in text or "| free |" in text
    assert "flagged diagnostics_ok = 0" in text
    import pandas as pd

    back = pd.read_csv(csv)
    assert back["model"].tolist() == result.table.index.tolist()
    # A Markdown path that cannot be written: neither file is written.
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputPathError, match="markdown_path"):
        write_comparison(result, tmp_path / "new.csv", tmp_path / "folder")
    assert not (tmp_path / "new.csv").exists()


# ----------------------------------------------------------------------------- K-fold bookkeeping


def test_refits_replace_exactly_the_high_k_dyads(sensible_fits, sensible_panel):
    fits = {k: sensible_fits[k] for k in ("sensible", "free")}
    psis = compare(fits, sensible_panel, refit="none")
    k = psis.pointwise.set_index(["model", "unit"])["pareto_k"]
    threshold = float(np.quantile(k.values, 0.75))  # a quarter of the units "fail"
    fakes = {name: own_refit(fit) for name, fit in fits.items()}
    result = compare(
        fits, sensible_panel, k_threshold=threshold, refitters=fakes, n_fresh=8, refit="auto"
    )
    for name in fits:
        rows = result.pointwise[result.pointwise["model"] == name]
        high = sorted(set(rows.loc[rows["pareto_k"] > threshold, "dyad"]))
        assert result.refitted[name] == high
        assert sorted(d[0] for d in fakes[name].calls) == [
            list(map(str, sensible_panel["dyad"].values)).index(d) for d in high
        ]
        refitted = rows["dyad"].isin(high)
        assert (rows["refitted"] == refitted).all()
        np.testing.assert_array_equal(rows.loc[~refitted, "elpd"], rows.loc[~refitted, "elpd_psis"])
        assert rows.loc[refitted, "mc_se"].notna().all()
        assert result.table.loc[name, "refitted"] == len(high)
        assert result.table.loc[name, "high_k_left"] == 0
        assert result.elpd[name].elpd == pytest.approx(rows["elpd"].sum())
        # A refitted state's elpd is its held-out density under the refit (here the
        # full posterior), fresh effects integrated.
        for _, row in rows[refitted].iterrows():
            wrapper = DyadKFold(fits[name], "state", refit=fakes[name], n_fresh=8)
            units = np.flatnonzero(wrapper.unit_dyad == row["dyad"])
            train, test = wrapper.sel_observations(units)
            held = wrapper.log_likelihood__i(
                test, wrapper.get_inference_data(wrapper.sample(train))
            )
            value = log_mean_exp(held.sel(state=row["unit"]).values, axis=(0, 1))
            assert row["elpd"] == pytest.approx(float(value), abs=1e-10)
    assert len(result.refits) == sum(len(v) for v in result.refitted.values())


def test_full_kfold_equals_arviz_loo_kfold_with_the_same_wrapper(sensible_fits, sensible_panel):
    fit = sensible_fits["sensible"]
    result = compare(
        {"sensible": fit}, sensible_panel, refit="all", refitters={"sensible": own_refit(fit)},
        n_fresh=8,
    )  # fmt: skip
    wrapper = DyadKFold(fit, "state", refit=own_refit(fit), n_fresh=8)
    stacked = wrapper.idata_orig
    folds = np.repeat(np.arange(1, 7), 2)  # each dyad's two states in one fold
    reference = azs.loo_kfold(stacked, wrapper, folds=folds, pointwise=True)
    np.testing.assert_allclose(
        result.pointwise["elpd"].values, reference.elpd_i.values, rtol=0, atol=1e-10
    )
    assert result.table.loc["sensible", "method"] == "K-fold, all 6 dyads"


def test_the_comparison_figure(sensible_fits, mixture_fit, sensible_panel, tmp_path):
    from matplotlib.figure import Figure

    from secdilemma.plotting.comparison import plot_comparison
    from secdilemma.plotting.style import save_figure

    fits = {**sensible_fits, "mixture": mixture_fit}
    fakes = {name: own_refit(fit) for name, fit in fits.items()}
    result = compare(fits, sensible_panel, refit=["sim0001"], refitters=fakes, n_fresh=4)
    fig = plot_comparison(result)
    assert isinstance(fig, Figure)
    left, right = fig.axes[:2]
    assert left.get_xlabel() == "elpd difference to the best model (nats)"
    assert [t.get_text() for t in left.get_yticklabels()] == list(result.table.index)
    assert right.get_ylabel() == "PSIS Pareto k"
    assert [t.get_text() for t in right.get_xticklabels()] == [f"sim000{i}" for i in range(6)]
    assert "LOO unit: dyad" in fig._suptitle.get_text()
    written = save_figure(fig, tmp_path / "comparison")
    assert [p.suffix for p in written] == [".png", ".pdf"] and all(
        p.stat().st_size for p in written
    )


def test_folds_run_in_parallel_give_the_same_result(sensible_fits, sensible_panel):
    # Folds run cores // chains at a time, in threads; fold seeds depend on the held-out
    # dyads only, so the result does not depend on the order or overlap of the folds.
    from secdilemma.model.kfold import RefitSettings

    fits = {k: sensible_fits[k] for k in ("sensible", "free")}
    results = []
    for cores in (1, 4):
        fakes = {name: own_refit(fit) for name, fit in fits.items()}
        settings = RefitSettings(chains=1, cores=cores)
        results.append(
            compare(
                fits, sensible_panel, refit="all", refitters=fakes, settings=settings, n_fresh=4
            )
        )
    sequential, parallel = results
    np.testing.assert_array_equal(sequential.pointwise["elpd"], parallel.pointwise["elpd"])
    np.testing.assert_array_equal(sequential.table["weight"], parallel.table["weight"])


# ----------------------------------------------------------------------------- held-out density


@pytest.mark.parametrize("kind", ["free", "sensible", "mixture"])
def test_heldout_with_fresh_effects_fixed_is_the_engine_log_likelihood(
    kind, sensible_fits, mixture_fit
):
    # With the "fresh" z set to the fit's own standardised effects of that dyad, the
    # held-out density of each draw is the fit's log-likelihood of that dyad (M = 1).
    fit = mixture_fit if kind == "mixture" else sensible_fits[kind]
    post = fit["posterior"].to_dataset()
    dyad = "sim0002"
    s = post.sizes["chain"] * post.sizes["draw"]

    def standardised(value, scale):
        v = post[value].sel(dyad=dyad).transpose("chain", "draw", "side").values.reshape(s, 1, 2)
        return v / scale

    sigma = post["sigma_alpha"].values.reshape(s, 1, 1)
    fresh = {"alpha": standardised("alpha", sigma)}
    if kind == "free":  # l0 = mu + sigma z; w, s = sigmoid(mu + sigma z)
        for p in ("l0", "w", "s"):
            v = post[p].sel(dyad=dyad).transpose("chain", "draw", "side").values.reshape(s, 1, 2)
            latent = v if p == "l0" else logit(np.clip(v, 1e-12, 1 - 1e-12))
            mu = post[f"mu_{p}"].values.reshape(s, 1, 1)
            fresh[p] = (latent - mu) / post[f"sigma_{p}"].values.reshape(s, 1, 1)
    variant = load_variant(kind)
    units = ["dyad"] if kind == "mixture" else ["dyad", "state"]
    for unit in units:
        held = heldout_log_likelihood(post, fit, dyad, unit, variant, fresh=fresh)
        engine = log_likelihood(fit, unit).sel(dyad=dyad)
        np.testing.assert_allclose(
            held.values.reshape(s, -1), engine.values.reshape(s, -1), rtol=0, atol=1e-9
        )


def two_year_panel():
    """Two dyads, two years: period 1 is the only modelled year."""
    panel = simulate_dyads(2, 2, seed=0)
    panel["move"].values = np.array([[[1.0, 3.0], [2.0, 0.0]], [[1.0, 2.0], [0.0, 1.0]]])
    return panel


def period_one_probability(move, alpha, b0, x_other, theta):
    """P(m[i,1]) with intent marginalised: naive.prob, DESIGN §3 written out."""
    total = 0.0
    for tau, weight in ((0, 1 - theta["pi"]), (1, theta["pi"])):
        eta = alpha + theta["beta"] * b0 + theta["gamma"] * x_other + theta["delta"] * tau
        total += weight * naive.prob(move, eta, theta["cutpoints"])
    return total


@pytest.mark.parametrize("kind", ["sensible", "free"])
def test_heldout_integrates_fresh_effects_like_quadrature(kind):
    # One posterior draw, a two-year dyad: the held-out density integrates the fresh
    # effects of each state: alpha ~ Normal(0, sigma_alpha) (and, for free, l0 ~
    # Normal(mu_l0, sigma_l0), which sets b[i,0]; w and s act from period 1 on, after the
    # only modelled move). Each side's factor is a 1-D (2-D) Gauss-Hermite integral,
    # computed with tests/naive.py, independently of the package.
    panel = two_year_panel()
    theta = {"beta": 1.5, "gamma": 0.6, "delta": 1.2, "pi": 0.4, "cutpoints": [-1.0, 0.5, 2.0]}
    hyper = {"sigma_alpha": 0.8, "mu_l0": 0.5, "sigma_l0": 1.2, "mu_w": 0.0, "sigma_w": 0.5,
             "mu_s": 0.0, "sigma_s": 0.5}  # fmt: skip
    values = {**theta, "alpha": np.zeros((2, 2)), "sigma_alpha": hyper["sigma_alpha"]}
    if kind == "free":
        values |= {"l0": np.zeros((2, 2)), "w": np.ones((2, 2)), "s": np.ones((2, 2))}
        values |= {k: v for k, v in hyper.items() if k != "sigma_alpha"}
        fit = comparable(panel, values, "free", n_chains=1, n_draws=1)
        b0_nodes = lambda z: expit(hyper["mu_l0"] + hyper["sigma_l0"] * z)  # noqa: E731
    else:
        regime_values, regimes = active(["sensible"])
        values |= regime_values | {"regime_share": [1.0]}
        fit = comparable(panel, values, "sensible", n_chains=1, n_draws=1, regimes=regimes)
        b0_nodes = lambda z: np.full_like(z, 0.5)  # noqa: E731  (sensible regime: l0 = 0)
    nodes, weights = hermegauss(60)
    weights = weights / weights.sum()  # expectation under Normal(0, 1)
    dyad = "sim0001"
    move = panel["move"].sel(dyad=dyad).values.astype(int)
    expected = 0.0
    for side in (0, 1):
        x_other = move[1 - side, 0] - 1
        total = 0.0
        for za, wa in zip(nodes, weights, strict=True):
            alpha = hyper["sigma_alpha"] * za
            if kind == "free":
                inner = sum(
                    wl * period_one_probability(move[side, 1], alpha, b0_nodes(zl), x_other, theta)
                    for zl, wl in zip(nodes, weights, strict=True)
                )
            else:
                inner = period_one_probability(move[side, 1], alpha, 0.5, x_other, theta)
            total += wa * inner
        expected += math.log(total)
    post = fit["posterior"].to_dataset()
    held = heldout_log_likelihood(
        post, fit, dyad, "dyad", load_variant(kind), n_fresh=4096, mc_se_target=0.002,
        max_fresh=65536, seed=11,
    )  # fmt: skip
    se = float(held["mc_se"].values[0])
    assert se < 0.003
    assert float(held.values.reshape(-1)[0]) == pytest.approx(expected, abs=4 * se + 1e-3)


def test_fresh_draws_are_added_until_the_monte_carlo_error_is_small(sensible_fits):
    fit = sensible_fits["free"]
    variant = load_variant("free")
    # One posterior draw: all the Monte Carlo error is the fresh effects', so batches are
    # added until it is below the target.
    one = fit["posterior"].to_dataset().isel(chain=[0], draw=[0])
    loose = heldout_log_likelihood(one, fit, "sim0000", "dyad", variant, n_fresh=16, mc_se_target=9)
    tight = heldout_log_likelihood(
        one, fit, "sim0000", "dyad", variant, n_fresh=16, mc_se_target=0.1, max_fresh=4096
    )
    assert int(loose["n_fresh"].values[0]) == 16
    assert int(tight["n_fresh"].values[0]) > 16
    assert float(tight["mc_se"].values[0]) < 0.1 < float(loose["mc_se"].values[0])
    # Same seed, same draws: the first batch is shared.
    again = heldout_log_likelihood(one, fit, "sim0000", "dyad", variant, n_fresh=16, mc_se_target=9)
    np.testing.assert_array_equal(loose.values, again.values)
    # Many draws whose own spread carries the error: more fresh effects would not help,
    # so one batch is drawn even though the target is not met.
    many = fit["posterior"].to_dataset()
    held = heldout_log_likelihood(
        many, fit, "sim0000", "dyad", variant, n_fresh=64, mc_se_target=1e-6
    )
    assert int(held["n_fresh"].values[0]) == 64


def test_monte_carlo_error_counts_autocorrelated_draws():
    # A draw repeated in runs of 10 has a tenth of the effective sample size: the
    # standard error of the held-out elpd is sqrt(10) times that of independent draws.
    rng = np.random.default_rng(2)
    independent = rng.normal(0.0, 0.3, size=(2000, 1, 1))
    repeated = np.repeat(independent[::10], 10, axis=0)
    se_iid, share_iid = heldout_errors(independent, n_chains=2)
    se_rep, _ = heldout_errors(repeated, n_chains=2)
    w = np.exp(independent[:, 0, 0])
    assert se_iid[0] == pytest.approx(w.std(ddof=1) / (math.sqrt(2000) * w.mean()), rel=0.1)
    assert se_rep[0] / se_iid[0] == pytest.approx(math.sqrt(10), rel=0.3)
    assert share_iid[0] == 0.0  # one fresh draw per posterior draw: no fresh spread


def test_log_mean_exp_and_its_error():
    values = np.log(np.array([[1.0, 3.0], [2.0, 5.0]]))
    np.testing.assert_allclose(log_mean_exp(values, axis=0), np.log([1.5, 4.0]))
    assert float(logsumexp(values) - math.log(4)) == pytest.approx(
        float(log_mean_exp(values, axis=(0, 1)))
    )


# ----------------------------------------------------------------------------- bad input


def test_bad_input_is_named(sensible_fits, sensible_panel, tmp_path):
    fit = sensible_fits["sensible"]
    no_ll = fit.copy(deep=True)
    del no_ll["log_likelihood"]
    with pytest.raises(ComparisonError, match="fit 'bare': has no 'log_likelihood' group"):
        compare({"sensible": fit, "bare": no_ll}, refit="none")
    other = panel_of("sensible", seed=8)
    with pytest.raises(ComparisonError, match="fit 'sensible': was made from another panel"):
        compare({"sensible": fit}, other, refit="none")
    stranger = comparable(
        other, posterior_values(other, np.random.default_rng(1), 10, "free"), "free",
        n_chains=1, n_draws=10,
    )  # fmt: skip
    with pytest.raises(ComparisonError, match=r"fits 'sensible' and 'stranger'.*different panels"):
        compare({"sensible": fit, "stranger": stranger}, refit="none")
    with pytest.raises(ComparisonError, match="fit 'stranger': was made from another panel"):
        compare({"stranger": stranger}, sensible_panel, refit="none")
    # Same moves, but no provenance: the data themselves are compared.
    anonymous = stranger.copy(deep=True)
    anonymous.attrs = {}
    with pytest.raises(ComparisonError, match="different panels"):
        compare({"sensible": fit, "anonymous": anonymous}, refit="none")
    with pytest.raises(ComparisonError, match=r"fit 'x': expected an xarray\.DataTree"):
        compare({"x": fit["posterior"].to_dataset()}, refit="none")
    with pytest.raises(ComparisonError, match="non-empty mapping"):
        compare({}, refit="none")
    with pytest.raises(ComparisonError, match="panel: needed for the K-fold refits of fit"):
        compare({"sensible": fit}, refit="all")
    with pytest.raises(ComparisonError, match=r"refit: dyads \['X-Y'\] are not in the fits"):
        compare({"sensible": fit}, sensible_panel, refit=["X-Y"])
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere
