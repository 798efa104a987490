"""Simulate coupled dyads forward from the generative model of DESIGN §3.

Each year both states move from the action model, given their own belief after
the previous year and the other's previous move::

    eta[i,t] = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau[i]
    m[i,t]   ~ OrderedLogistic(eta[i,t], c)

and then read each other's moves with the belief recursion of
:mod:`secdilemma.core.recursion`. The run itself is
:func:`secdilemma.core.forward.forward`, the generative engine the posterior
predictive checks and counterfactuals use (one implementation of the action
model and of the belief update, shared with the reference recursion); this
module only validates the arguments and wraps the paths in a panel. Year 0 is
drawn with both lags at ``hold`` and beliefs at ``l0``; beliefs are updated
from year 1 on.

The result is a panel (:mod:`secdilemma.panel`) with the historical schema for
``move`` plus the latent truth: ``belief``, ``log_odds``, ``evidence``,
``intent`` and the parameters used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version

import numpy as np
import xarray as xr
from numpy.typing import ArrayLike
from scipy.special import expit

from secdilemma.core.forward import forward
from secdilemma.core.parameters import (
    ActionParams,
    BeliefParams,
    check_belief,
    check_seed,
    intent_code,
    regime,
)
from secdilemma.core.recursion import per_state
from secdilemma.panel import MOVE_FLAG_ATTRS

BeliefSpec = str | BeliefParams | Mapping[str, ArrayLike]
"""A regime name, a :class:`BeliefParams`, or a mapping ``{"l0", "w", "s"}`` of
values broadcastable to ``(dyad, side)``."""


def _belief_arrays(
    beliefs: BeliefSpec | Sequence[str | BeliefParams], n_dyads: int
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per-state ``l0, w, s`` arrays and the regime label of each side."""
    if isinstance(beliefs, Mapping):
        missing = {"l0", "w", "s"} - set(beliefs)
        if missing:
            raise ValueError(f"beliefs: mapping lacks {sorted(missing)}; needs l0, w and s")
        unknown = sorted(map(str, set(beliefs) - {"l0", "w", "s"}))
        if unknown:
            raise ValueError(f"beliefs: unknown key(s) {unknown} in mapping; expected l0, w and s")
        arrays = {k: per_state(beliefs[k], n_dyads, k) for k in ("l0", "w", "s")}
        return arrays, ["custom", "custom"]
    sides = [beliefs, beliefs] if isinstance(beliefs, (str, BeliefParams)) else list(beliefs)
    if len(sides) != 2:
        raise ValueError(f"beliefs: expected one regime or one per side (2), got {len(sides)}")
    params = [regime(b) if isinstance(b, str) else b for b in sides]
    labels = [b if isinstance(b, str) else "custom" for b in sides]
    arrays = {
        k: per_state(np.array([getattr(p, k) for p in params]), n_dyads, k)
        for k in ("l0", "w", "s")
    }
    return arrays, labels


def _intent_array(intent: Sequence[str | int] | ArrayLike, n_dyads: int) -> np.ndarray:
    """``tau`` of shape ``(dyad, side)`` from a pair of names or a 0/1 array."""
    arr = np.asarray(intent, dtype=object)
    codes = np.vectorize(intent_code, otypes=[np.int8])(arr) if arr.size else arr
    return per_state(codes, n_dyads, "intent").astype(np.int8)


