"""The model of DESIGN §3-4 against an independent NumPy computation, at fixed points.

The reference is :func:`secdilemma.core.recursion.belief_recursion` (beliefs) and
:func:`secdilemma.core.ordered_logistic.log_prob` (action log-likelihood), with the
intent marginalised by ``numpy.logaddexp``: the same equations written a second
time without PyTensor. Agreement to 1e-10 at random parameter values means the
model's graph is exactly DESIGN's likelihood, masking included.
"""

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy.special import expit

from secdilemma import simulate_dyads
from secdilemma.core.ordered_logistic import log_prob
from secdilemma.core.recursion import belief_recursion
from secdilemma.model.builder import NOT_MODELLED, build_model, model_data, ordered_logistic_logp
from secdilemma.model.variants import VariantError

N_DYADS, N_YEARS = 4, 15


@pytest.fixture(scope="session")
def ragged_panel():
    """Simulated dyads made to look historical: mixed belief parameters and intents,
    missing moves, one dyad starting 5 years late, one ending 4 years early."""
    rng = np.random.default_rng(11)
    beliefs = {
        "l0": rng.normal(0, 1.5, (N_DYADS, 2)),
        "w": rng.uniform(0.2, 1.0, (N_DYADS, 2)),
        "s": rng.uniform(0.0, 1.0, (N_DYADS, 2)),
    }
    intent = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])
    panel = simulate_dyads(N_DYADS, N_YEARS, beliefs=beliefs, intent=intent, seed=2)
    move = panel["move"].values
    move[0, 1, 6] = np.nan  # one missing move mid-series
    move[1, 0, 2:4] = np.nan  # two missing years of one side
    move[2, :, :5] = np.nan  # late start: period 0 is year 5
    move[3, :, -4:] = np.nan  # early end
    move[3, 1, 0] = np.nan  # first year observed on one side only
    panel["move"].values = move
    return panel


@pytest.fixture(scope="session", params=["op", "scan"])
def free_model(request, ragged_panel):
    return build_model(ragged_panel, "free", belief_method=request.param)


@pytest.fixture(scope="session")
def evaluate(free_model):
    """One compiled function of the model's outputs at a point (compiled once)."""
    model = free_model
    names = [
        "belief",
        "p_malign",
        "misplaced_certainty",
        "loglik_move",
        "alpha",
        "l0",
        "w",
        "s",
        "beta",
        "gamma",
        "delta",
        "cutpoints",
        "pi",
    ]
    move_logp = model.logp(vars=[model["move"]], sum=False)[0]
    outs = [*model.replace_rvs_by_values([model[n] for n in names]), move_logp]
    # FAST_COMPILE (Python linker): seconds to compile; speed is irrelevant here.
    fn = model.compile_fn(
        outs,
        inputs=model.value_vars,
        point_fn=True,
        mode="FAST_COMPILE",
        on_unused_input="ignore",
    )

    def at(point):
        return dict(zip([*names, "move_logp"], fn(point), strict=True))

    return at


def _random_point(model, rng):
    """Initial point with every value variable moved by N(0, 1) in unconstrained space."""
    return {k: v + rng.normal(size=np.shape(v)) for k, v in model.initial_point().items()}


