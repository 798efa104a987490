"""The coupled belief recursion of DESIGN §3 as a differentiable PyTensor graph.

:func:`belief_log_odds` returns the log-odds paths ``l[dyad, side, year]``, the
same numbers as :func:`secdilemma.core.recursion.belief_recursion` (to 1e-10), as a
PyTensor tensor of the belief and action parameters. Two implementations:

``method="scan"``
    A plain :func:`pytensor.scan` over years: the benchmark baseline.
``method="op"`` (default)
    :class:`BeliefRecursion`, a custom Op whose forward recursion and analytic
    reverse-mode gradient (:class:`BeliefRecursionGrad`) are numba kernels, one
    compiled loop over years with dyads and sides inside. Both Ops have
    ``numba_funcify`` registrations, so they run inside PyTensor's default
    (numba) linker, nutpie's numba backend and PyMC's NUTS without object mode.

:func:`action_log_likelihoods` is the companion for the action model: the
per-state sums ``sum_t log OrderedLogistic(m[i,t] | eta[i,t](tau), c)`` for both
intents in one compiled Op (:class:`ActionLogLikelihood`), whose forward kernel
also returns the (small, per-state) Jacobians so that its gradient is a plain
PyTensor contraction.

Forward recursion (per reader ``i``, other ``j``, year ``t >= 1``)::

    u      = s[i] * (gamma * x[i,t-1] + beta * sigmoid(l[j,t-1]))   # eta_read(tau=0)
    e      = [ls(u + delta - c[k-1]) - ls(u - c[k-1])]               # k >= 1
           + [ls(c[k] - u - delta)   - ls(c[k] - u)]                 # k <= 2
    l[i,t] = l[i,t-1] + (e if e >= 0 else w[i] * e)

with ``k = m[j,t]``, ``ls = log_sigmoid`` (``ls'(a) = sigmoid(-a)``) and ``e = 0``
where ``m[j,t]`` is unobserved. The cutpoint-gap term of the ordered-logistic
log-probability depends on ``k`` only and cancels in ``e``.

Adjoint (reverse mode). With ``lbar[i,t] = dL/dl[i,t]`` seeded by the incoming
cotangent, sweep ``t = T-1 .. 1``; ``lbar[., t]`` is final when year ``t`` is
visited because only year ``t+1`` feeds into it. For each reader::

    lbar[i,t-1] += lbar[i,t]                       # l[i,t] = l[i,t-1] + ...
    ebar         = lbar[i,t] * (1 if e >= 0 else w[i]);  wbar[i] += lbar[i,t] * e  (e < 0)
    de/du        = [sg(-a1) - sg(-a0)]_lower - [sg(-b1) - sg(-b0)]_upper
    de/ddelta    = sg(-a1)_lower - sg(-b1)_upper
    de/dc[k-1]   = -[sg(-a1) - sg(-a0)];   de/dc[k] = sg(-b1) - sg(-b0)
    ubar         = ebar * de/du
    sbar[i]     += ubar * (gamma * x + beta * b_j);  gammabar += ubar * s * x
    betabar     += ubar * s * b_j;  lbar[j,t-1] += ubar * s * beta * b_j * (1 - b_j)

where ``a1, a0 = u + delta - c[k-1], u - c[k-1]`` and ``b1, b0 = c[k] - u - delta,
c[k] - u``, ``sg = sigmoid``; finally ``l0bar = lbar[., 0]``. The discount
``e -> w e`` is not differentiable at ``e = 0`` (a measure-zero set); we use the
derivative of the branch the forward pass takes.

Implementation. The forward kernel records each cell's ``e, de/du, de/ddelta,
de/dc, reading = gamma x + beta b_j, b_j, b_j (1 - b_j)`` on a tape (a second
output of :class:`BeliefRecursion`), so the reverse sweep is multiply-adds only.
With ``E = exp(u)``, ``D = exp(delta)``, ``C = exp(c)`` the two pairs are

    lower: delta + log((E + C) / (E D + C)),   sg(-a1) = C / (E D + C)
    upper:         log((E + C) / (E D + C)),   sg(-b1) = E D / (E D + C)

so a cell costs three transcendental calls (``exp(u)``, one ``log`` for both
pairs, ``sigmoid(l[j,t-1])``). This ratio form is used while
``|u|, |c|, |delta| < 300`` (no overflow or underflow to 0); beyond, the kernel
falls back to ``ls(a) = min(a, 0) - log1p(exp(-|a|))`` per term. Either way
values and gradients stay finite at extreme certainty.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from hashlib import sha256
from typing import Any, Literal

import numba
import numpy as np
import pytensor
import pytensor.tensor as pt
from numpy.typing import ArrayLike, NDArray
from pytensor.gradient import DisconnectedType, disconnected_type, grad_not_implemented
from pytensor.graph.basic import Apply, Variable
from pytensor.graph.op import Op
from pytensor.link.numba.dispatch.basic import numba_njit, register_funcify_and_cache_key
from pytensor.tensor.variable import TensorVariable

from secdilemma.core.recursion import as_moves

__all__ = [
    "TAPE_FIELDS",
    "ActionLogLikelihood",
    "BeliefRecursion",
    "BeliefRecursionGrad",
    "Method",
    "action_log_likelihoods",
    "belief_log_odds",
]

Method = Literal["op", "scan"]


def _log_sigmoid(x: TensorVariable) -> TensorVariable:
    """``log sigmoid(x) = -softplus(-x)``, finite for every finite ``x``."""
    return -pt.softplus(-x)


def _clean_moves(
    move: ArrayLike, observed: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Check moves and mask (:func:`secdilemma.core.recursion.as_moves`); ``hold`` where unobserved.

    Raises
    ------
    ValueError
        On mismatched shapes or an observed move that is not an integer 0..3.
    """
    m, obs = as_moves(move, np.asarray(observed, dtype=bool))
    return np.where(obs, m, 1).astype(np.int64), obs


