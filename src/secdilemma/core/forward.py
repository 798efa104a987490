"""The coupled dyad run forward: one generative year, and the run over years.

One generative year of DESIGN §3, for every observer at once (``j = other(i)``,
``x = m - 1``)::

    eta[i,t] = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau[i]
    m[i,t]   = OrderedLogistic(eta[i,t], c) drawn by inverting uniform u[i,t]
    l[i,t]   = l[i,t-1] + weighed evidence of m[j,t]        (recursion.belief_update)

The action model is :func:`secdilemma.core.action.linear_predictor` and the
belief update :func:`secdilemma.core.recursion.belief_update`, the same
functions that read observed moves, so simulation and inference share one
implementation of every equation. Everything is vectorised over the
observers' shape ``(..., dyad, side)``: the leading axes hold posterior draws
(and a configuration axis of length 1 once each draw's configuration of
observer regimes is chosen), so a whole posterior predictive replicate is one
loop over years. Shapes follow :mod:`secdilemma.core.action`.

Three uses, one function (:func:`forward`):

- the simulator (:func:`secdilemma.core.simulate.simulate_dyads`): year 0 drawn
  with both lags at ``hold`` and beliefs at ``l0``, every move observed;
- the generative posterior predictive check: each fitted dyad's first
  observed year given (``n_given = 1``), later years drawn;
- counterfactual histories: the observed years before ``from_year`` given,
  later years drawn.

Masking. A cell marked unobserved (``observed`` False: missing source data,
padding of shorter dyads) is drawn but then treated exactly as the fitted
likelihood treats a missing move: it contributes no evidence to the other
(``e = 0``) and reads as ``hold`` in lags. Replicates keep the fitted data's
missingness ("missing moves stay missing"), and the process generating them is
the one whose likelihood was fitted.

Randomness. The caller passes the uniforms, one per cell, year first:
``uniforms[t]`` has the observers' shape. ``rng.random((n_years, *shape))``
is the same stream as one ``rng.random(shape)`` per year, which is what the
simulator has always drawn, so :func:`~secdilemma.core.simulate.simulate_dyads`
still gives the same panel, bit for bit, for the same seed. Uniforms of given
years are not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit

from secdilemma.core import ordered_logistic
from secdilemma.core.action import linear_predictor
from secdilemma.core.recursion import belief_update, other, own_lag


@dataclass(frozen=True)
class ForwardRun:
    """Paths of a forward run, each ``(..., dyad, side, year)``.

    Attributes
    ----------
    move
        Moves 0..3 (``int8``): given or drawn; where ``observed`` is False the
        drawn move is masked (it affects nothing).
    observed
        Mask of the cells that count as observed (broadcast to the paths' shape).
    log_odds
        ``l[i, t]``.
    evidence
        ``e[i, t]`` (0 in year 0 and where the other's move is masked).
    """

    move: NDArray[np.int8]
    observed: NDArray[np.bool_]
    log_odds: NDArray[np.float64]
    evidence: NDArray[np.float64]

    @property
    def belief(self) -> NDArray[np.float64]:
        """``b[i, t] = sigmoid(l[i, t])``."""
        return expit(self.log_odds)

    def move_or_nan(self) -> NDArray[np.float64]:
        """Moves as floats with NaN where masked (the panel convention)."""
        return np.where(self.observed, self.move, np.nan)


def forward(
    *,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    cutpoints: ArrayLike,
    tau: ArrayLike,
    l0: ArrayLike,
    w: ArrayLike,
    s: ArrayLike,
    uniforms: NDArray[np.float64],
    observed: ArrayLike | None = None,
    given_move: ArrayLike | None = None,
    n_given: int = 0,
) -> ForwardRun:
    """Run coupled dyads forward over years (module docstring).

    Parameters are not validated here (callers check them once, outside any
    loop over draws: :func:`secdilemma.core.simulate.simulate_dyads`,
    :mod:`secdilemma.analysis.draws`).

    Parameters
    ----------
    alpha, tau, l0, w, s
        Per-observer intercepts, intents (0/1), prior log-odds, discounts and
        sensibilities, broadcastable to the observers' shape ``(..., dyad, side)``.
    beta, gamma, delta, cutpoints
        Shared action parameters: scalars (cutpoints ``(3,)``) or one value per
        draw, broadcasting against the observers' shape (cutpoints with their
        three values on an extra last axis).
    uniforms
        ``(year, ..., dyad, side)``: the uniform that draws each move. Its shape
        fixes the number of years and the observers' shape.
    observed
        Cells that count as observed, broadcastable to ``(..., dyad, side,
        year)``; default all.
    given_move
        Moves 0..3 broadcastable to ``(..., dyad, side, year)``, used for the
        years ``t < n_given`` instead of drawn ones.
    n_given
        Number of leading years taken from ``given_move`` (0: year 0 is drawn
        with both lags at ``hold`` and beliefs at ``l0``).

    Returns
    -------
    ForwardRun
    """
    uniforms = np.asarray(uniforms, dtype=float)
    n_years, shape = uniforms.shape[0], uniforms.shape[1:]
    if n_given and given_move is None:
        raise ValueError("given_move: needed when n_given > 0")
    if not 0 <= n_given <= n_years:
        raise ValueError(f"n_given: must lie in 0..{n_years}, got {n_given}")
    c = ordered_logistic.as_cutpoints(cutpoints)
    if observed is None:
        obs = np.ones((*shape, n_years), dtype=bool)
    else:
        obs = np.broadcast_to(np.asarray(observed, dtype=bool), (*shape, n_years))
    given = None if given_move is None else np.asarray(given_move)
    l0 = np.broadcast_to(np.asarray(l0, dtype=float), shape)

    move = np.empty((n_years, *shape), dtype=np.int8)
    log_odds = np.empty((n_years, *shape))
    evidence = np.zeros((n_years, *shape))
    # Year 0: beliefs at l0; drawn with both lags at hold (x = 0), or given.
    log_odds[0] = l0
    if n_given > 0:
        move[0] = np.broadcast_to(given[..., 0], shape)  # type: ignore[index]
    else:
        eta = linear_predictor(alpha, beta, gamma, delta, expit(l0), 0.0, tau)
        move[0] = ordered_logistic.from_uniform(eta, c, uniforms[0])
    for t in range(1, n_years):
        belief_lag = expit(log_odds[t - 1])
        x_lag = own_lag(move[t - 1], obs[..., t - 1])
        if t < n_given:
            move[t] = np.broadcast_to(given[..., t], shape)  # type: ignore[index]
        else:
            eta = linear_predictor(alpha, beta, gamma, delta, belief_lag, other(x_lag), tau)
            move[t] = ordered_logistic.from_uniform(eta, c, uniforms[t])
        evidence[t], log_odds[t] = belief_update(
            log_odds[t - 1], belief_lag, move[t], obs[..., t], x_lag, w, s, beta, gamma, delta, c
        )

    def year_last(a: NDArray) -> NDArray:
        return np.ascontiguousarray(np.moveaxis(a, 0, -1))

    return ForwardRun(
        move=year_last(move),
        observed=obs,
        log_odds=year_last(log_odds),
        evidence=year_last(evidence),
    )