def simulate_dyads(
    n_dyads: int,
    n_years: int,
    *,
    beliefs: BeliefSpec | Sequence[str | BeliefParams] = "sensible",
    intent: Sequence[str | int] | ArrayLike = ("benign", "benign"),
    action: ActionParams | None = None,
    alpha: ArrayLike = 0.0,
    seed: int | None = 0,
) -> xr.Dataset:
    """Run ``n_dyads`` independent dyads forward for ``n_years`` years.

    Parameters
    ----------
    n_dyads, n_years
        Panel size (both >= 1).
    beliefs
        Belief formation of the observers: a regime name (see
        :data:`secdilemma.core.parameters.REGIMES`), a :class:`BeliefParams`, a pair
        of those (side 0, side 1), or a mapping of ``l0, w, s`` arrays
        broadcastable to ``(dyad, side)``.
    intent
        True types ``tau``: a pair of ``"benign"``/``"malign"`` (or 0/1), or an
        array broadcastable to ``(dyad, side)``.
    action
        Shared action parameters; :class:`ActionParams` defaults if omitted.
    alpha
        Per-state action intercepts, broadcastable to ``(dyad, side)``.
    seed
        Seed of :func:`numpy.random.default_rng`, an integer in
        ``[0, 2**63)`` (:data:`MAX_SEED`; it is stored in the panel's attrs),
        or ``None`` for fresh entropy; the same seed gives the same panel, bit
        for bit.

    Returns
    -------
    xarray.Dataset
        Panel with ``move``, ``belief``, ``log_odds``, ``evidence`` over
        ``(dyad, side, year)``; ``intent, l0, w, s, alpha`` over ``(dyad, side)``;
        the action parameters, seed and regimes as attrs.

    Raises
    ------
    ValueError
        On a non-positive size, an unknown regime or intent, or parameters out
        of range (the message names the argument).
    """
    for name, n in (("n_dyads", n_dyads), ("n_years", n_years)):
        if int(n) != n or n < 1:
            raise ValueError(f"{name}: must be a positive integer, got {n!r}")
    if seed is not None:
        check_seed(seed)
    action = action or ActionParams()
    b_params, labels = _belief_arrays(beliefs, n_dyads)
    check_belief(**b_params)
    tau = _intent_array(intent, n_dyads)
    alpha_arr = per_state(alpha, n_dyads, "alpha")
    if not np.all(np.isfinite(alpha_arr)):
        raise ValueError("alpha: must be finite")
    l0, w, s = b_params["l0"], b_params["w"], b_params["s"]
    beta, gamma, delta = action.beta, action.gamma, action.delta
    c = np.asarray(action.cutpoints)

    # One uniform per state and year, year by year: the stream the simulator has
    # always drawn (core.forward), so a seed gives the same panel as before.
    uniforms = np.random.default_rng(seed).random((n_years, n_dyads, 2))
    run = forward(
        alpha=alpha_arr, beta=beta, gamma=gamma, delta=delta, cutpoints=c, tau=tau,
        l0=l0, w=w, s=s, uniforms=uniforms,
    )  # fmt: skip
    move, log_odds, evidence = run.move, run.log_odds, run.evidence

    return _as_panel(move, log_odds, evidence, tau, l0, w, s, alpha_arr, action, labels, seed)


def _as_panel(
    move: np.ndarray,
    log_odds: np.ndarray,
    evidence: np.ndarray,
    tau: np.ndarray,
    l0: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    alpha: np.ndarray,
    action: ActionParams,
    labels: list[str],
    seed: int | None,
) -> xr.Dataset:
    """Wrap simulated arrays in the panel schema."""
    n_dyads, _, n_years = move.shape
    dyad = [f"sim{d:04d}" for d in range(n_dyads)]
    dims3 = ("dyad", "side", "year")
    dims2 = ("dyad", "side")
    state = np.array([[f"{d}{suffix}" for suffix in ("a", "b")] for d in dyad])
    return xr.Dataset(
        {
            "move": (dims3, move.astype(float), MOVE_FLAG_ATTRS),
            "belief": (
                dims3,
                expit(log_odds),
                {"long_name": "belief that the other state is malign, b[i,t]", "units": "1"},
            ),
            "log_odds": (dims3, log_odds, {"long_name": "l[i,t] = logit b[i,t]"}),
            "evidence": (
                dims3,
                evidence,
                {"long_name": "log-likelihood ratio of the other's move, e[i,t]"},
            ),
            "intent": (
                dims2,
                tau,
                {
                    "long_name": "true intent tau[i]",
                    "flag_values": [0, 1],
                    "flag_meanings": "benign malign",
                },
            ),
            "l0": (dims2, l0, {"long_name": "prior log-odds that the other is malign"}),
            "w": (dims2, w, {"long_name": "discount on reassuring evidence"}),
            "s": (dims2, s, {"long_name": "security-dilemma sensibility"}),
            "alpha": (dims2, alpha, {"long_name": "action intercept alpha[i]"}),
        },
        coords={
            "dyad": dyad,
            "side": [0, 1],
            "year": np.arange(n_years),
            "state": (dims2, state),
        },
        attrs={
            "title": "secdilemma simulated dyad panel (DESIGN §3)",
            "source": f"secdilemma {version('secdilemma')} simulate_dyads",
            "beta": action.beta,
            "gamma": action.gamma,
            "delta": action.delta,
            "cutpoints": list(action.cutpoints),
            "seed": -1 if seed is None else int(seed),
            "beliefs_side0": labels[0],
            "beliefs_side1": labels[1],
        },
    )
