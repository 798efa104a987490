"""Model comparison on one panel: PSIS-LOO, K-fold refits where it fails, stacking (DESIGN §5).

:func:`compare` takes fits of one panel (``{name: fit}``) and returns a
:class:`Comparison`: one row per fit (expected log predictive density
``elpd``, its standard error, differences to the best fit, stacking weights)
and one row per LOO unit and fit (``elpd_i``, Pareto k, whether it was
refitted).

**The LOO unit.** A fit's ``log_likelihood`` group holds one term per
observing state (``move[dyad, side]``: the state's whole sequence, intent
marginalised) or, for a variant whose two sides are coupled through the
regime configuration (``mixture``, DESIGN §4), one term per dyad
(``move[dyad]``). The unit is the *state* when every fit has state terms
(``(dyad, side)`` stacked onto one ``state`` dimension, labelled
``"DYAD:side"``), and the *dyad* as soon as one fit has dyad terms: every
fit's state terms are then summed over ``side``, so that all fits predict the
same units.

**PSIS-LOO** (:func:`arviz_stats.loo`) estimates each unit's ``elpd_i = log
p(y_i | y_-i)`` from the full posterior; its Pareto k says where the estimate
is unreliable (k > 0.7).

**K-fold refits.** Where a unit's k exceeds the threshold, its dyad is held
out and the model refitted without it (:class:`DyadKFold`, an
:class:`arviz_stats.loo.SamplingWrapper`; sampling in
:mod:`secdilemma.model.kfold`). The dyad is the unit of a refit because a
state's moves also enter its partner's likelihood as lags and as evidence. The
held-out dyad is masked, not dropped, so every fold has the full fit's shapes
and the model compiles once per fit. With the dyad unit, PSIS-LOO and the
refit estimate the same ``log p(y_d | y_-d)``; with the state unit, a refitted
state's term is ``log p(y_i | y_-d)``: its partner's sequence is held out as
well (it cannot be kept without keeping the state's own moves as its lags and
evidence).

**Held-out log predictive density** (:func:`heldout_log_likelihood`). Given
a refit's posterior draw ``theta_s`` (shared parameters and population
scales), the held-out dyad's states are new members of the population: their
effects are drawn afresh from the hierarchy, ``alpha = sigma_alpha * z`` and,
for per-state belief parameters, ``l0 = mu_l0 + sigma_l0 * z``, ``w =
sigmoid(mu_w + sigma_w * z)``, ``s = sigmoid(mu_s + sigma_s * z)`` (``z ~
Normal(0, 1)``, independent per state; a fixed parameter stays fixed), and
integrated out by Monte Carlo::

    log p(y_d | theta_s) ~= log (1/M) sum_m p(y_d | theta_s, u_sm)

with ``M`` fresh draws ``u_sm`` per posterior draw; intent and (for regime
variants) the configuration are marginalised exactly inside ``p(y_d |
theta_s, u_sm)``, by the NumPy engine (:mod:`secdilemma.core`, the steps of
:func:`secdilemma.analysis.likelihood.likelihood`). Then ``elpd_d = log (1/S)
sum_s p(y_d | theta_s)``: a log-mean over the ``S * M`` pairs, whose Monte
Carlo standard error (delta method, with the effective sample size of the
draws, :func:`heldout_errors`) is reported per unit (``mc_se``).
Fresh effects are drawn in batches of :data:`FRESH_DRAWS` (16) per posterior
draw until every unit's ``mc_se`` is below :data:`MC_SE_TARGET` (0.05 nats),
at most :data:`MAX_FRESH_DRAWS` (256). Measured on the historical panel (1000
draws, every dyad): one batch gave ``mc_se`` <= 0.10 for ``free`` (eight fresh
effects per dyad; its belief paths are recomputed for each), <= 0.05 for
``mixture`` and <= 0.03 for ``sensible`` and ``misplaced_certainty`` (only
``alpha`` is fresh there, and beliefs do not depend on it, so they are
computed once per draw); the rule then drew 16-64 fresh effects for ``free``
and 16 for the others, 0.6-2.7 s per held-out dyad.

**Stacking weights** come from :func:`arviz_stats.compare` (``method =
"stacking"``) on the pointwise ``elpd_i``, PSIS where reliable and refitted
elsewhere.

Any fit can be compared, flagged (``diagnostics_ok = 0``) or not; a flagged
fit is named in :attr:`Comparison.notes`: its elpd describes the posterior
its draws represent (e.g. one mode of a multimodal posterior). Nothing here
imports PyMC at module level; the refits import the sampler when they run.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import arviz_stats as azs
import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats.loo import SamplingWrapper
from arviz_stats.utils import ELPDDataLOO
from numpy.typing import NDArray
from scipy.special import expit, logsumexp

from secdilemma.analysis.draws import Draws, FitData, fit_data, read_fit
from secdilemma.analysis.likelihood import CELLS_PER_CHUNK
from secdilemma.core import action
from secdilemma.core.recursion import belief_recursion
from secdilemma.files import atomic_path, check_output_path
from secdilemma.model import schema
from secdilemma.model.io import panel_sha256
from secdilemma.model.kfold import RefitSettings
from secdilemma.model.variants import HYPERPARAMETERS, Variant

Unit = Literal["state", "dyad"]

K_THRESHOLD = 0.7
"""Pareto k above which a unit's PSIS-LOO estimate is not trusted and its dyad is refitted."""

FRESH_DRAWS = 16
"""Fresh effects drawn per posterior draw of a held-out dyad, per batch (module docstring)."""

MC_SE_TARGET = 0.05
"""Batches of fresh effects are drawn until every held-out unit's Monte Carlo standard
error is below this (nats), or until the posterior draws rather than the fresh effects
carry most of it (more fresh effects would not help then; more draws per fold would).
Summed over a few dozen units, the fresh effects' part of an elpd's Monte Carlo error
stays below ~0.3 nats, against standard errors of 4-6 nats for the differences between
the bundled variants on the historical panel."""

MAX_FRESH_DRAWS = 256
"""At most this many fresh effects per posterior draw (the unit's ``mc_se`` says the rest)."""

UNIT_SEPARATOR = ":"
"""State unit labels are ``"DYAD:side"``."""


class ComparisonError(ValueError):
    """Bad input to :func:`compare`; the message names the fit concerned."""


# --------------------------------------------------------------------------- units


