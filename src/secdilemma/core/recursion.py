"""The coupled belief recursion of DESIGN §3, in NumPy.

With ``j = other(i)`` and ``x[i,t] = m[i,t] - 1``, state ``i`` reads ``j``'s move
of year ``t`` against both types, accounting to the degree ``s[i]`` for ``j``'s
reaction to ``i``'s last move and for ``j``'s fear of ``i``::

    eta_read[i,t](tau) = s[i] * (gamma * x[i,t-1] + beta * b[j,t-1]) + delta * tau
    e[i,t] = log OrderedLogistic(m[j,t] | eta_read[i,t](1), c)
           - log OrderedLogistic(m[j,t] | eta_read[i,t](0), c)
    l[i,t] = l[i,t-1] + e[i,t] * (1 if e[i,t] >= 0 else w[i]),   l[i,0] = l0[i]
    b[i,t] = sigmoid(l[i,t])

Arrays are laid out ``(dyad, side, year)``, with optional leading axes of
posterior draws (``(sample, ..., dyad, side, year)``): the parameters may carry
one value per draw, so the paths of a whole posterior are one recursion.
``other(side)`` is a flip of the side axis, so one year's update
(:func:`belief_update`, the single implementation of the update, which the
forward run of :mod:`secdilemma.core.forward` shares) is vectorised over draws,
dyads and both sides. The loop over years is inherent (year ``t`` needs
``b[., t-1]``); this module is the reference implementation for simulation,
predictive checks and for testing the compiled log-density of the fitted
models, not the log-density itself.

Missing moves: an unobserved move of the other contributes no evidence
(``e = 0``) and a masked lag of one's own is read as ``hold`` (``x = 0``).
Dyads of different lengths are padded at the end with unobserved years, over
which beliefs stay constant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from secdilemma.core.ordered_logistic import as_cutpoints, log_prob
from secdilemma.core.parameters import check_action, check_belief, check_cutpoints


@dataclass(frozen=True)
class BeliefPaths:
    """Belief paths of a panel, each of shape ``(dyad, side, year)``.

    Attributes
    ----------
    log_odds
        ``l[i, t]``, log-odds that the other is malign after year ``t``.
    belief
        ``b[i, t] = sigmoid(l[i, t])``.
    evidence
        ``e[i, t]``, the log-likelihood ratio of the other's move in year ``t``
        (0 in year 0 and where the other's move is unobserved).
    """

    log_odds: NDArray[np.float64]
    belief: NDArray[np.float64]
    evidence: NDArray[np.float64]


def as_moves(
    move: ArrayLike, observed: ArrayLike | None = None, *, name: str = "move"
) -> tuple[NDArray[np.int8], NDArray[np.bool_]]:
    """Split moves into an integer array and an observed-mask, checking both.

    Parameters
    ----------
    move
        Moves of shape ``(dyad, side, year)``: integers 0..3, with NaN (float
        input) or ``observed == False`` where a move is missing.
    observed
        Optional boolean mask of the same shape; by default every non-NaN move.
    name
        Name of the argument, for error messages.

    Returns
    -------
    moves, observed
        ``int8`` moves (0 where unobserved) and the boolean mask.

    Raises
    ------
    ValueError
        If the array is not 3-D with a side axis of length 2, the mask's shape
        differs, or an observed move is not an integer in 0..3.
    """
    m = np.asarray(move, dtype=float)
    if m.ndim != 3 or m.shape[1] != 2:
        raise ValueError(f"{name}: expected shape (dyad, side=2, year), got {m.shape}")
    obs = ~np.isnan(m)
    if observed is not None:
        mask = np.asarray(observed)
        if mask.shape != m.shape:
            raise ValueError(f"observed: shape {mask.shape} does not match {name} shape {m.shape}")
        if mask.dtype != bool:
            raise ValueError(f"observed: expected a boolean mask, got dtype {mask.dtype}")
        if np.any(mask & ~obs):
            raise ValueError(f"observed: marks as observed a {name} that is NaN")
        obs = mask
    values = m[obs]
    bad = (values < 0) | (values > 3) | (values != np.round(values))
    if np.any(bad):
        first = np.argwhere(obs)[np.flatnonzero(bad)[0]]
        raise ValueError(
            f"{name}: moves must be integers 0..3 (or missing), got {values[bad][0]!r} "
            f"at (dyad, side, year) index {tuple(int(k) for k in first)}"
        )
    return np.where(obs, m, 0).astype(np.int8), obs


def per_state(value: ArrayLike, n_dyads: int, name: str) -> NDArray[np.float64]:
    """Broadcast a per-observer parameter to shape ``(dyad, side)``.

    Raises
    ------
    ValueError
        If ``value`` cannot be broadcast to ``(n_dyads, 2)``.
    """
    v = np.asarray(value, dtype=float)
    try:
        return np.broadcast_to(v, (n_dyads, 2)).copy()
    except ValueError:
        raise ValueError(
            f"{name}: shape {v.shape} cannot be broadcast to (dyad, side) = ({n_dyads}, 2)"
        ) from None


def observer_shape(n_dyads: int, **values: ArrayLike) -> tuple[int, ...]:
    """The observers' shape ``(..., dyad, side)`` that parameters broadcast to.

    Every value is a scalar or an array broadcastable to ``(..., n_dyads, 2)``;
    ``cutpoints`` (if given) carries its three values on an extra last axis. The
    leading axes ``...`` (posterior draws, configurations) are the broadcast of
    all the values' leading axes.

    Raises
    ------
    ValueError
        Naming the first value whose shape does not broadcast.
    """
    shape: tuple[int, ...] = (n_dyads, 2)
    for name, value in values.items():
        v_shape = np.shape(value)[:-1] if name == "cutpoints" else np.shape(value)
        try:
            shape = np.broadcast_shapes(shape, v_shape)
        except ValueError:
            raise ValueError(
                f"{name}: shape {np.shape(value)} cannot be broadcast to (..., dyad, side) = "
                f"(..., {n_dyads}, 2)"
            ) from None
        if shape[-2:] != (n_dyads, 2):
            raise ValueError(
                f"{name}: shape {np.shape(value)} cannot be broadcast to (..., dyad, side) = "
                f"(..., {n_dyads}, 2)"
            )
    return shape


def own_lag(move: NDArray, observed: NDArray[np.bool_]) -> NDArray[np.float64]:
    """``x = m - 1`` (``hold`` is 0), and 0 where the move is masked: a masked lag reads as hold."""
    return np.where(observed, move - 1.0, 0.0)


def evidence_step(
    move_other: NDArray,
    observed_other: NDArray[np.bool_],
    x_own_lag: NDArray,
    belief_other_lag: NDArray,
    s: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    cutpoints: ArrayLike,
) -> NDArray[np.float64]:
    """Evidence ``e[i, t]`` of one year, for all observers at once.

    All array arguments broadcast to the observers' shape (``(dyad, side)``,
    or ``(..., dyad, side)`` with leading axes of posterior draws);
    ``move_other`` is ``m[j, t]``, ``x_own_lag`` is ``x[i, t-1]`` (0 where masked)
    and ``belief_other_lag`` is ``b[j, t-1]``. The action parameters are scalars
    or arrays broadcasting the same way (one value per draw: ``(sample, 1, 1)``),
    the cutpoints ``(3,)`` or ``(..., 3)`` with leading axes broadcasting likewise.

    Returns
    -------
    numpy.ndarray
        ``e[i, t]``, 0 where ``m[j, t]`` is unobserved.
    """
    eta_read_benign = s * (gamma * x_own_lag + beta * belief_other_lag)
    e = log_prob(move_other, eta_read_benign + delta, cutpoints) - log_prob(
        move_other, eta_read_benign, cutpoints
    )
    return np.where(observed_other, e, 0.0)


def weigh(evidence: NDArray, w: ArrayLike) -> NDArray[np.float64]:
    """Apply the discount: ``e`` if ``e >= 0`` else ``w * e``."""
    return np.where(evidence >= 0, evidence, w * evidence)


def other(a: NDArray) -> NDArray:
    """The other side's values: flip the side axis, the last axis of a year's array."""
    return a[..., ::-1]


def belief_update(
    log_odds_lag: NDArray,
    belief_lag: NDArray,
    move: NDArray,
    observed: NDArray[np.bool_],
    x_lag: NDArray,
    w: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    cutpoints: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One year of the coupled recursion for every observer: ``l[., t]`` from ``l[., t-1]``.

    The single implementation of DESIGN §3's belief update, shared by
    :func:`belief_recursion` (observed moves) and
    :func:`secdilemma.core.forward.forward` (generated moves). Arrays are a
    year's values on the observers' shape ``(..., dyad, side)``: ``move`` and
    ``observed`` are the moves ``m[., t]`` of both sides and their mask (each
    observer reads the other's, :func:`other`), ``x_lag`` the own lags
    ``x[., t-1]`` (:func:`own_lag`), ``belief_lag = sigmoid(log_odds_lag)``.

    Returns
    -------
    evidence, log_odds
        ``e[., t]`` and ``l[., t] = l[., t-1] + e * (1 if e >= 0 else w)``.
    """
    e = evidence_step(
        other(move), other(observed), x_lag, other(belief_lag), s, beta, gamma, delta, cutpoints
    )
    return e, log_odds_lag + weigh(e, w)


