"""The observer-regime models (DESIGN §4 "Observer regimes") against NumPy, at fixed points.

The reference marginalises the regimes by hand: for every joint configuration
``(r0, r1)`` of a dyad's two sides it runs the NumPy belief recursion
(:func:`secdilemma.core.recursion.belief_recursion`) with that configuration's
``l0, w, s``, sums the ordered-logistic log-probabilities per intent, and
combines them with ``numpy.logaddexp`` / ``scipy.special.logsumexp``: DESIGN's
equations written a second time, with loops instead of tiling.
"""

import numpy as np
import pymc as pm
import pytest
from scipy.special import logsumexp

from secdilemma import simulate_dyads
from secdilemma.core.ordered_logistic import log_prob
from secdilemma.core.recursion import belief_recursion
from secdilemma.model import schema
from secdilemma.model.builder import DATA_NAMES, build_model, model_data
from tests.test_model_builder import _random_point

PARAMS = ("alpha", "beta", "gamma", "delta", "cutpoints", "pi")


def _sequence_ll(data, l0, w, s, out):
    """Belief paths and ll[tau, dyad, side] for one set of per-state l0, w, s."""
    move = np.where(data.observed, data.move, np.nan)
    beta, gamma, delta = (float(out[k]) for k in ("beta", "gamma", "delta"))
    b = belief_recursion(move, l0, w, s, beta, gamma, delta, out["cutpoints"]).belief
    x = np.where(data.observed, data.move - 1.0, 0.0)
    n_dyads, _, n_years = move.shape
    ll = np.zeros((2, n_dyads, 2))
    for tau in (0, 1):
        for d in range(n_dyads):
            for i in (0, 1):
                for t in range(1, n_years):
                    if data.modelled[d, i, t]:
                        eta = (
                            out["alpha"][d, i] + beta * b[d, i, t - 1]
                            + gamma * x[d, 1 - i, t - 1] + delta * tau
                        )  # fmt: skip
                        ll[tau, d, i] += log_prob(data.move[d, i, t], eta, out["cutpoints"])
    return b, ll


def _mixture_reference(panel, out, regimes):
    """log p(m[d]), configuration weights, p_regime, p_malign and belief by hand."""
    data = model_data(panel)
    n_dyads = len(data.dyad)
    pi = np.asarray(out["pi"], dtype=float)
    pi = pi[:, None] if pi.ndim else pi  # grouped: one share per dyad
    share = np.atleast_2d(out["regime_share"])  # (1 or dyad, R)
    configs = [(a, b) for a in range(len(regimes)) for b in range(len(regimes))]
    joint, p_malign_k, belief_k = [], [], []
    for a, b in configs:
        pick = np.array([a, b])
        l0, w, s = (
            np.broadcast_to(out[f"regime_{p}"][pick], (n_dyads, 2)) for p in "l0 w s".split()
        )
        belief, ll = _sequence_ll(data, l0, w, s, out)
        marginal = np.logaddexp(np.log1p(-pi) + ll[0], np.log(pi) + ll[1])  # (dyad, side)
        joint.append(np.log(share[:, a]) + np.log(share[:, b]) + marginal.sum(axis=1))
        p_malign_k.append(np.exp(np.log(pi) + ll[1] - marginal))
        belief_k.append(belief)
    joint = np.stack(joint, axis=1)  # (dyad, K)
    loglik = logsumexp(joint, axis=1)
    weight = np.exp(joint - loglik[:, None])
    p_regime = np.zeros((n_dyads, 2, len(regimes)))
    for k, (a, b) in enumerate(configs):
        p_regime[:, 0, a] += weight[:, k]
        p_regime[:, 1, b] += weight[:, k]
    p_malign = np.einsum("dk,kdi->di", weight, np.stack(p_malign_k))
    belief = np.einsum("dk,kdit->dit", weight, np.stack(belief_k))
    return loglik, weight, p_regime, p_malign, belief


