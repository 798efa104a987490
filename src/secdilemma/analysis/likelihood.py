"""What the observed moves imply, per posterior draw: beliefs, likelihoods, latent traits.

For every draw and configuration ``k`` of observer regimes (one configuration
for per-state belief parameters; :mod:`secdilemma.analysis.draws`), the
engine of :mod:`secdilemma.core` reads the fit's observed moves:

- belief paths ``b[k, i, t]`` (:func:`secdilemma.core.recursion.belief_recursion`);
- per-intent sequence log-likelihoods ``ll[k, i](tau)``, their intent marginal
  and ``P(tau[i] = 1 | m, k)`` (:mod:`secdilemma.core.action`);
- ``log p(m[d], k)``, the dyad's log-likelihood ``log p(m[d])`` and the
  configuration weights ``P(k | m[d])`` (DESIGN §4).

:func:`draw_latent` draws each dyad's configuration and each state's intent
from their conditional posterior given a draw, the step both predictive checks
and the counterfactuals take. :func:`log_likelihood` is the fit's pointwise
log-likelihood recomputed from draws (the per-state unit where the sides are
not coupled, the dyad otherwise), the quantity held-out comparisons need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.analysis.draws import Draws, draw_index, read_fit
from secdilemma.core import action
from secdilemma.core.recursion import belief_recursion
from secdilemma.model import schema

CELLS_PER_CHUNK = 2_000_000
"""Cells (sample x configuration x dyad x side x year) computed at once; bounds memory."""


@dataclass(frozen=True)
class Likelihood:
    """The observed moves read under each draw and configuration.

    Attributes
    ----------
    belief
        ``(S, K, D, 2, T)`` belief paths.
    intent_ll
        ``(S, K, D, 2, 2)``: ``ll(tau = 0)``, ``ll(tau = 1)`` on the last axis.
    marginal
        ``(S, K, D, 2)``: intent-marginalised sequence log-likelihoods.
    p_malign
        ``(S, K, D, 2)``: ``P(tau[i] = 1 | m, k)``.
    config_ll
        ``(S, K, D)``: ``log P(k) + sum_i log p(m[i] | k)``.
    """

    belief: NDArray[np.float64]
    intent_ll: NDArray[np.float64]
    marginal: NDArray[np.float64]
    p_malign: NDArray[np.float64]
    config_ll: NDArray[np.float64]

    @property
    def weights(self) -> NDArray[np.float64]:
        """``(S, K, D)``: ``P(k | m[d])``."""
        return action.configuration_weights(self.config_ll)

    @property
    def dyad_ll(self) -> NDArray[np.float64]:
        """``(S, D)``: ``log p(m[d])``, configurations marginalised."""
        return action.dyad_log_likelihood(self.config_ll)

    @property
    def fitted_belief(self) -> NDArray[np.float64]:
        """``(S, D, 2, T)``: belief paths averaged over configurations with their weights."""
        return weighted_belief(self.weights, self.belief)[:, 0]

    @property
    def fitted_p_malign(self) -> NDArray[np.float64]:
        """``(S, D, 2)``: ``P(tau[i] = 1 | m)``, configurations marginalised."""
        return (self.weights[..., None] * self.p_malign).sum(axis=1)


def weighted_belief(weights: NDArray, belief: NDArray) -> NDArray[np.float64]:
    """Belief paths ``(S, K, D, 2, T)`` averaged over configurations with ``weights`` ``(S, K, D)``.

    Returns ``(S, 1, D, 2, T)``: the fitted belief of a variant with regimes
    (DESIGN §4), the paths themselves for a single configuration.
    """
    return (weights[..., None, None] * belief).sum(axis=1, keepdims=True)


def likelihood(draws: Draws) -> Likelihood:
    """Read the fit's observed moves under every draw and configuration (module docstring).

    Parameters
    ----------
    draws
        Posterior draws (:func:`secdilemma.analysis.draws.read_fit`); for many
        draws with regimes, call it on :meth:`Draws.chunks` to bound memory.

    Returns
    -------
    Likelihood
    """
    data = draws.data
    paths = belief_recursion(
        data.move,
        draws.l0,
        draws.w,
        draws.s,
        draws.beta,
        draws.gamma,
        draws.delta,
        draws.cutpoints,
        observed=data.observed,
    )
    ll = action.intent_log_likelihoods(
        data.move,
        data.modelled,
        data.observed,
        paths.belief,
        draws.alpha,
        draws.beta,
        draws.gamma,
        draws.delta,
        draws.cutpoints,
    )
    marginal = action.marginal_log_likelihood(ll, draws.pi)
    return Likelihood(
        belief=paths.belief,
        intent_ll=ll,
        marginal=marginal,
        p_malign=action.p_malign(ll, draws.pi),
        config_ll=action.configuration_log_likelihood(marginal, draws.log_prior),
    )


def chunk_size(draws: Draws) -> int:
    """Samples per chunk so that one chunk holds about :data:`CELLS_PER_CHUNK` cells."""
    data = draws.data
    per_sample = draws.n_configurations * data.n_dyads * 2 * data.n_years
    return max(1, CELLS_PER_CHUNK // max(per_sample, 1))


def draw_latent(
    lik: Likelihood, u_configuration: NDArray, u_intent: NDArray
) -> tuple[NDArray[np.intp], NDArray[np.int8]]:
    """Draw each dyad's configuration and each state's intent from their conditional posterior.

    ``k ~ P(k | m[d])`` per draw and dyad, then ``tau[i] ~ Bernoulli(P(tau[i] = 1 |
    m, k))`` given the drawn configuration, both by inverting uniforms.

    Parameters
    ----------
    lik
        The observed moves read under the draws (:func:`likelihood`).
    u_configuration
        ``(S, D)`` uniforms.
    u_intent
        ``(S, D, 2)`` uniforms.

    Returns
    -------
    configuration, tau
        ``(S, D)`` configuration indices and ``(S, D, 2)`` intents (0/1).
    """
    configuration = action.categorical_from_uniform(lik.weights, u_configuration, axis=1)
    p = np.take_along_axis(lik.p_malign, configuration[:, None, :, None], axis=1)[:, 0]
    return configuration, (u_intent < p).astype(np.int8)


def log_likelihood(
    fit: xr.DataTree, unit: str = "dyad", *, max_draws: int | None = None, seed: int = 0
) -> xr.DataArray:
    """Pointwise log-likelihood recomputed from the posterior draws with the engine.

    Parameters
    ----------
    fit
        A fit (per-state belief parameters or observer regimes).
    unit
        ``"dyad"`` (the sum over a dyad's sides, configurations marginalised;
        valid for every variant) or ``"state"`` (one term per observing state,
        only where the sides are not coupled by regimes, DESIGN §5).
    max_draws, seed
        Draw subsampling (:func:`secdilemma.analysis.draws.read_fit`).

    Returns
    -------
    xarray.DataArray
        ``(chain, draw, dyad)`` or ``(chain, draw, dyad, side)``.

    Raises
    ------
    ValueError
        On an unknown unit, or ``"state"`` for a fit with observer regimes.
    """
    if unit not in ("dyad", "state"):
        raise ValueError(f"unit: expected 'dyad' or 'state', got {unit!r}")
    draws = read_fit(fit, max_draws=max_draws, seed=seed)
    if unit == "state" and draws.n_configurations > 1:
        raise ValueError(
            "unit: 'state' is not a valid unit for a fit with observer regimes (the two sides "
            "of a dyad are coupled through their configuration); use 'dyad'"
        )
    parts = []
    for _, part in draws.chunks(chunk_size(draws)):
        lik = likelihood(part)
        parts.append(lik.dyad_ll if unit == "dyad" else lik.marginal[:, 0])
    values = draws.unstack(np.concatenate(parts))
    dims = [schema.CHAIN, schema.DRAW, schema.DYAD] + ([schema.SIDE] if unit == "state" else [])
    coords = {schema.CHAIN: draws.chain, schema.DRAW: draws.draw, schema.DYAD: draws.data.dyad}
    if unit == "state":
        coords[schema.SIDE] = np.array([0, 1])
    return xr.DataArray(values, dims=dims, coords=coords, name=schema.LOGLIK)


def beliefs(
    fit: xr.DataTree,
    dyads: Sequence[str] | None = None,
    *,
    max_draws: int | None = None,
    seed: int = 0,
    panel: xr.Dataset | None = None,
) -> xr.DataArray:
    """The fit's belief paths, whether its file stores them or not.

    A fit straight from the sampler records ``posterior.belief``; a compact
    file (:func:`secdilemma.model.io.compact_fit`) does not, and the paths are
    recomputed here from the posterior's parameters with the engine: the
    belief recursion of every draw (and configuration of observer regimes,
    averaged with its fitted weights), the same numbers the compiled model
    recorded (to 1e-10, ``tests/test_analysis_fit.py``).

    Parameters
    ----------
    fit
        A fit (stored beliefs or not).
    dyads
        Dyad ids (default all, in the fit's order).
    max_draws, seed
        Draw subsampling, as :func:`secdilemma.analysis.draws.read_fit` (the
        same draws whether the paths are stored or recomputed).
    panel
        Optional panel to check the fit against.

    Returns
    -------
    xarray.DataArray
        ``belief`` over ``(chain, draw, dyad, side, year)``; ``year`` is the
        period since each dyad's first observed year, as in the fit.

    Raises
    ------
    ValueError
        On a dyad that is not in the fit (naming it and the fit's dyads).
    """
    posterior = fit[schema.POSTERIOR]
    dims = (schema.CHAIN, schema.DRAW, *schema.PATH_DIMS)
    if schema.BELIEF in posterior.data_vars and panel is None:
        stored = posterior[schema.BELIEF]
        have = [str(d) for d in stored[schema.DYAD].values]
        names = have if dyads is None else [str(d) for d in dyads]
        absent = [d for d in names if d not in have]
        if absent:
            raise ValueError(f"dyad: {absent[0]!r} is not in the fit; its dyads are {have}")
        keep = draw_index(stored.sizes[schema.DRAW], max_draws, seed)  # as read_fit keeps them
        return stored.sel({schema.DYAD: names}).isel({schema.DRAW: keep}).transpose(*dims)
    draws = read_fit(fit, max_draws=max_draws, seed=seed, panel=panel)
    names = [str(d) for d in draws.data.dyad] if dyads is None else [str(d) for d in dyads]
    index = [draws.data.dyad_index(d) for d in names]
    if schema.BELIEF in posterior.data_vars:  # checked against the panel: the stored paths
        stored = posterior[schema.BELIEF].sel({schema.DYAD: names, schema.DRAW: draws.draw})
        return stored.transpose(*dims)
    draws = draws.select_dyads(index)
    values = np.concatenate(
        [likelihood(part).fitted_belief for _, part in draws.chunks(chunk_size(draws))]
    )
    return xr.DataArray(
        draws.unstack(values),
        dims=dims,
        coords={
            schema.CHAIN: draws.chain,
            schema.DRAW: draws.draw,
            schema.DYAD: np.asarray(names),
            schema.SIDE: np.array([0, 1]),
            schema.YEAR: np.arange(draws.data.n_years),
        },
        name=schema.BELIEF,
        attrs={"long_name": "belief that the other is malign", "units": "1"},
    )