def check_action_arrays(
    beta: ArrayLike, gamma: ArrayLike, delta: ArrayLike, cutpoints: ArrayLike
) -> NDArray[np.float64]:
    """Validate action parameters given as scalars or per-draw arrays; return the cutpoints.

    Scalars go through :func:`~secdilemma.core.parameters.check_action`; arrays
    (one value per posterior draw) are checked elementwise against DESIGN §3's
    ranges (``beta > 0``, ``gamma >= 0``, ``delta > 0``, increasing cutpoints).

    Raises
    ------
    ValueError
        Naming the first parameter out of range.
    """
    if all(np.ndim(v) == 0 for v in (beta, gamma, delta)) and np.ndim(cutpoints) == 1:
        check_action(float(beta), float(gamma), float(delta), cutpoints)  # type: ignore[arg-type]
        return check_cutpoints(cutpoints)
    for name, value in (("beta", beta), ("gamma", gamma), ("delta", delta)):
        if not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ValueError(f"{name}: must be finite, got non-finite values")
    if not np.all(np.asarray(beta) > 0):
        raise ValueError("beta: fear must be > 0")
    if np.any(np.asarray(gamma) < 0):
        raise ValueError("gamma: reactivity must be >= 0")
    if not np.all(np.asarray(delta) > 0):
        raise ValueError("delta: malign escalation must be > 0")
    c = as_cutpoints(cutpoints)
    if not np.all(np.isfinite(c)):
        raise ValueError("cutpoints: must be finite")
    if not np.all(np.diff(c, axis=-1) > 0):
        raise ValueError("cutpoints: must be strictly increasing")
    return c


