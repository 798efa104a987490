"""Research figures; each function returns a :class:`matplotlib.figure.Figure`.

One module per figure family, one style (:mod:`~secdilemma.plotting.style`:
Okabe-Ito palette, journal column widths, PNG + PDF through
:func:`save_figure`), uncertainty bands on by default. Figures read fits and
the analysis of :mod:`secdilemma.analysis`; plotting never imports the model
builder or the sampler.
"""

from secdilemma.plotting.beliefs import plot_belief_paths
from secdilemma.plotting.comparison import plot_comparison
from secdilemma.plotting.counterfactual import plot_counterfactual, plot_counterfactual_summary
from secdilemma.plotting.data_figure import plot_dyad_moves
from secdilemma.plotting.groups import plot_misplaced_by_group
from secdilemma.plotting.predictive import (
    plot_ppc_pvalues,
    plot_ppc_rootograms,
    plot_ppc_statistics,
)
from secdilemma.plotting.simulation import plot_spiral
from secdilemma.plotting.states import plot_misplaced_certainty
from secdilemma.plotting.style import figure_style, save_figure

__all__ = [
    "figure_style",
    "plot_belief_paths",
    "plot_comparison",
    "plot_counterfactual",
    "plot_counterfactual_summary",
    "plot_dyad_moves",
    "plot_misplaced_by_group",
    "plot_misplaced_certainty",
    "plot_ppc_pvalues",
    "plot_ppc_rootograms",
    "plot_ppc_statistics",
    "plot_spiral",
    "save_figure",
]