def _reference(panel, out):
    """DESIGN §3 in NumPy: beliefs, per-intent log-likelihoods, marginal, P(malign), MC."""
    data = model_data(panel)
    move = np.where(data.observed, data.move, np.nan)
    paths = belief_recursion(
        move,
        out["l0"],
        out["w"],
        out["s"],
        float(out["beta"]),
        float(out["gamma"]),
        float(out["delta"]),
        out["cutpoints"],
    )
    b = paths.belief
    x = np.where(data.observed, data.move - 1.0, 0.0)
    n_dyads, _, n_years = move.shape
    ll = np.zeros((2, n_dyads, 2))
    for tau in (0, 1):
        for d in range(n_dyads):
            for i in (0, 1):
                for t in range(1, n_years):
                    if not data.observed[d, i, t]:
                        continue
                    eta = (
                        out["alpha"][d, i]
                        + out["beta"] * b[d, i, t - 1]
                        + out["gamma"] * x[d, 1 - i, t - 1]
                        + out["delta"] * tau
                    )
                    ll[tau, d, i] += log_prob(data.move[d, i, t], eta, out["cutpoints"])
    pi = float(out["pi"])
    marginal = np.logaddexp(np.log1p(-pi) + ll[0], np.log(pi) + ll[1])
    p_malign = np.exp(np.log(pi) + ll[1] - marginal)
    final = b[np.arange(n_dyads), :, data.last_period]
    return b, marginal, p_malign, final - p_malign[:, ::-1]


def test_model_has_design_names_coords_and_dims(free_model):
    model = free_model
    assert [rv.name for rv in model.free_RVs] == [
        "beta",
        "gamma",
        "pi",
        "intent_spread",
        "sigma_alpha",
        "z_alpha",
        "cutpoints_centred",
        "mu_l0",
        "sigma_l0",
        "z_l0",
        "mu_w",
        "sigma_w",
        "z_w",
        "mu_s",
        "sigma_s",
        "z_s",
    ]
    assert [rv.name for rv in model.observed_RVs] == ["move"]
    # DESIGN's cutpoints c and delta are recorded from the sampled reparametrisation.
    assert model["cutpoints"] in model.deterministics
    assert model["delta"] in model.deterministics
    assert model.named_vars_to_dims["cutpoints"] == ("cutpoint",)
    assert model.named_vars_to_dims["belief"] == ("dyad", "side", "year")
    for name in ("p_malign", "misplaced_certainty", "loglik_move", "w", "s", "z_w"):
        assert model.named_vars_to_dims[name] == ("dyad", "side")
    assert list(model.coords["dyad"]) == [f"sim{d:04d}" for d in range(N_DYADS)]
    assert list(model.coords["side"]) == [0, 1]
    # Dyad 2 starts 5 years late and is left-aligned: the longest series is 15.
    assert len(model.coords["year"]) == N_YEARS