@pytest.fixture(scope="module")
def panel():
    """4 dyads x 12 years, mixed regimes and intents, with missing moves."""
    beliefs = {
        "l0": np.array([[0.0, 1.7], [1.7, 1.7], [0.0, 0.0], [1.7, 0.0]]),
        "w": np.array([[1.0, 0.4], [0.4, 0.4], [1.0, 1.0], [0.4, 1.0]]),
        "s": np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]]),
    }
    intent = np.array([[0, 1], [1, 0], [0, 0], [1, 1]])
    panel = simulate_dyads(4, 12, beliefs=beliefs, intent=intent, seed=5)
    panel["move"][0, 1, 4] = np.nan
    panel["move"][3, :, -3:] = np.nan
    return panel


def _evaluate(model, names, point):
    outs = model.replace_rvs_by_values([model[n] for n in names])
    move_logp = model.logp(vars=[model["move"]], sum=False)[0]
    fn = model.compile_fn(
        [*outs, move_logp], inputs=model.value_vars, point_fn=True, mode="FAST_COMPILE",
        on_unused_input="ignore",
    )  # fmt: skip
    return dict(zip([*names, "move_logp"], fn(point), strict=True))


@pytest.mark.parametrize(("seed", "method"), [(0, "op"), (1, "op"), (2, "scan")])
def test_mixture_equals_numpy_reference(panel, seed, method):
    model = build_model(panel, "mixture", belief_method=method)
    names = [
        *PARAMS, "regime_l0", "regime_w", "regime_s", "regime_share", "configuration_weight",
        "p_regime", "p_misplaced", "p_malign", "belief", "loglik_move",
    ]  # fmt: skip
    out = _evaluate(model, names, _random_point(model, np.random.default_rng(seed)))
    regimes = ("sensible", "misplaced_certainty")
    loglik, weight, p_regime, p_malign, belief = _mixture_reference(panel, out, regimes)
    # One likelihood term per dyad: the two sides are coupled through the regimes.
    assert out["move_logp"].shape == (4,)
    np.testing.assert_allclose(out["move_logp"], loglik, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["loglik_move"], loglik, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["configuration_weight"], weight, atol=1e-10)
    np.testing.assert_allclose(out["p_regime"], p_regime, atol=1e-10)
    np.testing.assert_allclose(out["p_misplaced"], p_regime[:, :, 1], atol=1e-10)
    np.testing.assert_allclose(out["p_malign"], p_malign, atol=1e-10)
    np.testing.assert_allclose(out["belief"], belief, atol=1e-10)
    # The fixed regime values are recorded; the sensible regime reads fully (s = 1).
    np.testing.assert_array_equal(out["regime_w"][0], 1.0)
    np.testing.assert_array_equal(out["regime_s"], [1.0, 0.0])
    np.testing.assert_allclose(out["regime_share"].sum(), 1.0)
    # The weights are not degenerate at this point (so the test can fail).
    assert (weight.max(axis=1) < 1 - 1e-6).any()


def test_mixture_names_dims_and_free_variables(panel):
    model = build_model(panel, "mixture")
    free = {rv.name for rv in model.free_RVs}
    assert {"l0_sensible", "l0_misplaced_certainty", "w_misplaced_certainty", "rho"} <= free
    assert not free & {"mu_l0", "z_l0", "w_sensible", "s_sensible", "s_misplaced_certainty"}
    dims = model.named_vars_to_dims
    assert dims["configuration_weight"] == (schema.DYAD, schema.CONFIGURATION)
    assert dims["p_regime"] == (schema.DYAD, schema.SIDE, schema.REGIME)
    assert dims["loglik_move"] == (schema.DYAD,)
    assert list(model.coords["configuration"]) == [
        "sensible|sensible",
        "sensible|misplaced_certainty",
        "misplaced_certainty|sensible",
        "misplaced_certainty|misplaced_certainty",
    ]