def _reader_layout(
    move: ArrayLike, observed: ArrayLike
) -> tuple[NDArray[np.int64], NDArray[np.bool_], NDArray[np.float64]]:
    """Return the moves as reader ``i`` sees them: the other's move and mask, own lag.

    Returns
    -------
    move_other, observed_other, x_own
        ``m[j, t]``, its mask, and ``x[i, t] = m[i, t] - 1`` (0 where masked),
        each ``(dyad, side, year)``.
    """
    m, obs = _clean_moves(move, observed)
    x_own = np.where(obs, m - 1.0, 0.0)
    return m[:, ::-1].copy(), obs[:, ::-1].copy(), x_own


def _evidence(
    k: TensorVariable,
    eta_read_benign: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
) -> TensorVariable:
    """``e = log P(k | eta + delta) - log P(k | eta)`` of DESIGN §3, in log space.

    The cutpoint-gap term of the ordered-logistic log-probability depends on
    ``k`` only and cancels; the lower (upper) term is absent for ``k = 0``
    (``k = 3``). Cutpoint indices are clipped so no infinite cutpoint enters the
    graph (and its gradient).
    """
    lower = cutpoints[pt.clip(k - 1, 0, 2)]
    upper = cutpoints[pt.clip(k, 0, 2)]
    eta_read_malign = eta_read_benign + delta
    lower_term = _log_sigmoid(eta_read_malign - lower) - _log_sigmoid(eta_read_benign - lower)
    upper_term = _log_sigmoid(upper - eta_read_malign) - _log_sigmoid(upper - eta_read_benign)
    return pt.where(k >= 1, lower_term, 0.0) + pt.where(k <= 2, upper_term, 0.0)


def _belief_log_odds_scan(
    move: ArrayLike,
    observed: ArrayLike,
    l0: TensorVariable,
    w: TensorVariable,
    s: TensorVariable,
    beta: TensorVariable,
    gamma: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
) -> TensorVariable:
    """Plain ``pytensor.scan`` over years ``t = 1 .. T-1`` (the baseline)."""
    move_other, observed_other, x_own = _reader_layout(move, observed)
    # Sequences are indexed by year first. Year t reads m[j, t] and x[i, t-1].
    move_other_seq = pt.as_tensor_variable(np.moveaxis(move_other[:, :, 1:], 2, 0))
    observed_other_seq = pt.as_tensor_variable(np.moveaxis(observed_other[:, :, 1:], 2, 0))
    x_own_lag_seq = pt.as_tensor_variable(np.moveaxis(x_own[:, :, :-1], 2, 0))

    def step(k, obs_other, x_own_lag, log_odds_lag, w, s, beta, gamma, delta, cutpoints):
        belief_other_lag = pt.sigmoid(log_odds_lag[:, ::-1])
        eta_read_benign = s * (gamma * x_own_lag + beta * belief_other_lag)
        evidence = pt.where(obs_other, _evidence(k, eta_read_benign, delta, cutpoints), 0.0)
        return log_odds_lag + pt.where(evidence >= 0, evidence, w * evidence)

    l0 = pt.as_tensor_variable(l0, dtype="float64")
    if move_other.shape[2] == 1:
        return l0[:, :, None]
    log_odds = pytensor.scan(
        step,
        sequences=[move_other_seq, observed_other_seq, x_own_lag_seq],
        outputs_info=[l0],
        non_sequences=[
            pt.as_tensor_variable(v, dtype="float64") for v in (w, s, beta, gamma, delta, cutpoints)
        ],
        strict=True,
        return_updates=False,
    )
    return pt.concatenate([l0[None], log_odds], axis=0).transpose(1, 2, 0)


# --------------------------------------------------------------------------
# The compiled recursion: numba kernels (one loop over years, dyads and sides
# inside) and the two PyTensor Ops that wrap them.
# --------------------------------------------------------------------------


TAPE_FIELDS = (
    "evidence",
    "de_du",
    "de_ddelta",
    "de_dlower",
    "de_dupper",
    "reading",
    "belief_other_lag",
    "dbelief_other_lag",
)
"""Per-cell quantities the forward kernel records for the reverse sweep."""
_E, _DE_DU, _DE_DDELTA, _DE_DLOWER, _DE_DUPPER, _READING, _B_OTHER, _DB_OTHER = range(
    len(TAPE_FIELDS)
)


_FAST_RANGE = 300.0
"""Bound on ``|u|, |c|, |delta|`` for the ratio form of the evidence (see :func:`_forward`)."""


