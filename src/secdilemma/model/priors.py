"""Draws from a variant's prior: for posterior contraction and simulation-based calibration.

:func:`draw_prior` draws every parameter of the model of DESIGN §3-4 from the
priors a :class:`~secdilemma.model.variants.Variant` states, with the same
parametrisation as the fitted model because it uses PyMC's own distributions
(:func:`pymc.draw` on ``pm.<Family>.dist``) rather than a second table of
SciPy equivalents. Two things the PyMC model expresses by transforms are done
here directly:

- the ordered cutpoints: the prior of DESIGN's ``c`` is the variant's family
  restricted to ``c[0] < c[1] < c[2]`` (the ordered transform of the model;
  the centred reparametrisation keeps it, :mod:`secdilemma.model.builder`),
  drawn by rejection;
- the latent per-state quantities the likelihood marginalises: each state's
  intent ``tau ~ Bernoulli(pi)`` and, for regime variants, its regime
  ``r ~ Categorical(P(r))``.

The prior of the model is not sampled with :func:`pymc.sample_prior_predictive`
on the built model because that ignores the potential which makes the
variant's cutpoint prior the prior of ``c``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
from numpy.typing import NDArray

from secdilemma.model import schema
from secdilemma.model.variants import HYPERPARAMETERS, Prior, Variant, load_variant


def _draw(prior: Prior, size: tuple[int, ...], rng: np.random.Generator) -> NDArray:
    """Draws of one prior with batch shape ``size`` (vector arguments add their axis)."""
    args = {k: np.asarray(v, dtype="float64") for k, v in prior.args.items()}
    family = getattr(pm, prior.dist)
    if prior.dist == "Dirichlet":  # its vector argument is the event, not a batch
        return np.asarray(pm.draw(family.dist(**args, size=size), random_seed=rng))
    shape = np.broadcast_shapes(*(np.shape(v) for v in args.values()))
    return np.asarray(pm.draw(family.dist(**args, size=(*size, *shape)), random_seed=rng))


def _ordered_draws(prior: Prior, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``n`` draws of the cutpoints' prior restricted to increasing values (rejection)."""
    kept: list[NDArray] = []
    for _ in range(1000):
        batch = _draw(prior, (max(2 * n, 100),), rng)
        kept.append(batch[np.all(np.diff(batch, axis=1) > 0, axis=1)])
        if sum(len(k) for k in kept) >= n:
            return np.concatenate(kept)[:n]
    raise ValueError("cutpoints: fewer than 1 in 1000 prior draws are increasing; check the prior")


