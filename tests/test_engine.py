"""The generative engine of secdilemma.core against a naive oracle and against the simulator.

``tests/naive.py`` is an independent reference written with plain loops and
``math`` (probabilities as differences of sigmoids, no shared code). The
engine must give the same moves from the same uniforms and the same beliefs,
evidence and likelihoods to 1e-12; vectorising over draws must change no bit
against a loop over draws; and ``simulate_dyads``, now a thin wrapper over
the engine, must still give the panel it gave before (golden values recorded
from the simulator at commit 8d0405e, before the engine existed).
"""

import hashlib

import numpy as np
import pytest

from secdilemma import ActionParams, belief_recursion, simulate_dyads
from secdilemma.core import action, ordered_logistic
from secdilemma.core.forward import forward
from tests import naive

S, D, T = 5, 3, 25


def draw_params(rng, n=S, n_dyads=D):
    """Per-draw parameters on the engine's frame (sample, 1, dyad, side) and as naive dicts."""
    frame = {
        "beta": rng.uniform(0.5, 3.0, (n, 1, 1)),
        "gamma": rng.uniform(0.0, 1.0, (n, 1, 1)),
        "delta": rng.uniform(0.3, 2.0, (n, 1, 1)),
        "pi": rng.uniform(0.2, 0.8, (n, 1, 1)),
        "cutpoints": np.sort(rng.normal([-1.5, 1.0, 3.0], 0.5, (n, 1, 1, 3)), axis=-1),
        "alpha": rng.normal(0, 0.5, (n, n_dyads, 2)),
        "l0": rng.normal(0, 2.0, (n, n_dyads, 2)),
        "w": rng.uniform(0.05, 1.0, (n, n_dyads, 2)),
        "s": rng.uniform(0.0, 1.0, (n, n_dyads, 2)),
    }
    dicts = [
        {
            "beta": float(frame["beta"][k, 0, 0]),
            "gamma": float(frame["gamma"][k, 0, 0]),
            "delta": float(frame["delta"][k, 0, 0]),
            "pi": float(frame["pi"][k, 0, 0]),
            "cutpoints": frame["cutpoints"][k, 0, 0].tolist(),
            **{name: frame[name][k].tolist() for name in ("alpha", "l0", "w", "s")},
        }
        for k in range(n)
    ]
    return frame, dicts


def engine_kwargs(frame):
    return {k: frame[k] for k in ("alpha", "beta", "gamma", "delta", "cutpoints", "l0", "w", "s")}


def ragged_mask(rng, n_dyads=D, n_years=T):
    observed = rng.random((n_dyads, 2, n_years)) > 0.15
    observed[0, :, 18:] = False  # dyad 0 is 18 years long, padded
    observed[1, 0, 0] = False  # first year of one side missing
    return observed


