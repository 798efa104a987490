"""Counterfactual histories (DESIGN §5): a fitted dyad with one side's beliefs swapped.

``counterfactual(fit, dyad, side=..., beliefs=..., from_year=...)`` answers
"what if this state had formed its beliefs differently?" in two readings:

*beliefs only* (group ``beliefs_only``)
    the observed moves, reread with the swapped belief parameters of one side
    (both sides' beliefs are returned: the other's reading depends on the
    swapped side's fear). Nothing is drawn: it is the belief recursion of
    DESIGN §3 per posterior draw, averaged over the configurations of observer
    regimes with their fitted weights (for a variant without regimes, the one
    configuration). Swapping in the state's own fitted parameters (``beliefs=
    "fitted"``, or its own ``l0, w, s`` draws) gives back its fitted belief
    paths exactly: the same function of the same numbers.
*generative* (group ``generative``)
    the dyad rerun from ``from_year`` with the posterior draws: the observed
    moves before ``from_year`` are given (they happened; the beliefs over them
    are those of the swapped reading), the moves from ``from_year`` on are
    drawn from the model (:func:`secdilemma.core.forward.forward`), with
    missing cells masked as in the fitted data. Each draw's configuration of
    regimes and each state's intent are drawn from their fitted posterior (they
    are traits of these states, not of their beliefs), and the *baseline* run
    with the fitted beliefs uses the same draws and the same uniforms (common
    random numbers), so the change in the escalation rate over the rerun
    years, per draw, isolates the swap. Its mean and 90 % interval are in the
    root attrs.

The swapped side keeps its belief parameters for the whole history: it is
the kind of observer the swap names from the first observed year on, so a
swapped ``l0`` matters even when ``from_year`` is late.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.analysis import statistics
from secdilemma.analysis.draws import Draws, read_fit
from secdilemma.analysis.likelihood import draw_latent, likelihood, weighted_belief
from secdilemma.core.forward import forward
from secdilemma.core.parameters import REGIMES, check_belief, regime
from secdilemma.model import schema

FITTED = "fitted"
"""``beliefs=`` value that keeps the side's own fitted belief parameters (the identity swap)."""

BeliefSwap = str | Mapping[str, Any]
"""A regime name of :data:`secdilemma.REGIMES`, ``"fitted"``, or ``{"l0", "w", "s"}``
with scalars, per-draw arrays ``(sample,)`` or DataArrays over ``(chain, draw)``."""


def _side_index(side: int | str, draws: Draws, dyad: str) -> int:
    """Side 0/1, or the side of a named state (needs a panel for the names)."""
    if isinstance(side, (int, np.integer)) and not isinstance(side, bool) and side in (0, 1):
        return int(side)
    states = draws.data.state
    if isinstance(side, str) and states is not None:
        names = [str(s) for s in states[0]]
        if side in names:
            return names.index(side)
        raise ValueError(f"side: {side!r} is not a state of dyad {dyad!r}; its states are {names}")
    hint = "" if states is not None else " (state names need panel=)"
    raise ValueError(f"side: expected 0 or 1 or a state name of dyad {dyad!r}{hint}, got {side!r}")


def _per_sample(value: Any, draws: Draws, name: str) -> NDArray[np.float64]:
    """A swapped parameter as one value per sample, ``(S,)``."""
    if isinstance(value, xr.DataArray):
        extra = set(value.dims) - {schema.CHAIN, schema.DRAW}
        if extra:
            raise ValueError(f"beliefs: {name} has dims {value.dims}; expected (chain, draw)")
        try:
            value = value.sel({schema.CHAIN: draws.chain, schema.DRAW: draws.draw})
        except (KeyError, IndexError, ValueError):
            raise ValueError(f"beliefs: {name} lacks some of the fit's chains or draws") from None
        value = value.transpose(schema.CHAIN, schema.DRAW).values.ravel()
    v = np.asarray(value, dtype=float)
    if v.ndim == 0:
        return np.full(draws.n_samples, float(v))
    if v.shape != (draws.n_samples,):
        raise ValueError(
            f"beliefs: {name} has shape {v.shape}; expected a scalar, ({draws.n_samples},) "
            "(one value per draw used) or a DataArray over (chain, draw)"
        )
    return v


