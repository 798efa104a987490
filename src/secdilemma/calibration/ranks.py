"""Ranks of the true values among thinned posterior draws (simulation-based calibration).

For a scalar quantity ``theta`` with true value ``theta*`` (drawn from the
prior, then the data simulated from it) and posterior draws ``theta_1 ..
theta_N``, SBC (Talts et al. 2018) looks at the rank

    rank = #{l : theta_l < theta*}  among L draws kept,

which is uniform on ``0 .. L`` for every quantity if and only if the fit
computes the posterior correctly (on average over the prior). This module
turns one fit and its truth into those ranks; the uniformity tests are in
:mod:`secdilemma.calibration.uniformity`.

**Thinning.** Draws of one chain are autocorrelated, and ranks among
correlated draws are not uniform (a histogram with a "smile"; Talts et al.
2018, §5.1). The ``L`` draws kept are evenly spaced over all chains
(:func:`thin_indices`: every ``N / L``-th draw), and the bulk ESS of each
quantity is stored beside its rank, so that a reader can check that ``L``
stays below the ESS (a fixed ``L`` keeps the rank scale the same in every
simulation, which the histograms need; the SBC R package thins the same way,
by a fixed factor). With ``L = 99`` there are 100 rank values, 5 in each of 20
histogram bins.

**Ties** are broken at random: ``rank = #{theta_l < theta*} + U{0 ..
#{theta_l = theta*}}``. That keeps the rank uniform for quantities with
atoms, which the per-state quantities below have.

**Latent per-state quantities.** The likelihood marginalises each state's
intent ``tau`` (and, for a regime variant, its regime ``r``), so the fit has
no draws of them, only their conditional probabilities per draw:
``p_malign = P(tau = 1 | data, theta_l)`` and ``p_regime``. A draw of the
latent from its posterior is a draw ``tau_l ~ Bernoulli(p_malign_l)`` given
each posterior draw ``theta_l`` (the joint posterior factorises as ``p(theta
| data) p(tau | theta, data)``). The simulated ``tau*`` is ranked against those
draws with random tie-breaking: with 0/1 values the rank is
``#{tau_l < tau*}`` plus a uniform share of the ties, uniform on ``0 .. L``
exactly when ``P(tau = 1 | data)`` is calibrated. This is the standard way to
calibrate a discrete parameter (Talts et al. 2018; Modrák et al. 2023 rank
discrete quantities with the same randomisation). Per-state ``l0, w, s`` of
a regime variant are likewise drawn through the regime: ``r_l ~
Categorical(p_regime_l)``, then ``l0_l = regime_l0_l[r_l]`` and so on, so
that e.g. ``w`` has an atom at 1 (the sensible regime).

The ranked quantities (:func:`quantities`) are every sampled shared
parameter and hyperparameter (``beta``, ``gamma``, ``pi``, ``sigma_alpha``,
``rho``, each regime's ``l0_R``, ``w_R``, ``mu_w`` ...), DESIGN's ``delta``
and ``cutpoints[k]`` (recorded deterministics) *and* the reparametrisations
the sampler draws (``intent_spread``, ``cutpoints_centred[k]``; their true
values follow from the truth and the simulated panel), and for one state
(dyad 0, side 0) its ``alpha``, its ``l0, w, s`` where they vary between
states, and its intent (``intent[0,0]``, through ``p_malign``). Nothing here
imports PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.model import schema
from secdilemma.model.variants import Prior, Variant

STATE = (0, 0)
"""The state (dyad index, side) whose per-state quantities are ranked."""

RANK_DRAWS = 99
"""Default number ``L`` of thinned draws a true value is ranked among (ranks 0..99)."""

Kind = Literal["shared", "state", "latent"]


@dataclass(frozen=True)
class Quantity:
    """One ranked quantity.

    Attributes
    ----------
    label
        Its name in the results: ``beta``, ``cutpoints[1]``, ``l0[0,0]``,
        ``intent[0,0]``.
    variable
        The posterior variable it is read from (``cutpoints``, ``l0``,
        ``p_malign`` ...).
    element
        Index into the variable's non-sample dimensions (``()`` for a scalar).
    kind
        ``shared`` (a draw per posterior draw), ``state`` (a per-state
        deterministic: ``alpha``, or ``l0, w, s`` of a per-state variant),
        ``latent`` (drawn through ``p_malign`` or ``p_regime``: module
        docstring).
    """

    label: str
    variable: str
    element: tuple[int, ...] = ()
    kind: Kind = "shared"


def quantities(variant: Variant) -> list[Quantity]:
    """The quantities ranked for a variant (module docstring), in a fixed order."""
    out = [Quantity(name, name) for name in ("beta", "gamma") if name not in variant.fixed]
    if "delta" not in variant.fixed:
        out += [Quantity("delta", "delta"), Quantity("intent_spread", "intent_spread")]
    if "cutpoints" not in variant.fixed:
        out += [Quantity(f"cutpoints[{k}]", "cutpoints", (k,)) for k in range(3)]
        out += [Quantity(f"cutpoints_centred[{k}]", "cutpoints_centred", (k,)) for k in range(3)]
    out += [Quantity(n, n) for n in (schema.PI, "sigma_alpha") if n not in variant.fixed]
    d, i = STATE
    state = f"[{d},{i}]"
    if variant.has_regimes:
        regimes = variant.active_regimes()
        for param in schema.BELIEF_PARAMETERS:
            for regime in regimes:
                if isinstance(variant.regimes[regime][param], Prior):
                    out.append(Quantity(f"{param}_{regime}", f"{param}_{regime}"))
        if variant.fixed_shares() is None:
            if len(variant.regimes) == 2:
                out.append(Quantity(schema.RHO, schema.RHO))
            else:
                out += [
                    Quantity(f"{schema.REGIME_SHARE}[{k}]", schema.REGIME_SHARE, (k,))
                    for k in range(len(regimes))
                ]
    else:
        for param in schema.BELIEF_PARAMETERS:
            if param not in variant.fixed:
                mu, sigma = f"mu_{param}", f"sigma_{param}"
                out += [Quantity(mu, mu), Quantity(sigma, sigma)]
    out.append(Quantity(f"alpha{state}", schema.ALPHA, STATE, "state"))
    for param in schema.BELIEF_PARAMETERS:
        if variant.has_regimes:
            if len(variant.active_regimes()) > 1 and _varies_between_regimes(variant, param):
                out.append(Quantity(f"{param}{state}", param, STATE, "latent"))
        elif param not in variant.fixed:
            out.append(Quantity(f"{param}{state}", param, STATE, "state"))
    out.append(Quantity(f"intent{state}", schema.P_MALIGN, STATE, "latent"))
    return out


def _varies_between_regimes(variant: Variant, param: str) -> bool:
    specs = [variant.regimes[r][param] for r in variant.active_regimes()]
    return any(isinstance(s, Prior) for s in specs) or len(set(specs)) > 1


def true_values(
    variant: Variant, truth: dict[str, NDArray], *, lag_reference: float, belief_reference: float
) -> dict[str, float]:
    """The true value of every quantity of :func:`quantities`.

    Parameters
    ----------
    variant
        The variant.
    truth
        One prior draw (:func:`secdilemma.model.priors.draw_prior` with the
        leading draw axis removed).
    lag_reference, belief_reference
        ``x_ref`` of the simulated panel and ``b_ref`` of the centred
        cutpoints (:mod:`secdilemma.model.builder`), which fix the true
        ``cutpoints_centred = c - mean(alpha) - beta b_ref - gamma x_ref``.
    """
    c = np.asarray(truth["cutpoints"], dtype=float)
    centred = c - (
        float(np.mean(truth[schema.ALPHA]))
        + float(truth["beta"]) * belief_reference
        + float(truth["gamma"]) * lag_reference
    )
    pi = float(truth[schema.PI])
    derived = {
        "cutpoints_centred": centred,
        "intent_spread": float(truth["delta"]) * np.sqrt(pi * (1 - pi)),
        schema.P_MALIGN: np.asarray(truth["intent"], dtype=float),
    }
    out = {}
    for q in quantities(variant):
        source = derived.get(q.variable, truth.get(q.variable))
        if source is None:
            raise KeyError(f"truth: no true value of {q.variable!r} for {q.label}")
        out[q.label] = float(np.asarray(source, dtype=float)[q.element])
    return out


def thin_indices(n_total: int, n_keep: int) -> NDArray[np.int64]:
    """``n_keep`` evenly spaced indices into ``n_total`` draws (chain-major flattening).

    Raises
    ------
    ValueError
        If fewer than ``n_keep`` draws are available.
    """
    if n_keep > n_total:
        raise ValueError(
            f"rank_draws: {n_keep} thinned draws asked for, but the fit has only {n_total} "
            "(chains x draws); lower rank_draws or raise draws"
        )
    return np.round(np.linspace(0, n_total - 1, n_keep)).astype(np.int64)


def _flat(da: xr.DataArray) -> NDArray[np.float64]:
    """``(chain * draw, ...)`` values, chain-major."""
    da = da.transpose(schema.CHAIN, schema.DRAW, ...)
    values = np.asarray(da.values, dtype=float)
    return values.reshape(-1, *values.shape[2:])


def posterior_draws(
    posterior: xr.Dataset, q: Quantity, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Draws ``(chain, draw)`` of a quantity from a fit's posterior (module docstring).

    Shared and state quantities are read as they are; ``intent`` is drawn as
    ``Bernoulli(p_malign)`` per posterior draw, and a regime variant's per-state
    ``l0, w, s`` through a regime drawn from ``p_regime`` per posterior draw.
    """
    shape = (posterior.sizes[schema.CHAIN], posterior.sizes[schema.DRAW])
    if q.kind != "latent":
        return _flat(posterior[q.variable])[(slice(None), *q.element)].reshape(shape)
    if q.variable == schema.P_MALIGN:
        p = _flat(posterior[schema.P_MALIGN])[(slice(None), *q.element)]
        return (rng.random(p.shape) < p).astype(float).reshape(shape)
    p_regime = _flat(posterior[schema.P_REGIME])[(slice(None), *q.element)]  # (N, R)
    u = rng.random((p_regime.shape[0], 1))
    regime = np.minimum((u > np.cumsum(p_regime, axis=1)).sum(axis=1), p_regime.shape[1] - 1)
    table = _flat(posterior[schema.REGIME_PARAMETERS[q.variable]])  # (N, R)
    return table[np.arange(len(regime)), regime].reshape(shape)