@numba.njit(cache=True, inline="always")
def _sigmoid_and_slope(a: float) -> tuple[float, float]:
    """``sigmoid(a)`` and its derivative ``sigmoid(a) * sigmoid(-a)``, one ``exp``."""
    z = np.exp(-abs(a))
    inv = 1.0 / (1.0 + z)
    value = inv if a >= 0.0 else z * inv
    return value, z * inv * inv


@numba.njit(cache=True, inline="always")
def _log_sigmoid_diff(a1: float, a0: float) -> tuple[float, float, float]:
    """``ls(a1) - ls(a0)``, ``sigmoid(-a1)``, ``sigmoid(-a0)``; ``ls = log_sigmoid``.

    Uses ``ls(a) = min(a, 0) - log1p(exp(-|a|))``: one ``exp`` per argument and
    one ``log`` for the difference, no overflow for any finite ``a``.
    """
    z1 = np.exp(-abs(a1))
    z0 = np.exp(-abs(a0))
    diff = min(a1, 0.0) - min(a0, 0.0) + np.log((1.0 + z0) / (1.0 + z1))
    p1 = (z1 if a1 >= 0.0 else 1.0) / (1.0 + z1)
    p0 = (z0 if a0 >= 0.0 else 1.0) / (1.0 + z0)
    return diff, p1, p0


