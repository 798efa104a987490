"""The model comparison figure: elpd differences with stacking weights, and Pareto k per unit.

Two panels, from a :class:`secdilemma.analysis.comparison.Comparison`:

(a) each model's expected log predictive density relative to the best
    (``elpd_diff``, nats) with the standard error of the difference (``dse``,
    paired over units), the best model at 0; its stacking weight and how its
    elpd was estimated (PSIS-LOO, refits) written beside it;
(b) the PSIS Pareto k of every unit and model, the threshold above which
    PSIS-LOO is not trusted, and the units whose dyad was refitted (K-fold)
    drawn open.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from secdilemma.analysis.comparison import Comparison
from secdilemma.plotting.style import OKABE_ITO, PAGE_WIDTH, REGIME_COLOURS, figure_style

MODEL_COLOURS: dict[str, str] = {
    **REGIME_COLOURS,
    "mixture": OKABE_ITO["purple"],
    "free": OKABE_ITO["green"],
}
"""Colour of each bundled variant (other models take the remaining Okabe-Ito colours)."""

MARKERS = ("o", "s", "D", "^", "v", "P", "X")


def _colours(names: list[str], variants: list[str]) -> dict[str, str]:
    spare = [c for k, c in OKABE_ITO.items() if c not in MODEL_COLOURS.values() and k != "yellow"]
    out = {}
    for name, variant in zip(names, variants, strict=True):
        out[name] = MODEL_COLOURS.get(variant) or MODEL_COLOURS.get(name) or spare.pop(0)
    return out


def plot_comparison(comparison: Comparison, *, title: str | None = None) -> Figure:
    """Figure of a model comparison (module docstring).

    Parameters
    ----------
    comparison
        From :func:`secdilemma.analysis.comparison.compare`.
    title
        Figure title (default: names the LOO unit).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = comparison.table
    names = [str(n) for n in table.index]
    variants = [str(v) for v in table.get("variant", table.index)]
    colours = _colours(names, variants)
    pointwise = comparison.pointwise
    units = list(dict.fromkeys(pointwise["unit"]))
    with figure_style():
        fig, (left, right) = plt.subplots(
            1,
            2,
            figsize=(PAGE_WIDTH, 0.9 + 0.45 * max(len(names), 4)),
            gridspec_kw={"width_ratios": [1.0, 1.4]},
            layout="constrained",
        )
        y = np.arange(len(names))[::-1]
        for row, name in zip(y, names, strict=True):
            diff, dse = float(table.loc[name, "elpd_diff"]), float(table.loc[name, "dse"])
            left.errorbar(
                diff, row, xerr=dse, fmt="o", color=colours[name], capsize=3, markersize=6
            )
            refitted = int(table.loc[name, "refitted"])
            how = f"{refitted} refitted" if refitted else "PSIS"
            left.annotate(
                f"w = {float(table.loc[name, 'weight']):.2f}, {how}",
                (diff, row),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        left.axvline(0.0, color=OKABE_ITO["black"], lw=0.8, ls="--")
        left.margins(x=0.3)  # room for the annotations
        left.set_yticks(y, names)
        left.set_ylim(y.min() - 0.6, y.max() + 0.8)
        left.set_xlabel("elpd difference to the best model (nats)")
        left.set_title("(a) elpd", loc="left")

        x = np.arange(len(units))
        width = 0.7 / max(len(names), 1)
        for i, name in enumerate(names):
            rows = pointwise[pointwise["model"] == name].set_index("unit").loc[units]
            offset = (i - (len(names) - 1) / 2) * width
            k = rows["pareto_k"].to_numpy(dtype=float)
            refit = rows["refitted"].to_numpy(dtype=bool)
            marker = MARKERS[i % len(MARKERS)]
            right.scatter(x[~refit] + offset, k[~refit], color=colours[name], marker=marker, s=18)
            right.scatter(
                x[refit] + offset, k[refit], facecolors="none", edgecolors=colours[name],
                marker=marker, s=18,
            )  # fmt: skip
        right.axhline(comparison.k_threshold, color=OKABE_ITO["black"], lw=0.8, ls="--")
        right.set_xticks(x, units, rotation=90, fontsize=6)
        right.set_xlabel("LOO unit (" + ("dyad" if comparison.unit == "dyad" else "state") + ")")
        right.set_ylabel("PSIS Pareto k")
        right.set_title("(b) PSIS-LOO reliability", loc="left")
        handles = [
            Line2D([], [], color=colours[n], marker=MARKERS[i % len(MARKERS)], ls="", label=n)
            for i, n in enumerate(names)
        ]
        handles += [
            Line2D([], [], color="grey", marker="o", ls="", mfc="none", label="refitted (K-fold)"),
            Line2D([], [], color=OKABE_ITO["black"], ls="--", lw=0.8,
                   label=f"k = {comparison.k_threshold:g}"),
        ]  # fmt: skip
        right.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        unit = "observing state" if comparison.unit == "state" else "dyad"
        fig.suptitle(title or f"Model comparison (LOO unit: {unit})")
    return fig
