"""Research figures; each function returns a :class:`matplotlib.figure.Figure`."""

from secdilemma.plotting.data_figure import plot_dyad_moves
from secdilemma.plotting.simulation import plot_spiral
from secdilemma.plotting.style import figure_style, save_figure

__all__ = ["figure_style", "plot_dyad_moves", "plot_spiral", "save_figure"]
