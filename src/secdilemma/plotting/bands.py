"""Uncertainty bands, drawn the same way in every figure: median, 50 % and 90 % intervals."""

from __future__ import annotations

import warnings

import numpy as np
from matplotlib.axes import Axes
from numpy.typing import ArrayLike, NDArray

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles drawn: the 90 % and 50 % central intervals and the median."""

BAND_ALPHA = (0.15, 0.3)
"""Opacity of the 90 % and the 50 % band."""


def quantiles(values: ArrayLike, axis: int = 0) -> NDArray[np.float64]:
    """:data:`QUANTILES` of ``values`` along ``axis`` (NaN-aware), stacked on a new first axis."""
    with warnings.catch_warnings():  # all-NaN columns (e.g. padding) give NaN quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(np.asarray(values, dtype=float), QUANTILES, axis=axis)


def draw_bands(
    ax: Axes,
    x: ArrayLike,
    values: ArrayLike,
    colour: str,
    label: str | None = None,
    *,
    bands: bool = True,
    linestyle: str = "-",
) -> None:
    """Median line of ``values`` (draws on axis 0) over ``x``, with 50 % and 90 % bands.

    Parameters
    ----------
    ax
        Target axes.
    x
        Positions ``(n,)``.
    values
        Draws ``(draws, n)``.
    colour
        Colour of the line and the bands.
    label
        Legend label of the median line.
    bands
        Draw the bands (on by default).
    linestyle
        Style of the median line.
    """
    q = quantiles(values)
    if bands:
        for (low, high), alpha in zip(((0, 4), (1, 3)), BAND_ALPHA, strict=True):
            ax.fill_between(x, q[low], q[high], color=colour, alpha=alpha, linewidth=0)
    ax.plot(x, q[2], color=colour, label=label, linestyle=linestyle)
