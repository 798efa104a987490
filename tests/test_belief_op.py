"""The PyTensor belief recursion (scan baseline and compiled Op) against NumPy.

Reference: :func:`secdilemma.core.recursion.belief_recursion` (an independent NumPy
implementation of DESIGN §3). Gradients are checked against central finite
differences of the compiled function, in float64.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.special import expit

from secdilemma.core.ordered_logistic import log_prob
from secdilemma.core.recursion import belief_recursion
from secdilemma.model.belief_op import BeliefRecursion, action_log_likelihoods, belief_log_odds

PARAMS = ("l0", "w", "s", "beta", "gamma", "delta", "cutpoints")
N_DYADS, N_YEARS = 5, 18


def random_panel(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Moves with scattered missing values and two padded (shorter) dyads."""
    move = rng.integers(0, 4, size=(N_DYADS, 2, N_YEARS))
    observed = rng.random(move.shape) > 0.15
    observed[3, :, 11:] = False  # dyad 3 is 11 years long (padded)
    observed[4, :, 6:] = False  # dyad 4 is 6 years long
    observed[1, 0, 4:7] = False  # a gap on one side only
    move[~observed] = 99  # arbitrary placeholder where unobserved
    return move, observed


def random_params(rng: np.random.Generator, *, s_zero: bool = False) -> dict[str, np.ndarray]:
    """Heterogeneous parameters: w < 1 and w = 1, s in (0, 1), s = 0 and s = 1."""
    s = rng.uniform(0.05, 0.95, size=(N_DYADS, 2))
    s[0, 0], s[2, 1] = 0.0, 1.0
    w = rng.uniform(0.1, 0.95, size=(N_DYADS, 2))
    w[1, 1] = 1.0
    return {
        "l0": rng.normal(0.0, 2.0, size=(N_DYADS, 2)),
        "w": w,
        "s": np.zeros_like(s) if s_zero else s,
        "beta": np.float64(rng.uniform(0.5, 2.5)),
        "gamma": np.float64(rng.uniform(0.1, 1.0)),
        "delta": np.float64(rng.uniform(0.5, 1.5)),
        "cutpoints": np.sort(rng.normal(0.0, 1.5, size=3)) + np.array([-0.5, 0.0, 0.5]),
    }


def numpy_log_odds(move: np.ndarray, observed: np.ndarray, p: dict) -> np.ndarray:
    """The NumPy reference, with NaN for missing moves."""
    nan_move = np.where(observed, move, np.nan)
    return belief_recursion(
        nan_move, p["l0"], p["w"], p["s"], p["beta"], p["gamma"], p["delta"], p["cutpoints"]
    ).log_odds


def compile_recursion(
    move: np.ndarray, observed: np.ndarray, method: str, mode: str | None = None
) -> Callable[..., list[np.ndarray]]:
    """Compile ``params -> [l, dL/dparams...]`` with ``L = sum(l * weights)``."""
    inputs = [
        pt.dmatrix("l0"),
        pt.dmatrix("w"),
        pt.dmatrix("s"),
        pt.dscalar("beta"),
        pt.dscalar("gamma"),
        pt.dscalar("delta"),
        pt.dvector("cutpoints"),
    ]
    weights = pt.tensor3("weights", dtype="float64")
    log_odds = belief_log_odds(move, observed, *inputs, method=method)
    loss = (log_odds * weights).sum()
    fn = pytensor.function([*inputs, weights], [log_odds, *pytensor.grad(loss, inputs)], mode=mode)
    return lambda p, wts: fn(*(p[k] for k in PARAMS), wts)


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