@numba.njit(cache=True)
def _forward(
    move: NDArray[np.int64],
    observed: NDArray[np.bool_],
    l0: NDArray[np.float64],
    w: NDArray[np.float64],
    s: NDArray[np.float64],
    beta: float,
    gamma: float,
    delta: float,
    cutpoints: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Log-odds paths ``l[dyad, side, year]`` and the tape for :func:`_reverse`.

    The tape, shape ``(year, dyad, side, len(TAPE_FIELDS))``, holds each cell's
    evidence and its local partial derivatives (module docstring), so the
    reverse sweep needs no transcendental function.
    """
    n_dyads, _, n_years = move.shape
    log_odds = np.empty((n_dyads, 2, n_years))
    tape = np.zeros((n_years, n_dyads, 2, len(TAPE_FIELDS)))
    log_odds[:, :, 0] = l0
    # Fast path (3 transcendental calls per cell) while every exponent stays
    # within exp(+-2 * _FAST_RANGE): no overflow, no underflow to 0.
    fast = abs(delta) < _FAST_RANGE and np.all(np.abs(cutpoints) < _FAST_RANGE)
    exp_delta = np.exp(delta) if fast else 1.0
    exp_cutpoints = np.exp(cutpoints) if fast else np.ones(3)
    for t in range(1, n_years):
        for d in range(n_dyads):
            for i in range(2):
                j = 1 - i
                if not observed[d, j, t]:
                    log_odds[d, i, t] = log_odds[d, i, t - 1]
                    continue
                k = move[d, j, t]
                x_own_lag = move[d, i, t - 1] - 1.0 if observed[d, i, t - 1] else 0.0
                belief_other_lag, dbelief = _sigmoid_and_slope(log_odds[d, j, t - 1])
                reading = gamma * x_own_lag + beta * belief_other_lag
                eta_read_benign = s[d, i] * reading
                eta_read_malign = eta_read_benign + delta
                evidence = 0.0
                de_du = 0.0
                de_ddelta = 0.0
                if fast and abs(eta_read_benign) < _FAST_RANGE:
                    # E = exp(u), E * exp(delta), C = exp(c): every term is a ratio.
                    e_benign = np.exp(eta_read_benign)
                    e_malign = e_benign * exp_delta
                    ratio = 1.0
                    if k >= 1:  # ls(u + delta - c) - ls(u - c) = delta + log((E + C) / (E D + C))
                        c_lower = exp_cutpoints[k - 1]
                        inv1 = 1.0 / (e_malign + c_lower)
                        inv0 = 1.0 / (e_benign + c_lower)
                        ratio *= (e_benign + c_lower) * inv1
                        evidence += delta
                        p1 = c_lower * inv1  # sigmoid(c - u - delta)
                        p0 = c_lower * inv0
                        de_du += p1 - p0
                        de_ddelta += p1
                        tape[t, d, i, _DE_DLOWER] = p0 - p1
                    if k <= 2:  # ls(c - u - delta) - ls(c - u) = log((C + E) / (C + E D))
                        c_upper = exp_cutpoints[k]
                        inv1 = 1.0 / (e_malign + c_upper)
                        inv0 = 1.0 / (e_benign + c_upper)
                        ratio *= (e_benign + c_upper) * inv1
                        q1 = e_malign * inv1  # sigmoid(u + delta - c)
                        q0 = e_benign * inv0
                        de_du -= q1 - q0
                        de_ddelta -= q1
                        tape[t, d, i, _DE_DUPPER] = q1 - q0
                    evidence += np.log(ratio)
                else:  # general form, finite for any finite argument
                    if k >= 1:  # lower term: ls(eta - c[k-1])
                        lower = cutpoints[k - 1]
                        diff, p1, p0 = _log_sigmoid_diff(
                            eta_read_malign - lower, eta_read_benign - lower
                        )
                        evidence += diff
                        de_du += p1 - p0
                        de_ddelta += p1
                        tape[t, d, i, _DE_DLOWER] = p0 - p1
                    if k <= 2:  # upper term: ls(c[k] - eta)
                        upper = cutpoints[k]
                        diff, q1, q0 = _log_sigmoid_diff(
                            upper - eta_read_malign, upper - eta_read_benign
                        )
                        evidence += diff
                        de_du -= q1 - q0
                        de_ddelta -= q1
                        tape[t, d, i, _DE_DUPPER] = q1 - q0
                tape[t, d, i, _E] = evidence
                tape[t, d, i, _DE_DU] = de_du
                tape[t, d, i, _DE_DDELTA] = de_ddelta
                tape[t, d, i, _READING] = reading
                tape[t, d, i, _B_OTHER] = belief_other_lag
                tape[t, d, i, _DB_OTHER] = dbelief
                weight = 1.0 if evidence >= 0.0 else w[d, i]
                log_odds[d, i, t] = log_odds[d, i, t - 1] + weight * evidence
    return log_odds, tape


@numba.njit(cache=True)
def _reverse(
    move: NDArray[np.int64],
    observed: NDArray[np.bool_],
    w: NDArray[np.float64],
    s: NDArray[np.float64],
    beta: float,
    gamma: float,
    tape: NDArray[np.float64],
    log_odds_bar: NDArray[np.float64],
) -> tuple[NDArray[np.float64], ...]:
    """Vector-Jacobian product of :func:`_forward` (adjoint sweep, module docstring).

    Returns ``(l0_bar, w_bar, s_bar, action_bar, cutpoints_bar)`` with
    ``action_bar = (beta_bar, gamma_bar, delta_bar)``.
    """
    n_dyads, _, n_years = move.shape
    lbar = log_odds_bar.copy()
    w_bar = np.zeros((n_dyads, 2))
    s_bar = np.zeros((n_dyads, 2))
    cutpoints_bar = np.zeros(3)
    beta_bar = 0.0
    gamma_bar = 0.0
    delta_bar = 0.0
    for t in range(n_years - 1, 0, -1):
        for d in range(n_dyads):
            for i in range(2):
                j = 1 - i
                l_bar = lbar[d, i, t]
                lbar[d, i, t - 1] += l_bar  # l[i,t] = l[i,t-1] + weigh(e)
                if not observed[d, j, t] or l_bar == 0.0:
                    continue
                cell = tape[t, d, i]
                evidence = cell[_E]
                if evidence >= 0.0:
                    e_bar = l_bar
                else:
                    e_bar = w[d, i] * l_bar
                    w_bar[d, i] += l_bar * evidence
                k = move[d, j, t]
                delta_bar += e_bar * cell[_DE_DDELTA]
                if k >= 1:
                    cutpoints_bar[k - 1] += e_bar * cell[_DE_DLOWER]
                if k <= 2:
                    cutpoints_bar[k] += e_bar * cell[_DE_DUPPER]
                # u = s * reading, reading = gamma * x + beta * sigmoid(l[j,t-1])
                u_bar = e_bar * cell[_DE_DU]
                x_own_lag = move[d, i, t - 1] - 1.0 if observed[d, i, t - 1] else 0.0
                s_bar[d, i] += u_bar * cell[_READING]
                reading_bar = u_bar * s[d, i]
                gamma_bar += reading_bar * x_own_lag
                beta_bar += reading_bar * cell[_B_OTHER]
                lbar[d, j, t - 1] += reading_bar * beta * cell[_DB_OTHER]
    action_bar = np.array([beta_bar, gamma_bar, delta_bar])
    return lbar[:, :, 0].copy(), w_bar, s_bar, action_bar, cutpoints_bar


def _float_input(value: ArrayLike | TensorVariable, ndim: int, name: str) -> TensorVariable:
    """Cast to a float64 tensor of rank ``ndim`` (``name`` for error messages)."""
    var = pt.as_tensor_variable(value)
    if var.ndim != ndim:
        raise ValueError(f"{name}: expected a tensor of rank {ndim}, got rank {var.ndim}")
    return pt.cast(var, "float64")


class BeliefRecursion(Op):
    """``log_odds, tape = BeliefRecursion()(move, observed, l0, w, s, action, cutpoints)``.

    ``move`` (integer) and ``observed`` (bool) are ``(dyad, side, year)`` data;
    ``l0, w, s`` are ``(dyad, side)``; ``action = (beta, gamma, delta)`` and
    ``cutpoints`` are vectors of length 3. Outputs the log-odds ``(dyad, side,
    year)`` and the tape of local partial derivatives (``(year, dyad, side,
    len(TAPE_FIELDS))``) that :class:`BeliefRecursionGrad` consumes. Not
    differentiable in the data, nor through the tape.
    """

    __props__ = ()

    def make_node(self, *inputs: Variable) -> Apply:
        """Check the inputs' ranks and dtypes and build the Apply node."""
        move, observed, l0, w, s, action, cutpoints = map(pt.as_tensor_variable, inputs)
        if move.ndim != 3 or not move.dtype.startswith(("int", "uint")):
            raise TypeError(f"move: expected a 3-D integer tensor, got {move.type}")
        if observed.ndim != 3 or observed.dtype != "bool":
            raise TypeError(f"observed: expected a 3-D bool tensor, got {observed.type}")
        floats = [
            _float_input(v, n, name)
            for v, n, name in (
                (l0, 2, "l0"),
                (w, 2, "w"),
                (s, 2, "s"),
                (action, 1, "action"),
                (cutpoints, 1, "cutpoints"),
            )
        ]
        n_dyads, _, n_years = move.type.shape
        log_odds = pt.tensor(dtype="float64", shape=(n_dyads, 2, n_years))
        tape = pt.tensor(dtype="float64", shape=(n_years, n_dyads, 2, len(TAPE_FIELDS)))
        return Apply(self, [move, observed, *floats], [log_odds, tape])

    def perform(self, node: Apply, inputs: list, output_storage: list) -> None:
        """Run the compiled forward kernel."""
        move, observed, l0, w, s, action, cutpoints = inputs
        beta, gamma, delta = action
        log_odds, tape = _forward(move, observed, l0, w, s, beta, gamma, delta, cutpoints)
        output_storage[0][0] = log_odds
        output_storage[1][0] = tape

    def infer_shape(self, node: Apply, input_shapes: list) -> list:
        """Shapes ``(dyad, 2, year)`` and ``(year, dyad, 2, len(TAPE_FIELDS))``."""
        n_dyads, _, n_years = input_shapes[0]
        return [input_shapes[0], (n_years, n_dyads, 2, len(TAPE_FIELDS))]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Declare that the data (``move``, ``observed``) do not connect to the outputs."""
        return [[False, False], [False, False]] + [[True, True] for _ in range(5)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Vector-Jacobian product through :class:`BeliefRecursionGrad`."""
        move, observed, _l0, w, s, action, _cutpoints = inputs
        if not isinstance(cotangents[1].type, DisconnectedType):
            return [disconnected_type(), disconnected_type()] + [
                grad_not_implemented(self, k, x, "gradient through the tape")
                for k, x in enumerate(inputs)
                if k >= 2
            ]
        grads = BeliefRecursionGrad()(move, observed, w, s, action, outputs[1], cotangents[0])
        return [disconnected_type(), disconnected_type(), *grads]


class BeliefRecursionGrad(Op):
    """Adjoint of :class:`BeliefRecursion`.

    Inputs ``(move, observed, w, s, action, tape, log_odds_bar)``; outputs the
    cotangents of ``(l0, w, s, action, cutpoints)``.
    """

    __props__ = ()

    def make_node(self, *inputs: Variable) -> Apply:
        """Build the Apply node (inputs as produced by :meth:`BeliefRecursion.pullback`)."""
        move, observed, w, s, action, tape, log_odds_bar = map(pt.as_tensor_variable, inputs)
        log_odds_bar = pt.cast(log_odds_bar, "float64")
        outputs = [w.type(), w.type(), s.type(), action.type(), action.type()]
        return Apply(self, [move, observed, w, s, action, tape, log_odds_bar], outputs)

    def perform(self, node: Apply, inputs: list, output_storage: list) -> None:
        """Run the compiled adjoint kernel."""
        move, observed, w, s, action, tape, log_odds_bar = inputs
        results = _reverse(move, observed, w, s, action[0], action[1], tape, log_odds_bar)
        for storage, value in zip(output_storage, results, strict=True):
            storage[0] = value

    def infer_shape(self, node: Apply, input_shapes: list) -> list:
        """Cotangents have their primal's shape (``cutpoints``: 3, like ``action``)."""
        return [input_shapes[2], input_shapes[2], input_shapes[3], input_shapes[4], (3,)]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Every float input may influence every cotangent."""
        return [[False] * 5, [False] * 5] + [[True] * 5 for _ in range(5)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Second derivatives are not implemented (NUTS needs first order only)."""
        return [disconnected_type(), disconnected_type()] + [
            grad_not_implemented(self, k, x) for k, x in enumerate(inputs) if k >= 2
        ]


def _kernel_cache_key(op: Op) -> str:
    """Cache key of an Op's numba implementation: its type and the kernels' source.

    Numba's on-disk cache of a caller does not notice edits to a callee, so the
    key changes whenever a kernel in this module does.
    """
    kernels = (_sigmoid_and_slope, _log_sigmoid_diff, _forward, _reverse)
    source = "".join(inspect.getsource(f.py_func) for f in kernels)
    return sha256(f"{type(op)}|{TAPE_FIELDS}|{_FAST_RANGE}|{source}".encode()).hexdigest()


@register_funcify_and_cache_key(BeliefRecursion)
def _numba_funcify_belief_recursion(
    op: BeliefRecursion, node: Apply | None = None, **kwargs: Any
) -> tuple[Callable, str]:
    """Numba implementation of :class:`BeliefRecursion` for PyTensor's numba linker."""

    @numba_njit
    def belief_recursion(move, observed, l0, w, s, action, cutpoints):
        return _forward(move, observed, l0, w, s, action[0], action[1], action[2], cutpoints)

    return belief_recursion, _kernel_cache_key(op)


@register_funcify_and_cache_key(BeliefRecursionGrad)
def _numba_funcify_belief_recursion_grad(
    op: BeliefRecursionGrad, node: Apply | None = None, **kwargs: Any
) -> tuple[Callable, str]:
    """Numba implementation of :class:`BeliefRecursionGrad` for PyTensor's numba linker."""

    @numba_njit
    def belief_recursion_grad(move, observed, w, s, action, tape, log_odds_bar):
        return _reverse(move, observed, w, s, action[0], action[1], tape, log_odds_bar)

    return belief_recursion_grad, _kernel_cache_key(op)


def _belief_log_odds_op(
    move: ArrayLike,
    observed: ArrayLike,
    l0: TensorVariable,
    w: TensorVariable,
    s: TensorVariable,
    beta: TensorVariable,
    gamma: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
) -> TensorVariable:
    """Build the compiled recursion: one :class:`BeliefRecursion` node."""
    m, obs = (move, observed) if _symbolic(move, observed) else _clean_moves(move, observed)
    action = pt.stack([pt.as_tensor_variable(v, dtype="float64") for v in (beta, gamma, delta)])
    log_odds, _tape = BeliefRecursion()(m, obs, l0, w, s, action, cutpoints)
    return log_odds


def _symbolic(*data: Any) -> bool:
    """Whether data are graph variables (e.g. :func:`pymc.Data`), checked upstream.

    Symbolic moves and masks (a model whose data can be swapped without
    recompiling) are passed to the Ops as they are: their values are checked
    where they are made (:func:`secdilemma.model.builder.model_data`), and the
    kernels read a move only where its mask says it is observed.
    """
    return any(isinstance(d, Variable) for d in data)


# --------------------------------------------------------------------------
# Optional: the action likelihood of DESIGN §3 as one compiled Op.
# --------------------------------------------------------------------------

JACOBIAN_FIELDS = ("alpha", "beta", "gamma", "delta", "c0", "c1", "c2")
"""Parameters of :class:`ActionLogLikelihood`'s per-state Jacobian output."""


@numba.njit(cache=True)
def _action_log_likelihoods(
    move: NDArray[np.int64],
    modelled: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    log_odds: NDArray[np.float64],
    alpha: NDArray[np.float64],
    beta: float,
    gamma: float,
    delta: float,
    cutpoints: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per-state sums ``ll[d, i, tau] = sum_t log OrderedLogistic(m[i,t] | eta[i,t](tau), c)``.

    ``eta[i,t](tau) = alpha[i] + beta * sigmoid(l[i,t-1]) + gamma * x[j,t-1] + delta * tau``
    over modelled cells (``t >= 1``). With ``ls = log_sigmoid`` and the gap term
    ``g = log1p(-exp(c[k-1] - c[k]))``,

        log P(k | eta) = [k >= 1] ls(eta - c[k-1]) + [k <= 2] ls(c[k] - eta) + [k in 1, 2] g,

    evaluated as ``eta - log(E + C[k-1])`` and ``c[k] - log(E + C[k])`` with
    ``E = exp(eta)``, ``C = exp(c)`` (one ``exp`` and one ``log`` per cell and
    intent) while ``|eta|, |c| < _FAST_RANGE``, else per term in stable form.

    Returns ``ll`` ``(dyad, side, 2)``; its Jacobian with respect to
    ``JACOBIAN_FIELDS`` ``(dyad, side, 2, 7)``; and with respect to the log-odds,
    ``jac_log_odds[d, i, tau, t] = d ll[d, i, tau] / d l[d, i, t]``, ``(dyad, side, 2, year)``.
    """
    n_dyads, _, n_years = move.shape
    ll = np.zeros((n_dyads, 2, 2))
    jac = np.zeros((n_dyads, 2, 2, len(JACOBIAN_FIELDS)))
    jac_log_odds = np.zeros((n_dyads, 2, 2, n_years))
    fast = np.all(np.abs(cutpoints) < _FAST_RANGE)
    exp_cutpoints = np.exp(cutpoints) if fast else np.ones(3)
    gap = np.zeros(4)
    dgap_dlower = np.zeros(4)
    for k in (1, 2):  # g = log1p(-exp(c[k-1] - c[k])): dg/dc[k] = 1 / expm1(c[k] - c[k-1])
        gap[k] = np.log1p(-np.exp(cutpoints[k - 1] - cutpoints[k]))
        dgap_dlower[k] = -1.0 / np.expm1(cutpoints[k] - cutpoints[k - 1])
    for d in range(n_dyads):
        for i in range(2):
            j = 1 - i
            for t in range(1, n_years):
                if not modelled[d, i, t]:
                    continue
                k = move[d, i, t]
                belief_lag, dbelief = _sigmoid_and_slope(log_odds[d, i, t - 1])
                x_other_lag = move[d, j, t - 1] - 1.0 if observed[d, j, t - 1] else 0.0
                eta_benign = alpha[d, i] + beta * belief_lag + gamma * x_other_lag
                for tau in range(2):
                    eta = eta_benign + delta * tau
                    log_p = gap[k]
                    dlogp_deta = 0.0
                    dlogp_dlower = dgap_dlower[k]
                    dlogp_dupper = -dgap_dlower[k]
                    if fast and abs(eta) < _FAST_RANGE:
                        e_eta = np.exp(eta)
                        denominator = 1.0
                        if k >= 1:  # ls(eta - c) = eta - log(E + C)
                            c_lower = exp_cutpoints[k - 1]
                            inv = 1.0 / (e_eta + c_lower)
                            log_p += eta
                            denominator *= e_eta + c_lower
                            dlogp_deta += c_lower * inv
                            dlogp_dlower -= c_lower * inv
                        if k <= 2:  # ls(c - eta) = c - log(E + C)
                            c_upper = exp_cutpoints[k]
                            inv = 1.0 / (e_eta + c_upper)
                            log_p += cutpoints[k]
                            denominator *= e_eta + c_upper
                            dlogp_deta -= e_eta * inv
                            dlogp_dupper += e_eta * inv
                        log_p -= np.log(denominator)
                    else:
                        if k >= 1:
                            a = eta - cutpoints[k - 1]
                            slope = _sigmoid_and_slope(-a)[0]  # ls'(a) = sigmoid(-a)
                            log_p += min(a, 0.0) - np.log1p(np.exp(-abs(a)))
                            dlogp_deta += slope
                            dlogp_dlower -= slope
                        if k <= 2:
                            a = cutpoints[k] - eta
                            slope = _sigmoid_and_slope(-a)[0]
                            log_p += min(a, 0.0) - np.log1p(np.exp(-abs(a)))
                            dlogp_deta -= slope
                            dlogp_dupper += slope
                    ll[d, i, tau] += log_p
                    jac[d, i, tau, 0] += dlogp_deta
                    jac[d, i, tau, 1] += dlogp_deta * belief_lag
                    jac[d, i, tau, 2] += dlogp_deta * x_other_lag
                    jac[d, i, tau, 3] += dlogp_deta * tau
                    if k >= 1:
                        jac[d, i, tau, 4 + k - 1] += dlogp_dlower
                    if k <= 2:
                        jac[d, i, tau, 4 + k] += dlogp_dupper
                    jac_log_odds[d, i, tau, t - 1] = dlogp_deta * beta * dbelief
    return ll, jac, jac_log_odds


class ActionLogLikelihood(Op):
    """``ll, jac, jac_log_odds = ActionLogLikelihood()(move, modelled, observed, log_odds,
    alpha, action, cutpoints)``; see :func:`action_log_likelihoods`.

    The per-state outputs are small, so the forward kernel returns their full
    Jacobians and the pullback is a plain PyTensor contraction (no second Op).
    """  # noqa: D205

    __props__ = ()

    def make_node(self, *inputs: Variable) -> Apply:
        """Check the inputs' ranks and dtypes and build the Apply node."""
        move, modelled, observed, log_odds, alpha, action, cutpoints = map(
            pt.as_tensor_variable, inputs
        )
        if move.ndim != 3 or not move.dtype.startswith(("int", "uint")):
            raise TypeError(f"move: expected a 3-D integer tensor, got {move.type}")
        for name, mask in (("modelled", modelled), ("observed", observed)):
            if mask.ndim != 3 or mask.dtype != "bool":
                raise TypeError(f"{name}: expected a 3-D bool tensor, got {mask.type}")
        floats = [
            _float_input(v, n, name)
            for v, n, name in (
                (log_odds, 3, "log_odds"),
                (alpha, 2, "alpha"),
                (action, 1, "action"),
                (cutpoints, 1, "cutpoints"),
            )
        ]
        n_dyads, _, n_years = move.type.shape
        outputs = [
            pt.tensor(dtype="float64", shape=(n_dyads, 2, 2)),
            pt.tensor(dtype="float64", shape=(n_dyads, 2, 2, len(JACOBIAN_FIELDS))),
            pt.tensor(dtype="float64", shape=(n_dyads, 2, 2, n_years)),
        ]
        return Apply(self, [move, modelled, observed, *floats], outputs)

    def perform(self, node: Apply, inputs: list, output_storage: list) -> None:
        """Run the compiled kernel."""
        move, modelled, observed, log_odds, alpha, action, cutpoints = inputs
        results = _action_log_likelihoods(
            move, modelled, observed, log_odds, alpha, action[0], action[1], action[2], cutpoints
        )
        for storage, value in zip(output_storage, results, strict=True):
            storage[0] = value

    def infer_shape(self, node: Apply, input_shapes: list) -> list:
        """Shapes ``(dyad, 2, 2)``, ``(dyad, 2, 2, 7)``, ``(dyad, 2, 2, year)``."""
        n_dyads, _, n_years = input_shapes[0]
        return [
            (n_dyads, 2, 2),
            (n_dyads, 2, 2, len(JACOBIAN_FIELDS)),
            (n_dyads, 2, 2, n_years),
        ]

    def connection_pattern(self, node: Apply) -> list[list[bool]]:
        """Declare that the data (``move`` and the masks) do not connect to the outputs."""
        return [[False] * 3] * 3 + [[True] * 3 for _ in range(4)]

    def pullback(
        self,
        inputs: Sequence[Variable],
        outputs: Sequence[Variable],
        cotangents: Sequence[Variable],
    ) -> list[Variable]:
        """Contract the cotangent of ``ll`` with the Jacobian outputs."""
        if not all(isinstance(c.type, DisconnectedType) for c in cotangents[1:]):
            return [disconnected_type()] * 3 + [
                grad_not_implemented(self, k, x, "gradient through the Jacobian outputs")
                for k, x in enumerate(inputs)
                if k >= 3
            ]
        _ll, jac, jac_log_odds = outputs
        ll_bar = cotangents[0]
        weighted = (ll_bar[..., None] * jac).sum(axis=(0, 1, 2))  # (7,) for shared ones
        alpha_bar = (ll_bar * jac[..., 0]).sum(axis=-1)
        log_odds_bar = (ll_bar[..., None] * jac_log_odds).sum(axis=2)
        return [
            disconnected_type(),
            disconnected_type(),
            disconnected_type(),
            log_odds_bar,
            alpha_bar,
            weighted[1:4],
            weighted[4:7],
        ]


@register_funcify_and_cache_key(ActionLogLikelihood)
def _numba_funcify_action_log_likelihood(
    op: ActionLogLikelihood, node: Apply | None = None, **kwargs: Any
) -> tuple[Callable, str]:
    """Numba implementation of :class:`ActionLogLikelihood` for PyTensor's numba linker."""

    @numba_njit
    def action_log_likelihood(move, modelled, observed, log_odds, alpha, action, cutpoints):
        return _action_log_likelihoods(
            move, modelled, observed, log_odds, alpha, action[0], action[1], action[2], cutpoints
        )

    kernels = (_sigmoid_and_slope, _action_log_likelihoods)
    source = "".join(inspect.getsource(f.py_func) for f in kernels)
    key = sha256(f"{type(op)}|{JACOBIAN_FIELDS}|{_FAST_RANGE}|{source}".encode()).hexdigest()
    return action_log_likelihood, key


def action_log_likelihoods(
    move: ArrayLike,
    modelled: ArrayLike,
    observed: ArrayLike,
    log_odds: TensorVariable,
    alpha: TensorVariable,
    beta: TensorVariable,
    gamma: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
) -> tuple[TensorVariable, TensorVariable]:
    """Per-state action log-likelihoods under both intents, as one compiled Op.

    ``ll[i](tau) = sum_t log OrderedLogistic(m[i,t] | eta[i,t](tau), c)`` over the
    modelled cells, with ``eta[i,t](tau) = alpha[i] + beta * sigmoid(l[i,t-1]) +
    gamma * x[j,t-1] + delta * tau`` (DESIGN §3) and a masked lag read as hold.

    Parameters
    ----------
    move
        Moves ``(dyad, side, year)``; integers 0..3 wherever ``modelled``.
    modelled
        ``True`` where the move enters the likelihood (observed and ``t >= 1``).
    observed
        ``True`` where the move is observed (for the other's lag ``x[j, t-1]``).
    log_odds
        Belief log-odds ``(dyad, side, year)``, e.g. from :func:`belief_log_odds`.
    alpha
        Action intercepts ``(dyad, side)``.
    beta, gamma, delta
        Shared action parameters (scalars).
    cutpoints
        The three increasing cutpoints.

    Returns
    -------
    ll_benign, ll_malign
        Each ``(dyad, side)``.

    Raises
    ------
    ValueError
        On mismatched shapes, or a modelled move that is unobserved or not an
        integer 0..3.
    """
    if _symbolic(move, modelled, observed):
        m, mod, obs = move, modelled, observed
    else:
        m, obs = _clean_moves(move, observed)
        mod = np.asarray(modelled, dtype=bool)
        if mod.shape != obs.shape or np.any(mod & ~obs):
            raise ValueError("modelled: must have the shape of observed and lie within it")
    action = pt.stack([pt.as_tensor_variable(v, dtype="float64") for v in (beta, gamma, delta)])
    ll, _jac, _jac_log_odds = ActionLogLikelihood()(m, mod, obs, log_odds, alpha, action, cutpoints)
    return ll[..., 0], ll[..., 1]


def belief_log_odds(
    move: ArrayLike,
    observed: ArrayLike,
    l0: TensorVariable,
    w: TensorVariable,
    s: TensorVariable,
    beta: TensorVariable,
    gamma: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
    *,
    method: Method = "op",
) -> TensorVariable:
    """Log-odds paths ``l[dyad, side, year]`` of DESIGN §3's coupled recursion.

    Parameters
    ----------
    move
        Moves ``m`` of shape ``(dyad, side, year)``, integers 0..3 where
        observed, any value where unobserved (constant data).
    observed
        Boolean mask of the same shape, ``True`` where the move is observed.
    l0, w, s
        Prior log-odds, discount and sensibility per observer, ``(dyad, side)``.
    beta, gamma, delta
        Shared action parameters (scalars).
    cutpoints
        The three increasing ordered-logistic cutpoints, shape ``(3,)``.
    method
        ``"op"``: the compiled recursion with an analytic gradient (default);
        ``"scan"``: a plain :func:`pytensor.scan` over years (baseline).

    Returns
    -------
    pytensor.tensor.TensorVariable
        ``l`` of shape ``(dyad, side, year)`` with ``l[:, :, 0] = l0``. An
        unobserved move of the other contributes ``e = 0``; a masked own lag
        reads as ``hold``.

    Raises
    ------
    ValueError
        On an unknown ``method`` or mismatched ``move``/``observed`` shapes.
    """
    if method not in ("op", "scan"):
        raise ValueError(f"method: expected 'op' or 'scan', got {method!r}")
    if method == "op":
        return _belief_log_odds_op(move, observed, l0, w, s, beta, gamma, delta, cutpoints)
    return _belief_log_odds_scan(move, observed, l0, w, s, beta, gamma, delta, cutpoints)
