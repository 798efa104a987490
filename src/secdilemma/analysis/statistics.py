"""Test statistics of DESIGN §5 and posterior predictive p-values, in NumPy.

One implementation of each statistic, used for observed and replicated
panels alike, by the predictive checks (:mod:`secdilemma.analysis.predictive`),
the counterfactuals and the figures (:mod:`secdilemma.plotting`).

Conventions. Moves are arrays ``(..., dyad, side, year)`` with NaN where a
cell does not count (a missing move; the first observed year of a fitted
dyad, which has no lag and is neither modelled nor replicated; padding). A
statistic is computed over the counted cells only, so an observed panel and
its replicates, which share their missing cells, are compared like with
like. Per state the statistics are, with ``j = other(i)``:

``escalation_rate``
    share of counted moves that are ``build-up`` or ``militarized`` (>= 2);
``militarized_rate``
    share of counted moves that are ``militarized`` (3);
``longest_build_up``
    longest run of consecutive ``build-up`` years (move 2 exactly; a
    ``militarized`` year or an uncounted cell ends a run), in years;
``de_escalations``
    number of ``de-escalate`` moves (0);
``reactivity``
    lag-1 reactivity ``P(m[i,t] >= 2 | m[j,t-1] >= 2) - P(m[i,t] >= 2 | m[j,t-1] < 2)``
    over counted cells whose lag ``m[j,t-1]`` is known.

Per dyad the two sides are pooled: shares and reactivity over both sides'
cells, the count summed, the longest run the longer of the two.

Lags. The lag ``m[j,t-1]`` comes from a *history*: by default the moves
themselves, with the first year included (pass it un-masked). A one-step-ahead
(conditional) replicate is drawn given the observed history, so its
reactivity is measured against the observed lags; a generative replicate
makes its own history.

A statistic with no counted cell (or, for reactivity, an empty conditioning
set) is NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

DE_ESCALATE, HOLD, BUILD_UP, MILITARIZED = 0, 1, 2, 3

STATISTICS: dict[str, str] = {
    "escalation_rate": "escalation rate (share of moves >= build-up)",
    "militarized_rate": "militarized rate (share of moves militarized)",
    "longest_build_up": "longest build-up run (years)",
    "de_escalations": "de-escalations (count)",
    "reactivity": "lag-1 reactivity (difference of shares)",
}
"""Name -> label (with units) of each DESIGN §5 statistic, in table order."""

SHORT_NAMES: dict[str, tuple[str, str]] = {
    "escalation_rate": ("escalation rate", "share of moves >= build-up"),
    "militarized_rate": ("militarized rate", "share of moves militarized"),
    "longest_build_up": ("longest build-up run", "years"),
    "de_escalations": ("de-escalations", "count"),
    "reactivity": ("lag-1 reactivity", "difference of shares"),
}
"""Name -> (short title, unit) of each statistic, for figures."""

EQUALITY_TOLERANCE = 1e-12
"""Replicated and observed statistics closer than this count as equal in
:func:`mid_p_value` (shares computed from different cell counts can differ in
the last bit while being the same fraction)."""


def _share(
    hit: NDArray[np.bool_], counted: NDArray[np.bool_], axis: int | tuple[int, ...]
) -> NDArray:
    """``#(hit & counted) / #counted`` along ``axis``; NaN where nothing counts."""
    n = counted.sum(axis=axis)
    k = (hit & counted).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, k / np.maximum(n, 1), np.nan)


def escalation_rate(move: ArrayLike, axis: int | tuple[int, ...] = -1) -> NDArray[np.float64]:
    """Share of counted (non-NaN) moves that are ``build-up`` or ``militarized``, along ``axis``."""
    m = np.asarray(move, dtype=float)
    return _share(m >= BUILD_UP, ~np.isnan(m), axis)


def militarized_rate(move: ArrayLike, axis: int | tuple[int, ...] = -1) -> NDArray[np.float64]:
    """Share of counted moves that are ``militarized``, along ``axis``."""
    m = np.asarray(move, dtype=float)
    return _share(m == MILITARIZED, ~np.isnan(m), axis)


def de_escalation_count(move: ArrayLike, axis: int | tuple[int, ...] = -1) -> NDArray[np.float64]:
    """Number of ``de-escalate`` moves along ``axis`` (NaN where no cell counts)."""
    m = np.asarray(move, dtype=float)
    counted = (~np.isnan(m)).sum(axis=axis)
    return np.where(counted > 0, (m == DE_ESCALATE).sum(axis=axis), np.nan)