def swapped_parameters(
    beliefs: BeliefSwap, draws: Draws
) -> tuple[str, dict[str, NDArray[np.float64]] | None]:
    """Parse and check a belief swap: its label and ``{l0, w, s}`` per sample (``None``: fitted).

    Raises
    ------
    ValueError
        On an unknown regime name, a mapping without exactly ``l0, w, s``, or
        values out of range (``w`` outside (0, 1], ``s`` outside [0, 1]).
    """
    if isinstance(beliefs, str):
        if beliefs == FITTED:
            return FITTED, None
        if beliefs not in REGIMES:
            raise ValueError(
                f"beliefs: unknown belief regime {beliefs!r}; expected {FITTED!r}, one of "
                f"{sorted(REGIMES)} or a mapping of l0, w and s"
            )
        params = regime(beliefs)
        values = {k: np.full(draws.n_samples, getattr(params, k)) for k in ("l0", "w", "s")}
        label = beliefs
    elif isinstance(beliefs, Mapping):
        keys = set(map(str, beliefs))
        if keys != {"l0", "w", "s"}:
            raise ValueError(f"beliefs: a mapping needs exactly l0, w and s; got {sorted(keys)}")
        values = {k: _per_sample(beliefs[k], draws, k) for k in ("l0", "w", "s")}
        label = "custom"
    else:
        raise ValueError(f"beliefs: expected a regime name or a mapping, got {type(beliefs)}")
    check_belief(values["l0"], values["w"], values["s"])
    return label, values


def _swap(arrays: tuple[NDArray, ...], side: int, values: dict[str, NDArray] | None) -> tuple:
    """``l0, w, s`` arrays ``(S, K, D, 2)`` with one side's values replaced (all configurations)."""
    if values is None:
        return arrays
    out = []
    for array, name in zip(arrays, ("l0", "w", "s"), strict=True):
        new = np.array(array, dtype=float)  # a writable copy
        new[:, :, :, side] = values[name][:, None, None]
        out.append(new)
    return tuple(out)


