"""Load a historical panel as the :class:`xarray.Dataset` of DESIGN §6.

Two panels ship as package data in ``secdilemma/data/bundled/`` (copies of
the committed ``data/processed/``), so no raw data are needed:

- ``"dyads"`` (the default): the 12 bundled dyads, ``dyads.csv``;
- ``"rivalries"``: every Thompson-Dreyer strategic rivalry active after 1945
  (``td_panel.csv`` with its dyad metadata ``td_dyads.csv``), the rivalry
  metadata as coords over ``dyad``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.data.build import (
    CODEBOOK,
    INT_COLUMNS,
    PANEL_COLUMNS,
    PANEL_FILE,
    SIPRI_CODEBOOK,
)
from secdilemma.data.rivalry_panel import RIVALRY_PANEL_COLUMNS
from secdilemma.panel import MOVE_FLAG_ATTRS, PanelError, validate_panel

_COORD_COLUMNS = ("dyad", "year", "side", "state", "ccode")
_TEXT_COLUMNS = ("source_state", "growth_source")

PANELS: dict[str, str] = {"dyads": PANEL_FILE, "rivalries": "td_panel.csv"}
"""The bundled panels by name: the panel file in ``secdilemma/data/bundled/``."""

RIVALRY_SUFFIX, DYADS_SUFFIX = "_panel.csv", "_dyads.csv"
_DYAD_COORD_TEXT = (
    "state0",
    "state1",
    "rivalry_id",
    "rivalry_name",
    "rivalry_spells",
    "listed_pairs",
    "rivalry_type",
    "region",
)


def bundled_panel_path(panel: str = "dyads") -> Path:
    """Path of a panel CSV shipped with the package.

    Parameters
    ----------
    panel
        ``"dyads"`` or ``"rivalries"`` (:data:`PANELS`).

    Returns
    -------
    pathlib.Path
        ``secdilemma/data/bundled/dyads.csv`` or ``.../td_panel.csv``.

    Raises
    ------
    PanelError
        If no bundled panel has that name.
    """
    if panel not in PANELS:
        raise PanelError(f"unknown panel {panel!r}; the bundled panels are {sorted(PANELS)}")
    return Path(str(files("secdilemma.data").joinpath("bundled", PANELS[panel])))


def is_rivalry_panel(path: Path | str) -> bool:
    """Whether ``path`` names a rivalry panel (``{list}_panel.csv``).

    Parameters
    ----------
    path
        A panel CSV.

    Returns
    -------
    bool
        True for ``td_panel.csv`` and the like.
    """
    return Path(path).name.endswith(RIVALRY_SUFFIX)


def read_panel_csv(path: Path | str) -> pd.DataFrame:
    """Read and check a panel CSV written by ``secdilemma data build``.

    A file named ``{list}_panel.csv`` is a rivalry panel and has the columns
    :data:`~secdilemma.data.rivalry_panel.RIVALRY_PANEL_COLUMNS`; any other
    is a dyad panel with :data:`~secdilemma.data.build.PANEL_COLUMNS`.

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
    PanelError
        If columns are missing, a dyad-year lacks a side, a row repeats, a
        dyad's years are not consecutive, or a move is not 0..3 or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: panel file not found; rebuild it with `secdilemma data build --raw DIR`"
        )
    columns = RIVALRY_PANEL_COLUMNS if is_rivalry_panel(path) else PANEL_COLUMNS
    df = pd.read_csv(
        path,
        keep_default_na=False,
        na_values={c: [""] for c in (*columns, "sipri_growth") if c not in _TEXT_COLUMNS},
    )
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise PanelError(f"{path}: panel lacks column(s) {absent}; expected {list(columns)}")
    for col in INT_COLUMNS:
        if df[col].isna().any() or not pd.api.types.is_integer_dtype(df[col]):
            raise PanelError(f"{path}: column {col!r} must hold whole numbers without gaps")
    move = df["move"].to_numpy(dtype=float)
    bad = ~np.isnan(move) & ~np.isin(move, (0.0, 1.0, 2.0, 3.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PanelError(
            f"{path}, line {i + 2}: move {float(move[i])!r} for {df['dyad'].iloc[i]} "
            f"{df['year'].iloc[i]} side {df['side'].iloc[i]}; expected 0..3 or empty"
        )
    if df.duplicated(["dyad", "year", "side"]).any():
        i = int(np.flatnonzero(df.duplicated(["dyad", "year", "side"]).to_numpy())[0])
        raise PanelError(f"{path}, line {i + 2}: dyad, year and side repeat an earlier row")
    for dyad, rows in df.groupby("dyad", sort=False):
        sides = rows.groupby("year")["side"].apply(lambda s: sorted(s.tolist()))
        lacking = sides[sides.map(lambda s: s != [0, 1])]
        if not lacking.empty:
            raise PanelError(
                f"{path}: dyad {dyad} year {lacking.index[0]} has sides {lacking.iloc[0]}; "
                "expected both sides 0 and 1"
            )
        years = np.sort(rows["year"].unique())
        if not np.array_equal(years, np.arange(years[0], years[-1] + 1)):
            raise PanelError(f"{path}: dyad {dyad} years are not consecutive: {years.tolist()}")
        for col in ("state", "ccode"):
            if rows.groupby("side")[col].nunique().max() > 1:
                raise PanelError(f"{path}: dyad {dyad} changes {col!r} within a side")
    return df


def dyads_path(panel_path: Path | str) -> Path:
    """The dyad-metadata file beside a rivalry panel (``td_panel.csv`` -> ``td_dyads.csv``).

    Parameters
    ----------
    panel_path
        A rivalry panel CSV.

    Returns
    -------
    pathlib.Path
        The metadata file's path (it may not exist).
    """
    panel_path = Path(panel_path)
    stem = panel_path.name[: -len(RIVALRY_SUFFIX)]
    return panel_path.with_name(stem + DYADS_SUFFIX)


def read_dyad_coords(path: Path | str, panel: pd.DataFrame) -> pd.DataFrame:
    """Read and check the rivalry metadata of a rivalry panel.

    Parameters
    ----------
    path
        ``{list}_dyads.csv``.
    panel
        The long panel it describes (:func:`read_panel_csv`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``dyad``: the rivalry coords (``rivalry_id``,
        ``rivalry_type``, ``region``, the type flags, ...).

    Raises
    ------
    FileNotFoundError
        If the file is absent.
    PanelError
        If a column is missing, a dyad repeats, the dyads differ from the
        panel's, or a dyad's states or codes differ from the panel's sides.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: rivalry metadata not found beside the panel; rebuild it with "
            "`secdilemma data build --rivalries LIST --raw DIR`"
        )
    meta = pd.read_csv(path, keep_default_na=False, dtype={c: str for c in _DYAD_COORD_TEXT})
    needed = ("dyad", "state0", "state1", "ccode0", "ccode1", "rivalry_id", "rivalry_type")
    absent = [c for c in needed if c not in meta.columns]
    if absent:
        raise PanelError(f"{path}: lacks column(s) {absent}; expected at least {list(needed)}")
    if meta["dyad"].duplicated().any():
        dup = meta.loc[meta["dyad"].duplicated(), "dyad"].tolist()
        raise PanelError(f"{path}: dyad(s) {dup} listed twice; expected each once")
    in_panel = set(panel["dyad"])
    if set(meta["dyad"]) != in_panel:
        raise PanelError(
            f"{path}: dyads differ from the panel's: only in the metadata "
            f"{sorted(set(meta['dyad']) - in_panel)}, only in the panel "
            f"{sorted(in_panel - set(meta['dyad']))}"
        )
    sides = panel.drop_duplicates(["dyad", "side"]).set_index(["dyad", "side"])
    for row in meta.itertuples(index=False):
        for side in (0, 1):
            want = (getattr(row, f"state{side}"), int(getattr(row, f"ccode{side}")))
            got = tuple(sides.loc[(row.dyad, side), ["state", "ccode"]])
            if (str(got[0]), int(got[1])) != want:
                raise PanelError(
                    f"{path}: dyad {row.dyad} side {side} is {want} here but {got} in the panel"
                )
    return meta.set_index("dyad")


def panel_to_dataset(
    df: pd.DataFrame,
    *,
    source: str = "panel",
    dyad_coords: pd.DataFrame | None = None,
) -> xr.Dataset:
    """Turn the long panel table into the ``(dyad, side, year)`` Dataset.

    Years are the union over dyads; a dyad's years outside its own span are NaN.

    Parameters
    ----------
    df
        Long table as read by :func:`read_panel_csv`.
    source
        Name used in error messages.
    dyad_coords
        Rivalry metadata indexed by dyad (:func:`read_dyad_coords`); its
        columns become coords over ``dyad`` (text, whole numbers or bools).

    Returns
    -------
    xarray.Dataset
        ``move`` (float, NaN = missing, CF flag attrs) and the raw columns
        over ``(dyad, side, year)``; coords ``state``, ``ccode`` over
        ``(dyad, side)`` and any rivalry coords over ``dyad``.
    """
    dyads = list(dict.fromkeys(df["dyad"].tolist()))
    years = np.arange(int(df["year"].min()), int(df["year"].max()) + 1, dtype=np.int64)
    index = pd.MultiIndex.from_product([dyads, [0, 1], years], names=["dyad", "side", "year"])
    wide = df.set_index(["dyad", "side", "year"]).reindex(index)
    shape = (len(dyads), 2, len(years))
    units = {row[0]: (row[1], row[2]) for row in (*CODEBOOK, *SIPRI_CODEBOOK)}
    data_vars = {}
    for col in units:
        if col in _COORD_COLUMNS or col not in df.columns:
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
    coords: dict = {
        "dyad": dyads,
        "side": np.array([0, 1], dtype=np.int64),
        "year": years,
        "state": (("dyad", "side"), state),
        "ccode": (("dyad", "side"), ccode),
    }
    description = "historical dyad panel (DESIGN §6)"
    if dyad_coords is not None:
        meta = dyad_coords.reindex(dyads)
        skip = ("state0", "state1", "ccode0", "ccode1")
        for col in meta.columns:
            if col in skip:
                continue
            values = meta[col].to_numpy()
            if pd.api.types.is_bool_dtype(meta[col]):
                values = values.astype(bool)
            elif pd.api.types.is_integer_dtype(meta[col]):
                values = values.astype(np.int64)
            else:
                values = values.astype(str)
            coords[col] = ("dyad", values)
        description = "historical rivalry panel (DESIGN §6; data/README.md)"
    ds = xr.Dataset(data_vars, coords=coords, attrs={"source": source, "description": description})
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


def resolve_panel_path(panel: str | None, path: Path | str | None) -> Path:
    """The panel CSV that ``load_dyads(panel=..., path=...)`` reads.

    Parameters
    ----------
    panel
        A bundled panel name, or None.
    path
        A panel CSV, a directory written by ``secdilemma data build`` (with
        ``dyads.csv`` or one ``{list}_panel.csv``), or None.

    Returns
    -------
    pathlib.Path
        The panel CSV.

    Raises
    ------
    PanelError
        If both are given, the name is unknown, or a directory holds no panel
        or several.
    """
    if panel is not None and path is not None:
        raise PanelError(
            f"panel={panel!r} and path={str(path)!r}: give a bundled panel or a path, not both"
        )
    if path is None:
        return bundled_panel_path("dyads" if panel is None else panel)
    path = Path(path)
    if not path.is_dir():
        return path
    found = sorted(p.name for p in path.glob(f"*{RIVALRY_SUFFIX}"))
    if (path / PANEL_FILE).is_file():
        found.insert(0, PANEL_FILE)
    if len(found) != 1:
        raise PanelError(
            f"{path}: expected one panel file ({PANEL_FILE} or LIST{RIVALRY_SUFFIX}) in the "
            f"directory, found {found or 'none'}; pass the file as path="
        )
    return path / found[0]


def load_dyads(
    names: Sequence[str] | str | None = None,
    years: tuple[int, int] | Sequence[int] | None = None,
    *,
    panel: str | None = None,
    path: Path | str | None = None,
) -> xr.Dataset:
    """Load a historical panel: the 12 bundled dyads (default) or the rivalry population.

    Parameters
    ----------
    names
        Dyad ids to keep (``"USA-RUS"``), in this order; default all. The
        reversed id (``"RUS-USA"``) is accepted and returns the dyad with its
        sides as stored. A dyad named twice is an error.
    years
        ``(first, last)`` inclusive; default all years.
    panel
        A bundled panel: ``"dyads"`` (the default when ``path`` is not
        given) or ``"rivalries"`` (Thompson-Dreyer, 110 dyads, coords
        ``rivalry_id``, ``rivalry_name``, ``rivalry_type``, ``region``, ...).
    path
        Instead of a bundled panel: a panel CSV or the directory written by
        ``secdilemma data build``.

    Returns
    -------
    xarray.Dataset
        Dims ``(dyad, side, year)``; ``move`` masked with NaN; raw columns
        ``milex``, ``milper``, ``hostility``, ... beside it; for a rivalry
        panel the rivalry metadata as coords over ``dyad``.

    Raises
    ------
    FileNotFoundError
        If the panel file (or a rivalry panel's metadata) is absent.
    PanelError
        If the file fails validation, a name is unknown or given twice,
        ``years`` is not ``(first, last)`` with first <= last, or the years
        select nothing.
    """
    bounds = None if years is None else year_bounds(years)
    path = resolve_panel_path(panel, path)
    df = read_panel_csv(path)
    coords = read_dyad_coords(dyads_path(path), df) if is_rivalry_panel(path) else None
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
                shown = available if len(available) <= 20 else [*available[:20], "..."]
                raise PanelError(f"{path}: no dyad {name!r}; available: {shown}")
            if hit in chosen:
                raise PanelError(
                    f"{path}: dyad {hit} requested twice ({name!r}); expected each dyad once"
                )
            chosen.append(hit)
        df = df[df["dyad"].isin(chosen)]
        df = df.assign(_o=df["dyad"].map({d: k for k, d in enumerate(chosen)}))
        df = df.sort_values(["_o", "year", "side"]).drop(columns="_o")
    if bounds is not None:
        first, last = bounds
        df = df[(df["year"] >= first) & (df["year"] <= last)]
        if df.empty:
            raise PanelError(f"{path}: no rows in years {first}-{last}")
        if names is not None:
            empty = [d for d in chosen if d not in set(df["dyad"])]
            if empty:
                raise PanelError(f"{path}: dyad(s) {empty} have no years in {first}-{last}")
    return panel_to_dataset(df, source=str(path), dyad_coords=coords)
