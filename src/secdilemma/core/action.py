"""The action model of DESIGN §3 in NumPy, vectorised over posterior draws.

How states move, with ``j = other(i)`` and ``x = m - 1``::

    eta[i,t](tau) = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau
    m[i,t]        ~ OrderedLogistic(eta[i,t](tau), c)

and what a sequence of moves says about intent and (for a variant with
observer regimes, DESIGN §4) about the configuration ``k = (r0, r1)`` of the
two sides' regimes::

    ll[i](tau)    = sum_{t >= 1, modelled} log OrderedLogistic(m[i,t] | eta[i,t](tau), c)
    log p(m[i])   = logaddexp(log(1 - pi) + ll[i](0), log(pi) + ll[i](1))
    P(tau[i] = 1 | m, k) = sigmoid(log pi + ll[i](1) - log(1 - pi) - ll[i](0))
    log p(m[d], k)       = log P(r0) + log P(r1) + sum_i log p(m[i] | k)
    log p(m[d])          = logsumexp_k log p(m[d], k),   P(k | m) = p(m[d], k) / p(m[d])

This module is the one NumPy implementation of these equations: the
simulator (:mod:`secdilemma.core.forward`), both posterior predictive checks,
the counterfactuals and held-out log-likelihoods (:mod:`secdilemma.analysis`)
call it; the fitted model's PyTensor graph (:mod:`secdilemma.model.builder`) is
tested against it.

Shapes. Arrays of a year are laid out on the observers' shape
``(..., dyad, side)`` and paths add a last ``year`` axis. The leading axes
``...`` are free: none for one parameter set, ``(sample, configuration)`` for
a posterior (:mod:`secdilemma.analysis.draws`). Shared parameters (``beta,
gamma, delta, pi``) are scalars or arrays broadcasting against the observers'
shape (``(sample, 1, 1, 1)``); the cutpoints are ``(3,)`` or carry their three
values on an extra last axis (``(sample, 1, 1, 1, 3)``). The moves of the data
are ``(dyad, side, year)``, shared by every draw.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, logsumexp, softmax

from secdilemma.core.ordered_logistic import as_cutpoints, log_prob
from secdilemma.core.recursion import own_lag


def linear_predictor(
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    belief_lag: ArrayLike,
    x_other_lag: ArrayLike,
    tau: ArrayLike,
) -> NDArray[np.float64]:
    """``eta = alpha + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau`` (DESIGN §3).

    Evaluated left to right in this order everywhere in the package, so that
    every caller gets the same floating-point number for the same inputs.
    """
    return alpha + beta * belief_lag + gamma * x_other_lag + delta * tau  # type: ignore[operator]


def with_year_axis(value: ArrayLike) -> NDArray[np.float64]:
    """A parameter on the observers' shape, given a trailing ``year`` axis of length 1."""
    return np.asarray(value, dtype=float)[..., None]