@pytest.mark.parametrize("n_given", [0, 1, 7])
def test_forward_matches_the_naive_reference(rng, n_given):
    frame, dicts = draw_params(rng)
    tau = rng.integers(0, 2, (S, D, 2))
    observed = ragged_mask(rng)
    given = rng.integers(0, 4, (D, 2, T))
    uniforms = rng.random((T, S, D, 2))
    run = forward(
        **engine_kwargs(frame), tau=tau, uniforms=uniforms, observed=observed,
        given_move=given, n_given=n_given,
    )  # fmt: skip
    assert run.move.shape == run.log_odds.shape == (S, D, 2, T)
    for k in range(S):
        move, log_odds, evidence = naive.forward(
            dicts[k], tau[k].tolist(), uniforms[:, k].tolist(), observed.tolist(), given.tolist(),
            n_given,
        )  # fmt: skip
        np.testing.assert_array_equal(run.move[k], move)
        np.testing.assert_allclose(run.log_odds[k], log_odds, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(run.evidence[k], evidence, rtol=1e-12, atol=1e-12)
    # Given years are the given moves; masked cells carry no evidence for the other.
    np.testing.assert_array_equal(
        run.move[..., :n_given], np.broadcast_to(given, run.move.shape)[..., :n_given]
    )
    seen_by_other = np.broadcast_to(observed[:, ::-1], run.evidence.shape)
    assert np.all(run.evidence[~seen_by_other] == 0)
    assert np.isnan(run.move_or_nan()[:, ~observed]).all()


def test_vectorising_over_draws_changes_no_bit(rng):
    frame, _ = draw_params(rng)
    tau = rng.integers(0, 2, (S, D, 2))
    observed = ragged_mask(rng)
    uniforms = rng.random((T, S, D, 2))
    together = forward(**engine_kwargs(frame), tau=tau, uniforms=uniforms, observed=observed)
    for k in range(S):
        one = {
            name: (value[k, 0, 0] if name == "cutpoints" else value[k])
            for name, value in engine_kwargs(frame).items()
        }
        for name in ("beta", "gamma", "delta"):
            one[name] = float(one[name].squeeze())
        alone = forward(**one, tau=tau[k], uniforms=uniforms[:, k], observed=observed)
        np.testing.assert_array_equal(together.move[k], alone.move)
        np.testing.assert_array_equal(together.log_odds[k], alone.log_odds)
    # The reference recursion with per-draw parameters: the same bits as one call per draw.
    move = np.where(observed, rng.integers(0, 4, (D, 2, T)), np.nan)
    args = [frame[k] for k in ("l0", "w", "s", "beta", "gamma", "delta", "cutpoints")]
    paths = belief_recursion(move, *args)
    assert paths.log_odds.shape == (S, D, 2, T)
    for k in range(S):
        scalars = [float(a[k].squeeze()) for a in args[3:6]]
        one = belief_recursion(move, args[0][k], args[1][k], args[2][k], *scalars, args[6][k, 0, 0])
        np.testing.assert_array_equal(paths.log_odds[k], one.log_odds)


def test_per_draw_cutpoints_agree_bitwise_with_shared_ones(rng):
    c = np.sort(rng.normal(size=(4, 1, 3)), axis=-1)
    eta = rng.normal(0, 3, (4, 7))
    move = rng.integers(0, 4, (4, 7))
    together = ordered_logistic.log_prob(move, eta, c)
    for k in range(4):
        np.testing.assert_array_equal(
            together[k], ordered_logistic.log_prob(move[k], eta[k], c[k, 0])
        )
    # from_uniform inverts the CDF: P(m <= k) = sigmoid(c[k] - eta).
    u = rng.random((4, 7))
    drawn = ordered_logistic.from_uniform(eta, c, u)
    cdf = np.cumsum(np.exp(ordered_logistic.log_prob_all(eta, c)), axis=-1)
    np.testing.assert_array_equal(drawn, (u[..., None] > cdf[..., :3]).sum(-1))


def test_simulate_dyads_is_the_engine_and_unchanged():
    # simulate_dyads = forward with year 0 drawn, every move observed, and the
    # uniforms the simulator has always drawn (one (dyad, side) array per year).
    panel = simulate_dyads(20, 15, beliefs="insensible", seed=11)
    uniforms = np.random.default_rng(11).random((15, 20, 2))
    run = forward(
        alpha=0.0, beta=2.0, gamma=0.6, delta=1.0, cutpoints=(-1.5, 1.0, 3.0),
        tau=0, l0=0.0, w=1.0, s=0.0, uniforms=uniforms,
    )  # fmt: skip
    np.testing.assert_array_equal(panel["move"].values, run.move)
    np.testing.assert_array_equal(panel["log_odds"].values, run.log_odds)
    # Golden values of the simulator before it became a wrapper (commit 8d0405e).
    moves = panel["move"].values.astype(np.int8)
    assert hashlib.sha256(moves.tobytes()).hexdigest() == (
        "67a11c05244c27822ea026083729f40c47ee048b316449a8dc68aecd9f77c11d"
    )
    lo = panel["log_odds"].values
    np.testing.assert_allclose(
        [lo[0, 0, -1], lo[0, 1, -1], lo[7, 1, 5], lo[19, 0, 14]],
        [-0.32807534846810693, -2.066003421274407, 3.848525716570402, 4.947197460408404],
        rtol=1e-14,
    )
    # And the naive oracle agrees on the same uniforms.
    p = {
        "beta": 2.0, "gamma": 0.6, "delta": 1.0, "cutpoints": [-1.5, 1.0, 3.0],
        **{k: [[v, v]] * 20 for k, v in (("alpha", 0.0), ("l0", 0.0), ("w", 1.0), ("s", 0.0))},
    }  # fmt: skip
    move, log_odds, _ = naive.forward(p, [[0, 0]] * 20, uniforms.tolist(), [[[True] * 15] * 2] * 20)
    np.testing.assert_array_equal(moves, move)
    np.testing.assert_allclose(lo, log_odds, rtol=1e-12, atol=1e-12)


def test_simulate_dyads_with_every_option_matches_the_oracle(rng):
    n = 6
    beliefs = {
        "l0": rng.normal(0, 1.5, (n, 2)),
        "w": rng.uniform(0.1, 1, (n, 2)),
        "s": rng.uniform(0, 1, (n, 2)),
    }
    tau = rng.integers(0, 2, (n, 2))
    alpha = rng.normal(0, 0.5, (n, 2))
    act = ActionParams(beta=1.5, gamma=0.4, delta=1.2, cutpoints=(-1.0, 0.5, 2.5))
    panel = simulate_dyads(n, 30, beliefs=beliefs, intent=tau, action=act, alpha=alpha, seed=5)
    p = {
        "beta": 1.5, "gamma": 0.4, "delta": 1.2, "cutpoints": [-1.0, 0.5, 2.5],
        "alpha": alpha.tolist(), **{k: v.tolist() for k, v in beliefs.items()},
    }  # fmt: skip
    uniforms = np.random.default_rng(5).random((30, n, 2)).tolist()
    move, log_odds, evidence = naive.forward(p, tau.tolist(), uniforms, [[[True] * 30] * 2] * n)
    np.testing.assert_array_equal(panel["move"].values, move)
    np.testing.assert_allclose(panel["log_odds"].values, log_odds, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(panel["evidence"].values, evidence, rtol=1e-12, atol=1e-12)


def test_likelihood_per_configuration_matches_the_naive_reference(rng):
    # Two regimes for each side: K = 4 configurations on the (sample, configuration,
    # dyad, side) frame, with per-draw shared parameters.
    frame, dicts = draw_params(rng)
    observed = ragged_mask(rng)
    move = np.where(observed, rng.integers(0, 4, (D, 2, T)), 0)
    modelled = observed.copy()
    modelled[:, :, 0] = False
    regimes = rng.uniform(size=(S, 2, 3)) * [4.0, 0.9, 1.0] + [-2.0, 0.1, 0.0]  # l0, w, s
    table = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    belief_params = {
        name: np.broadcast_to(regimes[:, table, p][:, :, None, :], (S, 4, D, 2))
        for p, name in enumerate(("l0", "w", "s"))
    }
    share = rng.dirichlet([2, 2], S)
    log_prior = (np.log(share)[:, table[:, 0]] + np.log(share)[:, table[:, 1]])[:, :, None]
    shared = {k: frame[k][:, None] for k in ("beta", "gamma", "delta", "pi")}
    cutpoints = frame["cutpoints"][:, None]
    alpha = frame["alpha"][:, None]
    paths = belief_recursion(
        np.where(observed, move, np.nan), belief_params["l0"], belief_params["w"],
        belief_params["s"], shared["beta"], shared["gamma"], shared["delta"], cutpoints,
    )  # fmt: skip
    ll = action.intent_log_likelihoods(
        move, modelled, observed, paths.belief, alpha, shared["beta"], shared["gamma"],
        shared["delta"], cutpoints,
    )  # fmt: skip
    marginal = action.marginal_log_likelihood(ll, shared["pi"])
    p_malign = action.p_malign(ll, shared["pi"])
    config_ll = action.configuration_log_likelihood(marginal, log_prior)
    weights = action.configuration_weights(config_ll)
    dyad_ll = action.dyad_log_likelihood(config_ll)
    for k in range(S):
        configurations = [
            {
                **{n: belief_params[n][k, c].tolist() for n in ("l0", "w", "s")},
                "log_prior": float(log_prior[k, c, 0]),
            }
            for c in range(4)
        ]
        ref = naive.dyad_likelihood(move.tolist(), observed.tolist(), dicts[k], configurations)
        np.testing.assert_allclose(paths.belief[k], ref["belief"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(ll[k], ref["ll"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(marginal[k], ref["marginal"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(p_malign[k], ref["p_malign"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(weights[k], ref["weights"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(dyad_ll[k], ref["dyad_ll"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_categorical_inversion():
    weights = np.array([0.2, 0.5, 0.3])[:, None]  # categories on axis 0, one element
    u = np.array([[0.0], [0.19], [0.2001], [0.69], [0.7001], [0.999999]])
    got = [int(action.categorical_from_uniform(weights, ui, axis=0)[0]) for ui in u]
    assert got == [0, 0, 1, 1, 2, 2]
    # Rounding that leaves the cumulative sum below 1 never yields a category K.
    assert (
        action.categorical_from_uniform(np.array([[0.5], [0.5 - 1e-17]]), np.array([1 - 1e-17]), 0)
        == 1
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("beta", -1.0, "beta: fear must be > 0"),
        ("gamma", -0.1, "gamma: reactivity must be >= 0"),
        ("delta", 0.0, "delta: malign escalation must be > 0"),
        ("beta", np.nan, "beta: must be finite"),
        ("cutpoints", [0.0, 0.0, 1.0], "cutpoints: must be strictly increasing"),
    ],
)
def test_per_draw_action_parameters_are_checked(rng, name, value, message):
    # One bad draw among several is named (a per-draw array takes the elementwise path).
    frame, _ = draw_params(rng)
    frame[name] = frame[name].copy()
    frame[name][2] = value
    args = [frame[k] for k in ("l0", "w", "s", "beta", "gamma", "delta", "cutpoints")]
    with pytest.raises(ValueError, match=message):
        belief_recursion(np.ones((D, 2, 4)), *args)
