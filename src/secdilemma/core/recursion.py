"""The coupled belief recursion of DESIGN §3, in NumPy.

With ``j = other(i)`` and ``x[i,t] = m[i,t] - 1``, state ``i`` reads ``j``'s move
of year ``t`` against both types, accounting to the degree ``s[i]`` for ``j``'s
reaction to ``i``'s last move and for ``j``'s fear of ``i``::

    eta_read[i,t](tau) = s[i] * (gamma * x[i,t-1] + beta * b[j,t-1]) + delta * tau
    e[i,t] = log OrderedLogistic(m[j,t] | eta_read[i,t](1), c)
           - log OrderedLogistic(m[j,t] | eta_read[i,t](0), c)
    l[i,t] = l[i,t-1] + e[i,t] * (1 if e[i,t] >= 0 else w[i]),   l[i,0] = l0[i]
    b[i,t] = sigmoid(l[i,t])

Arrays are laid out ``(dyad, side, year)``; ``other(side)`` is a flip of the side
axis, so one year's update is vectorised over all dyads and both sides. The
loop over years is inherent (year ``t`` needs ``b[., t-1]``); this module is the
reference implementation for simulation and for testing the compiled
log-density of the fitted models, not the log-density itself.

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

from secdilemma.core.ordered_logistic import log_prob
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


def evidence_step(
    move_other: NDArray,
    observed_other: NDArray[np.bool_],
    x_own_lag: NDArray,
    belief_other_lag: NDArray,
    s: NDArray,
    beta: float,
    gamma: float,
    delta: float,
    cutpoints: NDArray,
) -> NDArray[np.float64]:
    """Evidence ``e[i, t]`` of one year, for all observers at once.

    All array arguments have the observers' shape (e.g. ``(dyad, side)``);
    ``move_other`` is ``m[j, t]``, ``x_own_lag`` is ``x[i, t-1]`` (0 where masked)
    and ``belief_other_lag`` is ``b[j, t-1]``.

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


def weigh(evidence: NDArray, w: NDArray) -> NDArray[np.float64]:
    """Apply the discount: ``e`` if ``e >= 0`` else ``w * e``."""
    return np.where(evidence >= 0, evidence, w * evidence)


def other(a: NDArray) -> NDArray:
    """The other side's values: flip the side axis (axis 1)."""
    return a[:, ::-1]


def belief_recursion(
    move: ArrayLike,
    l0: ArrayLike,
    w: ArrayLike,
    s: ArrayLike,
    beta: float,
    gamma: float,
    delta: float,
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
        [0, 1]; scalars or arrays broadcastable to ``(dyad, side)``.
    beta, gamma, delta
        Shared action parameters (fear, reactivity, malign escalation).
    cutpoints
        Three increasing ordered-logistic cutpoints.
    observed
        Optional boolean mask, ``True`` where the move is observed.

    Returns
    -------
    BeliefPaths
        ``log_odds``, ``belief`` and ``evidence``, each ``(dyad, side, year)``.

    Raises
    ------
    ValueError
        On moves outside 0..3, mismatched shapes, ``w`` outside (0, 1], ``s``
        outside [0, 1], or non-increasing cutpoints; the message names the
        argument.
    """
    m, obs = as_moves(move, observed)
    n_dyads, _, n_years = m.shape
    l0, w, s = (per_state(v, n_dyads, n) for v, n in ((l0, "l0"), (w, "w"), (s, "s")))
    check_belief(l0, w, s)
    check_action(beta, gamma, delta, cutpoints)
    c = check_cutpoints(cutpoints)

    x = np.where(obs, m.astype(float) - 1.0, 0.0)  # masked lag reads as hold
    log_odds = np.empty(m.shape)
    evidence = np.zeros(m.shape)
    log_odds[:, :, 0] = l0
    for t in range(1, n_years):
        e = evidence_step(
            other(m[:, :, t]),
            other(obs[:, :, t]),
            x[:, :, t - 1],
            other(expit(log_odds[:, :, t - 1])),
            s,
            beta,
            gamma,
            delta,
            c,
        )
        evidence[:, :, t] = e
        log_odds[:, :, t] = log_odds[:, :, t - 1] + weigh(e, w)
    return BeliefPaths(log_odds=log_odds, belief=expit(log_odds), evidence=evidence)