def longest_run(move: ArrayLike, category: int = BUILD_UP) -> NDArray[np.float64]:
    """Longest run of consecutive years with move ``category``, along the last axis.

    An uncounted (NaN) cell ends a run. NaN where no cell counts.
    """
    m = np.asarray(move, dtype=float)
    hit = m == category
    run = np.zeros(m.shape[:-1])
    best = np.zeros(m.shape[:-1])
    for t in range(m.shape[-1]):
        run = np.where(hit[..., t], run + 1.0, 0.0)
        best = np.maximum(best, run)
    return np.where((~np.isnan(m)).any(axis=-1), best, np.nan)


def reactivity(
    move: ArrayLike, history: ArrayLike | None = None, *, pool_sides: bool = False
) -> NDArray[np.float64]:
    """Lag-1 reactivity ``P(m[i,t] >= 2 | m[j,t-1] >= 2) - P(m[i,t] >= 2 | m[j,t-1] < 2)``.

    Parameters
    ----------
    move
        Moves ``(..., dyad, side, year)``, NaN where not counted.
    history
        The series the lags ``m[j, t-1]`` are read from, broadcastable to
        ``move`` (default ``move``); NaN where unknown.
    pool_sides
        Pool both sides' cells (the dyad's reactivity) instead of one value per side.

    Returns
    -------
    numpy.ndarray
        ``(..., dyad, side)``, or ``(..., dyad)`` when pooled.
    """
    m = np.asarray(move, dtype=float)
    h = m if history is None else np.broadcast_to(np.asarray(history, dtype=float), m.shape)
    current = m[..., 1:]
    lag = h[..., ::-1, :-1]  # the other side, one year earlier
    counted = ~np.isnan(current) & ~np.isnan(lag)
    escalates = current >= BUILD_UP
    axis = (-2, -1) if pool_sides else -1
    high = lag >= BUILD_UP
    return _share(escalates, counted & high, axis) - _share(escalates, counted & ~high, axis)


def state_statistics(
    move: ArrayLike, history: ArrayLike | None = None
) -> dict[str, NDArray[np.float64]]:
    """Every statistic of :data:`STATISTICS` per state: ``(..., dyad, side)`` arrays."""
    m = np.asarray(move, dtype=float)
    return {
        "escalation_rate": escalation_rate(m),
        "militarized_rate": militarized_rate(m),
        "longest_build_up": longest_run(m),
        "de_escalations": de_escalation_count(m),
        "reactivity": reactivity(m, history),
    }


def dyad_statistics(
    move: ArrayLike, history: ArrayLike | None = None
) -> dict[str, NDArray[np.float64]]:
    """Every statistic of :data:`STATISTICS` per dyad, sides pooled: ``(..., dyad)`` arrays."""
    m = np.asarray(move, dtype=float)
    both = (-2, -1)
    return {
        "escalation_rate": escalation_rate(m, axis=both),
        "militarized_rate": militarized_rate(m, axis=both),
        "longest_build_up": np.fmax(*np.moveaxis(longest_run(m), -1, 0)),
        "de_escalations": de_escalation_count(m, axis=both),
        "reactivity": reactivity(m, history, pool_sides=True),
    }


STATISTIC_FUNCTIONS: dict[str, Callable[..., dict[str, NDArray[np.float64]]]] = {
    "state": state_statistics,
    "dyad": dyad_statistics,
}
"""Level -> function computing every statistic at that level."""


def mid_p_value(replicated: ArrayLike, observed: ArrayLike, axis: int = 0) -> NDArray[np.float64]:
    """Posterior predictive mid-p value ``P(T_rep > T_obs) + 0.5 P(T_rep = T_obs)``.

    The probabilities are shares of the replicates along ``axis`` with a
    finite (non-NaN) statistic; equality is within
    :data:`EQUALITY_TOLERANCE`. The mid-p value of a discrete statistic is
    centred on 0.5 for a well-calibrated model, where ``P(T_rep >= T_obs)``
    would lean towards 1 (ArviZ has no helper for it).

    Parameters
    ----------
    replicated
        ``T_rep``, one value per draw along ``axis``.
    observed
        ``T_obs``, broadcastable to ``replicated`` without ``axis``.
    axis
        The draws' axis of ``replicated``.

    Returns
    -------
    numpy.ndarray
        p-values; NaN where ``T_obs`` is NaN or no replicate is finite.
    """
    rep = np.moveaxis(np.asarray(replicated, dtype=float), axis, 0)
    obs = np.asarray(observed, dtype=float)
    finite = ~np.isnan(rep)
    n = finite.sum(axis=0)
    greater = (finite & (rep > obs + EQUALITY_TOLERANCE)).sum(axis=0)
    equal = (finite & (np.abs(rep - obs) <= EQUALITY_TOLERANCE)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = (greater + 0.5 * equal) / np.maximum(n, 1)
    return np.where((n > 0) & ~np.isnan(obs), p, np.nan)
