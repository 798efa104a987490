"""Fitted belief paths: what each state believed, year by year, and what it saw.

Following pyhgf's habit of making the latent belief a first-class output: one
panel per dyad, the posterior median and 50 % / 90 % bands of each side's
belief that the other is malign, the other's observed moves as points along
the bottom, and the evidence-based ``P(other malign | data)`` as a marker at
the end, so a reader sees at once where certainty outran the evidence
(``misplaced_certainty`` > 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.plotting.style import MOVE_COLOURS, OKABE_ITO, figure_style

SIDE_COLOURS = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])


def plot_belief_paths(
    fit: xr.DataTree,
    dyads: Sequence[str] | None = None,
    *,
    states: xr.DataArray | None = None,
    title: str | None = None,
) -> Figure:
    """Posterior belief paths of both sides of each dyad.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.fit` (needs ``posterior.belief``,
        ``posterior.p_malign`` and the ``constant_data`` of the model).
    dyads
        Dyads to draw (default: all).
    states
        Optional state names over ``(dyad, side)`` (e.g. the panel's ``state``
        coordinate) for the legend; default ``side 0`` / ``side 1``.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One row of axes per dyad; the x axis is the calendar year when the fit
        records each dyad's first year, else the period.
    """
    posterior = fit["posterior"].to_dataset()
    constant = fit["constant_data"].to_dataset()
    names = list(posterior["dyad"].values) if dyads is None else list(dyads)
    unknown = sorted(set(names) - set(posterior["dyad"].values.tolist()))
    if unknown:
        raise ValueError(f"dyads: not in the fit: {unknown}")
    belief = posterior["belief"].sel(dyad=names)
    q = belief.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim=("chain", "draw"))
    p_malign = posterior["p_malign"].sel(dyad=names).mean(("chain", "draw"))
    move = constant["move_aligned"].sel(dyad=names)
    last = constant["last_period"].sel(dyad=names).values
    first = constant["first_year"].sel(dyad=names).values

    with figure_style():
        fig, axes = plt.subplots(
            len(names),
            1,
            figsize=(7.2, 1.9 * len(names) + 0.6),
            squeeze=False,
            layout="constrained",
        )
        for k, (ax, dyad) in enumerate(zip(axes[:, 0], names, strict=True)):
            periods = np.arange(last[k] + 1)
            years = first[k] + periods
            for side in (0, 1):
                colour = SIDE_COLOURS[side]
                label = (
                    f"side {side}"
                    if states is None
                    else str(states.sel(dyad=dyad, side=side).item())
                )
                band = q.sel(dyad=dyad, side=side).isel(year=periods).values
                ax.fill_between(years, band[0], band[4], color=colour, alpha=0.15, lw=0)
                ax.fill_between(years, band[1], band[3], color=colour, alpha=0.3, lw=0)
                ax.plot(years, band[2], color=colour, label=f"{label}'s belief")
                # The evidence-based P(this side's *other* is malign), at the last year.
                ax.plot(
                    years[-1] + 1.5,
                    float(p_malign.sel(dyad=dyad, side=1 - side)),
                    marker="D",
                    linestyle="none",
                    color=colour,
                    markeredgecolor="black",
                    clip_on=False,
                    label=f"P(other malign | data), for {label}",
                )
                seen = move.sel(dyad=dyad, side=1 - side).isel(year=periods).values
                ok = ~np.isnan(seen)
                ax.scatter(
                    years[ok],
                    np.full(ok.sum(), -0.06 - 0.06 * side),
                    c=[MOVE_COLOURS[int(m)] for m in seen[ok]],
                    s=9,
                    marker="s",
                    clip_on=False,
                    linewidths=0,
                )
            ax.set(ylim=(-0.15, 1.02), ylabel="P(other malign)", title=str(dyad))
            ax.axhline(0, color="black", lw=0.5)
        axes[-1, 0].set_xlabel("year (squares: the moves each side saw, coloured by move)")
        axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        fig.suptitle(title or "Posterior belief paths: median, 50 % and 90 % bands")
    return fig
