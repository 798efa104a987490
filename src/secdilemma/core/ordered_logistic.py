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
    """Lower and upper cutpoint and log gap term for each category (0..3)."""
    lower = np.concatenate([[-np.inf], cutpoints])
    upper = np.concatenate([cutpoints, [np.inf]])
    log_gap = np.zeros(N_MOVES)
    log_gap[1:-1] = np.log1p(-np.exp(cutpoints[:-1] - cutpoints[1:]))
    return lower, upper, log_gap


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
        The three increasing cutpoints ``c``.

    Returns
    -------
    numpy.ndarray
        ``log P(move | eta, c)``, broadcast shape of ``move`` and ``eta``.
    """
    c = np.asarray(cutpoints, dtype=float)
    eta = np.asarray(eta, dtype=float)
    k = np.clip(np.asarray(move), 0, N_MOVES - 1).astype(np.intp)
    lower, upper, log_gap = _padded_cutpoints(c)
    with np.errstate(invalid="ignore"):
        # log_sigmoid(eta - (-inf)) = 0 and log_sigmoid(+inf - eta) = 0 exactly.
        return log_expit(eta - lower[k]) + log_expit(upper[k] - eta) + log_gap[k]


def log_prob_all(eta: ArrayLike, cutpoints: ArrayLike) -> NDArray[np.float64]:
    """Log-probabilities of all four moves, stacked on a new last axis.

    Parameters
    ----------
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints ``c``.

    Returns
    -------
    numpy.ndarray
        Array of shape ``eta.shape + (4,)``.
    """
    eta = np.asarray(eta, dtype=float)
    return log_prob(np.arange(N_MOVES), eta[..., None], cutpoints)


def sample(eta: ArrayLike, cutpoints: ArrayLike, rng: np.random.Generator) -> NDArray[np.int8]:
    """Draw moves from ``OrderedLogistic(eta, cutpoints)`` by CDF inversion.

    One uniform per element keeps draws reproducible and aligned with ``eta``
    whatever the probabilities are.

    Parameters
    ----------
    eta
        Linear predictor(s).
    cutpoints
        The three increasing cutpoints ``c``.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Moves in 0..3 with the shape of ``eta`` (``int8``).
    """
    eta = np.asarray(eta, dtype=float)
    c = np.asarray(cutpoints, dtype=float)
    # P(m <= k) = sigmoid(c[k] - eta); move = number of cutpoints the uniform exceeds.
    cdf = expit(c - eta[..., None])
    u = rng.random(eta.shape)
    return (u[..., None] > cdf).sum(axis=-1).astype(np.int8)
