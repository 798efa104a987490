"""The data figure: each historical dyad's coded moves, both sides, with MID years."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from secdilemma.panel import MOVE_LABELS, validate_panel
from secdilemma.plotting.style import MOVE_COLOURS, OKABE_ITO, figure_style

MISSING_COLOUR = "#FFFFFF"


def plot_dyad_moves(panel: xr.Dataset, *, title: str | None = None) -> Figure:
    """Two-row heat strip per dyad: each side's coded move per year, MID years marked.

    Cells are coloured by move (Okabe-Ito: blue de-escalate, grey hold,
    orange build-up, vermillion militarized); missing moves are white with a
    thin outline. A black tick above a strip marks a year in which the two
    states were in a MID on opposite sides (``ongoing_mid``).

    Parameters
    ----------
    panel
        A historical panel (:func:`secdilemma.load_dyads`), with ``ongoing_mid``
        if MID years are to be marked.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One row of axes per dyad, sharing the year axis.
    """
    panel = validate_panel(panel, source="plot_dyad_moves")
    years = panel["year"].values
    edges = np.append(years - 0.5, years[-1] + 0.5)
    cmap = ListedColormap(list(MOVE_COLOURS)).with_extremes(bad=MISSING_COLOUR)
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5], cmap.N)
    n = panel.sizes["dyad"]
    with figure_style():
        fig, axes = plt.subplots(
            n,
            1,
            figsize=(8.0, 0.62 * n + 1.2),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        for k, ax in enumerate(axes[:, 0]):
            one = panel.isel(dyad=k)
            move = np.ma.masked_invalid(one["move"].values.astype(float))
            ax.pcolormesh(
                edges,
                [-0.5, 0.5, 1.5],
                move,
                cmap=cmap,
                norm=norm,
                edgecolors="#BBBBBB",
                linewidth=0.1,
            )
            ax.set_ylim(1.5, -0.9)
            ax.set_yticks([0, 1], [str(s) for s in one["state"].values])
            ax.set_ylabel(str(one["dyad"].values), rotation=0, ha="right", va="center", labelpad=28)
            ax.tick_params(axis="y", length=0)
            ax.tick_params(axis="x", length=0 if k < n - 1 else 3.5)
            if "ongoing_mid" in one:
                mid = one["ongoing_mid"].max("side").values
                mid_years = years[np.nan_to_num(mid) > 0]
                ax.plot(
                    mid_years,
                    np.full(mid_years.shape, -0.72),
                    linestyle="none",
                    marker="|",
                    markersize=4,
                    color=OKABE_ITO["black"],
                )
            for side in ("left", "bottom"):
                ax.spines[side].set_visible(False)
        axes[-1, 0].set_xlabel("year")
        axes[-1, 0].set_xlim(edges[0], edges[-1])
        handles = [
            Patch(facecolor=c, edgecolor="#BBBBBB", label=lab)
            for c, lab in zip(MOVE_COLOURS, MOVE_LABELS, strict=True)
        ]
        handles.append(Patch(facecolor=MISSING_COLOUR, edgecolor="#BBBBBB", label="missing"))
        handles.append(
            Line2D(
                [],
                [],
                color=OKABE_ITO["black"],
                marker="|",
                linestyle="none",
                label="MID year (ongoing)",
            )
        )
        fig.legend(handles=handles, loc="outside upper center", ncol=6, frameon=False)
        fig.supylabel("dyad: state of side 0 (top) and side 1 (bottom)")
        if title:
            fig.suptitle(title)
    return fig
