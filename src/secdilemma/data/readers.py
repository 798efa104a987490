"""Readers for the Correlates of War files the dyad panel is built from.

Each reader parses one COW file with pandas, checks that the columns it needs
are present and of the right type, and returns a tidy :class:`pandas.DataFrame`.
Any problem raises :class:`RawDataError` with a message naming the file, the
line (the header is line 1), the column and what was expected.

Missing values: COW writes ``-9`` for missing; peacesciencer's NMC v7.0
conversion writes empty cells. Both become ``NaN`` here, in every numeric
column a reader marks as *missing allowed*; nothing is imputed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MISSING_CODE = -9
"""COW's missing-value code."""


class RawDataError(ValueError):
    """A raw COW file is absent, malformed or inconsistent with what the package needs."""


@dataclass(frozen=True)
class Column:
    """What a reader expects of one column.

    Parameters
    ----------
    name
        Column name in the file header.
    kind
        ``"int"`` (whole numbers, no missing), ``"number"`` (numeric, ``-9`` or
        empty means missing, otherwise non-negative), ``"str"`` (non-empty
        text), ``"text"`` (text, may be empty) or ``"flag"`` (``1`` or empty,
        read as a bool).
    """

    name: str
    kind: str


NMC_COLUMNS = (
    Column("ccode", "int"),
    Column("year", "int"),
    Column("milex", "number"),
    Column("milper", "number"),
)
MIDB_COLUMNS = (
    Column("dispnum", "int"),
    Column("stabb", "str"),
    Column("ccode", "int"),
    Column("styear", "int"),
    Column("endyear", "int"),
    Column("sidea", "int"),
    Column("hostlev", "int"),
)
DYADIC_MID_COLUMNS = (
    Column("disno", "int"),
    Column("statea", "int"),
    Column("stateb", "int"),
    Column("year", "int"),
    Column("hihosta", "int"),
    Column("hihostb", "int"),
)
STATES_COLUMNS = (
    Column("stateabb", "str"),
    Column("ccode", "int"),
    Column("statenme", "str"),
    Column("styear", "int"),
    Column("endyear", "int"),
)


def line_of(index: int) -> int:
    """File line of a data row (0-based row index; the header is line 1)."""
    return int(index) + 2


def read_table(path: Path, columns: tuple[Column, ...], what: str) -> pd.DataFrame:
    """Read ``path`` as text and convert the expected ``columns``.

    Parameters
    ----------
    path
        CSV (or Stata ``.dta``) file.
    columns
        Columns the caller needs; others are dropped.
    what
        Human name of the file type, for error messages.

    Returns
    -------
    pandas.DataFrame
        Only the expected columns, ``int64`` or ``float64`` (NaN = missing) or
        ``str``, in file order.

    Raises
    ------
    RawDataError
        If the file is absent or unreadable, a column is missing, or a value
        does not have the expected type.
    """
    path = Path(path)
    if not path.is_file():
        raise RawDataError(f"{path}: {what} file not found")
    try:
        if path.suffix.lower() == ".dta":
            raw = pd.read_stata(path, convert_categoricals=False).astype(str)
            raw = raw.replace({"nan": ""})
        else:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise RawDataError(f"{path}: cannot read {what} file: {err}") from err
    raw.columns = [str(c).strip() for c in raw.columns]
    absent = [c.name for c in columns if c.name not in raw.columns]
    if absent:
        raise RawDataError(
            f"{path}: {what} file lacks column(s) {absent}; expected columns "
            f"{[c.name for c in columns]} (found {list(raw.columns)})"
        )
    out = {}
    for col in columns:
        out[col.name] = _convert(raw[col.name].str.strip(), col, path)
    return pd.DataFrame(out)


def _convert(values: pd.Series, col: Column, path: Path) -> pd.Series:
    """Convert one text column, raising on the first bad value."""
    if col.kind == "text":
        return values.str.strip('"')
    if col.kind == "flag":
        bad = ~values.isin(["", "1"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise RawDataError(
                f"{path}, line {line_of(i)}, column '{col.name}': got {values.iloc[i]!r}; "
                "expected 1 or empty"
            )
        return values == "1"
    if col.kind == "str":
        empty = values == ""
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise RawDataError(
                f"{path}, line {line_of(i)}, column '{col.name}': empty; expected text"
            )
        return values.str.strip('"')
    blank = values == ""
    numbers = pd.to_numeric(values.where(~blank), errors="coerce")
    bad = numbers.isna() & ~blank
    if col.kind == "int":
        bad |= blank | (numbers.notna() & (numbers != np.round(numbers)))
        expected = "a whole number"
    else:
        bad |= numbers.notna() & (numbers < 0) & (numbers != MISSING_CODE)
        expected = f"a non-negative number, {MISSING_CODE} or empty (missing)"
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}, column '{col.name}': got {values.iloc[i]!r}; "
            f"expected {expected}"
        )
    if col.kind == "int":
        return numbers.astype(np.int64)
    return numbers.where(numbers != MISSING_CODE).astype(np.float64)