def draw_prior(
    variant: Variant | str | dict[str, Any],
    n_draws: int,
    n_dyads: int,
    *,
    seed: int | np.random.Generator | None = 0,
) -> dict[str, NDArray]:
    """Draw the parameters of a variant's model from its prior.

    Parameters
    ----------
    variant
        The variant (name, path, mapping or object).
    n_draws
        Number of joint draws.
    n_dyads
        Number of dyads (per-state quantities have shape ``(n_draws, n_dyads, 2)``).
    seed
        Seed or generator: the same seed gives the same draws.

    Returns
    -------
    dict
        Every sampled parameter by its model name (``beta``, ``cutpoints``
        ``(n, 3)``, ``pi``, ``sigma_alpha``, hyperparameters, regime
        parameters ``l0_R``, ``rho`` ...), fixed parameters repeated, and the
        per-state quantities the likelihood needs: ``alpha``, ``l0``, ``w``,
        ``s`` and ``intent`` over ``(n, dyad, side)``; for regime variants
        also ``regime`` (index into the active regimes) and
        ``regime_l0/w/s`` ``(n, R)`` and ``regime_share`` ``(n, R)``.
    """
    variant = load_variant(variant)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out: dict[str, NDArray] = {}

    def param(name: str, size: tuple[int, ...] = ()) -> NDArray:
        if name in variant.fixed:
            value = np.asarray(variant.fixed[name], dtype="float64")
            return np.broadcast_to(value, (n_draws, *size, *value.shape)).copy()
        if name == "cutpoints":
            return _ordered_draws(variant.priors[name], n_draws, rng)
        return _draw(variant.priors[name], (n_draws, *size), rng)

    for name in ("beta", "gamma", "delta", "cutpoints", schema.PI, "sigma_alpha"):
        out[name] = param(name)
    states = (n_dyads, 2)
    out[schema.ALPHA] = out["sigma_alpha"][:, None, None] * rng.standard_normal((n_draws, *states))
    if variant.has_regimes:
        regimes = variant.active_regimes()
        for belief in schema.BELIEF_PARAMETERS:
            columns = []
            for regime in regimes:
                spec = variant.regimes[regime][belief]
                if isinstance(spec, Prior):
                    out[f"{belief}_{regime}"] = _draw(spec, (n_draws,), rng)
                    columns.append(out[f"{belief}_{regime}"])
                else:
                    columns.append(np.full(n_draws, float(spec)))
            out[schema.REGIME_PARAMETERS[belief]] = np.stack(columns, axis=1)
        shares = variant.fixed_shares()
        if shares is not None:
            listed = list(variant.regimes)
            share = np.tile([shares[listed.index(r)] for r in regimes], (n_draws, 1))
        elif len(variant.regimes) == 2:
            out[schema.RHO] = param(schema.RHO)
            share = np.stack([1 - out[schema.RHO], out[schema.RHO]], axis=1)
        else:
            share = _draw(variant.priors[schema.REGIME_SHARE], (n_draws,), rng)
        out[schema.REGIME_SHARE] = share
        cumulative = np.cumsum(share, axis=1)[:, None, None, :]
        u = rng.random((n_draws, *states, 1))
        regime = np.minimum((u > cumulative).sum(axis=-1), len(regimes) - 1)
        out["regime"] = regime
        for belief in schema.BELIEF_PARAMETERS:  # each state's l0, w, s: its regime's
            table = out[schema.REGIME_PARAMETERS[belief]]  # (n, R)
            out[belief] = table[np.arange(n_draws)[:, None, None], regime]
    else:
        for belief, link in (("l0", None), ("w", "logit"), ("s", "logit")):
            if belief in variant.fixed:
                out[belief] = np.full((n_draws, *states), float(variant.fixed[belief]))
                continue
            mu_name, sigma_name = HYPERPARAMETERS[belief]
            out[mu_name], out[sigma_name] = param(mu_name), param(sigma_name)
            latent = out[mu_name][:, None, None] + out[sigma_name][:, None, None] * (
                rng.standard_normal((n_draws, *states))
            )
            out[belief] = 1.0 / (1.0 + np.exp(-latent)) if link else latent
    out["intent"] = (rng.random((n_draws, *states)) < out[schema.PI][:, None, None]).astype(np.int8)
    return out


def prior_variances(
    variant: Variant | str | dict[str, Any], *, n_draws: int = 4000, seed: int = 0
) -> dict[str, NDArray[np.float64]]:
    """Prior variance of every sampled scalar (and vector) parameter, by Monte Carlo.

    With 4000 draws the relative standard error of a variance is about
    ``sqrt(2 / 4000)`` = 2 % for a normal parameter (more for heavy tails),
    small against the 0.1 threshold of contraction it serves.

    Returns
    -------
    dict
        Parameter name -> variance (per element for ``cutpoints``,
        ``regime_share``); fixed parameters are left out.
    """
    variant = load_variant(variant)
    draws = draw_prior(variant, n_draws, 1, seed=seed)
    skip = {schema.ALPHA, "intent", "regime", *schema.BELIEF_PARAMETERS}
    skip |= set(schema.REGIME_PARAMETERS.values())
    out = {}
    for name, values in draws.items():
        if name in skip or name in variant.fixed:
            continue
        if name == schema.REGIME_SHARE and (
            variant.fixed_shares() is not None or schema.RHO in draws
        ):
            continue  # fixed, or the same as rho (two regimes)
        out[name] = np.var(values, axis=0, ddof=1)
    return out