def counterfactual(
    fit: xr.DataTree,
    dyad: str,
    *,
    side: int | str,
    beliefs: BeliefSwap = "sensible",
    from_year: int | None = None,
    max_draws: int | None = None,
    seed: int = 0,
    panel: xr.Dataset | None = None,
) -> xr.DataTree:
    """Counterfactual history of one fitted dyad with one side's beliefs swapped (module docstring).

    Parameters
    ----------
    fit
        A fit (per-state belief parameters or observer regimes).
    dyad
        The dyad's id, e.g. ``"USA-RUS"``.
    side
        The side whose beliefs are swapped: 0, 1, or its state's name (with ``panel``).
    beliefs
        The swapped belief parameters: a regime name (``"sensible"``,
        ``"misplaced_certainty"``, ``"insensible"``), ``"fitted"`` (its own:
        the baseline), or ``{"l0": .., "w": .., "s": ..}`` with scalars,
        per-draw arrays or DataArrays over ``(chain, draw)``.
    from_year
        First calendar year that is rerun (the panel's ``year``); default the
        year after the dyad's first observed year, which is the baseline of
        the recursion and always given.
    max_draws, seed
        Draws per chain used (random subset, :func:`~secdilemma.analysis.draws.read_fit`)
        and the seed of that choice and of the generative run.
    panel
        Optional panel: checked against the fit, and names the states.

    Returns
    -------
    xarray.DataTree
        Groups ``beliefs_only`` (``belief_fitted``, ``belief_counterfactual``
        over ``(chain, draw, side, year)``, ``move_observed[side, year]``) and
        ``generative`` (``belief_baseline``, ``belief_counterfactual``,
        ``move_baseline``, ``move_counterfactual`` over ``(chain, draw, side,
        year)``; ``escalation_rate_baseline``, ``escalation_rate_counterfactual``,
        ``escalation_change`` over ``(chain, draw)``); ``year`` in calendar years
        from the dyad's first to its last observed year. Root attrs name the
        dyad, side, state, swap and ``from_year`` and give
        ``escalation_change_mean`` and its 90 % interval
        ``escalation_change_q05``, ``escalation_change_q95`` (rerun years,
        both sides, counterfactual minus baseline), and the observed rate
        ``escalation_rate_observed`` over the same cells.

    Raises
    ------
    ValueError
        On an unknown dyad or side, belief parameters out of range, a
        ``from_year`` outside the dyad's years (or its first, baseline year),
        or a fit from another panel; each message names the argument.
    """
    all_draws = read_fit(fit, max_draws=max_draws, seed=seed, panel=panel)
    d = all_draws.data.dyad_index(dyad)
    draws = all_draws.select_dyads([d])
    i = _side_index(side, draws, dyad)
    label, values = swapped_parameters(beliefs, draws)
    data = draws.data
    first, last = int(data.first_year[0]), int(data.last_period[0])
    if from_year is None:
        from_year = first + 1
    if isinstance(from_year, bool) or int(from_year) != from_year:
        raise ValueError(f"from_year: expected a calendar year, got {from_year!r}")
    from_year = int(from_year)
    if not first <= from_year <= first + last:
        raise ValueError(
            f"from_year: {from_year} is outside the years of {dyad} ({first}-{first + last})"
        )
    if from_year == first:
        raise ValueError(
            f"from_year: {first} is {dyad}'s first observed year, the baseline of the belief "
            f"recursion (given, not modelled); the earliest year that can be rerun is {first + 1}"
        )
    start = from_year - first
    periods = slice(0, last + 1)

    # Beliefs only: the observed moves reread; configurations weighted as fitted.
    lik = likelihood(draws)
    l0, w, s = _swap((draws.l0, draws.w, draws.s), i, values)
    swapped = replace(draws, l0=l0, w=w, s=s)
    reread = likelihood(swapped) if values is not None else lik
    belief_fitted = weighted_belief(lik.weights, lik.belief)[:, 0, 0]  # (S, 2, T)
    belief_reread = weighted_belief(lik.weights, reread.belief)[:, 0, 0]

    # Generative: latent traits from their fitted posterior, the same uniforms for both runs.
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    n, t = draws.n_samples, data.n_years
    configuration, tau = draw_latent(lik, rng.random((n, 1)), rng.random((n, 1, 2)))
    uniforms = rng.random((t, n, 1, 1, 2))
    baseline_params = draws.configured(configuration)
    runs = {}
    for name, params in (
        ("baseline", baseline_params),
        ("counterfactual", _swap(baseline_params, i, values)),
    ):
        l0, w, s = params
        runs[name] = forward(
            alpha=draws.alpha, beta=draws.beta, gamma=draws.gamma, delta=draws.delta,
            cutpoints=draws.cutpoints, tau=tau[:, None], l0=l0, w=w, s=s, uniforms=uniforms,
            observed=data.observed, given_move=data.move, n_given=start,
        )  # fmt: skip
    rerun = data.modelled[0] & (np.arange(t) >= start)  # (2, T): the cells whose rate is compared
    rates = {
        name: statistics.escalation_rate(np.where(rerun, run.move[:, 0, 0], np.nan), axis=(-2, -1))
        for name, run in runs.items()
    }
    change = rates["counterfactual"] - rates["baseline"]
    observed_rate = float(
        statistics.escalation_rate(np.where(rerun, data.move[0], np.nan), axis=(0, 1))
    )

    years = first + np.arange(last + 1)
    coords = {
        schema.CHAIN: draws.chain,
        schema.DRAW: draws.draw,
        schema.SIDE: [0, 1],
        schema.YEAR: years,
    }
    path_dims = (schema.CHAIN, schema.DRAW, schema.SIDE, schema.YEAR)

    def paths(values: NDArray, long_name: str, units: str = "1") -> xr.DataArray:
        return xr.DataArray(
            draws.unstack(values[..., periods]),
            dims=path_dims,
            coords=coords,
            attrs={"long_name": long_name, "units": units},
        )

    def per_draw(values: NDArray, long_name: str) -> xr.DataArray:
        return xr.DataArray(
            draws.unstack(values),
            dims=(schema.CHAIN, schema.DRAW),
            coords={k: coords[k] for k in (schema.CHAIN, schema.DRAW)},
            attrs={"long_name": long_name, "units": "1"},
        )

    beliefs_only = xr.Dataset(
        {
            "belief_fitted": paths(belief_fitted, "fitted belief that the other is malign"),
            "belief_counterfactual": paths(
                belief_reread, "belief that the other is malign, observed moves reread"
            ),
            "move_observed": xr.DataArray(
                data.move_or_nan()[0][:, periods],
                dims=(schema.SIDE, schema.YEAR),
                coords={schema.SIDE: [0, 1], schema.YEAR: years},
                attrs={"long_name": "observed move, NaN where missing"},
            ),
        }
    )
    generative = xr.Dataset(
        {
            "belief_baseline": paths(runs["baseline"].belief[:, 0, 0], "belief, fitted beliefs"),
            "belief_counterfactual": paths(
                runs["counterfactual"].belief[:, 0, 0], "belief, swapped beliefs"
            ),
            "move_baseline": paths(
                runs["baseline"].move_or_nan()[:, 0, 0], "move, fitted beliefs", units=""
            ),
            "move_counterfactual": paths(
                runs["counterfactual"].move_or_nan()[:, 0, 0], "move, swapped beliefs", units=""
            ),
            "escalation_rate_baseline": per_draw(
                rates["baseline"], "escalation rate, fitted beliefs"
            ),
            "escalation_rate_counterfactual": per_draw(
                rates["counterfactual"], "escalation rate, swapped beliefs"
            ),
            "escalation_change": per_draw(change, "escalation rate: swapped minus fitted beliefs"),
        },
        attrs={"from_year": from_year},
    )
    q05, q95 = np.quantile(change, [0.05, 0.95])
    state = data.labels()[0][i]
    attrs: dict[str, Any] = {
        "dyad": str(dyad),
        "side": i,
        "state": state,
        "beliefs": label,
        "beliefs_values": json.dumps(
            None if values is None else {k: float(np.mean(v)) for k, v in values.items()}
        ),
        "from_year": from_year,
        "first_year": first,
        "last_year": first + last,
        "seed": int(seed),
        "escalation_change_mean": float(np.mean(change)),
        "escalation_change_q05": float(q05),
        "escalation_change_q95": float(q95),
        "escalation_rate_observed": observed_rate,
        "description": "secdilemma counterfactual history (DESIGN §5): beliefs_only rereads the "
        "observed moves, generative reruns the dyad from from_year",
    }
    return xr.DataTree.from_dict(
        {"/": xr.Dataset(attrs=attrs), "beliefs_only": beliefs_only, "generative": generative}
    )