def read_nmc(path: Path | str) -> pd.DataFrame:
    """Read a COW National Material Capabilities file (v6.0 or v7.0).

    Parameters
    ----------
    path
        ``NMC-60-abridged.csv`` (``-9`` = missing) or peacesciencer's
        ``cow_nmc_v7.0_peacesciencer.csv`` (empty = missing).

    Returns
    -------
    pandas.DataFrame
        Columns ``ccode``, ``year`` (int) and ``milex`` (thousands of current
        GBP before 1914, of current USD from 1914), ``milper`` (thousands),
        float with NaN for missing, one row per state-year.

    Raises
    ------
    RawDataError
        On a missing column, a non-numeric or negative value (other than
        ``-9``), or a state-year listed twice.
    """
    path = Path(path)
    nmc = read_table(path, NMC_COLUMNS, "NMC")
    dup = nmc.duplicated(["ccode", "year"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}: state-year ccode={nmc['ccode'].iloc[i]}, "
            f"year={nmc['year'].iloc[i]} appears twice; expected one row per state-year"
        )
    return nmc


def read_midb(path: Path | str) -> pd.DataFrame:
    """Read the MID 5.0 participant file (``MIDB 5.0.csv``).

    Parameters
    ----------
    path
        One row per participant spell in a dispute.

    Returns
    -------
    pandas.DataFrame
        Columns ``dispnum``, ``stabb``, ``ccode``, ``styear``, ``endyear``,
        ``sidea`` (1 = side A, the side that took the first militarized
        action) and ``hostlev`` (1 no militarized action .. 5 war).

    Raises
    ------
    RawDataError
        On a missing column, a non-integer value, ``sidea`` not 0/1,
        ``hostlev`` outside 1..5, or a spell ending before it starts.
    """
    path = Path(path)
    midb = read_table(path, MIDB_COLUMNS, "MIDB (MID 5.0 participants)")
    _check_range(midb, "sidea", (0, 1), path)
    _check_range(midb, "hostlev", (1, 2, 3, 4, 5), path)
    backwards = midb["endyear"] < midb["styear"]
    if backwards.any():
        i = int(np.flatnonzero(backwards.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}, column 'endyear': {midb['endyear'].iloc[i]} is "
            f"before styear {midb['styear'].iloc[i]}; expected endyear >= styear"
        )
    return midb


def read_dyadic_mid(path: Path | str) -> pd.DataFrame:
    """Read the dyadic MID 4.02 file (CSV conversion or the original ``.dta``).

    Each non-directed dispute-dyad-year is listed in both orientations and a
    few are listed more than once; this reader returns the rows as they are
    (deduplication is :func:`secdilemma.data.coding.dyadic_mid_counts`'s job).

    Parameters
    ----------
    path
        ``dyadic_mid_4.02.csv`` or ``dyadic_mid_4.02.dta``.

    Returns
    -------
    pandas.DataFrame
        Columns ``disno``, ``statea``, ``stateb``, ``year``, ``hihosta``,
        ``hihostb``.

    Raises
    ------
    RawDataError
        On a missing column or a non-integer value.
    """
    path = Path(path)
    dy = read_table(path, DYADIC_MID_COLUMNS, "dyadic MID 4.02")
    _check_range(dy, "hihosta", (1, 2, 3, 4, 5), path)
    _check_range(dy, "hihostb", (1, 2, 3, 4, 5), path)
    return dy


def read_states(path: Path | str) -> pd.DataFrame:
    """Read the COW state system membership list (``states2016.csv``).

    Parameters
    ----------
    path
        One row per membership spell.

    Returns
    -------
    pandas.DataFrame
        Columns ``stateabb``, ``ccode``, ``statenme``, ``styear``, ``endyear``.

    Raises
    ------
    RawDataError
        On a missing column, a bad value, or an abbreviation mapped to two codes.
    """
    path = Path(path)
    states = read_table(path, STATES_COLUMNS, "COW state list")
    pairs = states[["stateabb", "ccode"]].drop_duplicates()
    clash = pairs["stateabb"].duplicated(keep=False) | pairs["ccode"].duplicated(keep=False)
    if clash.any():
        raise RawDataError(
            f"{path}: abbreviations and codes must map one to one; conflicting rows "
            f"{pairs[clash].to_dict('records')}"
        )
    return states


def _check_range(df: pd.DataFrame, column: str, allowed: tuple[int, ...], path: Path) -> None:
    """Raise on the first value of ``column`` outside ``allowed``."""
    bad = ~df[column].isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}, column '{column}': got {df[column].iloc[i]}; "
            f"expected one of {list(allowed)}"
        )
