"""Ordered-logistic probabilities of the four military moves, in log space.

DESIGN §3 writes every move as ``m ~ OrderedLogistic(eta, c)`` with cutpoints
``c[0] < c[1] < c[2]``::

    P(m = 0) = 1 - sigmoid(eta - c[0])
    P(m = k) = sigmoid(eta - c[k-1]) - sigmoid(eta - c[k]),   k = 1, 2
    P(m = 3) = sigmoid(eta - c[2])

The middle categories are a difference of two sigmoids, which cancels to 0 in
floating point once ``|eta|`` is large (a belief at certainty times a large
``beta``). We use the exact identity, with ``a = eta - c[k-1] > b = eta - c[k]``,

    sigmoid(a) - sigmoid(b) = sigmoid(a) * sigmoid(-b) * (1 - exp(b - a)),

so that::

    log P(m = k) = log_sigmoid(eta - c[k-1]) + log_sigmoid(c[k] - eta)
                   + log1p(-exp(c[k-1] - c[k])),

where the last term depends on the cutpoint gap only. With the conventions
``c[-1] = -inf`` and ``c[3] = +inf`` (for which ``log_sigmoid`` is 0 and the gap
term vanishes) the same formula covers all four categories. It is finite for
every finite ``eta``: no NaN or inf at extreme certainty.

``scipy.special`` has ``log_expit`` but no ordered-logistic log-probability, and
``pymc.OrderedLogistic`` is a PyTensor graph; this small NumPy version is the
reference against which the PyTensor model is tested.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, log_expit

N_MOVES = 4
"""Number of move categories: 0 de-escalate, 1 hold, 2 build-up, 3 militarized."""


def _padded_cutpoints(cutpoints: NDArray[np.float64]) -> tuple[NDArray, NDArray, NDArray]:
    """Lower and upper cutpoint and log gap term for each category (0..3), on the last axis."""
    lead = cutpoints.shape[:-1]
    lower = np.concatenate([np.full((*lead, 1), -np.inf), cutpoints], axis=-1)
    upper = np.concatenate([cutpoints, np.full((*lead, 1), np.inf)], axis=-1)
    log_gap = np.zeros((*lead, N_MOVES))
    log_gap[..., 1:-1] = np.log1p(-np.exp(cutpoints[..., :-1] - cutpoints[..., 1:]))
    return lower, upper, log_gap


def as_cutpoints(cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Cutpoints as a float array with the three cutpoints on the last axis.

    Raises
    ------
    ValueError
        If the last axis does not have length 3.
    """
    c = np.asarray(cutpoints, dtype=float)
    if c.ndim == 0 or c.shape[-1] != N_MOVES - 1:
        raise ValueError(f"cutpoints: expected 3 values on the last axis, got shape {c.shape}")
    return c


def log_prob(move: ArrayLike, eta: ArrayLike, cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Log-probability of ``move`` under ``OrderedLogistic(eta, cutpoints)``.

    Parameters
    ----------
    move
        Integer moves in 0..3; broadcast against ``eta``. Values outside 0..3 are
        the caller's to exclude (they are clipped here so that masked entries can
        hold any placeholder).
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints ``c``: shape ``(3,)``, or ``(..., 3)`` with
        leading axes that broadcast against ``move`` and ``eta`` (one set of
        cutpoints per posterior draw, say ``(sample, 1, 1, 3)`` against
        ``(sample, dyad, side)``).

    Returns
    -------
    numpy.ndarray
        ``log P(move | eta, c)``, broadcast shape of ``move``, ``eta`` and the
        cutpoints' leading axes. Both branches evaluate the same expression on
        the same numbers, so shared and per-draw cutpoints agree bit for bit.
    """
    c = as_cutpoints(cutpoints)
    eta = np.asarray(eta, dtype=float)
    k = np.clip(np.asarray(move), 0, N_MOVES - 1).astype(np.intp)
    lower, upper, log_gap = _padded_cutpoints(c)
    if c.ndim == 1:
        lower_k, upper_k, gap_k = lower[k], upper[k], log_gap[k]
    else:  # one row of cutpoints per leading index: pick category k along the last axis
        ndim = max(eta.ndim, k.ndim, c.ndim - 1)
        index = k.reshape((1,) * (ndim - k.ndim) + k.shape)[..., None]
        lower_k, upper_k, gap_k = (
            np.take_along_axis(a.reshape((1,) * (ndim + 1 - a.ndim) + a.shape), index, axis=-1)[
                ..., 0
            ]
            for a in (lower, upper, log_gap)
        )
    with np.errstate(invalid="ignore"):
        # log_sigmoid(eta - (-inf)) = 0 and log_sigmoid(+inf - eta) = 0 exactly.
        return log_expit(eta - lower_k) + log_expit(upper_k - eta) + gap_k


def log_prob_all(eta: ArrayLike, cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Log-probabilities of all four moves, stacked on a new last axis.

    Parameters
    ----------
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints ``c``, shape ``(3,)`` or ``(..., 3)`` with
        leading axes broadcasting against ``eta``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``eta.shape + (4,)`` (broadcast with the cutpoints' leading axes).
    """
    eta = np.asarray(eta, dtype=float)
    c = as_cutpoints(cutpoints)
    return log_prob(np.arange(N_MOVES), eta[..., None], c[..., None, :] if c.ndim > 1 else c)


def from_uniform(eta: ArrayLike, cutpoints: ArrayLike, uniform: ArrayLike) -> NDArray[np.int8]:
    """Moves from ``OrderedLogistic(eta, cutpoints)`` by CDF inversion of given uniforms.

    ``move = #{k : u > P(m <= k)}`` with ``P(m <= k) = sigmoid(c[k] - eta)``: the
    number of cumulative probabilities the uniform exceeds. Separating the
    uniforms from the generator lets an independent implementation be fed the
    very same draws (``tests/naive.py``).

    Parameters
    ----------
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints, ``(3,)`` or ``(..., 3)`` broadcasting
        against ``eta``.
    uniform
        Uniforms in [0, 1), broadcast against ``eta``.

    Returns
    -------
    numpy.ndarray
        Moves in 0..3 (``int8``).
    """
    eta = np.asarray(eta, dtype=float)
    c = as_cutpoints(cutpoints)
    cdf = expit(c - eta[..., None])
    return (np.asarray(uniform)[..., None] > cdf).sum(axis=-1).astype(np.int8)


def sample(eta: ArrayLike, cutpoints: ArrayLike, rng: np.random.Generator) -> NDArray[np.int8]:
    """Draw moves from ``OrderedLogistic(eta, cutpoints)`` by CDF inversion.

    One uniform per element keeps draws reproducible and aligned with ``eta``
    whatever the probabilities are (:func:`from_uniform`).

    Parameters
    ----------
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints ``c``, ``(3,)`` or ``(..., 3)``.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Moves in 0..3 with the broadcast shape of ``eta`` and the cutpoints'
        leading axes (``int8``).
    """
    eta = np.asarray(eta, dtype=float)
    c = as_cutpoints(cutpoints)
    shape = np.broadcast_shapes(eta.shape, c.shape[:-1])
    return from_uniform(eta, c, rng.random(shape))
