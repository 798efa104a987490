"""P(misplaced certainty) by group and per rivalry, in one panel (issue 12).

Rows, top to bottom, group by group: the group's share of misplaced-certainty
observers ``rho[g]`` (a black diamond at the posterior mean, thick and thin
lines the 50 % and 90 % intervals), then each of its dyads, with both sides'
``p_misplaced`` (dots at the posterior mean, lines the 90 % interval of the
per-draw value; side 0 blue, side 1 vermillion, one slightly above the
other). For a fit without grouped shares the population ``rho`` is shown
once, in a first row, and the dyads are grouped by a dyad attribute of the
panel. The quantities are computed by :func:`secdilemma.analysis.groups.group_shares`.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from secdilemma.analysis.groups import group_shares
from secdilemma.plotting.bands import quantiles
from secdilemma.plotting.style import OKABE_ITO, PAGE_WIDTH, SIDE_COLOURS, figure_style

ROW_HEIGHT = 0.16
"""Height of one row (a group's share or a dyad), inches."""


def plot_misplaced_by_group(
    fit: xr.DataTree,
    panel: xr.Dataset | None = None,
    group_by: str | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Each group's ``rho`` and, per dyad, both sides' ``p_misplaced``, grouped.

    Parameters
    ----------
    fit
        A fit with observer regimes (``mixture``), with grouped shares
        (``fit(..., group_by=...)``) or without.
    panel
        The fitted panel: names the states (rows read ``A-B (dyad)``) and, for
        a fit without groups, holds the attribute ``group_by``.
    group_by
        For a fit without groups, the dyad attribute to group by (its
        population ``rho`` is then shown once); for a grouped fit ``None`` or
        its own attribute.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; y tick labels name each group (``region: Asia``), then its dyads.

    Raises
    ------
    ValueError
        As :func:`secdilemma.analysis.groups.group_shares` (no ``p_misplaced``;
        an unknown ``group_by``, naming the available attributes).
    """
    shares = group_shares(fit, panel, group_by)
    rows: list[tuple[str, object]] = []  # ("share", samples) | ("dyad", position)
    labels: list[str] = []
    if not shares.grouped:
        rows.append(("share", shares.rho[:, 0]))
        labels.append(f"all dyads: rho (n = {len(shares.dyads)})")
    for g, group in enumerate(shares.labels):
        members = shares.members(g)
        if shares.grouped:
            rows.append(("share", shares.rho[:, g]))
            labels.append(f"{shares.attribute}: {group}, rho (n = {len(members)})")
        else:
            rows.append(("header", None))
            labels.append(f"{shares.attribute}: {group} (n = {len(members)})")
        for d in members:
            rows.append(("dyad", int(d)))
            a, b = shares.states[d]
            dyad = shares.dyads[d]
            named = f"{a}-{b}"
            labels.append(f"  {named} ({dyad})" if named != dyad and a != "side 0" else f"  {dyad}")
    y = np.arange(len(rows))[::-1].astype(float)
    p = quantiles(shares.p_misplaced.reshape(shares.p_misplaced.shape[0], -1))  # (5, D * 2)
    p_mean = shares.p_misplaced.mean(axis=0)  # (D, 2)

    with figure_style():
        fig, ax = plt.subplots(
            figsize=(PAGE_WIDTH * 0.75, ROW_HEIGHT * len(rows) + 1.2), layout="constrained"
        )
        black = OKABE_ITO["black"]
        for row_y, (kind, what) in zip(y, rows, strict=True):
            if kind == "share":
                q = quantiles(np.asarray(what))
                ax.hlines(row_y, q[0], q[4], colors=black, linewidth=0.9)
                ax.hlines(row_y, q[1], q[3], colors=black, linewidth=2.6)
                ax.scatter(float(np.mean(what)), row_y, marker="D", s=18, color=black, zorder=3)
                ax.axhline(row_y + 0.5, color="#BBBBBB", linewidth=0.6)
            elif kind == "header":
                ax.axhline(row_y + 0.5, color="#BBBBBB", linewidth=0.6)
            else:
                d = int(what)  # type: ignore[call-overload]
                for side in (0, 1):
                    k = 2 * d + side
                    at = row_y + (0.17 if side == 0 else -0.17)
                    ax.hlines(at, p[0, k], p[4, k], colors=SIDE_COLOURS[side], linewidth=0.8)
                    ax.scatter(p_mean[d, side], at, s=10, color=SIDE_COLOURS[side], zorder=3,
                               edgecolors="white", linewidths=0.3)  # fmt: skip
        ax.set_yticks(y, labels)
        for tick, (kind, _) in zip(ax.get_yticklabels(), rows, strict=True):
            if kind != "dyad":
                tick.set_fontweight("bold")
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlim(0, 1)
        ax.axvline(0.5, color=black, linewidth=0.4, linestyle=":")
        ax.set_xlabel("P(misplaced certainty) (probability, 0-1)")
        handles = [
            plt.Line2D([], [], color=black, marker="D", linewidth=2.0, markersize=4,
                       label="rho: share of misplaced observers (mean, 50 / 90 %)"),
            *[plt.Line2D([], [], color=SIDE_COLOURS[s], marker="o", linewidth=0.8, markersize=3,
                         label=f"p_misplaced of side {s} (mean, 90 %)") for s in (0, 1)],
        ]  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncol=1, frameon=False, fontsize=7)
        what = "" if shares.grouped else " (one population rho)"
        fig.suptitle(title or f"P(misplaced certainty) by {shares.attribute}{what}")
    return fig