@pytest.mark.parametrize("seed", [0, 1])
def test_model_equals_numpy_reference_at_random_points(free_model, evaluate, ragged_panel, seed):
    out = evaluate(_random_point(free_model, np.random.default_rng(seed)))
    b, marginal, p_malign, mc = _reference(ragged_panel, out)
    # Beliefs: the model-level check of the PyTensor recursion against NumPy.
    np.testing.assert_allclose(out["belief"], b, rtol=0, atol=1e-10)
    # The observed variable's log-density is the marginal per state, (dyad, side).
    assert out["move_logp"].shape == (N_DYADS, 2)
    np.testing.assert_allclose(out["move_logp"], marginal, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["loglik_move"], marginal, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["p_malign"], p_malign, rtol=0, atol=1e-10)
    np.testing.assert_allclose(out["misplaced_certainty"], mc, rtol=0, atol=1e-10)
    # Non-centred hierarchy: w = sigmoid(mu_w + sigma_w z_w).
    point = _random_point(free_model, np.random.default_rng(seed))
    sigma_w = np.exp(point["sigma_w_log__"])
    np.testing.assert_allclose(out["w"], expit(point["mu_w"] + sigma_w * point["z_w"]))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_centred_cutpoints_leave_the_log_density_unchanged(ragged_panel, seed):
    # c = c_tilde + mean(alpha) + beta * b_ref + gamma * x_ref is a shear with
    # unit Jacobian and the potential restores the prior of c, so the joint
    # log-density (priors, Jacobians of the transforms, likelihood) at a point
    # of the centred model equals the uncentred model's at the same c.
    from pymc.distributions.transforms import ordered

    centred = build_model(ragged_panel, "free", belief_method="scan")
    plain = build_model(ragged_panel, "free", belief_method="scan", centred_cutpoints=False)
    point = _random_point(centred, np.random.default_rng(seed))
    (c_graph,) = centred.replace_rvs_by_values([centred["cutpoints"]])
    c = centred.compile_fn(
        c_graph, inputs=centred.value_vars, point_fn=True, on_unused_input="ignore",
        mode="FAST_COMPILE",
    )(point)  # fmt: skip
    same = {k: v for k, v in point.items() if k != "cutpoints_centred_ordered__"}
    same["cutpoints_ordered__"] = ordered.forward(pt.as_tensor_variable(c)).eval()
    # The shift is not zero (so the test can fail) ...
    y = point["cutpoints_centred_ordered__"]
    c_tilde = np.cumsum(np.r_[y[0], np.exp(y[1:])])
    assert np.abs(c - c_tilde).min() > 1e-3
    # ... and the densities agree.
    for jacobian in (True, False):
        got = centred.compile_logp(jacobian=jacobian, mode="FAST_COMPILE")(point)
        want = plain.compile_logp(jacobian=jacobian, mode="FAST_COMPILE")(same)
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("variant", ["free", "mixture"])
def test_intent_spread_leaves_the_log_density_unchanged(ragged_panel, variant):
    # Sampling d = delta * sqrt(pi (1 - pi)) instead of delta: the potential adds
    # delta's prior and the Jacobian 1 / sqrt(pi (1 - pi)) of (pi, d) -> (pi, delta),
    # and log d carries the log transform's own Jacobian, so the density in the
    # sampler's unconstrained space is the plain model's at the same (pi, delta).
    spread = build_model(ragged_panel, variant)
    plain = build_model(ragged_panel, variant, intent_spread=False)
    assert "intent_spread" in spread.named_vars and "intent_spread" not in plain.named_vars
    for seed in (0, 1, 2):
        point = _random_point(spread, np.random.default_rng(seed))
        pi = expit(point["pi_logodds__"])
        d = np.exp(point["intent_spread_log__"])
        same = {k: v for k, v in point.items() if k != "intent_spread_log__"}
        same["delta_log__"] = np.log(d / np.sqrt(pi * (1 - pi)))
        got = spread.compile_logp(mode="FAST_COMPILE")(point)
        want = plain.compile_logp(mode="FAST_COMPILE")(same)
        # d(log delta) / d(log d) = 1, so the two unconstrained densities agree exactly.
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_centred_cutpoints_location_constants(ragged_panel):
    data = model_data(ragged_panel)
    x = np.where(data.observed, data.move - 1.0, 0.0)
    # x_ref by hand: the other's move one period earlier, over modelled cells.
    lags = [
        x[d, 1 - i, t - 1]
        for d in range(N_DYADS)
        for i in (0, 1)
        for t in range(1, data.n_years)
        if data.modelled[d, i, t]
    ]
    assert data.lag_reference == pytest.approx(np.mean(lags), abs=1e-14)
    # Fixed cutpoints are DESIGN's c, with no centring.
    variant = {
        **{k: v for k, v in _free_spec().items() if k != "priors"},
        "priors": {k: v for k, v in _free_spec()["priors"].items() if k != "cutpoints"},
        "fixed": {"cutpoints": [-1.0, 0.5, 2.0]},
    }
    model = build_model(ragged_panel, variant, belief_method="scan")
    assert "cutpoints_centred" not in model.named_vars
    np.testing.assert_array_equal(model["cutpoints"].eval(), [-1.0, 0.5, 2.0])


@pytest.mark.parametrize("centred", [True, False])
def test_cutpoints_prior_family_is_the_variants(ragged_panel, centred):
    # A StudentT cutpoints prior is a StudentT, centred or not (not silently Normal).
    spec = _free_spec()
    spec["priors"]["cutpoints"] = {
        "dist": "StudentT",
        "nu": 4.0,
        "mu": [-2.0, 0.5, 3.0],
        "sigma": 2.0,
    }
    model = build_model(ragged_panel, spec, belief_method="scan", centred_cutpoints=centred)
    name = "cutpoints_centred" if centred else "cutpoints"
    assert type(model[name].owner.op).__name__ == "StudentTRV"


