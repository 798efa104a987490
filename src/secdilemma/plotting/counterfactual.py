"""Counterfactual histories (:func:`secdilemma.analysis.counterfactual.counterfactual`).

Three panels: (a) *beliefs only*, the swapped side's belief read off the
observed moves with its fitted and with the swapped parameters (and the
other side's, whose reading of the swapped side's fear changes too); (b)
*generative*, both sides' beliefs when the dyad is rerun from ``from_year``
with fitted and with swapped beliefs; (c) the escalation rate of the rerun
dyad per year, fitted against swapped, with the change over the rerun years
and its 90 % interval: the rate over the rerun years up to each year, so the
last value is the rate whose change is reported. Medians with 50 % / 90 %
bands throughout.

:func:`plot_counterfactual_summary` puts many counterfactuals (each side of
each dyad swapped) on one forest plot of their change in escalation.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.analysis.counterfactual import escalation_by_year
from secdilemma.plotting.bands import draw_bands, quantiles
from secdilemma.plotting.style import (
    OKABE_ITO,
    PAGE_WIDTH,
    REGIME_COLOURS,
    SIDE_COLOURS,
    figure_style,
)

FITTED_COLOUR = OKABE_ITO["black"]


def _samples(values: xr.DataArray) -> xr.DataArray:
    return values.stack(sample=("chain", "draw")).transpose("sample", ...)


def plot_counterfactual(
    tree: xr.DataTree, *, bands: bool = True, title: str | None = None
) -> Figure:
    """Belief and escalation paths of a counterfactual history, fitted against swapped.

    Parameters
    ----------
    tree
        A :func:`secdilemma.analysis.counterfactual.counterfactual` result.
    bands
        Draw the 50 % and 90 % bands (default) or the medians only.
    title
        Figure title; by default it names the dyad, the state and the swap.

    Returns
    -------
    matplotlib.figure.Figure
        Axes (a) beliefs only, (b) generative beliefs, (c) escalation rate.
    """
    attrs = tree.attrs
    side, state, swap = int(attrs["side"]), str(attrs["state"]), str(attrs["beliefs"])
    colour = REGIME_COLOURS.get(swap, OKABE_ITO["green"])
    reread, gen = tree["beliefs_only"], tree["generative"]
    years = reread["year"].values
    from_year = int(attrs["from_year"])
    with figure_style():
        fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH, 2.6), layout="constrained")
        ax = axes[0]
        for name, c, style, label in (
            ("belief_fitted", FITTED_COLOUR, "-", "fitted beliefs"),
            ("belief_counterfactual", colour, "-", f"{swap} beliefs"),
        ):
            for i, line in ((side, style), (1 - side, ":")):
                who = state if i == side else "other side"
                draw_bands(
                    axes[0], years, _samples(reread[name].sel(side=i)).values, c,
                    f"{who}, {label}", bands=bands and i == side, linestyle=line,
                )  # fmt: skip
        ax.set(
            title="(a) observed moves, reread",
            xlabel="year",
            ylabel="belief that the other is malign",
            ylim=(0, 1),
        )
        ax.legend(loc="best", frameon=False, fontsize=6)
        ax = axes[1]
        for name, c, label in (
            ("belief_baseline", FITTED_COLOUR, "fitted beliefs"),
            ("belief_counterfactual", colour, f"{swap} beliefs"),
        ):
            draw_bands(
                ax,
                years,
                _samples(gen[name].sel(side=side)).values,
                c,
                f"{state}, {label}",
                bands=bands,
            )
        ax.axvline(from_year - 0.5, color="#888888", linewidth=0.8, linestyle="--")
        ax.set(
            title=f"(b) rerun from {from_year}",
            xlabel="year",
            ylabel="belief that the other is malign",
            ylim=(0, 1),
        )
        ax.legend(loc="lower right", frameon=False, fontsize=6)
        ax = axes[2]
        for run, c, label in (
            ("baseline", FITTED_COLOUR, "fitted beliefs"),
            ("counterfactual", colour, f"{swap} beliefs"),
        ):
            rate = escalation_by_year(tree, run, cumulative=True).sel(year=slice(from_year, None))
            draw_bands(ax, rate["year"].values, _samples(rate).values, c, label, bands=bands)
        ax.set(
            title=f"(c) escalation rate since {from_year}",
            xlabel="year",
            ylabel="share of moves >= build-up",
            ylim=(0, 1),
        )
        change = (
            f"change {attrs['escalation_change_mean']:+.2f} "
            f"[{attrs['escalation_change_q05']:+.2f}, {attrs['escalation_change_q95']:+.2f}] (90 %)"
        )
        ax.text(0.02, 0.03, change, transform=ax.transAxes, fontsize=7)
        ax.legend(loc="upper right", frameon=False, fontsize=6)
        default = f"Counterfactual {attrs['dyad']}: {state} with {swap} beliefs"
        fig.suptitle(title or f"{default} (medians, 50 % and 90 % bands)")
    return fig


def plot_counterfactual_summary(
    trees: Sequence[xr.DataTree], *, title: str | None = None
) -> Figure:
    """Forest plot: each counterfactual's change in escalation rate, one row per swapped state.

    Parameters
    ----------
    trees
        :func:`secdilemma.analysis.counterfactual.counterfactual` results (e.g.
        each side of each dyad with sensible beliefs).
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One row per counterfactual, labelled ``state (dyad)``: the median change
        of the rerun dyad's escalation rate (swapped minus fitted beliefs, both
        sides, rerun years) with its 50 % and 90 % intervals; a line at 0.
    """
    if not trees:
        raise ValueError("trees: no counterfactual to draw")
    changes = np.stack(
        [t["generative"]["escalation_change"].values.ravel() for t in trees], axis=1
    )  # (draws, rows); every tree has its own draws, the same number if made alike
    q = quantiles(changes)
    labels = [f"{t.attrs['state']} ({t.attrs['dyad']})" for t in trees]
    swaps = sorted({str(t.attrs["beliefs"]) for t in trees})
    colours = [SIDE_COLOURS[int(t.attrs["side"])] for t in trees]
    y = np.arange(len(trees))[::-1]
    with figure_style():
        fig, ax = plt.subplots(
            figsize=(PAGE_WIDTH * 0.6, 0.2 * len(trees) + 1.2), layout="constrained"
        )
        ax.hlines(y, q[0], q[4], colors=colours, linewidth=0.8)
        ax.hlines(y, q[1], q[3], colors=colours, linewidth=2.4)
        ax.scatter(q[2], y, c=colours, s=12, zorder=3, edgecolors="white", linewidths=0.4)
        ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.5, linestyle=":")
        ax.set_yticks(y, labels)
        ax.set(xlabel="change in escalation rate (share of moves >= build-up)")
        fig.suptitle(
            title
            or f"Counterfactual histories: one state with {', '.join(swaps)} beliefs\n"
            "median, 50 % and 90 % intervals of the change against the fitted beliefs",
            fontsize=9,
        )
    return fig