@pytest.mark.parametrize(("variant", "regime"), [("sensible", 0), ("misplaced_certainty", 1)])
def test_pure_variants_are_the_mixtures_ends(panel, variant, regime):
    # rho fixed at 0 (1) leaves one regime: its states all sensible (misplaced),
    # one configuration, and the likelihood of every state as in the mixture's
    # all-sensible (all-misplaced) configuration: the models nest.
    model = build_model(panel, variant)
    assert list(model.coords["regime"]) == [("sensible", "misplaced_certainty")[regime]]
    free = {rv.name for rv in model.free_RVs}
    assert "rho" not in free
    names = [*PARAMS, "regime_l0", "regime_w", "regime_s", "loglik_move", "p_malign", "belief"]
    out = _evaluate(model, names, _random_point(model, np.random.default_rng(3)))
    data = model_data(panel)
    l0, w, s = (np.full((4, 2), out[f"regime_{p}"][0]) for p in ("l0", "w", "s"))
    belief, ll = _sequence_ll(data, l0, w, s, out)
    pi = float(out["pi"])
    marginal = np.logaddexp(np.log1p(-pi) + ll[0], np.log(pi) + ll[1])
    # One configuration: the sides are not coupled, one term per state.
    np.testing.assert_allclose(out["loglik_move"], marginal, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["p_malign"], np.exp(np.log(pi) + ll[1] - marginal), atol=1e-10)
    np.testing.assert_allclose(out["belief"], belief, atol=1e-10)
    if variant == "sensible":
        assert "p_misplaced" in model.named_vars
        assert (model["p_misplaced"].eval() == 0).all()


def test_data_swap_gives_the_other_panels_log_density(panel):
    # Compile once, swap the moves (pm.Data): the log-density is the one a model
    # built on the new panel gives. This is what lets SBC refit without recompiling.
    other = simulate_dyads(4, 12, beliefs="misplaced_certainty", seed=9)
    model = build_model(panel, "mixture")
    rebuilt = build_model(other, "mixture")
    point = _random_point(model, np.random.default_rng(4))
    logp = model.compile_logp()
    before = logp(point)
    with model:
        pm.set_data(model_data(other).data_values())
    after = logp(point)
    assert after != pytest.approx(before)
    assert after == pytest.approx(rebuilt.compile_logp()(point), rel=1e-12)
    assert set(DATA_NAMES.values()) <= set(model.named_vars)


def test_grouped_shares_equal_the_reference_with_each_dyads_share(panel):
    # pi and rho vary by group (issue 12): dyads 0, 2 in one group, 1, 3 in the
    # other; each dyad's likelihood uses its group's shares.
    grouped = panel.assign_coords(region=("dyad", ["Europe", "Asia", "Europe", "Asia"]))
    model = build_model(grouped, "mixture", group_by="region")
    assert list(model.coords["group"]) == ["Asia", "Europe"]
    assert {"mu_pi", "sigma_pi", "z_pi", "mu_rho", "sigma_rho", "z_rho"} <= {
        rv.name for rv in model.free_RVs
    }
    names = [*PARAMS, "regime_l0", "regime_w", "regime_s", "regime_share", "pi_group",
             "rho_group", "p_malign", "loglik_move"]  # fmt: skip
    out = _evaluate(model, names, _random_point(model, np.random.default_rng(5)))
    # Each dyad's shares are its group's, and the groups differ at this point.
    np.testing.assert_allclose(out["pi"], out["pi_group"][[1, 0, 1, 0]])
    np.testing.assert_allclose(out["regime_share"][:, 1], out["rho_group"][[1, 0, 1, 0]])
    assert abs(out["pi_group"][0] - out["pi_group"][1]) > 1e-3
    loglik, _, _, p_malign, _ = _mixture_reference(
        grouped, out, ("sensible", "misplaced_certainty")
    )
    np.testing.assert_allclose(out["loglik_move"], loglik, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(out["p_malign"], p_malign, atol=1e-10)


def test_unknown_grouping_attribute_is_named(panel):
    with pytest.raises(ValueError, match="'continent'"):
        build_model(panel, "mixture", group_by="continent")