def fit_unit(fit: xr.DataTree) -> Unit:
    """The natural LOO unit of a fit: ``"dyad"`` if its log-likelihood has no ``side``."""
    return "state" if schema.SIDE in fit[schema.LOG_LIKELIHOOD][schema.LOGLIK].dims else "dyad"


def loo_unit(fits: Mapping[str, xr.DataTree], unit: Unit | Literal["auto"] = "auto") -> Unit:
    """The LOO unit of a comparison: the state, unless a fit couples its sides (DESIGN §4).

    Raises
    ------
    ComparisonError
        If ``unit="state"`` is asked for with a fit whose terms are per dyad.
    """
    if unit not in ("auto", "state", "dyad"):
        raise ComparisonError(f"unit: expected 'auto', 'state' or 'dyad', got {unit!r}")
    coupled = [name for name, fit in fits.items() if fit_unit(fit) == "dyad"]
    if unit == "state" and coupled:
        raise ComparisonError(
            f"unit: 'state' is not possible: fit {coupled[0]!r} has one log-likelihood term "
            "per dyad (its two sides are coupled through the regime configuration, DESIGN §4)"
        )
    if unit == "auto":
        return "dyad" if coupled else "state"
    return unit


def unit_labels(dyads: Sequence[str], unit: Unit) -> list[str]:
    """Unit labels: dyad ids, or ``"DYAD:side"`` for states (dyad-major)."""
    if unit == "dyad":
        return [str(d) for d in dyads]
    return [f"{d}{UNIT_SEPARATOR}{side}" for d in dyads for side in (0, 1)]


def pointwise_log_likelihood(fit: xr.DataTree, unit: Unit) -> xr.DataArray:
    """The fit's log-likelihood terms on the comparison's unit, ``(chain, draw, unit)``.

    ``unit="state"`` stacks ``(dyad, side)`` onto one ``state`` dimension
    (labels ``"DYAD:side"``, with ``dyad`` and ``side`` as coordinates);
    ``unit="dyad"`` sums a per-state fit's terms over ``side``.
    """
    ll = fit[schema.LOG_LIKELIHOOD][schema.LOGLIK]
    has_side = schema.SIDE in ll.dims
    if unit == "state":
        if not has_side:
            raise ComparisonError("unit: 'state' needs per-state log-likelihood terms")
        ll = ll.transpose(schema.CHAIN, schema.DRAW, schema.DYAD, schema.SIDE)
        dyads = [str(d) for d in ll[schema.DYAD].values]
        values = np.asarray(ll.values).reshape(ll.shape[0], ll.shape[1], -1)
        return xr.DataArray(
            values,
            dims=(schema.CHAIN, schema.DRAW, "state"),
            coords={
                schema.CHAIN: ll[schema.CHAIN].values,
                schema.DRAW: ll[schema.DRAW].values,
                "state": unit_labels(dyads, "state"),
                schema.DYAD: ("state", np.repeat(dyads, 2)),
                schema.SIDE: ("state", np.tile([0, 1], len(dyads))),
            },
            name=schema.LOGLIK,
        )
    if has_side:
        ll = ll.sum(schema.SIDE)
    ll = ll.transpose(schema.CHAIN, schema.DRAW, schema.DYAD)
    return ll.assign_coords({schema.DYAD: [str(d) for d in ll[schema.DYAD].values]}).rename(
        schema.LOGLIK
    )


def _unit_dim(unit: Unit) -> str:
    return "state" if unit == "state" else schema.DYAD


def _unit_dyads(ll: xr.DataArray) -> NDArray[np.str_]:
    """The dyad of each unit of a pointwise log-likelihood."""
    return np.asarray([str(d) for d in ll[schema.DYAD].values])


# --------------------------------------------------------------------------- checks


def _check_fits(fits: Mapping[str, xr.DataTree], panel: xr.Dataset | None) -> dict[str, FitData]:
    """Every fit is usable and all describe one panel (the one given, if any)."""
    if not isinstance(fits, Mapping) or not fits:
        raise ComparisonError("fits: expected a non-empty mapping {name: fit}")
    data: dict[str, FitData] = {}
    for name, fit in fits.items():
        if not isinstance(name, str) or not name:
            raise ComparisonError(f"fits: model names must be non-empty strings, got {name!r}")
        if not isinstance(fit, xr.DataTree):
            raise ComparisonError(
                f"fit {name!r}: expected an xarray.DataTree (a fit), got {type(fit).__name__}"
            )
        if schema.LOG_LIKELIHOOD not in fit.children:
            raise ComparisonError(
                f"fit {name!r}: has no 'log_likelihood' group, so it cannot be compared "
                "(fits from secdilemma.fit have one; was it dropped when saving?)"
            )
        if schema.LOGLIK not in fit[schema.LOG_LIKELIHOOD].data_vars:
            raise ComparisonError(
                f"fit {name!r}: its log_likelihood group has no {schema.LOGLIK!r}"
            )
        ll = fit[schema.LOG_LIKELIHOOD][schema.LOGLIK]
        allowed = (
            {schema.CHAIN, schema.DRAW, schema.DYAD},
            {schema.CHAIN, schema.DRAW, *schema.STATE_DIMS},
        )
        if set(ll.dims) not in allowed:
            raise ComparisonError(
                f"fit {name!r}: log_likelihood.move has dims {ll.dims}; expected "
                "(chain, draw, dyad, side) or (chain, draw, dyad)"
            )
        if not np.all(np.isfinite(ll.values)):
            raise ComparisonError(f"fit {name!r}: log_likelihood.move has non-finite values")
        try:
            data[name] = fit_data(fit)
        except ValueError as err:
            raise ComparisonError(f"fit {name!r}: {err}") from None
        if [str(d) for d in ll[schema.DYAD].values] != [str(d) for d in data[name].dyad]:
            raise ComparisonError(
                f"fit {name!r}: its log_likelihood dyads differ from its constant_data dyads"
            )
    if panel is not None:
        given = panel_sha256(panel)
        for name, fit in fits.items():
            theirs = _stored_sha(fit)
            if theirs is not None and theirs != given:
                raise ComparisonError(
                    f"fit {name!r}: was made from another panel (sha256 {theirs[:12]}...) than "
                    f"the panel given (sha256 {given[:12]}...)"
                )
            try:
                fit_data(fit, panel)
            except ValueError as err:
                raise ComparisonError(f"fit {name!r}: {err}") from None
    names = list(fits)
    first = names[0]
    for name in names[1:]:
        a, b = _stored_sha(fits[first]), _stored_sha(fits[name])
        same_hash = a is None or b is None or a == b
        if not same_hash or not _same_data(data[first], data[name]):
            raise ComparisonError(
                f"fits {first!r} and {name!r}: were made from different panels; a comparison "
                "needs fits of one panel"
            )
    return data


