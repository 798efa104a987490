"""Fitted belief paths: what each state believed, year by year, and what it saw.

Following pyhgf's habit of making the latent belief a first-class output: one
panel per dyad, the posterior median and 50 % / 90 % bands of each side's
belief that the other is malign, the other's observed moves as points along
the bottom, and the evidence-based ``P(other malign | data)`` as a marker at
the end, so a reader sees at once where certainty outran the evidence
(``misplaced_certainty`` > 0). Each panel's legend names that dyad's own
states (or ``side 0`` / ``side 1``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.analysis.likelihood import beliefs
from secdilemma.model import schema
from secdilemma.plotting.bands import draw_bands
from secdilemma.plotting.style import MOVE_COLOURS, PAGE_WIDTH, SIDE_COLOURS, figure_style

__all__ = ["SIDE_COLOURS", "plot_belief_paths"]


def state_labels(dyads: Sequence[str], states: xr.DataArray | None) -> dict[str, tuple[str, str]]:
    """Each dyad's two labels: its states' names (``states`` over dyad, side) or the sides."""
    if states is None:
        return {d: ("side 0", "side 1") for d in dyads}
    return {d: tuple(str(states.sel(dyad=d, side=i).item()) for i in (0, 1)) for d in dyads}  # type: ignore[misc]


def plot_belief_paths(
    fit: xr.DataTree,
    dyads: Sequence[str] | None = None,
    *,
    states: xr.DataArray | None = None,
    bands: bool = True,
    title: str | None = None,
    max_draws: int | None = None,
    seed: int = 0,
) -> Figure:
    """Posterior belief paths of both sides of each dyad.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.fit` or :func:`secdilemma.load_fit` (needs
        ``posterior.p_malign`` and the ``constant_data`` of the model; the
        belief paths are read with :func:`secdilemma.analysis.likelihood.beliefs`,
        so a compact fit, which does not store them, is drawn alike).
    dyads
        Dyads to draw (default: all).
    states
        Optional state names over ``(dyad, side)`` (e.g. the panel's ``state``
        coordinate); each panel's legend names its own dyad's states. Default
        ``side 0`` / ``side 1``.
    bands
        Draw the 50 % and 90 % bands (default) or the median only.
    title
        Figure title.
    max_draws, seed
        Draw the bands from at most this many draws per chain (chosen with
        ``seed``; default all): recomputing the paths of a compact fit of
        4 x 1000 draws with observer regimes takes ~10-20 s, of 4 x 250 a
        quarter of that.

    Returns
    -------
    matplotlib.figure.Figure
        One row of axes per dyad, each with its own legend; the x axis is the
        calendar year when the fit records each dyad's first year, else the
        period.
    """
    posterior = fit[schema.POSTERIOR].to_dataset()
    constant = fit[schema.CONSTANT_DATA].to_dataset()
    names = [str(d) for d in posterior["dyad"].values] if dyads is None else list(dyads)
    unknown = sorted(set(names) - set(posterior["dyad"].values.tolist()))
    if unknown:
        raise ValueError(f"dyads: not in the fit: {unknown}")
    labels = state_labels(names, states)
    # Stored, or recomputed from the parameters of a compact fit.
    belief = beliefs(fit, names, max_draws=max_draws, seed=seed)
    p_malign = posterior[schema.P_MALIGN].sel(dyad=names).mean(("chain", "draw"))
    move = constant[schema.MOVE_ALIGNED].sel(dyad=names)
    last = constant[schema.LAST_PERIOD].sel(dyad=names).values
    first = constant[schema.FIRST_YEAR].sel(dyad=names).values

    with figure_style():
        fig, axes = plt.subplots(
            len(names),
            1,
            figsize=(PAGE_WIDTH, 1.7 * len(names) + 0.6),
            squeeze=False,
            layout="constrained",
        )
        for k, (ax, dyad) in enumerate(zip(axes[:, 0], names, strict=True)):
            periods = np.arange(last[k] + 1)
            years = first[k] + periods
            for side in (0, 1):
                colour = SIDE_COLOURS[side]
                label = labels[dyad][side]
                draws = belief.sel(dyad=dyad, side=side).isel(year=periods)
                draw_bands(
                    ax,
                    years,
                    draws.stack(sample=("chain", "draw")).transpose("sample", ...).values,
                    colour,
                    f"{label}'s belief",
                    bands=bands,
                )
                # The evidence-based P(this side's *other* is malign), at the last year.
                ax.plot(
                    years[-1] + 1.5,
                    float(p_malign.sel(dyad=dyad, side=1 - side)),
                    marker="D",
                    linestyle="none",
                    color=colour,
                    markeredgecolor="black",
                    clip_on=False,
                    label=f"P({labels[dyad][1 - side]} malign | data)",
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
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)
        axes[-1, 0].set_xlabel("year (squares: the moves each side saw, coloured by move)")
        band_words = "median, 50 % and 90 % bands" if bands else "median"
        fig.suptitle(title or f"Posterior belief paths: {band_words}")
    return fig
