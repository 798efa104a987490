"""Per-state forest plot: misplaced certainty and the belief parameters behind it.

One row per observing state, one column per quantity: ``misplaced_certainty``
(final belief minus the evidence-based ``P(other malign | data)``; DESIGN §3)
and the state's belief parameters ``l0`` (prior log-odds), ``w`` (discount on
reassurance), ``s`` (sensibility) for variants with per-state parameters, or
``p_misplaced`` (posterior probability of the misplaced-certainty regime) for
variants with observer regimes. Points are posterior medians, thick and thin
lines the 50 % and 90 % intervals. A quantity the variant fixes (the same value
in every draw and state) carries no information and is left out, its value
named in the figure's footnote.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.model import schema
from secdilemma.plotting.bands import quantiles
from secdilemma.plotting.style import OKABE_ITO, PAGE_WIDTH, SIDE_COLOURS, figure_style

COLUMNS: dict[str, tuple[str, tuple[float, float] | None, float | None]] = {
    schema.MISPLACED_CERTAINTY: (
        "misplaced certainty\n$b_{T} - P$(other malign | data)",
        (-1, 1),
        0.0,
    ),
    "l0": ("prior log-odds $l_0$", None, 0.0),
    "w": ("discount on reassurance $w$", (0, 1), 1.0),
    "s": ("sensibility $s$", (0, 1), None),
    schema.P_MISPLACED: ("P(misplaced-certainty regime)", (0, 1), None),
}
"""Quantity -> (axis label with units, x limits, reference line)."""


def plot_misplaced_certainty(
    fit: xr.DataTree,
    *,
    states: xr.DataArray | None = None,
    title: str | None = None,
) -> Figure:
    """Forest plot of misplaced certainty and the belief parameters, one row per state.

    Parameters
    ----------
    fit
        A fit (``posterior.misplaced_certainty``; ``l0, w, s`` or ``p_misplaced``
        over ``(dyad, side)``).
    states
        Optional state names over ``(dyad, side)`` (the panel's ``state``); rows
        are then labelled ``state (dyad)``, else ``dyad, side i``.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One column per quantity shown, the states as rows (top: first dyad's side 0).
    """
    posterior = fit[schema.POSTERIOR].to_dataset()
    if schema.MISPLACED_CERTAINTY not in posterior:
        raise ValueError("fit: posterior lacks 'misplaced_certainty'; not a secdilemma fit?")
    shown, fixed = [], []
    for name in COLUMNS:
        if name not in posterior or set(posterior[name].dims) != {"chain", "draw", "dyad", "side"}:
            continue
        values = posterior[name].values
        if np.ptp(values) == 0:
            fixed.append(f"{name} = {values.flat[0]:g}")
        else:
            shown.append(name)
    dyads = [str(d) for d in posterior["dyad"].values]
    rows = [(d, i) for d in dyads for i in (0, 1)]
    if states is None:
        labels = [f"{d}, side {i}" for d, i in rows]
    else:
        labels = [f"{states.sel(dyad=d, side=i).item()} ({d})" for d, i in rows]
    y = np.arange(len(rows))[::-1]

    with figure_style():
        fig, axes = plt.subplots(
            1,
            len(shown),
            figsize=(PAGE_WIDTH, 0.17 * len(rows) + 1.1),
            sharey=True,
            squeeze=False,
            layout="constrained",
        )
        for ax, name in zip(axes[0], shown, strict=True):
            draws = posterior[name].transpose("chain", "draw", "dyad", "side").values
            q = quantiles(draws.reshape(-1, len(rows)))
            colours = [SIDE_COLOURS[i] for _, i in rows]
            ax.hlines(y, q[0], q[4], colors=colours, linewidth=0.8)
            ax.hlines(y, q[1], q[3], colors=colours, linewidth=2.4)
            ax.scatter(q[2], y, c=colours, s=12, zorder=3, edgecolors="white", linewidths=0.4)
            label, limits, reference = COLUMNS[name]
            if reference is not None:
                ax.axvline(reference, color=OKABE_ITO["black"], linewidth=0.5, linestyle=":")
            ax.set(xlabel=label)
            if limits is not None:
                ax.set_xlim(*limits)
            for row in range(1, len(dyads)):  # separate the dyads
                ax.axhline(y[2 * row] + 0.5, color="#DDDDDD", linewidth=0.5)
        axes[0, 0].set_yticks(y, labels)
        axes[0, 0].set_ylim(-0.7, len(rows) - 0.3)
        note = "points: median; thick and thin lines: 50 % and 90 % intervals"
        if fixed:
            note += "; fixed by the variant: " + ", ".join(fixed)
        fig.supxlabel(note, fontsize=7)
        fig.suptitle(title or "Misplaced certainty and belief parameters per state")
    return fig
