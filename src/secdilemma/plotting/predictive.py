"""Posterior predictive check figures (DESIGN §5).

- :func:`plot_ppc_statistics`: per dyad (rows) and statistic (columns), the
  replicated statistic's distribution (histogram, 90 % interval shaded) against
  the observed value (line), with its mid-p value;
- :func:`plot_ppc_rootograms`: per dyad, a rootogram of the four move
  categories (:func:`arviz_plots.plot_ppc_rootogram`: replicated counts with
  90 % intervals against observed counts, square-root scale), on the integer
  data of :func:`secdilemma.analysis.predictive.rootogram_data`;
- :func:`plot_ppc_pvalues`: heat map of the mid-p values across dyads (or
  states) and statistics, from :func:`secdilemma.analysis.predictive.ppc_table`.

The statistics come from :mod:`secdilemma.analysis.statistics`, never
recomputed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from secdilemma.analysis import statistics
from secdilemma.analysis.draws import fit_data
from secdilemma.analysis.predictive import KINDS, replicated_statistics, rootogram_data
from secdilemma.panel import MOVE_LABELS
from secdilemma.plotting.bands import quantiles
from secdilemma.plotting.style import OKABE_ITO, P_VALUE_CMAP, PAGE_WIDTH, figure_style

if TYPE_CHECKING:
    from arviz_plots import PlotCollection

KIND_TITLES = {
    "conditional": "conditional (one step ahead) check",
    "generative": "generative check (dyads run forward from their first year)",
}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")


def _dyads(fit: xr.DataTree, dyads: Sequence[str] | None) -> list[str]:
    names = [str(d) for d in fit_data(fit).dyad]
    if dyads is None:
        return names
    unknown = sorted(set(dyads) - set(names))
    if unknown:
        raise ValueError(f"dyads: not in the fit: {unknown}")
    return list(dyads)


def plot_ppc_statistics(
    fit: xr.DataTree,
    kind: str = "generative",
    dyads: Sequence[str] | None = None,
    *,
    statistic_names: Sequence[str] | None = None,
    bands: bool = True,
    title: str | None = None,
) -> Figure:
    """Observed statistic against its predictive distribution, per dyad and statistic.

    Parameters
    ----------
    fit
        A fit with a ``posterior_predictive`` group
        (:func:`secdilemma.analysis.predictive.posterior_predictive`).
    kind
        ``"conditional"`` or ``"generative"``.
    dyads
        Dyads to draw (rows; default all).
    statistic_names
        Statistics (columns; default all of :data:`secdilemma.analysis.statistics.STATISTICS`).
    bands
        Shade the replicates' central 90 % interval (default).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``(dyad, statistic)``; each holds a histogram of the replicated
        dyad-level statistic, the observed value as a black line and ``p = ...``.
    """
    _check_kind(kind)
    names = _dyads(fit, dyads)
    chosen = list(statistic_names or statistics.STATISTICS)
    unknown = sorted(set(chosen) - set(statistics.STATISTICS))
    if unknown:
        raise ValueError(
            f"statistic_names: unknown {unknown}; expected {list(statistics.STATISTICS)}"
        )
    observed, replicated = replicated_statistics(fit, kind, "dyad")
    order = [str(d) for d in fit_data(fit).dyad]
    with figure_style():
        fig, axes = plt.subplots(
            len(names),
            len(chosen),
            figsize=(PAGE_WIDTH, 1.15 * len(names) + 0.9),
            squeeze=False,
            layout="constrained",
        )
        for row, dyad in enumerate(names):
            d = order.index(dyad)
            for col, name in enumerate(chosen):
                ax = axes[row, col]
                _statistic_panel(ax, replicated[name][:, d], float(observed[name][d]), bands)
                short, unit = statistics.SHORT_NAMES[name]
                if row == 0:
                    ax.set_title(short, fontsize=8)
                if row == len(names) - 1:
                    ax.set_xlabel(unit, fontsize=7)
                if col == 0:
                    ax.set_ylabel(f"{dyad}\nshare of draws")
        fig.suptitle(
            title
            or f"Posterior predictive statistics per dyad, {KIND_TITLES[kind]}\n"
            "bars: replicates; shading: their 90 % interval; black line: observed",
            fontsize=9,
        )
    return fig


def _statistic_panel(ax: Axes, rep: np.ndarray, obs: float, bands: bool) -> None:
    """Histogram of one replicated statistic, its 90 % interval, the observed value, mid-p."""
    finite = rep[~np.isnan(rep)]
    if finite.size == 0:
        ax.text(0.5, 0.5, "undefined", ha="center", va="center", transform=ax.transAxes)
        return
    values = np.unique(finite)
    if values.size <= 25:  # discrete: one bar per value
        width = np.min(np.diff(values)) if values.size > 1 else 1.0
        edges = np.append(values - width / 2, values[-1] + width / 2)
    else:
        edges = np.histogram_bin_edges(finite, bins=20)
    ax.hist(
        finite,
        bins=edges,
        weights=np.full(finite.size, 1 / finite.size),
        color=OKABE_ITO["sky_blue"],
    )
    if bands:
        q = quantiles(finite)
        ax.axvspan(
            q[0], q[4], color=OKABE_ITO["blue"], alpha=0.12, linewidth=0, label="90 % interval"
        )
    p = float(statistics.mid_p_value(rep, obs))
    if np.isfinite(obs):
        ax.axvline(obs, color=OKABE_ITO["black"], linewidth=1.2, label="observed")
    text = "p = n/a" if np.isnan(p) else f"p = {p:.2f}"
    ax.text(
        0.97, 0.95, text, ha="right", va="top", transform=ax.transAxes, fontsize=7,
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1},
    )  # fmt: skip
    ax.tick_params(labelsize=7)


def plot_ppc_rootograms(
    fit: xr.DataTree,
    kind: str = "conditional",
    dyads: Sequence[str] | None = None,
    *,
    ci_prob: float = 0.9,
    title: str | None = None,
) -> Figure:
    """Rootograms of the move categories, one panel per dyad (missing cells dropped).

    Drawn by :func:`arviz_plots.plot_ppc_rootogram` into the figure's axes (a
    :class:`arviz_plots.PlotCollection` per panel): replicated counts of each
    category (point estimate and ``ci_prob`` interval) against the observed
    counts, on a square-root frequency scale.

    Parameters
    ----------
    fit
        A fit with a ``posterior_predictive`` group.
    kind
        ``"conditional"`` or ``"generative"``.
    dyads
        Dyads to draw (default all).
    ci_prob
        Probability of the replicated counts' interval.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from arviz_plots import plot_ppc_rootogram  # 0.7 s to import: only when drawn

    _check_kind(kind)
    names = _dyads(fit, dyads)
    n_cols = min(4, len(names))
    n_rows = -(-len(names) // n_cols)
    with figure_style():
        fig, axes = plt.subplots(
            n_rows,
            n_cols,
            figsize=(PAGE_WIDTH, 1.8 * n_rows + 0.7),
            squeeze=False,
            layout="constrained",
        )
        for ax in axes.flat[len(names) :]:
            ax.set_visible(False)
        for ax, dyad in zip(axes.flat, names, strict=False):
            tree = rootogram_data(fit, kind, dyad)
            plot_ppc_rootogram(
                tree,
                plot_collection=_collection_on(ax, tree),
                ci_prob=ci_prob,
                visuals={
                    "predictive_markers": {"color": OKABE_ITO["blue"]},
                    "credible_interval": {"color": OKABE_ITO["blue"]},
                    "observed_markers": {"color": OKABE_ITO["black"]},
                    "title": False,
                    "xlabel": False,
                    "ylabel": False,
                },
            )
            ax.set_title(dyad)
            ax.set_xticks(
                range(len(MOVE_LABELS)), [m.replace("-", "-\n") for m in MOVE_LABELS], fontsize=7
            )
            ax.set(xlabel="move", ylabel="number of moves (sqrt scale)")
        fig.suptitle(
            title
            or f"Rootograms of the moves, {KIND_TITLES[kind]}\nreplicated (blue: point "
            f"estimate and {ci_prob:.0%} interval) and observed (black) counts",
            fontsize=9,
        )
    return fig


def _collection_on(ax: Axes, tree: xr.DataTree) -> PlotCollection:
    """A one-panel :class:`arviz_plots.PlotCollection` that draws into ``ax``.

    ``PlotCollection.wrap`` would make a figure of its own; a collection whose
    ``viz`` tree holds our axes puts each dyad's rootogram in our layout.
    """
    from arviz_plots import PlotCollection

    viz = xr.DataTree.from_dict(
        {
            "/": xr.Dataset(
                {
                    "figure": ((), np.array(ax.figure, dtype=object)),
                    "plot": ((), np.array(ax, dtype=object)),
                    "row_index": ((), 0),
                    "col_index": ((), 0),
                }
            )
        }
    )
    return PlotCollection(tree["posterior_predictive"].to_dataset(), viz, backend="matplotlib")


def plot_ppc_pvalues(
    table: pd.DataFrame,
    kind: str = "generative",
    *,
    level: str = "dyad",
    title: str | None = None,
) -> Figure:
    """Heat map of mid-p values across dyads (or states) and statistics.

    Parameters
    ----------
    table
        :func:`secdilemma.analysis.predictive.ppc_table`.
    kind
        ``"conditional"`` or ``"generative"``.
    level
        ``"dyad"`` (rows are dyads) or ``"state"`` (rows are states).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Cells coloured by p (blue near 0: the observed statistic is higher
        than almost every replicate; white at 0.5; vermillion near 1: lower),
        annotated with their value; grey where undefined.
    """
    _check_kind(kind)
    if level not in ("dyad", "state"):
        raise ValueError(f"level: expected 'dyad' or 'state', got {level!r}")
    rows = table[(table["kind"] == kind) & (table["level"] == level)]
    if rows.empty:
        raise ValueError(f"table: no rows of the {kind} check at level {level!r}")
    key = ["dyad"] if level == "dyad" else ["dyad", "side"]
    order = rows.drop_duplicates(key)
    labels = (
        order["dyad"].tolist()
        if level == "dyad"
        else (order["state"] + " (" + order["dyad"] + ")").tolist()
    )
    names = list(statistics.STATISTICS)
    grid = np.full((len(order), len(names)), np.nan)
    index = {tuple(r): k for k, r in enumerate(order[key].itertuples(index=False))}
    for r in rows.itertuples(index=False):
        unit = (r.dyad,) if level == "dyad" else (r.dyad, r.side)
        grid[index[unit], names.index(r.statistic)] = r.p_value
    with figure_style():
        fig, ax = plt.subplots(
            figsize=(PAGE_WIDTH * 0.7, 0.25 * len(order) + 1.6), layout="constrained"
        )
        cmap = P_VALUE_CMAP.with_extremes(bad="#BBBBBB")
        image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0, vmax=1, aspect="auto")
        for (i, j), p in np.ndenumerate(grid):
            ax.text(
                j, i, "n/a" if np.isnan(p) else f"{p:.2f}", ha="center", va="center", fontsize=7
            )
        ax.set_xticks(
            range(len(names)),
            [statistics.SHORT_NAMES[n][0] for n in names],
            rotation=30,
            ha="right",
        )
        ax.set_yticks(range(len(labels)), labels)
        ax.set(xlabel="statistic", ylabel=level)
        ax.spines[:].set_visible(False)
        bar = fig.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label("mid-p value")
        fig.suptitle(
            title
            or f"Posterior predictive mid-p values, {KIND_TITLES[kind]}\n"
            "p = P(T_rep > T_obs) + ½ P(T_rep = T_obs): near 0 observed high, near 1 low",
            fontsize=9,
        )
    return fig
