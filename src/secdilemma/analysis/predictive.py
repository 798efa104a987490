"""Posterior predictive checks of DESIGN §5: conditional and generative replicates.

Two kinds of replicate of the fitted panel, one per posterior draw:

*conditional* (one step ahead, ``move_conditional``)
    each modelled move ``m[i,t]`` redrawn from the action model given the
    observed history: the observed lags and the beliefs the observed moves
    imply under the draw. The configuration of observer regimes (for a
    variant with regimes) is drawn per draw and dyad from ``P(k | m, draw)``
    and each state's intent from ``P(tau | m, k, draw)``.
*generative* (``move_generative``, ``belief_generative``)
    each dyad run forward from its first observed year with the draw's
    parameters (:func:`secdilemma.core.forward.forward`): every later move is
    drawn from the model's own history, so spirals must emerge rather than be
    fed in. Regimes and intents are latent traits of these particular states,
    so they too are drawn from their posterior given the draw, as above.

Both are stored in a ``posterior_predictive`` group with dims ``(chain, draw,
dyad, side, year)`` (``year`` as in the fit: the period since each dyad's first
observed year). A replicate is NaN wherever the fitted data have no modelled
move: missing moves stay missing (the generative run masks them exactly as
the likelihood does, :mod:`secdilemma.core.forward`), the first observed year
is given (not replicated) and the padding of shorter dyads stays empty.

:func:`ppc_table` computes the test statistics of
:mod:`secdilemma.analysis.statistics` per state and per dyad on the observed
panel and on every replicate, with mid-p posterior predictive p-values, as a
tidy :class:`pandas.DataFrame` (:func:`write_table` writes it as CSV).
:func:`rootogram_data` gives :func:`arviz_plots.plot_ppc_rootogram` the
integer data it needs (missing cells dropped).

Randomness: one :class:`numpy.random.SeedSequence` of ``seed`` is spawned into
one stream per kind, so the conditional replicates do not depend on whether
the generative ones are drawn too; all uniforms of a kind are drawn before
the (chunked) computation, so the result does not depend on the chunk size.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from secdilemma.analysis import statistics
from secdilemma.analysis.draws import Draws, fit_data, read_fit
from secdilemma.analysis.likelihood import chunk_size, draw_latent, likelihood
from secdilemma.core import action, ordered_logistic
from secdilemma.core.forward import forward
from secdilemma.files import atomic_path, check_output_path
from secdilemma.model import schema

KINDS = ("conditional", "generative")
"""The two kinds of posterior predictive check (DESIGN §5)."""

VARIABLES = {
    "conditional": schema.PPC_CONDITIONAL,
    "generative": schema.PPC_GENERATIVE,
}
"""Kind -> ``posterior_predictive`` variable of its replicated moves."""

TABLE_COLUMNS = (
    "kind",
    "level",
    "dyad",
    "side",
    "state",
    "statistic",
    "observed",
    "replicated_mean",
    "replicated_q05",
    "replicated_q95",
    "p_value",
    "n_draws",
)
"""Columns of :func:`ppc_table`, in order."""


def _generators(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per kind, from one seed."""
    children = np.random.SeedSequence(seed).spawn(len(KINDS))
    return {kind: np.random.default_rng(child) for kind, child in zip(KINDS, children, strict=True)}


def conditional_replicates(draws: Draws, rng: np.random.Generator) -> NDArray[np.float64]:
    """One-step-ahead replicates of every modelled move, ``(S, D, 2, T)``, NaN elsewhere."""
    data = draws.data
    n, d, t = draws.n_samples, data.n_dyads, data.n_years
    u_configuration = rng.random((n, d))
    u_intent = rng.random((n, d, 2))
    u_move = rng.random((n, 1, d, 2, t))
    out = np.full((n, d, 2, t), np.nan)
    for part, chunk in draws.chunks(chunk_size(draws)):
        lik = likelihood(chunk)
        configuration, tau = draw_latent(lik, u_configuration[part], u_intent[part])
        belief = np.take_along_axis(lik.belief, configuration[:, None, :, None, None], axis=1)
        belief_lag, x_other_lag = action.lagged_inputs(data.move, data.observed, belief)
        eta = action.linear_predictor(
            action.with_year_axis(chunk.alpha),
            action.with_year_axis(chunk.beta),
            action.with_year_axis(chunk.gamma),
            action.with_year_axis(chunk.delta),
            belief_lag,
            x_other_lag,
            tau[:, None, :, :, None],
        )
        cutpoints = action.cutpoints_with_year_axis(chunk.cutpoints)
        moves = ordered_logistic.from_uniform(eta, cutpoints, u_move[part][..., 1:])[:, 0]
        out[part, :, :, 1:] = np.where(data.modelled[:, :, 1:], moves, np.nan)
    return out