def _stored_sha(fit: xr.DataTree) -> str | None:
    """The ``panel_sha256`` provenance attr of a fit, if it has one."""
    value = fit.attrs.get("panel_sha256")
    if value is None:
        return None
    try:
        return str(json.loads(value))
    except (TypeError, json.JSONDecodeError):
        return str(value)


def _same_data(a: FitData, b: FitData) -> bool:
    """Two fits saw the same moves, dyads and calendar years."""
    return (
        a.dyad.tolist() == b.dyad.tolist()
        and a.move.shape == b.move.shape
        and np.array_equal(a.observed, b.observed)
        and np.array_equal(np.where(a.observed, a.move, -1), np.where(b.observed, b.move, -1))
        and np.array_equal(a.first_year, b.first_year)
    )


def _fit_variant(fit: xr.DataTree, name: str) -> Variant:
    """The variant in a fit's attrs (needed for refits and fresh effects)."""
    if "variant" not in fit.attrs:
        raise ComparisonError(
            f"fit {name!r}: has no 'variant' attr, so it cannot be refitted; pass "
            "refit='none' for PSIS-LOO only"
        )
    try:
        return Variant.from_dict(json.loads(fit.attrs["variant"]), source=f"fit {name!r} attrs")
    except (TypeError, ValueError) as err:
        raise ComparisonError(f"fit {name!r}: its 'variant' attr is not readable ({err})") from None


def _diagnostics_note(name: str, fit: xr.DataTree) -> str | None:
    """A note for a fit flagged ``diagnostics_ok = 0``, else ``None``."""
    flag = fit.attrs.get("diagnostics_ok")
    if flag is None or int(flag) != 0:
        return None
    failures: list[str] = []
    try:
        failures = list(json.loads(fit.attrs.get("diagnostics", "{}")).get("failures", []))
    except (TypeError, json.JSONDecodeError, AttributeError):
        pass
    first = f"; first failure: {failures[0]}" if failures else ""
    return (
        f"fit {name!r} is flagged diagnostics_ok = 0 ({len(failures)} failed check(s){first}). "
        "It is compared as it is: its elpd describes the posterior its draws represent "
        "(e.g. one mode of a multimodal posterior)."
    )


# --------------------------------------------------------------------------- PSIS


def _psis_tree(fit: xr.DataTree, ll: xr.DataArray) -> xr.DataTree:
    """The groups :func:`arviz_stats.loo` reads: the unit log-likelihood and the posterior.

    The relative efficiency ``r_eff`` comes from the posterior's mean ESS;
    only the sampled parameters are passed (``free_variables`` attr), not the
    belief paths, which would dominate that mean.
    """
    posterior = fit[schema.POSTERIOR].to_dataset() if schema.POSTERIOR in fit.children else None
    groups: dict[str, xr.Dataset] = {schema.LOG_LIKELIHOOD: ll.to_dataset(name=schema.LOGLIK)}
    if posterior is not None:
        try:
            names = [n for n in json.loads(fit.attrs["free_variables"]) if n in posterior]
        except (KeyError, TypeError, json.JSONDecodeError):
            names = []
        if names:
            posterior = posterior[names]
        groups[schema.POSTERIOR] = posterior
    else:  # no posterior: draws treated as independent
        groups[schema.POSTERIOR] = xr.Dataset(
            coords={schema.CHAIN: ll[schema.CHAIN], schema.DRAW: ll[schema.DRAW]}
        )
    return xr.DataTree.from_dict(groups)