def rank_of(draws: NDArray[np.float64], truth: float, rng: np.random.Generator) -> int:
    """``#{draws < truth}`` plus a uniform share of the ties (module docstring)."""
    below = int(np.sum(draws < truth))
    ties = int(np.sum(draws == truth))
    return below + int(rng.integers(0, ties + 1))


def rank_all(
    posterior: xr.Dataset,
    truth: dict[str, float],
    qs: list[Quantity],
    *,
    rank_draws: int,
    rng: np.random.Generator,
    ess: Any = None,
) -> dict[str, NDArray]:
    """Rank every quantity's true value among ``rank_draws`` thinned posterior draws.

    Parameters
    ----------
    posterior
        The fit's posterior group.
    truth
        :func:`true_values`.
    qs
        :func:`quantities`.
    rank_draws
        ``L``.
    rng
        Generator of the latent draws and the tie-breaking.
    ess
        Function ``(chain, draw) array -> bulk ESS`` (default: arviz-stats).

    Returns
    -------
    dict
        Arrays over the quantities: ``rank`` (0..L), ``truth``,
        ``posterior_mean``, ``posterior_sd``, ``ess_bulk`` and ``n_ties`` (draws
        equal to the truth among the thinned ones).
    """
    if ess is None:
        import arviz_stats as azs

        def ess(values: NDArray) -> float:
            return float(azs.ess(values, method="bulk"))

    n = posterior.sizes[schema.CHAIN] * posterior.sizes[schema.DRAW]
    keep = thin_indices(n, rank_draws)
    out: dict[str, list[float]] = {
        k: [] for k in ("rank", "truth", "posterior_mean", "posterior_sd", "ess_bulk", "n_ties")
    }
    for q in qs:
        draws = posterior_draws(posterior, q, rng)
        thinned = draws.reshape(-1)[keep]
        value = truth[q.label]
        out["rank"].append(rank_of(thinned, value, rng))
        out["truth"].append(value)
        out["posterior_mean"].append(float(draws.mean()))
        out["posterior_sd"].append(float(draws.std(ddof=1)))
        out["ess_bulk"].append(ess(draws) if np.ptp(draws) > 0 else np.nan)
        out["n_ties"].append(int(np.sum(thinned == value)))
    return {
        k: np.asarray(v, dtype=np.int64 if k in ("rank", "n_ties") else float)
        for k, v in out.items()
    }
