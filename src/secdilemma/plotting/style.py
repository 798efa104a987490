"""One place for figure style: palette, rc settings and saving.

The palette is Okabe & Ito's colour-blind-safe set. Every figure function in
:mod:`secdilemma.plotting` returns a :class:`matplotlib.figure.Figure` and
leaves saving to :func:`save_figure`, which writes PNG and PDF side by side.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib as mpl
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from secdilemma.files import atomic_path, check_output_path

OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}
"""Okabe-Ito colour-blind-safe palette."""

REGIME_COLOURS: dict[str, str] = {
    "misplaced_certainty": OKABE_ITO["vermillion"],
    "sensible": OKABE_ITO["blue"],
    "insensible": OKABE_ITO["orange"],
}
"""Colour of each named belief regime, used consistently across figures."""

MOVE_COLOURS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    "#DDDDDD",
    OKABE_ITO["orange"],
    OKABE_ITO["vermillion"],
)
"""Colours of moves 0 de-escalate, 1 hold, 2 build-up, 3 militarized."""

COLUMN_WIDTH = 3.3
"""Width of a one-column journal figure, inches."""
PAGE_WIDTH = 7.0
"""Width of a two-column (full page) journal figure, inches."""

SIDE_COLOURS: tuple[str, str] = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])
"""Colours of side 0 and side 1 of a dyad."""

P_VALUE_CMAP = LinearSegmentedColormap.from_list(
    "secdilemma_p", [OKABE_ITO["blue"], "#FFFFFF", OKABE_ITO["vermillion"]]
)
"""Diverging map for p-values: blue near 0, white at 0.5, vermillion near 1 (Okabe-Ito ends)."""

RC: dict[str, object] = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "svg.hashsalt": "secdilemma",
    "path.simplify": False,
}
"""Matplotlib rc settings shared by all figures."""


@contextmanager
def figure_style() -> Iterator[None]:
    """Context in which figures are drawn with the package style."""
    with mpl.rc_context(RC):
        yield


def save_figure(fig: Figure, path: str | Path) -> list[Path]:
    """Save ``fig`` as PNG and PDF next to each other.

    Both targets are checked before anything is drawn and each file is
    written atomically (:mod:`secdilemma.files`): a folder that cannot be
    written fails at once, naming the path, and an interrupted save leaves no
    half-written file.

    Parameters
    ----------
    fig
        The figure.
    path
        Target path; its suffix is replaced by ``.png`` and ``.pdf``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    secdilemma.files.OutputPathError
        If a target is a directory or its folder cannot be written.
    """
    path = Path(path)
    targets = [check_output_path(path.with_suffix(s), option="path") for s in (".png", ".pdf")]
    written = []
    for out in targets:
        # Fixed metadata: no creation date, so reruns give identical files.
        metadata = {"CreationDate": None} if out.suffix == ".pdf" else {"Software": None}
        with mpl.rc_context(RC), atomic_path(out) as tmp:
            fig.savefig(tmp, bbox_inches="tight", metadata=metadata, format=out.suffix[1:])
        written.append(out)
    return written