@pytest.fixture(scope="module")
def panel(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return random_panel(rng)


@pytest.fixture(scope="module")
def weights(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(size=(N_DYADS, 2, N_YEARS))


@pytest.fixture(scope="module")
def compiled(panel: tuple[np.ndarray, np.ndarray]) -> dict[str, Callable]:
    move, observed = panel
    return {m: compile_recursion(move, observed, m) for m in ("op", "scan")}


@pytest.mark.parametrize("method", ["op", "scan"])
@pytest.mark.parametrize("s_zero", [False, True])
def test_matches_numpy_recursion(
    compiled: dict,
    panel: tuple,
    rng: np.random.Generator,
    weights: np.ndarray,
    method: str,
    s_zero: bool,
) -> None:
    params = random_params(rng, s_zero=s_zero)
    expected = numpy_log_odds(*panel, params)
    log_odds = compiled[method](params, weights)[0]
    assert log_odds.shape == (N_DYADS, 2, N_YEARS)
    np.testing.assert_allclose(log_odds, expected, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(log_odds[:, :, 0], params["l0"])
    # Padded years leave beliefs where they were.
    np.testing.assert_array_equal(log_odds[4, :, 6:], log_odds[4, :, 5:6].repeat(12, axis=1))


def test_perform_matches_numba_linker(panel: tuple, rng: np.random.Generator) -> None:
    """The Python ``perform`` (FAST_COMPILE, py linker) gives the same values and gradient."""
    params = random_params(rng)
    wts = rng.normal(size=(N_DYADS, 2, N_YEARS))
    via_perform = compile_recursion(*panel, "op", mode="FAST_COMPILE")(params, wts)
    via_numba = compile_recursion(*panel, "op", mode="NUMBA")(params, wts)
    for a, b in zip(via_perform, via_numba, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


def test_numba_linker_does_not_fall_back_to_object_mode(panel: tuple) -> None:
    """All three Ops have numba implementations: no object-mode warning when compiling."""
    move, observed = panel
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*object mode.*")
        compile_recursion(move, observed, "op", mode="NUMBA")
        inputs = [pt.tensor3(dtype="float64"), pt.dmatrix(), pt.dvector()]
        log_odds, alpha, cutpoints = inputs
        ll_benign, _ = action_log_likelihoods(
            move, observed, observed, log_odds, alpha, 1.0, 0.5, 1.0, cutpoints
        )
        pytensor.function(inputs, pytensor.grad(ll_benign.sum(), inputs), mode="NUMBA")


@pytest.mark.parametrize("s_zero", [False, True])
def test_gradient_matches_finite_differences(
    compiled: dict, rng: np.random.Generator, weights: np.ndarray, s_zero: bool
) -> None:
    """Central differences, step 1e-6 in float64: error ~1e-9, tolerance 1e-6 (relative)."""
    params = random_params(rng, s_zero=s_zero)
    fn = compiled["op"]
    analytic = dict(zip(PARAMS, fn(params, weights)[1:], strict=True))

    def loss(p: dict) -> float:
        return float((fn(p, weights)[0] * weights).sum())

    step = 1e-6
    for name in PARAMS:
        value = np.asarray(params[name], dtype=float)
        numeric = np.empty(value.shape)
        for idx in np.ndindex(value.shape):
            shifted = []
            for sign in (1.0, -1.0):
                v = value.copy()
                v[idx] += sign * step
                shifted.append(loss({**params, name: v if v.ndim else np.float64(v)}))
            numeric[idx] = (shifted[0] - shifted[1]) / (2 * step)
        scale = max(1.0, float(np.abs(numeric).max()))
        np.testing.assert_allclose(
            analytic[name], numeric, rtol=0, atol=1e-6 * scale, err_msg=f"d/d{name}"
        )
    if s_zero:  # s = 0: readers ignore fear and reaction, so beta and gamma drop out
        assert analytic["beta"] == 0.0 and analytic["gamma"] == 0.0
        assert np.any(analytic["s"] != 0.0)


@pytest.mark.parametrize("s_zero", [False, True])
def test_op_gradient_equals_scan_gradient(
    compiled: dict, rng: np.random.Generator, weights: np.ndarray, s_zero: bool
) -> None:
    params = random_params(rng, s_zero=s_zero)
    via_op = compiled["op"](params, weights)
    via_scan = compiled["scan"](params, weights)
    for name, a, b in zip(("log_odds", *PARAMS), via_op, via_scan, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("method", ["op", "scan"])
@pytest.mark.parametrize(
    ("beta", "delta"),
    [(60.0, 12.0), (400.0, 12.0), (2.0, 350.0)],
    ids=["large", "beyond-fast-range-u", "beyond-fast-range-delta"],
)
def test_extreme_certainty_is_finite(
    compiled: dict,
    panel: tuple,
    rng: np.random.Generator,
    weights: np.ndarray,
    method: str,
    beta: float,
    delta: float,
) -> None:
    """Beliefs at 1 - 1e-15 (l0 = +-35), huge beta or delta: finite values and gradients.

    beta = 400 or delta = 350 push the Op off its ratio fast path (|u|, |delta| < 300)
    onto the general log-sigmoid form; both must agree with NumPy.
    """
    params = random_params(rng)
    params["l0"] = np.where(rng.random((N_DYADS, 2)) < 0.5, 35.0, -35.0)
    params["beta"] = np.float64(beta)
    params["delta"] = np.float64(delta)
    out = compiled[method](params, weights)
    for name, value in zip(("log_odds", *PARAMS), out, strict=True):
        assert np.all(np.isfinite(value)), name
    np.testing.assert_allclose(out[0], numpy_log_odds(*panel, params), rtol=1e-12, atol=1e-9)


def test_fast_and_general_paths_agree(
    compiled: dict, rng: np.random.Generator, weights: np.ndarray
) -> None:
    """Values and gradients just inside and just outside the fast range agree (op vs scan)."""
    params = random_params(rng)
    params["delta"] = np.float64(299.9)  # fast path
    inside = compiled["op"](params, weights)
    params["delta"] = np.float64(300.1)  # general path
    outside = compiled["op"](params, weights)
    reference = compiled["scan"](params, weights)
    for a, b in zip(outside, reference, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-8)
    assert all(np.all(np.isfinite(v)) for v in inside)


def test_graph_is_one_op_node(panel: tuple) -> None:
    """``method='op'`` puts no scan in the graph: one BeliefRecursion node."""
    move, observed = panel
    l0 = pt.dmatrix("l0")
    out = belief_log_odds(
        move, observed, l0, l0, l0, pt.dscalar(), pt.dscalar(), pt.dscalar(), pt.dvector()
    )
    assert isinstance(out.owner.op, BeliefRecursion)


def test_rejects_bad_input(panel: tuple) -> None:
    move, observed = panel
    args = (pt.dmatrix(), pt.dmatrix(), pt.dmatrix(), 1.0, 0.5, 1.0, pt.dvector())
    with pytest.raises(ValueError, match="method"):
        belief_log_odds(move, observed, *args, method="jax")
    with pytest.raises(ValueError, match="shape"):
        belief_log_odds(move, observed[:, :, :-1], *args)
    bad = np.where(observed, move, 0)
    bad[0, 0, 0], observed_bad = 4, observed.copy()
    observed_bad[0, 0, 0] = True
    with pytest.raises(ValueError, match=r"0\.\.3"):
        belief_log_odds(bad, observed_bad, *args)


# --------------------------------------------------------------------------
# The fused action likelihood, against NumPy (secdilemma.core.ordered_logistic).
# --------------------------------------------------------------------------

ACTION_INPUTS = ("log_odds", "alpha", "beta", "gamma", "delta", "cutpoints")


def numpy_action_log_likelihoods(
    move: np.ndarray, observed: np.ndarray, p: dict
) -> tuple[np.ndarray, np.ndarray]:
    """DESIGN §3 action model: per-state sums over modelled years (t >= 1)."""
    x = np.where(observed, move - 1.0, 0.0)
    x_other = x[:, ::-1]
    eta = (
        p["alpha"][:, :, None]
        + p["beta"] * expit(p["log_odds"][:, :, :-1])
        + p["gamma"] * x_other[:, :, :-1]
    )
    modelled = observed[:, :, 1:]
    return tuple(
        np.where(
            modelled, log_prob(move[:, :, 1:], eta + p["delta"] * tau, p["cutpoints"]), 0.0
        ).sum(axis=-1)
        for tau in (0, 1)
    )


def random_action_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "log_odds": rng.normal(0.0, 4.0, size=(N_DYADS, 2, N_YEARS)),
        "alpha": rng.normal(0.0, 0.5, size=(N_DYADS, 2)),
        "beta": np.float64(rng.uniform(0.5, 2.5)),
        "gamma": np.float64(rng.uniform(0.1, 1.0)),
        "delta": np.float64(rng.uniform(0.5, 1.5)),
        "cutpoints": np.sort(rng.normal(0.0, 1.5, size=3)) + np.array([-0.5, 0.0, 0.5]),
    }


@pytest.fixture(scope="module")
def compiled_action(panel: tuple) -> Callable:
    """``params -> [ll_benign, ll_malign, dL/dparams...]``, ``L = sum(wts * ll)``."""
    move, observed = panel
    modelled = observed.copy()
    modelled[:, :, 0] = False
    inputs = [
        pt.tensor3("log_odds", dtype="float64"),
        pt.dmatrix("alpha"),
        pt.dscalar("beta"),
        pt.dscalar("gamma"),
        pt.dscalar("delta"),
        pt.dvector("cutpoints"),
    ]
    wts = pt.tensor3("wts", dtype="float64")
    ll_benign, ll_malign = action_log_likelihoods(move, modelled, observed, *inputs)
    loss = (wts[0] * ll_benign + wts[1] * ll_malign).sum()
    fn = pytensor.function(
        [*inputs, wts], [ll_benign, ll_malign, *pytensor.grad(loss, inputs)], mode="NUMBA"
    )
    return lambda p, w: fn(*(p[k] for k in ACTION_INPUTS), w)


def test_action_log_likelihoods_match_numpy(
    compiled_action: Callable, panel: tuple, rng: np.random.Generator
) -> None:
    params = random_action_params(rng)
    out = compiled_action(params, rng.normal(size=(2, N_DYADS, 2)))
    expected = numpy_action_log_likelihoods(*panel, params)
    for got, want in zip(out[:2], expected, strict=True):
        assert got.shape == (N_DYADS, 2)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)


def test_action_log_likelihoods_gradient_matches_finite_differences(
    compiled_action: Callable, panel: tuple, rng: np.random.Generator
) -> None:
    """Central differences of the NumPy reference, step 1e-6: tolerance 1e-6 (relative)."""
    params = random_action_params(rng)
    wts = rng.normal(size=(2, N_DYADS, 2))
    analytic = dict(zip(ACTION_INPUTS, compiled_action(params, wts)[2:], strict=True))

    def loss(p: dict) -> float:
        ll_benign, ll_malign = numpy_action_log_likelihoods(*panel, p)
        return float((wts[0] * ll_benign + wts[1] * ll_malign).sum())

    step = 1e-6
    for name in ACTION_INPUTS:
        value = np.asarray(params[name], dtype=float)
        numeric = np.empty(value.shape)
        for idx in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[idx] += step
            down[idx] -= step
            numeric[idx] = (loss({**params, name: up}) - loss({**params, name: down})) / (2 * step)
        scale = max(1.0, float(np.abs(numeric).max()))
        np.testing.assert_allclose(
            analytic[name], numeric, rtol=0, atol=1e-6 * scale, err_msg=f"d/d{name}"
        )


def test_action_log_likelihoods_extreme_values_are_finite(
    compiled_action: Callable, panel: tuple, rng: np.random.Generator
) -> None:
    """|eta| beyond the fast range (300) and beliefs at certainty: finite, and equal NumPy."""
    params = random_action_params(rng)
    params["log_odds"] = np.where(rng.random((N_DYADS, 2, N_YEARS)) < 0.5, 40.0, -40.0)
    params["beta"] = np.float64(350.0)
    out = compiled_action(params, rng.normal(size=(2, N_DYADS, 2)))
    for value in out:
        assert np.all(np.isfinite(value))
    expected = numpy_action_log_likelihoods(*panel, params)
    for got, want in zip(out[:2], expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-8)


@pytest.mark.parametrize("sampler", ["pymc", "nutpie"])
def test_samples_under_pymc_and_nutpie(sampler: str) -> None:
    """A small model with the Op compiles (no object mode) and samples with both NUTS."""
    pm = pytest.importorskip("pymc")
    rng = np.random.default_rng(5)
    move = rng.integers(0, 4, size=(3, 2, 10))
    observed = rng.random(move.shape) > 0.1
    with pm.Model() as model:
        beta = pm.HalfNormal("beta", 1.0)
        gamma = pm.HalfNormal("gamma", 1.0)
        delta = pm.HalfNormal("delta", 1.0)
        cutpoints = pm.Normal(
            "cutpoints", [-1.0, 0.0, 1.0], 1.0, transform=pm.distributions.transforms.ordered
        )
        l0 = pm.Normal("l0", 0.0, 1.0, shape=(3, 2))
        w = pm.Beta("w", 2.0, 2.0, shape=(3, 2))
        s = pm.Beta("s", 2.0, 2.0, shape=(3, 2))
        log_odds = belief_log_odds(move, observed, l0, w, s, beta, gamma, delta, cutpoints)
        pm.Normal("y", log_odds[:, :, -1], 1.0, observed=np.zeros((3, 2)))
    options = {"progress_bar": False} if sampler == "pymc" else {}
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*object mode.*")
        trace = pm.sample(
            model=model,
            draws=30,
            tune=30,
            chains=1,
            nuts_sampler=sampler,
            compute_convergence_checks=False,
            random_seed=1,
            **options,
        )
    assert np.all(np.isfinite(trace["posterior"]["beta"].values))
