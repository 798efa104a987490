"""SIPRI constant-price military expenditure: an alternative source for the move coding.

The SIPRI extract in ``../shared/data/raw/sipri/`` holds, for 21 countries and
1949-2023, military expenditure in US$ millions at constant 2022 prices.
Constant prices remove inflation, so the coding uses the *real growth* of a
state's own expenditure, ``g = milex_const[t] / milex_const[t-1] - 1``, with
the same thresholds as the NMC coding (DESIGN §6: ``build-up`` above
``+build_up``, ``de-escalate`` below ``-de_escalate``, ``hold`` between,
``g`` rounded to :attr:`CodingParams.decimals`). ``militarized`` is coded
from the MIDs exactly as with NMC. The extract has no world total, so this is
not a share of world spending: a state that grows with the world is
``hold`` under NMC and may be ``build-up`` here. That difference is the point
of the robustness check (:mod:`secdilemma.data.codings`).

Rules (data/README.md, "SIPRI coding"):

- Growth only within one SIPRI series and consecutive years: the USSR
  (1988-1990) and Russia (from 1992) are two series under COW code 365, so
  RUS has no SIPRI growth in 1991-1992.
- The 2023 column of SIPRI's constant-price sheet is in current 2023 US$
  (raw README), so 2023 values are not used.
- West Germany (GFR, 260), which stands in for Germany in 1955-1990, takes
  SIPRI's ``Germany`` series: SIPRI lists one Germany series from 1953, the
  Federal Republic until unification (:data:`SIPRI_STAND_INS`).
- North Korea and Syria have no constant-price series in the extract: their
  spending moves are missing under this coding.
- Only system-member years are coded (as with NMC, whose rows exist only
  for members): SIPRI's Syria or Germany in a year the state is not a COW
  member gives no move.
- Terms: the extract may not be enlarged or redistributed beyond what is
  derived, so the package commits only SIPRI-coded *moves*; the growth is
  kept in locally built panels (``sipri_growth``), never committed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.coding import MOVE_MILITARIZED, CodingParams, growth_move
from secdilemma.data.readers import Column, RawDataError, line_of, read_table

SIPRI_FILE = "sipri/sipri_milex_1949-2023_extract_21countries.csv"
"""The SIPRI extract, relative to the raw directory."""

SIPRI_CITATION = (
    "SIPRI Military Expenditure Database 2024, https://www.sipri.org/databases/milex "
    "(extract of the 'Constant (2022) US$' sheet, 21 countries)"
)

SIPRI_CURRENT_YEAR = 2023
"""The constant-price sheet's last column is in current US$ of this year: not used."""

SIPRI_STAND_INS: dict[int, int] = {260: 255}
"""COW code whose data fill a dyad side to the COW code of the SIPRI series used:
West Germany (GFR) takes SIPRI's Germany series (the Federal Republic until 1990)."""

_COLUMNS = (
    Column("sipri_country", "str"),
    Column("ccode", "int"),
    Column("stateabb", "str"),
    Column("year", "int"),
    Column("milex_const2022_usd_m", "number"),
    Column("flag_const", "text"),
)
_FLAGS = ("", "unavailable", "not_independent")