def _free_spec():
    import tomllib
    from importlib.resources import files

    text = files("secdilemma.model").joinpath("variants/free.toml").read_text()
    return tomllib.loads(text)


def test_masking_and_first_period(ragged_panel):
    data = model_data(ragged_panel)
    value = data.observed_value()
    # Period 0 of every dyad is the baseline: never modelled.
    assert (value[:, :, 0] == NOT_MODELLED).all()
    # Missing moves are not modelled, observed ones are, unchanged.
    assert value[0, 1, 6] == NOT_MODELLED and value[1, 0, 2] == NOT_MODELLED
    raw = ragged_panel["move"].values
    np.testing.assert_array_equal(value[0, 0, 1:], raw[0, 0, 1:])
    # Dyad 2 is left-aligned: its period 0 is calendar year 5, its tail padded.
    assert data.first_year.tolist() == [0, 0, 5, 0]
    np.testing.assert_array_equal(value[2, :, 1:10], raw[2, :, 6:])
    assert (value[2, :, 10:] == NOT_MODELLED).all()
    # T_last: the last observed period of each dyad.
    assert data.last_period.tolist() == [14, 14, 9, 10]
    assert data.modelled.sum() == (~np.isnan(raw)).sum() - (~np.isnan(raw[:, :, 0])).sum() - 2


def test_fixed_variants_drop_their_hierarchies(ragged_panel):
    spec = _free_spec()
    for name in ("mu_w", "sigma_w", "mu_s", "sigma_s"):
        del spec["priors"][name]
    spec["fixed"] = {"w": 1.0, "s": 1.0}
    fixed = build_model(ragged_panel, spec, belief_method="scan")
    names = {rv.name for rv in fixed.free_RVs}
    assert not names & {"mu_w", "sigma_w", "z_w", "mu_s", "sigma_s", "z_s"}
    assert {"mu_l0", "sigma_l0", "z_l0", "z_alpha"} <= names
    assert (fixed["w"].eval() == 1).all() and (fixed["s"].eval() == 1).all()


def test_a_dyad_without_a_modelled_move_is_an_error(ragged_panel):
    # Issue 11 case 8: a dyad observed in one year only has nothing to fit.
    panel = ragged_panel.copy(deep=True)
    panel["move"][1, :, 1:] = np.nan
    with pytest.raises(ValueError, match=r"sim0001.*no modelled move"):
        model_data(panel)


def test_bad_variant_fails_before_building(ragged_panel):
    with pytest.raises(VariantError, match="unknown variant"):
        build_model(ragged_panel, "nonsense")


def test_ordered_logistic_logp_matches_numpy_and_stays_finite():
    # Extreme eta (a belief at certainty times a large beta) included: the
    # difference-of-sigmoids form would give log(0) = -inf for middle moves.
    eta = np.array([-60.0, -5.0, -0.3, 0.0, 1.7, 8.0, 60.0])
    c = np.array([-1.5, 1.0, 3.0])
    moves = np.arange(4)[:, None] * np.ones_like(eta, dtype=int)
    got = ordered_logistic_logp(
        pt.as_tensor_variable(moves), pt.as_tensor_variable(eta), pt.as_tensor_variable(c)
    ).eval()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, log_prob(moves, eta, c), rtol=1e-12, atol=1e-12)
    # And the four probabilities sum to one away from the extremes.
    np.testing.assert_allclose(np.exp(got).sum(axis=0)[1:-1], 1.0, atol=1e-12)
    # A move of -1 (not modelled) contributes nothing.
    assert ordered_logistic_logp(
        pt.as_tensor_variable(np.array([-1])),
        pt.as_tensor_variable(np.array([0.3])),
        pt.as_tensor_variable(c),
    ).eval().tolist() == [0.0]