def belief_recursion(
    move: ArrayLike,
    l0: ArrayLike,
    w: ArrayLike,
    s: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    cutpoints: ArrayLike,
    observed: ArrayLike | None = None,
) -> BeliefPaths:
    """Belief paths of both sides of every dyad, given the observed moves.

    Parameters
    ----------
    move
        Moves ``m`` of shape ``(dyad, side, year)``, integers 0..3 with NaN (or
        ``observed == False``) where missing. Year 0 is each dyad's first
        observed year (its baseline); pad shorter dyads at the end.
    l0, w, s
        Per-observer prior log-odds, discount in (0, 1] and sensibility in
        [0, 1]; scalars or arrays broadcastable to ``(dyad, side)``, or to
        ``(..., dyad, side)`` with leading axes of posterior draws (and
        configurations, DESIGN §4).
    beta, gamma, delta
        Shared action parameters (fear, reactivity, malign escalation):
        scalars, or one value per draw as arrays broadcastable to
        ``(..., dyad, side)`` (e.g. shape ``(sample, 1, 1)``).
    cutpoints
        Three increasing ordered-logistic cutpoints, ``(3,)``, or ``(..., 3)``
        with leading axes broadcastable to ``(..., dyad, side)``.
    observed
        Optional boolean mask, ``True`` where the move is observed.

    Returns
    -------
    BeliefPaths
        ``log_odds``, ``belief`` and ``evidence``, each ``(..., dyad, side,
        year)``: the leading axes are those of the parameters (none for
        scalar and per-state parameters).

    Raises
    ------
    ValueError
        On moves outside 0..3, mismatched shapes, ``w`` outside (0, 1], ``s``
        outside [0, 1], or non-increasing cutpoints; the message names the
        argument.
    """
    m, obs = as_moves(move, observed)
    n_dyads, _, n_years = m.shape
    shape = observer_shape(
        n_dyads, l0=l0, w=w, s=s, beta=beta, gamma=gamma, delta=delta, cutpoints=cutpoints
    )
    l0, w, s = (np.broadcast_to(np.asarray(v, dtype=float), shape) for v in (l0, w, s))
    check_belief(l0, w, s)
    c = check_action_arrays(beta, gamma, delta, cutpoints)

    x = own_lag(m, obs)  # masked lag reads as hold
    # Year first while the loop runs: each year's slice is contiguous.
    log_odds = np.empty((n_years, *shape))
    evidence = np.zeros((n_years, *shape))
    log_odds[0] = l0
    for t in range(1, n_years):
        evidence[t], log_odds[t] = belief_update(
            log_odds[t - 1],
            expit(log_odds[t - 1]),
            m[:, :, t],
            obs[:, :, t],
            x[:, :, t - 1],
            w,
            s,
            beta,
            gamma,
            delta,
            c,
        )
    log_odds = np.ascontiguousarray(np.moveaxis(log_odds, 0, -1))
    evidence = np.ascontiguousarray(np.moveaxis(evidence, 0, -1))
    return BeliefPaths(log_odds=log_odds, belief=expit(log_odds), evidence=evidence)