def cutpoints_with_year_axis(cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Cutpoints ``(3,)`` unchanged, or ``(..., 3)`` given a ``year`` axis before the last."""
    c = as_cutpoints(cutpoints)
    return c if c.ndim == 1 else c[..., None, :]


def lagged_inputs(
    move: NDArray, observed: NDArray[np.bool_], belief: NDArray
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The inputs of ``eta[i, t]`` for ``t >= 1``: ``b[i, t-1]`` and ``x[j, t-1]``.

    Parameters
    ----------
    move, observed
        Moves ``(..., dyad, side, year)`` and their mask.
    belief
        Belief paths ``(..., dyad, side, year)``.

    Returns
    -------
    belief_lag, x_other_lag
        Each over periods ``1 .. T-1`` (last axis of length ``T - 1``); the
        other's lag reads as ``hold`` where masked.
    """
    x = own_lag(move, observed)
    return belief[..., :-1], x[..., ::-1, :-1]


def intent_log_likelihoods(
    move: NDArray,
    modelled: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    belief: NDArray,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike,
    delta: ArrayLike,
    cutpoints: ArrayLike,
) -> NDArray[np.float64]:
    """Per-state action log-likelihoods ``ll[i](tau)`` of whole sequences, both intents.

    Parameters
    ----------
    move, modelled, observed
        Moves ``(dyad, side, year)`` (any value where not observed), the cells
        that enter the likelihood (observed, period >= 1) and the observed
        mask (for the other's lag).
    belief
        Belief paths ``(..., dyad, side, year)``.
    alpha
        Intercepts on the observers' shape ``(..., dyad, side)``.
    beta, gamma, delta, cutpoints
        Shared action parameters on the observers' shape (module docstring).

    Returns
    -------
    numpy.ndarray
        ``(..., dyad, side, 2)``: ``ll[i](0)`` and ``ll[i](1)`` on the last axis.
    """
    belief_lag, x_other_lag = lagged_inputs(move, observed, belief)
    eta_benign = linear_predictor(
        with_year_axis(alpha),
        with_year_axis(beta),
        with_year_axis(gamma),
        with_year_axis(delta),
        belief_lag,
        x_other_lag,
        0.0,
    )
    c = cutpoints_with_year_axis(cutpoints)
    k = move[..., 1:]
    cells = modelled[..., 1:]
    benign = np.where(cells, log_prob(k, eta_benign, c), 0.0).sum(axis=-1)
    # eta(1) = eta(0) + delta: the same number linear_predictor gives for tau = 1.
    malign = np.where(cells, log_prob(k, eta_benign + with_year_axis(delta), c), 0.0).sum(axis=-1)
    return np.stack([benign, malign], axis=-1)


def marginal_log_likelihood(ll: NDArray, pi: ArrayLike) -> NDArray[np.float64]:
    """``log p(m[i]) = logaddexp(log(1 - pi) + ll(0), log(pi) + ll(1))``, intent marginalised."""
    return np.logaddexp(np.log1p(-np.asarray(pi)) + ll[..., 0], np.log(pi) + ll[..., 1])


def p_malign(ll: NDArray, pi: ArrayLike) -> NDArray[np.float64]:
    """``P(tau[i] = 1 | m) = sigmoid(log pi + ll(1) - log(1 - pi) - ll(0))``."""
    return expit(np.log(pi) + ll[..., 1] - np.log1p(-np.asarray(pi)) - ll[..., 0])


def configuration_log_likelihood(marginal: NDArray, log_prior: ArrayLike) -> NDArray[np.float64]:
    """``log p(m[d], k) = log P(k) + sum_i log p(m[i] | k)`` per configuration.

    Parameters
    ----------
    marginal
        Intent-marginalised log-likelihoods ``(..., configuration, dyad, side)``.
    log_prior
        ``log P(r0) + log P(r1)`` of each configuration, broadcastable to
        ``(..., configuration, dyad)`` (0 for a variant without regimes, whose
        single configuration is certain).

    Returns
    -------
    numpy.ndarray
        ``(..., configuration, dyad)``.
    """
    return log_prior + marginal.sum(axis=-1)


def dyad_log_likelihood(config_ll: NDArray) -> NDArray[np.float64]:
    """``log p(m[d])``, the logsumexp over configurations (axis -2 of ``config_ll``)."""
    return logsumexp(config_ll, axis=-2)


def configuration_weights(config_ll: NDArray) -> NDArray[np.float64]:
    """``P(k | m[d])``: the softmax of ``log p(m[d], k)`` over configurations (axis -2)."""
    return softmax(config_ll, axis=-2)


def categorical_from_uniform(weights: NDArray, uniform: NDArray, axis: int) -> NDArray[np.intp]:
    """Draw a category per element from ``weights`` (summing to 1 along ``axis``) by inversion.

    ``k = #{k' : u > W[k']}`` with ``W`` the cumulative weights, clipped to the
    last category (rounding can leave ``W[-1]`` a hair below 1). The same
    inversion as :func:`secdilemma.core.ordered_logistic.from_uniform`.

    Parameters
    ----------
    weights
        Category probabilities, categories along ``axis``.
    uniform
        Uniforms in [0, 1), one per element of ``weights`` without ``axis``.
    axis
        The categories' axis of ``weights``.

    Returns
    -------
    numpy.ndarray
        Category indices, the shape of ``uniform``.
    """
    cumulative = np.cumsum(weights, axis=axis)
    below = np.expand_dims(uniform, axis) > cumulative
    return np.minimum(below.sum(axis=axis), weights.shape[axis] - 1)
