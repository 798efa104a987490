"""Load the dyad panel as the :class:`xarray.Dataset` of DESIGN §6.

The bundled panel ships as package data in ``secdilemma/data/bundled/``
(a copy of the committed ``data/processed/``), so no raw data are needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.data.build import CODEBOOK, INT_COLUMNS, PANEL_COLUMNS, PANEL_FILE
from secdilemma.panel import MOVE_FLAG_ATTRS, PanelError, validate_panel

_COORD_COLUMNS = ("dyad", "year", "side", "state", "ccode")
_TEXT_COLUMNS = ("source_state", "growth_source")


def bundled_panel_path() -> Path:
    """Path of the panel CSV shipped with the package.

    Returns
    -------
    pathlib.Path
        ``secdilemma/data/bundled/dyads.csv``.
    """
    return Path(str(files("secdilemma.data").joinpath("bundled", PANEL_FILE)))


def read_panel_csv(path: Path | str) -> pd.DataFrame:
    """Read and check a panel CSV written by :func:`secdilemma.data.build.write_panel`.

    Parameters
    ----------
    path
        The panel CSV.

    Returns
    -------
    pandas.DataFrame
        The long table.

    Raises
    ------
    FileNotFoundError
        If the file is absent.
    ValueError
        If columns are missing, a dyad-year lacks a side, a row repeats, a
        dyad's years are not consecutive, or a move is not 0..3 or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: panel file not found; rebuild it with `secdilemma data build --raw DIR`"
        )
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values={c: [""] for c in PANEL_COLUMNS if c not in _TEXT_COLUMNS},
    )
    absent = [c for c in PANEL_COLUMNS if c not in df.columns]
    if absent:
        raise ValueError(f"{path}: panel lacks column(s) {absent}; expected {list(PANEL_COLUMNS)}")
    for col in INT_COLUMNS:
        if df[col].isna().any() or not pd.api.types.is_integer_dtype(df[col]):
            raise ValueError(f"{path}: column {col!r} must hold whole numbers without gaps")
    move = df["move"].to_numpy(dtype=float)
    bad = ~np.isnan(move) & ~np.isin(move, (0.0, 1.0, 2.0, 3.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{path}, line {i + 2}: move {float(move[i])!r} for {df['dyad'].iloc[i]} "
            f"{df['year'].iloc[i]} side {df['side'].iloc[i]}; expected 0..3 or empty"
        )
    if df.duplicated(["dyad", "year", "side"]).any():
        i = int(np.flatnonzero(df.duplicated(["dyad", "year", "side"]).to_numpy())[0])
        raise ValueError(f"{path}, line {i + 2}: dyad, year and side repeat an earlier row")
    for dyad, rows in df.groupby("dyad", sort=False):
        sides = rows.groupby("year")["side"].apply(lambda s: sorted(s.tolist()))
        lacking = sides[sides.map(lambda s: s != [0, 1])]
        if not lacking.empty:
            raise ValueError(
                f"{path}: dyad {dyad} year {lacking.index[0]} has sides {lacking.iloc[0]}; "
                "expected both sides 0 and 1"
            )
        years = np.sort(rows["year"].unique())
        if not np.array_equal(years, np.arange(years[0], years[-1] + 1)):
            raise ValueError(f"{path}: dyad {dyad} years are not consecutive: {years.tolist()}")
        for col in ("state", "ccode"):
            if rows.groupby("side")[col].nunique().max() > 1:
                raise ValueError(f"{path}: dyad {dyad} changes {col!r} within a side")
    return df


def panel_to_dataset(df: pd.DataFrame, *, source: str = "panel") -> xr.Dataset:
    """Turn the long panel table into the ``(dyad, side, year)`` Dataset.

    Years are the union over dyads; a dyad's years outside its own span are NaN.

    Parameters
    ----------
    df
        Long table as read by :func:`read_panel_csv`.
    source
        Name used in error messages.

    Returns
    -------
    xarray.Dataset
        ``move`` (float, NaN = missing, CF flag attrs) and the raw columns
        over ``(dyad, side, year)``; coords ``state``, ``ccode`` over
        ``(dyad, side)``.
    """
    dyads = list(dict.fromkeys(df["dyad"].tolist()))
    years = np.arange(int(df["year"].min()), int(df["year"].max()) + 1, dtype=np.int64)
    index = pd.MultiIndex.from_product([dyads, [0, 1], years], names=["dyad", "side", "year"])
    wide = df.set_index(["dyad", "side", "year"]).reindex(index)
    shape = (len(dyads), 2, len(years))
    units = {row[0]: (row[1], row[2]) for row in CODEBOOK}
    data_vars = {}
    for col in PANEL_COLUMNS:
        if col in _COORD_COLUMNS:
            continue
        values = wide[col].to_numpy()
        if col in _TEXT_COLUMNS:
            values = np.where(pd.isna(values), "", values).astype(str)
        else:
            values = values.astype(float)
        attrs = {"units": units[col][0], "long_name": units[col][1]}
        if col == "move":
            attrs = dict(MOVE_FLAG_ATTRS)
        data_vars[col] = (("dyad", "side", "year"), values.reshape(shape), attrs)
    first = df.drop_duplicates(["dyad", "side"]).set_index(["dyad", "side"])
    pairs = pd.MultiIndex.from_product([dyads, [0, 1]])
    state = first["state"].reindex(pairs).to_numpy().astype(str).reshape(len(dyads), 2)
    ccode = first["ccode"].reindex(pairs).to_numpy().astype(np.int64).reshape(len(dyads), 2)
    ds = xr.Dataset(
        data_vars,
        coords={
            "dyad": dyads,
            "side": np.array([0, 1], dtype=np.int64),
            "year": years,
            "state": (("dyad", "side"), state),
            "ccode": (("dyad", "side"), ccode),
        },
        attrs={"source": source, "description": "historical dyad panel (DESIGN §6)"},
    )
    return validate_panel(ds, source=source)


def year_bounds(years: tuple[int, int] | Sequence[int]) -> tuple[int, int]:
    """Check a ``(first, last)`` year selection.

    Parameters
    ----------
    years
        Two whole numbers, first <= last (inclusive bounds).

    Returns
    -------
    tuple of (int, int)
        ``(first, last)``.

    Raises
    ------
    PanelError
        If ``years`` is not two whole numbers or the first is after the last
        (never silently reordered).
    """
    if isinstance(years, str) or not isinstance(years, Sequence) or len(years) != 2:
        raise PanelError(f"years={years!r}: expected (first, last), two whole years")
    bad = [y for y in years if isinstance(y, bool) or not isinstance(y, Integral)]
    if bad:
        raise PanelError(f"years={tuple(years)!r}: {bad[0]!r} is not a whole year")
    first, last = int(years[0]), int(years[1])
    if first > last:
        raise PanelError(
            f"years=({first}, {last}): the first year {first} is after the last year "
            f"{last}; expected (first, last) with first <= last"
        )
    return first, last


def load_dyads(
    names: Sequence[str] | str | None = None,
    years: tuple[int, int] | Sequence[int] | None = None,
    *,
    path: Path | str | None = None,
) -> xr.Dataset:
    """Load the historical dyad panel.

    Parameters
    ----------
    names
        Dyad ids to keep (``"USA-RUS"``), in this order; default all. The
        reversed id (``"RUS-USA"``) is accepted and returns the dyad with its
        sides as stored.
    years
        ``(first, last)`` inclusive; default all years.
    path
        Panel CSV to read; default the bundled panel.

    Returns
    -------
    xarray.Dataset
        Dims ``(dyad, side, year)``; ``move`` masked with NaN; raw columns
        ``milex``, ``milper``, ``hostility``, ... beside it.

    Raises
    ------
    FileNotFoundError
        If the panel file is absent.
    ValueError
        If the file fails validation, a name is not in the panel, or the years
        select nothing; :class:`~secdilemma.panel.PanelError` if ``years`` is
        not ``(first, last)`` with first <= last.
    """
    bounds = None if years is None else year_bounds(years)
    path = bundled_panel_path() if path is None else Path(path)
    df = read_panel_csv(path)
    chosen: list[str] = []
    if names is not None:
        if isinstance(names, str):
            names = [names]
        available = list(dict.fromkeys(df["dyad"].tolist()))
        for name in names:
            key = name.strip().upper()
            flipped = "-".join(reversed(key.split("-")))
            hit = key if key in available else flipped if flipped in available else None
            if hit is None:
                raise ValueError(f"{path}: no dyad {name!r}; available: {available}")
            chosen.append(hit)
        df = df[df["dyad"].isin(chosen)]
        df = df.assign(_o=df["dyad"].map({d: k for k, d in enumerate(chosen)}))
        df = df.sort_values(["_o", "year", "side"]).drop(columns="_o")
    if bounds is not None:
        first, last = bounds
        df = df[(df["year"] >= first) & (df["year"] <= last)]
        if df.empty:
            raise ValueError(f"{path}: no rows in years {first}-{last}")
        if names is not None:
            empty = [d for d in chosen if d not in set(df["dyad"])]
            if empty:
                raise ValueError(f"{path}: dyad(s) {empty} have no years in {first}-{last}")
    return panel_to_dataset(df, source=str(path))