def read_sipri(path: Path | str) -> pd.DataFrame:
    """Read the SIPRI extract's constant-price series.

    Parameters
    ----------
    path
        ``sipri_milex_1949-2023_extract_21countries.csv``.

    Returns
    -------
    pandas.DataFrame
        ``sipri_country``, ``ccode``, ``stateabb``, ``year`` and ``milex``
        (US$ m at constant 2022 prices, NaN where SIPRI has none or where the
        column is in current prices, i.e. 2023).

    Raises
    ------
    RawDataError
        Naming the file and line: a missing column, a bad value, a flag
        outside ``unavailable`` / ``not_independent``, a value beside a flag
        (or neither), a country-year listed twice, or two series with a
        value for the same COW state-year.
    """
    path = Path(path)
    raw = read_table(path, _COLUMNS, "SIPRI extract")
    flag = raw["flag_const"]
    bad = ~flag.isin(_FLAGS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}, column 'flag_const': got {flag.iloc[i]!r}; expected "
            f"one of {list(_FLAGS)}"
        )
    value = raw["milex_const2022_usd_m"]
    clash = value.notna() == (flag != "")
    if clash.any():
        i = int(np.flatnonzero(clash.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}: milex_const2022_usd_m {float(value.iloc[i])!r} with flag "
            f"{flag.iloc[i]!r}; expected a value without a flag or a flag without a value"
        )
    twice = raw.duplicated(["sipri_country", "year"])
    if twice.any():
        i = int(np.flatnonzero(twice.to_numpy())[0])
        raise RawDataError(f"{path}, line {line_of(i)}: country-year listed twice")
    valued = raw[value.notna()]
    ambiguous = valued.duplicated(["ccode", "year"])
    if ambiguous.any():
        i = int(valued.index[np.flatnonzero(ambiguous.to_numpy())[0]])
        raise RawDataError(
            f"{path}, line {line_of(i)}: two SIPRI series have a value for ccode "
            f"{raw['ccode'].iloc[i]} in {raw['year'].iloc[i]}; expected at most one"
        )
    out = raw[["sipri_country", "ccode", "stateabb", "year"]].copy()
    out["milex"] = value.where(raw["year"] != SIPRI_CURRENT_YEAR)
    return out


def sipri_growth(sipri: pd.DataFrame) -> pd.DataFrame:
    """Real growth of each SIPRI series over its previous calendar year.

    Parameters
    ----------
    sipri
        Output of :func:`read_sipri`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(ccode, year)``, only state-years with a value:
        ``sipri_country`` and ``sipri_growth`` (NaN where the same series has
        no value the year before).
    """
    valued = sipri[sipri["milex"].notna()]
    prev = valued.assign(year=valued["year"] + 1)[["sipri_country", "year", "milex"]]
    merged = valued.merge(prev, on=["sipri_country", "year"], how="left", suffixes=("", "_prev"))
    merged["sipri_growth"] = merged["milex"] / merged["milex_prev"] - 1.0
    return merged.set_index(["ccode", "year"])[["sipri_country", "sipri_growth"]].sort_index()


def apply_sipri(
    panel: pd.DataFrame,
    growth: pd.DataFrame,
    params: CodingParams,
    members: set[tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Recode a built panel's moves from SIPRI real growth (MID onsets unchanged).

    Parameters
    ----------
    panel
        A long panel from the builder (``source_ccode``, ``year``, ``hostility``).
    growth
        Output of :func:`sipri_growth`.
    params
        Thresholds (and ``min_hostility`` for ``militarized``).
    members
        ``(ccode, year)`` system memberships; a side-year whose source state is
        not a member has no SIPRI growth (the same years as the NMC coding,
        whose rows exist only for members). Default: no restriction.

    Returns
    -------
    pandas.DataFrame
        A copy with ``move`` from SIPRI, ``growth_source`` ``"sipri"`` (or
        empty where SIPRI has no growth) and a ``sipri_growth`` column.
    """
    out = panel.copy()
    codes = out["source_ccode"].map(lambda c: SIPRI_STAND_INS.get(c, c))
    key = pd.MultiIndex.from_arrays([codes, out["year"]])
    g = growth["sipri_growth"].reindex(key).to_numpy(dtype=float, copy=True)
    if members is not None:
        member = [(c, y) in members for c, y in zip(out["source_ccode"], out["year"], strict=True)]
        g[~np.asarray(member, dtype=bool)] = np.nan
    move = growth_move(g, params)
    move[out["hostility"].to_numpy(dtype=float) >= params.min_hostility] = MOVE_MILITARIZED
    out["move"] = move
    out["growth_source"] = np.where(np.isnan(g), "", "sipri")
    out["sipri_growth"] = g
    return out