def psis_loo(fit: xr.DataTree, ll: xr.DataArray) -> ELPDDataLOO:
    """PSIS-LOO of one fit's unit log-likelihood (pointwise, Pareto k per unit)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*pointwise.*", category=UserWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        return azs.loo(_psis_tree(fit, ll), pointwise=True, var_name=schema.LOGLIK)


def log_mean_exp(values: NDArray, axis: int | tuple[int, ...]) -> NDArray[np.float64]:
    """``log mean exp`` along ``axis``."""
    n = np.prod([values.shape[a] for a in np.atleast_1d(axis)])
    return logsumexp(values, axis=axis) - math.log(n)


def mc_standard_error(values: NDArray, axis: int = 0) -> NDArray[np.float64]:
    """Monte Carlo standard error of ``log mean exp(values)`` along ``axis`` (delta method).

    ``se(log mean w) ~= sd(w) / (sqrt(N) mean(w))`` with ``w = exp(values)``,
    the ``N`` values treated as independent.
    """
    shifted = values - np.max(values, axis=axis, keepdims=True)
    w = np.exp(shifted)
    n = values.shape[axis]
    return np.std(w, axis=axis, ddof=1) / (math.sqrt(n) * np.mean(w, axis=axis))


def heldout_errors(values: NDArray, n_chains: int) -> tuple[NDArray, NDArray]:
    """Monte Carlo error of held-out elpds from ``values = log p(y | theta_s, u_sm)``.

    Parameters
    ----------
    values
        ``(S, M, units)``, draws chain-major.
    n_chains
        Chains among the ``S`` draws.

    Returns
    -------
    mc_se, fresh_share
        Per unit: the standard error of ``log (1/(S M)) sum p(y | theta_s,
        u_sm)``, ``sd(w_s) / (sqrt(ESS) mean(w))`` with ``w_s`` the draw's
        average over its fresh effects and ``ESS`` their effective sample size
        (:func:`arviz_stats.ess`, autocorrelation included; ``S`` where it is
        undefined); and the share of that variance due to the finite number of
        fresh effects, ``mean_s var_m(w_sm) / (M S)`` over it (iid fresh draws).
    """
    n, m, _ = values.shape
    w = np.exp(values - values.max(axis=(0, 1), keepdims=True))
    per_draw = w.mean(axis=1)  # (S, units)
    mean = per_draw.mean(axis=0)
    ess = np.full(mean.shape, float(n))
    if n >= 4 and n % n_chains == 0:
        for u in range(mean.size):
            value = float(azs.ess(per_draw[:, u].reshape(n_chains, -1), method="mean"))
            ess[u] = value if np.isfinite(value) and value > 0 else float(n)
    between = per_draw.var(axis=0, ddof=1) if n > 1 else np.zeros_like(mean)
    fresh = (w.var(axis=1, ddof=1).mean(axis=0) / m) / n if m > 1 else np.zeros_like(mean)
    total = np.maximum(between / ess, fresh)  # a single draw: the fresh part only
    return np.sqrt(total) / mean, np.where(total > 0, fresh / np.where(total > 0, total, 1), 0.0)


# --------------------------------------------------------------------------- held-out density


def _population(posterior: xr.Dataset, variant: Variant, name: str, n: int) -> NDArray:
    """A population-level parameter per draw, ``(S,)`` chain-major, sampled or fixed."""
    if name in posterior:
        values = posterior[name].transpose(schema.CHAIN, schema.DRAW).values
        return np.asarray(values, dtype=float).reshape(-1)
    if name in variant.fixed:
        return np.full(n, float(np.asarray(variant.fixed[name])))  # type: ignore[arg-type]
    raise ComparisonError(f"refit posterior: lacks {name!r}, needed for fresh effects")


def fresh_effect_names(variant: Variant) -> tuple[str, ...]:
    """The state effects a held-out dyad draws afresh: ``alpha`` and free per-state ``l0, w, s``."""
    if variant.has_regimes:
        return (schema.ALPHA,)
    return (schema.ALPHA, *(p for p in schema.BELIEF_PARAMETERS if p not in variant.fixed))


def heldout_log_likelihood(
    posterior: xr.Dataset,
    fit: xr.DataTree,
    dyad: str,
    unit: Unit,
    variant: Variant,
    *,
    n_fresh: int = FRESH_DRAWS,
    mc_se_target: float = MC_SE_TARGET,
    max_fresh: int = MAX_FRESH_DRAWS,
    seed: int = 0,
    fresh: Mapping[str, NDArray] | None = None,
) -> xr.DataArray:
    """Log predictive density of a held-out dyad's moves under each draw of a refit.

    Fresh effects are drawn in batches of ``n_fresh`` per posterior draw until
    the Monte Carlo standard error of every unit's held-out elpd is below
    ``mc_se_target`` or ``max_fresh`` draws are reached (module docstring).

    Parameters
    ----------
    posterior
        Posterior of a refit with ``dyad`` held out (or any posterior of the
        fit's model).
    fit
        The full fit: its ``constant_data`` holds the held-out moves.
    dyad
        The held-out dyad.
    unit
        ``"dyad"`` (one term, the sum over its sides, configurations
        marginalised) or ``"state"`` (one term per side; variants without
        coupled sides only).
    variant
        The fit's variant: which state effects are fresh, and fixed values.
    n_fresh
        Fresh draws of the dyad's state effects per posterior draw, per batch.
    mc_se_target, max_fresh
        Stop drawing batches once every unit's ``mc_se`` is below the target
        (or, for the units above it, the posterior draws rather than the
        fresh effects carry most of the error), or at ``max_fresh`` fresh
        draws per posterior draw.
    seed
        Seed of the fresh draws.
    fresh
        Standard normal ``z`` per fresh effect (:func:`fresh_effect_names`),
        each ``(S, M, 2)``, used instead of random batches (for tests).

    Returns
    -------
    xarray.DataArray
        ``(chain, draw, unit)``: ``log (1/M) sum_m p(y_unit | theta_s, u_sm)``
        per draw, with coordinates over the unit ``mc_se`` (the Monte Carlo
        standard error of ``log (1/(S M)) sum_{s,m} p(y_unit | theta_s,
        u_sm)``, :func:`heldout_errors`) and ``n_fresh`` (``M``).
    """
    constant = fit[schema.CONSTANT_DATA].to_dataset()
    tree = xr.DataTree.from_dict({schema.POSTERIOR: posterior, schema.CONSTANT_DATA: constant})
    draws = read_fit(tree)
    one = draws.select_dyads([draws.data.dyad_index(dyad)])
    n = one.n_samples
    if unit == "state" and one.n_configurations > 1:
        raise ComparisonError("unit: 'state' is not valid for a fit with coupled sides; use 'dyad'")
    names = fresh_effect_names(variant)
    if fresh is not None:
        missing = [k for k in names if k not in fresh]
        if missing:
            raise ValueError(f"fresh: lacks {missing}")
        m = int(np.asarray(fresh[schema.ALPHA]).shape[1])
        for k in names:
            if np.asarray(fresh[k]).shape != (n, m, 2):
                raise ValueError(f"fresh: {k!r} must have shape {(n, m, 2)}")
        values = _heldout_values(one, posterior, variant, unit, fresh)
    else:
        if int(n_fresh) != n_fresh or n_fresh < 1:
            raise ValueError(f"n_fresh: must be a positive integer, got {n_fresh!r}")
        rng = np.random.default_rng(seed)
        batches: list[NDArray] = []
        while True:
            batch = {k: rng.standard_normal((n, int(n_fresh), 2)) for k in names}
            batches.append(_heldout_values(one, posterior, variant, unit, batch))
            values = np.concatenate(batches, axis=1)
            se, fresh_share = heldout_errors(values, len(draws.chain))
            small = np.all(se < mc_se_target)
            # More fresh effects help only where they, not the draws, carry the error.
            useless = np.all((se < mc_se_target) | (fresh_share < 0.5))
            if small or useless or values.shape[1] + n_fresh > max_fresh:
                break
    m = values.shape[1]
    per_draw = log_mean_exp(values, axis=1)
    mc_se, _ = heldout_errors(values, len(draws.chain))
    dim = _unit_dim(unit)
    return xr.DataArray(
        per_draw.reshape(len(draws.chain), len(draws.draw), -1),
        dims=(schema.CHAIN, schema.DRAW, dim),
        coords={
            schema.CHAIN: draws.chain,
            schema.DRAW: draws.draw,
            dim: unit_labels([dyad], unit),
            "mc_se": (dim, mc_se),
            "n_fresh": (dim, np.full(mc_se.shape, m)),
        },
        name=schema.LOGLIK,
    )


def _heldout_values(
    one: Draws, posterior: xr.Dataset, variant: Variant, unit: Unit, fresh: Mapping[str, NDArray]
) -> NDArray[np.float64]:
    """``log p(y_unit | theta_s, u_sm)``, ``(S, M, units)``, for one held-out dyad's draws.

    The engine's steps of :func:`secdilemma.analysis.likelihood.likelihood`
    (belief recursion, per-intent action log-likelihoods, intent and
    configuration marginals) on the layout ``(sample, fresh, configuration,
    dyad, side)``. Where only ``alpha`` is fresh (regime variants) the belief
    paths do not depend on it (a reader's baseline is the population level,
    DESIGN §4), so they are computed once per draw, not per fresh draw.
    """
    n = one.n_samples
    m = int(np.asarray(fresh[schema.ALPHA]).shape[1])

    def state(values: NDArray) -> NDArray:  # (S, M, 2) -> (S, M, 1, 1, 2)
        return np.asarray(values, dtype=float)[:, :, None, None, :]

    sigma_alpha = _population(posterior, variant, "sigma_alpha", n)
    alpha = state(sigma_alpha[:, None, None] * np.asarray(fresh[schema.ALPHA]))
    belief_params = {p: getattr(one, p)[:, None] for p in schema.BELIEF_PARAMETERS}
    if not variant.has_regimes:
        for param in schema.BELIEF_PARAMETERS:
            if param in variant.fixed:
                continue  # the draws hold the fixed value
            mu_name, sigma_name = HYPERPARAMETERS[param]
            mu = _population(posterior, variant, mu_name, n)[:, None, None]
            sigma = _population(posterior, variant, sigma_name, n)[:, None, None]
            latent = mu + sigma * np.asarray(fresh[param])
            belief_params[param] = state(latent if param == "l0" else expit(latent))
    shared = {k: getattr(one, k)[:, None] for k in ("beta", "gamma", "delta", "pi", "cutpoints")}
    log_prior = one.log_prior[:, None]  # (S, 1, K, 1)
    data = one.data
    step = max(1, CELLS_PER_CHUNK // (m * one.n_configurations * 2 * data.n_years))
    parts = []
    for start in range(0, n, step):
        part = slice(start, min(start + step, n))
        sh = {k: v[part] for k, v in shared.items()}
        paths = belief_recursion(
            data.move, *(belief_params[p][part] for p in schema.BELIEF_PARAMETERS),
            sh["beta"], sh["gamma"], sh["delta"], sh["cutpoints"], observed=data.observed,
        )  # fmt: skip
        ll = action.intent_log_likelihoods(
            data.move, data.modelled, data.observed, paths.belief, alpha[part],
            sh["beta"], sh["gamma"], sh["delta"], sh["cutpoints"],
        )  # fmt: skip
        marginal = action.marginal_log_likelihood(ll, sh["pi"])  # (s, M, K, 1, 2)
        if unit == "dyad":
            config_ll = action.configuration_log_likelihood(marginal, log_prior[part])
            parts.append(action.dyad_log_likelihood(config_ll))  # (s, M, 1)
        else:
            parts.append(marginal[:, :, 0, 0, :])  # (s, M, 2)
    return np.concatenate(parts)


# --------------------------------------------------------------------------- K-fold wrapper

Refit = Callable[[Sequence[int]], tuple[xr.Dataset, dict[str, Any]]]
"""``refit(dyad positions) -> (posterior, record)``: a fit's model sampled with dyads held out."""


class DyadKFold(SamplingWrapper):
    """Leave-dyads-out refits of one fit, as an :class:`arviz_stats.loo.SamplingWrapper`.

    Observations are the comparison's units (states or dyads, in the order of
    :func:`pointwise_log_likelihood`); holding out a unit holds out its whole
    dyad (module docstring). Usable by :func:`arviz_stats.loo_kfold` (with
    ``folds`` grouping each dyad's units) and by :func:`compare`, which runs
    only the folds it needs, in parallel.

    Parameters
    ----------
    fit
        The full fit.
    unit
        The LOO unit.
    panel
        The panel the fit was made from (needed by the default sampler).
    variant
        The fit's variant (default: from its attrs).
    settings
        Sampler settings of a refit (:class:`~secdilemma.model.kfold.RefitSettings`).
    n_fresh
        Fresh effects per posterior draw (:func:`heldout_log_likelihood`).
    refit
        ``refit(dyad positions) -> (posterior, record)``; default the sampler,
        :class:`secdilemma.model.kfold.DyadRefitter` (compiled on first use).
        Tests pass a fake.
    """

    def __init__(
        self,
        fit: xr.DataTree,
        unit: Unit,
        *,
        panel: xr.Dataset | None = None,
        variant: Variant | None = None,
        settings: RefitSettings | None = None,
        n_fresh: int = FRESH_DRAWS,
        refit: Refit | None = None,
    ) -> None:
        self.ll = pointwise_log_likelihood(fit, unit)
        super().__init__(model=None, idata_orig=_psis_tree(fit, self.ll))
        self.fit = fit
        self.unit = unit
        self.variant = variant if variant is not None else _fit_variant(fit, "fit")
        self.n_fresh = int(n_fresh)
        self.dyads = [str(d) for d in fit[schema.CONSTANT_DATA][schema.DYAD].values]
        self.unit_dyad = _unit_dyads(self.ll)
        self.records: list[dict[str, Any]] = []
        if refit is None:
            if panel is None:
                raise ComparisonError("panel: the refits need the panel the fit was made from")
            from secdilemma.model.kfold import DyadRefitter

            refitter = DyadRefitter(fit, panel, settings or RefitSettings())
            refit = refitter.refit
            self.seed = refitter.settings.seed
        else:
            self.seed = settings.seed if settings is not None else 0
        self._refit = refit

    def sel_observations(self, idx: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Hold out the dyads of the units at positions ``idx``.

        Returns the training side (the dyad positions to mask) and the test side
        (those dyads and the requested units, in order).
        """
        positions = np.atleast_1d(np.asarray(idx, dtype=int))
        held = sorted({self.dyads.index(str(d)) for d in self.unit_dyad[positions]})
        return {"held_out": held}, {"held_out": held, "units": positions.tolist()}

    def sample(self, modified_observed_data: dict[str, Any]) -> tuple[xr.Dataset, dict[str, Any]]:
        """Refit with the training side's dyads masked."""
        posterior, record = self._refit(modified_observed_data["held_out"])
        self.records.append(record)
        return posterior, record

    def get_inference_data(self, fitted_model: tuple[xr.Dataset, dict[str, Any]]) -> xr.DataTree:
        """The refit's posterior as a DataTree (its record in the attrs)."""
        posterior, record = fitted_model
        tree = xr.DataTree.from_dict({schema.POSTERIOR: posterior})
        tree.attrs["refit"] = json.dumps(record)
        return tree

    def log_likelihood__i(
        self, excluded_obs: dict[str, Any], idata__i: xr.DataTree
    ) -> xr.DataArray:
        """Held-out log predictive density of the requested units, ``(chain, draw, unit)``."""
        posterior = idata__i[schema.POSTERIOR].to_dataset()
        parts = []
        for d in excluded_obs["held_out"]:
            seed = int(np.random.SeedSequence([self.seed, 7, d]).generate_state(1)[0])
            parts.append(
                heldout_log_likelihood(
                    posterior,
                    self.fit,
                    self.dyads[d],
                    self.unit,
                    self.variant,
                    n_fresh=self.n_fresh,
                    seed=seed,
                )
            )
        dim = _unit_dim(self.unit)
        held = xr.concat(parts, dim=dim)
        labels = [str(v) for v in self.ll[dim].values[excluded_obs["units"]]]
        return held.sel({dim: labels})


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Comparison:
    """The outcome of :func:`compare`.

    Attributes
    ----------
    table
        One row per fit (index ``model``), best first: ``rank, elpd, se,
        elpd_diff, dse`` (difference to the best and its standard error),
        ``p_worse``, ``p`` (effective number of parameters), ``weight``
        (stacking), ``method``, ``n_units``, ``high_k`` (units with PSIS
        Pareto k above the threshold), ``refitted`` (dyads refitted),
        ``high_k_left`` (units above the threshold not refitted),
        ``mc_se`` (Monte Carlo standard error of ``elpd`` from its refitted
        units, :func:`heldout_errors`; not part of ``se``), ``mc_se_max``
        (the largest of a unit),
        ``diagnostics_ok`` and ``variant``.
    pointwise
        One row per fit and unit: ``model, unit, dyad, side`` (``-1`` for a
        dyad unit), ``elpd`` (used), ``elpd_psis``, ``pareto_k`` (PSIS),
        ``refitted``, ``mc_se`` and ``n_fresh`` (fresh effects per posterior
        draw) of a refitted unit.
    unit
        ``"state"`` or ``"dyad"``.
    weights
        Stacking weights by fit.
    refitted
        Fit -> dyads refitted.
    refits
        One row per refit (fold): ``model``, held-out ``dyads``, seconds,
        divergences, settings.
    elpd
        Fit -> the :class:`arviz_stats.utils.ELPDDataLOO` compared (pointwise
        ``elpd_i``: PSIS, refitted where it failed).
    flagged
        Fits flagged ``diagnostics_ok = 0``.
    notes
        Sentences a reader of the table needs (unit, refits, flagged fits).
    k_threshold
        The Pareto k threshold.
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame
    unit: Unit
    weights: pd.Series
    refitted: dict[str, list[str]]
    refits: pd.DataFrame
    elpd: dict[str, ELPDDataLOO] = field(repr=False)
    flagged: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    k_threshold: float = K_THRESHOLD

    def to_markdown(self) -> str:
        """The table as Markdown, with the LOO unit above it and the notes below."""
        formats = {"elpd": ".1f", "se": ".1f", "elpd_diff": ".1f", "dse": ".1f", "p": ".1f",
                   "weight": ".2f", "mc_se": ".2f"}  # fmt: skip
        columns = ["rank", "elpd", "se", "elpd_diff", "dse", "p", "weight", "method",
                   "high_k", "refitted", "high_k_left", "mc_se", "diagnostics_ok"]  # fmt: skip
        text_columns = {"method"}
        lines = [
            "| model | " + " | ".join(columns) + " |",
            "| --- | " + " | ".join("---" if c in text_columns else "---:" for c in columns) + " |",
        ]
        for name, row in self.table.iterrows():
            cells = [
                format(float(row[c]), formats[c]) if c in formats else str(row[c]) for c in columns
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        unit = "the observing state" if self.unit == "state" else "the dyad"
        n_units = int(self.table["n_units"].iloc[0])
        text = [f"Model comparison; LOO unit: {unit} ({n_units} units).", "", *lines]
        if self.notes:
            text += ["", *(f"- {n}" for n in self.notes)]
        return "\n".join(text) + "\n"


def write_comparison(
    comparison: Comparison, csv_path: str | Path, markdown_path: str | Path | None = None
) -> list[Path]:
    """Write the comparison table as CSV (and Markdown), atomically.

    Both paths are checked before either file is written; each is written to
    a temporary file and renamed into place (:mod:`secdilemma.files`), so an
    error leaves no half-written file.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    targets = [check_output_path(csv_path, option="csv_path")]
    if markdown_path is not None:
        targets.append(check_output_path(markdown_path, option="markdown_path"))
    table = comparison.table.reset_index()
    with atomic_path(targets[0]) as tmp:
        table.to_csv(tmp, index=False)
    if markdown_path is not None:
        with atomic_path(targets[1]) as tmp:
            tmp.write_text(comparison.to_markdown(), encoding="utf-8")
    return targets


# --------------------------------------------------------------------------- compare


def _with_refits(
    psis: ELPDDataLOO, ll: xr.DataArray, unit: Unit, heldout: dict[str, float]
) -> ELPDDataLOO:
    """The PSIS result with refitted units' elpd_i replaced (their Pareto k set to 0, as reloo)."""
    result = deepcopy(psis)
    dim = _unit_dim(unit)
    lpd = xr.DataArray(
        log_mean_exp(ll.transpose(schema.CHAIN, schema.DRAW, dim).values, axis=(0, 1)),
        dims=(dim,),
        coords={dim: ll[dim].values},
    )
    elpd_i = result.elpd_i.copy()
    pareto_k = result.pareto_k.copy()
    for label, value in heldout.items():
        elpd_i.loc[{dim: label}] = value
        pareto_k.loc[{dim: label}] = 0.0
    p_loo_i = lpd - elpd_i
    elpd, se, p, _ = elpd_i.azstats.loo_summary(p_loo_i)
    result.elpd_i, result.pareto_k, result.p_loo_i = elpd_i, pareto_k, p_loo_i
    result.elpd, result.se, result.p = float(elpd), float(se), float(p)
    result.warning = bool(np.any(pareto_k.values > result.good_k))
    if heldout:
        result.log_weights = None  # no longer those of every unit
    return result


def compare(
    fits: Mapping[str, xr.DataTree],
    panel: xr.Dataset | None = None,
    *,
    unit: Unit | Literal["auto"] = "auto",
    refit: Literal["auto", "none", "all"] | Sequence[str] = "auto",
    k_threshold: float = K_THRESHOLD,
    settings: RefitSettings | None = None,
    n_fresh: int = FRESH_DRAWS,
    refitters: Mapping[str, Refit] | None = None,
) -> Comparison:
    """Compare fits of one panel by their expected log predictive density (module docstring).

    Parameters
    ----------
    fits
        ``{name: fit}``: fits of one panel (any variants, flagged or not).
    panel
        The panel the fits were made from: checked against every fit, and
        needed for refits.
    unit
        ``"auto"`` (the state, or the dyad where a fit couples its sides),
        ``"state"`` or ``"dyad"``.
    refit
        Which dyads to hold out and refit: ``"auto"`` (per fit, the dyads of
        units whose PSIS Pareto k exceeds ``k_threshold``), ``"none"``
        (PSIS-LOO only), ``"all"`` (every dyad: exact leave-one-dyad-out for
        every unit) or a list of dyad ids (for every fit).
    k_threshold
        Pareto k above which PSIS-LOO is not trusted (0.7).
    settings
        Sampler settings of the refits (:class:`~secdilemma.model.kfold.RefitSettings`;
        its ``cores`` bound the folds run at once).
    n_fresh
        Fresh effects per posterior draw of a held-out dyad (:data:`FRESH_DRAWS`).
    refitters
        ``{name: refit}`` replacing the sampler for some fits (tests).

    Returns
    -------
    Comparison

    Raises
    ------
    ComparisonError
        Before any work, naming the fit concerned: a fit without a
        ``log_likelihood`` group, a fit of another panel than ``panel``, fits
        of different panels, a unit a fit cannot give; and if refits are needed
        but no ``panel`` was given or a fit has no variant attr.
    """
    data = _check_fits(fits, panel)
    chosen = loo_unit(fits, unit)
    if not 0 < float(k_threshold):
        raise ComparisonError(f"k_threshold: must be positive, got {k_threshold!r}")
    dyads = [str(d) for d in next(iter(data.values())).dyad]
    if not isinstance(refit, str):
        unknown = sorted(set(map(str, refit)) - set(dyads))
        if unknown:
            raise ComparisonError(f"refit: dyads {unknown} are not in the fits; they have {dyads}")
    elif refit not in ("auto", "none", "all"):
        raise ComparisonError(f"refit: expected 'auto', 'none', 'all' or dyad ids, got {refit!r}")
    refitters = dict(refitters or {})
    settings = settings if settings is not None else RefitSettings()

    # PSIS-LOO of every fit on the common unit.
    ll = {name: pointwise_log_likelihood(fit, chosen) for name, fit in fits.items()}
    psis = {name: psis_loo(fits[name], ll[name]) for name in fits}
    dim = _unit_dim(chosen)
    to_refit: dict[str, list[str]] = {}
    for name in fits:
        if refit == "none":
            to_refit[name] = []
        elif refit == "all":
            to_refit[name] = list(dyads)
        elif refit == "auto":
            high = psis[name].pareto_k.values > k_threshold
            bad = set(_unit_dyads(ll[name])[high])
            to_refit[name] = [d for d in dyads if d in bad]
        else:
            to_refit[name] = [d for d in dyads if d in set(map(str, refit))]
    needing = [n for n in fits if to_refit[n] and n not in refitters]
    if needing and panel is None:
        raise ComparisonError(
            f"panel: needed for the K-fold refits of fit {needing[0]!r} (dyads "
            f"{to_refit[needing[0]]}); pass the panel the fits were made from, or "
            "refit='none' for PSIS-LOO only"
        )
    variants = {name: _fit_variant(fits[name], name) for name in fits if to_refit[name]}

    # K-fold refits: one wrapper (one compiled model) per fit, folds in parallel.
    wrappers = {
        name: DyadKFold(
            fits[name],
            chosen,
            panel=panel,
            variant=variants[name],
            settings=settings,
            n_fresh=n_fresh,
            refit=refitters.get(name),
        )
        for name in fits
        if to_refit[name]
    }
    jobs = [(name, d) for name in fits for d in to_refit[name]]

    def run(job: tuple[str, str]) -> tuple[str, str, xr.DataArray, dict[str, Any]]:
        name, dyad = job
        wrapper = wrappers[name]
        units = np.flatnonzero(wrapper.unit_dyad == dyad)
        train, test = wrapper.sel_observations(units)
        started = time.perf_counter()
        fitted = wrapper.sample(train)
        tree = wrapper.get_inference_data(fitted)
        sampled = time.perf_counter()
        held = wrapper.log_likelihood__i(test, tree)
        record = {"model": name, **fitted[1]}
        record["heldout_seconds"] = round(time.perf_counter() - sampled, 3)
        record["wall_seconds"] = round(time.perf_counter() - started, 3)
        return name, dyad, held, record

    cores = (settings.cores if settings is not None else None) or _cpu_count()
    workers = max(1, cores // (settings.chains if settings is not None else 1))
    if jobs and workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(run, jobs))
    else:
        done = [run(job) for job in jobs]

    heldout: dict[str, dict[str, float]] = {name: {} for name in fits}
    mc_se: dict[str, dict[str, float]] = {name: {} for name in fits}
    fresh: dict[str, dict[str, int]] = {name: {} for name in fits}
    records = []
    for name, _, held, record in done:
        values = log_mean_exp(held.transpose(schema.CHAIN, schema.DRAW, dim).values, axis=(0, 1))
        columns = (held[dim].values, values, held["mc_se"].values, held["n_fresh"].values)
        for label, value, se, m in zip(*columns, strict=True):
            heldout[name][str(label)] = float(value)
            mc_se[name][str(label)] = float(se)
            fresh[name][str(label)] = int(m)
        records.append(record)
    elpd = {name: _with_refits(psis[name], ll[name], chosen, heldout[name]) for name in fits}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Comparing LOO-CV to K-fold-CV" cannot arise: kind loo
        ranked = azs.compare(elpd, method="stacking", round_to="none")
    table = _model_table(ranked, fits, psis, elpd, to_refit, mc_se, k_threshold, len(dyads))
    pointwise = _pointwise_table(fits, ll, psis, elpd, heldout, mc_se, chosen)
    pointwise["n_fresh"] = [
        fresh[m].get(u, 0) for m, u in zip(pointwise["model"], pointwise["unit"], strict=True)
    ]
    used = [m for per in fresh.values() for m in per.values()]
    notes = _notes(fits, chosen, to_refit, table, refit, k_threshold, settings, used)
    notes += _fold_notes(records)
    flagged = tuple(n for n in fits if _diagnostics_note(n, fits[n]) is not None)
    return Comparison(
        table=table,
        pointwise=pointwise,
        unit=chosen,
        weights=table["weight"].copy(),
        refitted=to_refit,
        refits=pd.DataFrame(records),
        elpd=elpd,
        flagged=flagged,
        notes=tuple(notes),
        k_threshold=float(k_threshold),
    )


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _model_table(
    ranked: pd.DataFrame,
    fits: Mapping[str, xr.DataTree],
    psis: Mapping[str, ELPDDataLOO],
    elpd: Mapping[str, ELPDDataLOO],
    to_refit: Mapping[str, list[str]],
    mc_se: Mapping[str, Mapping[str, float]],
    k_threshold: float,
    n_dyads: int,
) -> pd.DataFrame:
    """The per-fit table: arviz's comparison plus what was refitted and how reliable it is."""
    table = ranked[["rank", "elpd", "se", "elpd_diff", "dse", "p_worse", "p", "weight"]].copy()
    table.index.name = "model"
    for name in table.index:
        n_refit = len(to_refit[name])
        method = "PSIS-LOO"
        if n_refit:
            method = (
                f"K-fold, all {n_dyads} dyads" if n_refit == n_dyads
                else f"PSIS-LOO + K-fold ({n_refit} dyads)"
            )  # fmt: skip
        table.loc[name, "method"] = method
        table.loc[name, "n_units"] = int(psis[name].pareto_k.size)
        table.loc[name, "high_k"] = int((psis[name].pareto_k.values > k_threshold).sum())
        table.loc[name, "refitted"] = n_refit
        table.loc[name, "high_k_left"] = int((elpd[name].pareto_k.values > k_threshold).sum())
        ses = np.asarray(list(mc_se[name].values()), dtype=float)
        table.loc[name, "mc_se"] = float(np.sqrt(np.sum(ses**2))) if ses.size else np.nan
        table.loc[name, "mc_se_max"] = float(ses.max()) if ses.size else np.nan
        variant = fits[name].attrs.get("variant")
        try:
            table.loc[name, "variant"] = json.loads(variant)["name"] if variant else ""
        except (TypeError, KeyError, json.JSONDecodeError):
            table.loc[name, "variant"] = ""
    for column in ("rank", "n_units", "high_k", "refitted", "high_k_left"):
        table[column] = table[column].astype(int)
    flags = [fits[name].attrs.get("diagnostics_ok") for name in table.index]
    table["diagnostics_ok"] = pd.array(
        [pd.NA if f is None else int(f) for f in flags], dtype="Int64"
    )  # 1 passed, 0 flagged, <NA> unknown (a fit without the attr)
    return table


def _pointwise_table(
    fits: Mapping[str, xr.DataTree],
    ll: Mapping[str, xr.DataArray],
    psis: Mapping[str, ELPDDataLOO],
    elpd: Mapping[str, ELPDDataLOO],
    heldout: Mapping[str, Mapping[str, float]],
    mc_se: Mapping[str, Mapping[str, float]],
    unit: Unit,
) -> pd.DataFrame:
    """One row per fit and unit."""
    dim = _unit_dim(unit)
    rows = []
    for name in fits:
        labels = [str(v) for v in ll[name][dim].values]
        dyad = _unit_dyads(ll[name])
        side = ll[name][schema.SIDE].values if unit == "state" else np.full(len(labels), -1)
        for i, label in enumerate(labels):
            rows.append(
                {
                    "model": name,
                    "unit": label,
                    "dyad": dyad[i],
                    "side": int(side[i]),
                    "elpd": float(elpd[name].elpd_i.values[i]),
                    "elpd_psis": float(psis[name].elpd_i.values[i]),
                    "pareto_k": float(psis[name].pareto_k.values[i]),
                    "refitted": label in heldout[name],
                    "mc_se": mc_se[name].get(label, np.nan),
                }
            )
    return pd.DataFrame(rows)


def _notes(
    fits: Mapping[str, xr.DataTree],
    unit: Unit,
    to_refit: Mapping[str, list[str]],
    table: pd.DataFrame,
    refit: Any,
    k_threshold: float,
    settings: RefitSettings | None,
    fresh: list[int],
) -> list[str]:
    """What a reader of the table needs to know."""
    notes = []
    coupled = [n for n in fits if fit_unit(fits[n]) == "dyad"]
    if unit == "dyad" and coupled:
        notes.append(
            f"The LOO unit is the dyad because fit {coupled[0]!r} couples a dyad's two sides "
            "through the regime configuration (DESIGN §4); every other fit's state terms are "
            "summed over its two sides."
        )
    elif unit == "state":
        notes.append(
            "The LOO unit is the observing state's sequence; a refitted state's term holds "
            "out its whole dyad (its moves enter its partner's likelihood as lags and evidence)."
        )
    if refit == "none":
        left = {n: int(table.loc[n, "high_k_left"]) for n in fits}
        if any(left.values()):
            listed = ", ".join(f"{n} {k}" for n, k in left.items() if k)
            notes.append(
                f"PSIS-LOO only (no refits): units with Pareto k > {k_threshold} ({listed}) "
                "have unreliable elpd estimates; refit='auto' refits their dyads (K-fold)."
            )
        else:
            notes.append("PSIS-LOO only (no refits); every Pareto k is below the threshold.")
    elif any(to_refit.values()) and settings is not None:
        notes.append(
            f"Refitted dyads (held out, model refitted, {settings.chains} chains x "
            f"({settings.tune} + {settings.draws}) draws): "
            + "; ".join(f"{n}: {len(d)}" for n, d in to_refit.items())
            + ". Held-out states draw fresh effects from the hierarchy ("
            + (f"{min(fresh)}" if min(fresh) == max(fresh) else f"{min(fresh)}-{max(fresh)}")
            + " per posterior draw)."
        )
    for name in fits:
        note = _diagnostics_note(name, fits[name])
        if note:
            notes.append(note)
    return notes


def _fold_notes(records: list[dict[str, Any]]) -> list[str]:
    """Refits whose sampler diagnostics a reader should know of."""
    notes = []
    separated = [r for r in records if r.get("separated")]
    if separated:
        listed = ", ".join(f"{r['model']} {'+'.join(r['dyads'])} out" for r in separated)
        notes.append(
            f"Refits whose chains settled at separated log-densities (possibly different "
            f"modes; their held-out elpd averages over both): {listed}."
        )
    divergent = [r for r in records if r.get("divergences")]
    if divergent:
        listed = ", ".join(
            f"{r['model']} {'+'.join(r['dyads'])} out ({r['divergences']})" for r in divergent
        )
        notes.append(f"Refits with divergent transitions: {listed}.")
    return notes
