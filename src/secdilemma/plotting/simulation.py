"""Figures of simulated dyads: the self-fulfilling spiral and its absence."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.analysis import statistics
from secdilemma.plotting.style import OKABE_ITO, REGIME_COLOURS, figure_style

REGIME_TITLES = {
    "misplaced_certainty": "misplaced certainty",
    "sensible": "security-dilemma sensibility",
    "insensible": "insensible (neutral, unbiased)",
}


def belief_bands(panel: xr.Dataset, quantiles: tuple[float, ...]) -> xr.DataArray:
    """Quantiles of ``belief`` over all observing states, per year."""
    return panel["belief"].quantile(list(quantiles), dim=("dyad", "side"))


def escalation_rate(panel: xr.Dataset) -> xr.DataArray:
    """Share of observed moves that are ``build-up`` or ``militarized``, per year.

    DESIGN §5's escalation rate (:func:`secdilemma.analysis.statistics.escalation_rate`)
    taken over all states of each year.
    """
    move = panel["move"].transpose("year", ...)
    rate = statistics.escalation_rate(move.values, axis=tuple(range(1, move.ndim)))
    return xr.DataArray(rate, dims=("year",), coords={"year": move["year"].values})


def describe_intents(panel: xr.Dataset) -> str:
    """Words for the true intents in a simulated panel, e.g. ``two benign states``."""
    tau = np.unique(panel["intent"].values)
    if tau.size == 1:
        return f"two {('benign', 'malign')[int(tau[0])]} states"
    return "states of mixed intent"


def plot_spiral(panels: Mapping[str, xr.Dataset], *, title: str | None = None) -> Figure:
    """Belief and escalation paths of simulated dyads under several belief regimes.

    Panel (a): median and 50 % / 90 % bands, over all states, of the belief that
    the other state is malign. Panel (b): the escalation rate (share of states
    that build up or militarize) per year.

    Parameters
    ----------
    panels
        Simulated panels (from :func:`secdilemma.simulate_dyads`) keyed by regime
        name, e.g. ``{"misplaced_certainty": ..., "sensible": ...}``.
    title
        Figure title; by default one stating the panel size and intents.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise ValueError("panels: need at least one simulated panel")
    with figure_style():
        fig, (ax_b, ax_m) = plt.subplots(1, 2, figsize=(7.2, 3.0), layout="constrained")
        for name, panel in panels.items():
            colour = REGIME_COLOURS.get(name, OKABE_ITO["black"])
            label = REGIME_TITLES.get(name, name)
            years = panel["year"].values
            q = belief_bands(panel, (0.05, 0.25, 0.5, 0.75, 0.95))
            ax_b.fill_between(years, q[0], q[4], color=colour, alpha=0.15, linewidth=0)
            ax_b.fill_between(years, q[1], q[3], color=colour, alpha=0.3, linewidth=0)
            ax_b.plot(years, q[2], color=colour, label=label)
            ax_m.plot(years, escalation_rate(panel), color=colour, label=label)
        ax_b.set(
            xlabel="year of rivalry",
            ylabel="belief that the other is malign, $b_{i,t}$",
            ylim=(0, 1),
            title="(a) beliefs: median, 50 % and 90 % bands",
        )
        ax_m.set(
            xlabel="year of rivalry",
            ylabel="share of states building up or militarized",
            ylim=(0, 1),
            title="(b) escalation rate",
        )
        ax_m.legend(loc="center right", frameon=False)
        if title is None:
            first = next(iter(panels.values()))
            title = f"{first.sizes['dyad']} simulated dyads of {describe_intents(first)}"
        fig.suptitle(title)
    return fig