def escalation_by_year(
    tree: xr.DataTree, run: str = "counterfactual", *, cumulative: bool = False
) -> xr.DataArray:
    """Per draw and year, the share of a generative run's moves that escalate (both sides).

    Parameters
    ----------
    tree
        A :func:`counterfactual` result.
    run
        ``"baseline"`` or ``"counterfactual"``.
    cumulative
        The share over the rerun years up to each year (from ``from_year``;
        NaN before), whose last value is the run's ``escalation_rate_*``.
    """
    if run not in ("baseline", "counterfactual"):
        raise ValueError(f"run: expected 'baseline' or 'counterfactual', got {run!r}")
    move = tree["generative"][f"move_{run}"].transpose(..., schema.SIDE, schema.YEAR)
    values = move.values
    if cumulative:
        rerun = move[schema.YEAR].values >= int(tree.attrs["from_year"])
        values = np.where(rerun, values, np.nan)
        escalating = np.cumsum(np.nansum(values >= 2, axis=-2), axis=-1)
        counted = np.cumsum((~np.isnan(values)).sum(axis=-2), axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(counted > 0, escalating / np.maximum(counted, 1), np.nan)
    else:
        rate = statistics.escalation_rate(values, axis=-2)
    return xr.DataArray(
        rate,
        dims=(schema.CHAIN, schema.DRAW, schema.YEAR),
        coords={k: move[k] for k in (schema.CHAIN, schema.DRAW, schema.YEAR)},
    )


__all__ = ["FITTED", "BeliefSwap", "counterfactual", "escalation_by_year", "swapped_parameters"]