def generative_replicates(
    draws: Draws, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each dyad run forward from its first observed year, per draw.

    Returns
    -------
    move, belief
        ``(S, D, 2, T)``: replicated moves (NaN where the data have no
        modelled move) and the replicate's belief paths (NaN after each
        dyad's last period).
    """
    data = draws.data
    n, d, t = draws.n_samples, data.n_dyads, data.n_years
    u_configuration = rng.random((n, d))
    u_intent = rng.random((n, d, 2))
    u_move = rng.random((t, n, 1, d, 2))
    move = np.full((n, d, 2, t), np.nan)
    belief = np.full((n, d, 2, t), np.nan)
    inside = np.arange(t) <= data.last_period[:, None, None]  # (D, 1, T)
    for part, chunk in draws.chunks(chunk_size(draws)):
        configuration, tau = draw_latent(likelihood(chunk), u_configuration[part], u_intent[part])
        l0, w, s = chunk.configured(configuration)
        run = forward(
            alpha=chunk.alpha, beta=chunk.beta, gamma=chunk.gamma, delta=chunk.delta,
            cutpoints=chunk.cutpoints, tau=tau[:, None], l0=l0, w=w, s=s,
            uniforms=u_move[:, part], observed=data.observed, given_move=data.move, n_given=1,
        )  # fmt: skip
        move[part] = np.where(data.modelled, run.move[:, 0], np.nan)
        belief[part] = np.where(inside, run.belief[:, 0], np.nan)
    return move, belief


def _path_array(draws: Draws, values: NDArray, attrs: dict[str, str]) -> xr.DataArray:
    """``(S, D, 2, T)`` values as a ``(chain, draw, dyad, side, year)`` DataArray."""
    data = draws.data
    return xr.DataArray(
        draws.unstack(values),
        dims=(schema.CHAIN, schema.DRAW, *schema.PATH_DIMS),
        coords={
            schema.CHAIN: draws.chain,
            schema.DRAW: draws.draw,
            schema.DYAD: data.dyad,
            schema.SIDE: [0, 1],
            schema.YEAR: np.arange(data.n_years),
        },
        attrs=attrs,
    )


def posterior_predictive(
    fit: xr.DataTree,
    *,
    kinds: Sequence[str] = KINDS,
    max_draws: int | None = None,
    seed: int = 0,
    panel: xr.Dataset | None = None,
) -> xr.DataTree:
    """The fit with a ``posterior_predictive`` group of conditional and/or generative replicates.

    Parameters
    ----------
    fit
        A fit (:func:`secdilemma.fit` or :func:`secdilemma.load_fit`).
    kinds
        ``"conditional"`` and/or ``"generative"`` (module docstring).
    max_draws
        Replicate at most this many draws per chain (the same random draw
        indices in every chain, :func:`secdilemma.analysis.draws.read_fit`).
    seed
        Seed of the draw selection and of the replicates; the same seed gives
        the same replicates, bit for bit.
    panel
        Optional panel to check the fit against (a fit from another panel is
        refused).

    Returns
    -------
    xarray.DataTree
        A shallow copy of ``fit`` whose ``posterior_predictive`` group (replaced
        if present) holds ``move_conditional`` / ``move_generative`` and
        ``belief_generative``, each ``(chain, draw, dyad, side, year)``.

    Raises
    ------
    ValueError
        On an unknown kind, a fit that is not a secdilemma fit, or a panel
        the fit was not made from.
    """
    kinds = list(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        raise ValueError(f"kinds: expected some of {list(KINDS)}, got {kinds}")
    draws = read_fit(fit, max_draws=max_draws, seed=seed, panel=panel)
    rngs = _generators(seed)
    variables: dict[str, xr.DataArray] = {}
    if "conditional" in kinds:
        variables[schema.PPC_CONDITIONAL] = _path_array(
            draws,
            conditional_replicates(draws, rngs["conditional"]),
            {"long_name": "one-step-ahead replicated move, given the observed history"},
        )
    if "generative" in kinds:
        move, belief = generative_replicates(draws, rngs["generative"])
        variables[schema.PPC_GENERATIVE] = _path_array(
            draws, move, {"long_name": "replicated move, dyad run forward from its first year"}
        )
        variables[schema.PPC_BELIEF_GENERATIVE] = _path_array(
            draws,
            belief,
            {
                "long_name": "belief that the other is malign in the generative replicate",
                "units": "1",
            },
        )
    group = xr.Dataset(
        variables,
        attrs={
            "kinds": json.dumps(kinds),
            "seed": int(seed),
            "max_draws": -1 if max_draws is None else int(max_draws),
            "description": "secdilemma posterior predictive checks (DESIGN §5); NaN where the "
            "fitted data have no modelled move",
        },
    )
    out = fit.copy()
    out[schema.POSTERIOR_PREDICTIVE] = xr.DataTree(group)
    return out


def _replicates(fit: xr.DataTree, kind: str) -> NDArray[np.float64]:
    """``(S, D, 2, T)`` replicated moves of one kind from the fit's posterior_predictive group."""
    if schema.POSTERIOR_PREDICTIVE not in fit.children:
        raise ValueError(
            "fit: no 'posterior_predictive' group; run posterior_predictive(fit) first"
        )
    group = fit[schema.POSTERIOR_PREDICTIVE].to_dataset()
    name = VARIABLES[kind]
    if name not in group:
        raise ValueError(f"fit: posterior_predictive has no {name!r} (the {kind} check)")
    values = group[name].transpose(schema.CHAIN, schema.DRAW, *schema.PATH_DIMS).values
    return values.reshape(-1, *values.shape[2:])


def replicated_statistics(
    fit: xr.DataTree, kind: str, level: str = "dyad"
) -> tuple[dict[str, NDArray[np.float64]], dict[str, NDArray[np.float64]]]:
    """Observed and replicated statistics of one kind at one level.

    Parameters
    ----------
    fit
        A fit with a ``posterior_predictive`` group.
    kind
        ``"conditional"`` or ``"generative"``.
    level
        ``"state"`` or ``"dyad"``.

    Returns
    -------
    observed, replicated
        Statistic name -> ``(D, 2)`` / ``(D,)`` observed values, and ``(S, D, 2)``
        / ``(S, D)`` replicated ones. Reactivity reads its lags from the
        observed history for the conditional check and from the replicate
        itself (its first year given) for the generative one.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    if level not in statistics.STATISTIC_FUNCTIONS:
        raise ValueError(f"level: expected 'state' or 'dyad', got {level!r}")
    data = fit_data(fit)
    compute = statistics.STATISTIC_FUNCTIONS[level]
    observed_history = data.move_or_nan()
    observed = compute(data.modelled_or_nan(), observed_history)
    rep = _replicates(fit, kind)
    if rep.shape[1:] != data.move.shape:
        raise ValueError(
            f"fit: posterior_predictive shape {rep.shape[1:]} differs from the data's "
            f"{data.move.shape}"
        )
    if kind == "conditional":
        history = observed_history
    else:  # the replicate's own history, its given first year included
        history = rep.copy()
        history[..., 0] = observed_history[..., 0]
    return observed, compute(rep, history)


def ppc_table(fit: xr.DataTree, *, panel: xr.Dataset | None = None) -> pd.DataFrame:
    """Tidy table of the DESIGN §5 statistics and their mid-p posterior predictive p-values.

    One row per kind of check present in the fit, level (``state``, ``dyad``),
    dyad, side (``<NA>`` for a dyad) and statistic, with the observed value,
    the replicates' mean and 5 % / 95 % quantiles, the mid-p value
    ``P(T_rep > T_obs) + 0.5 P(T_rep = T_obs)`` and the number of draws with a
    defined statistic.

    Parameters
    ----------
    fit
        A fit with a ``posterior_predictive`` group (:func:`posterior_predictive`).
    panel
        Optional panel, to name the states (and to check the fit against it).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`.
    """
    data = fit_data(fit, panel)
    group = fit[schema.POSTERIOR_PREDICTIVE] if schema.POSTERIOR_PREDICTIVE in fit.children else {}
    kinds = [k for k in KINDS if VARIABLES[k] in group]
    if not kinds:
        raise ValueError("fit: no posterior predictive replicates; run posterior_predictive(fit)")
    labels = data.labels()
    rows = []
    for kind in kinds:
        for level in ("state", "dyad"):
            observed, replicated = replicated_statistics(fit, kind, level)
            for name in statistics.STATISTICS:
                obs, rep = observed[name], replicated[name]
                p = statistics.mid_p_value(rep, obs)
                with warnings.catch_warnings():  # all-NaN slices (undefined statistics)
                    warnings.simplefilter("ignore", RuntimeWarning)
                    mean = np.nanmean(rep, axis=0)
                    q05, q95 = np.nanquantile(rep, [0.05, 0.95], axis=0)
                n = (~np.isnan(rep)).sum(axis=0)
                for d, dyad in enumerate(data.dyad):
                    for side in (0, 1) if level == "state" else (None,):
                        at = (d,) if side is None else (d, side)
                        rows.append(
                            {
                                "kind": kind,
                                "level": level,
                                "dyad": str(dyad),
                                "side": side,
                                "state": "-".join(labels[d]) if side is None else labels[d][side],
                                "statistic": name,
                                "observed": float(obs[at]),
                                "replicated_mean": float(mean[at]),
                                "replicated_q05": float(q05[at]),
                                "replicated_q95": float(q95[at]),
                                "p_value": float(p[at]),
                                "n_draws": int(n[at]),
                            }
                        )
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    table["side"] = table["side"].astype("Int64")
    return table


def write_table(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, atomically, after checking the path can be written.

    Raises
    ------
    secdilemma.files.OutputPathError
        If ``path`` is a directory or its folder cannot be written (nothing is
        written then).
    """
    path = check_output_path(path, option="path")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def rootogram_data(
    fit: xr.DataTree, kind: str = "conditional", dyad: str | None = None
) -> xr.DataTree:
    """Integer move data for :func:`arviz_plots.plot_ppc_rootogram`, missing cells dropped.

    The rootogram counts the categories of every cell, so it needs integer data
    with one non-sample dimension: the modelled cells of the fit (of one dyad,
    or of all), flattened onto a ``cell`` dimension. Replicates share the
    observed data's missing cells, so dropping them drops no replicated move.

    Parameters
    ----------
    fit
        A fit with a ``posterior_predictive`` group.
    kind
        ``"conditional"`` or ``"generative"``.
    dyad
        One dyad, or ``None`` for the whole panel.

    Returns
    -------
    xarray.DataTree
        Groups ``posterior_predictive`` (``move[chain, draw, cell]``) and
        ``observed_data`` (``move[cell]``), both ``int64``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    data = fit_data(fit)
    group = (
        fit[schema.POSTERIOR_PREDICTIVE].to_dataset()
        if schema.POSTERIOR_PREDICTIVE in fit.children
        else {}
    )
    if VARIABLES[kind] not in group:
        raise ValueError(f"fit: posterior_predictive has no {VARIABLES[kind]!r} (the {kind} check)")
    rep = group[VARIABLES[kind]].transpose(schema.CHAIN, schema.DRAW, *schema.PATH_DIMS)
    cells = data.modelled.copy()
    if dyad is not None:
        keep = np.zeros(data.n_dyads, dtype=bool)
        keep[data.dyad_index(dyad)] = True
        cells &= keep[:, None, None]
    values = rep.values[:, :, cells]
    if np.isnan(values).any():
        raise ValueError(f"fit: the {kind} replicates are missing where the data are modelled")
    coords = {schema.CHAIN: rep[schema.CHAIN].values, schema.DRAW: rep[schema.DRAW].values}
    return xr.DataTree.from_dict(
        {
            schema.POSTERIOR_PREDICTIVE: xr.Dataset(
                {"move": ((schema.CHAIN, schema.DRAW, "cell"), values.astype(np.int64))},
                coords=coords,
            ),
            schema.OBSERVED_DATA: xr.Dataset(
                {"move": (("cell",), data.move[cells].astype(np.int64))}
            ),
        }
    )


__all__ = [
    "KINDS",
    "TABLE_COLUMNS",
    "conditional_replicates",
    "generative_replicates",
    "posterior_predictive",
    "ppc_table",
    "replicated_statistics",
    "rootogram_data",
    "write_table",
]
