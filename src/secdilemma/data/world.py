"""The world total that shares are taken of: a complete system, each state counted once.

A state's share of world military expenditure (DESIGN §6) is only as good as
the world total beneath it. An incomplete system silently moves every share:
a state-year that is a COW system member (per ``states2016.csv``) but has no
NMC row drops out of the world total, and every other state's share of that
year rises (with the USA 1995 row deleted, RUS 1995 flips from de-escalate
to build-up). :func:`check_system` makes that an error naming the missing
rows. A member whose NMC row has ``milex = -9`` is *not* missing a row: the
source says its spending is unknown, and it is left out of that year's total
as documented (``world_milex`` is a sum over the usable values).

A state counted twice lowers every share too. In a unification year NMC lists
both the predecessor and the unified state, the unified state's row repeating
the predecessor's figures (:data:`WORLD_DUPLICATES`: Germany and Yemen in
1990). The predecessor's value is left out of the world total
(:func:`exclusions`); the predecessor's own share (a dyad that uses it, such
as GFR for Germany in 1990) is taken of that total.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from secdilemma.data.readers import RawDataError
from secdilemma.data.states import StateTable


@dataclass(frozen=True)
class Duplicate:
    """A predecessor state-year whose figures the unified state's row repeats.

    Parameters
    ----------
    ccode, abb
        The predecessor (its value is left out of the world total).
    covered_by, covered_abb
        The unified state whose row of the same year covers it.
    year
        The unification year (both rows exist in NMC).
    reason
        What the raw file shows, for the provenance record.
    """

    ccode: int
    abb: str
    covered_by: int
    covered_abb: str
    year: int
    reason: str


WORLD_DUPLICATES: tuple[Duplicate, ...] = (
    Duplicate(
        260,
        "GFR",
        255,
        "GMY",
        1990,
        "NMC v6.0 lists West Germany (GFR 260: milex 35,610,000, milper 545) and unified "
        "Germany (GMY 255: milex 37,200,000, milper 545) in 1990; GMY's row covers the "
        "Federal Republic (same personnel), so GFR's values are left out of the 1990 "
        "world total (GDR 265's milper 137 is not in GMY's 545 and stays)",
    ),
    Duplicate(
        678,
        "YAR",
        679,
        "YEM",
        1990,
        "NMC v6.0 lists North Yemen (YAR 678: milex 1,000,000, milper 127) and unified "
        "Yemen (YEM 679: milex -9, milper 127) in 1990; YEM's milper repeats YAR's, so "
        "YAR's milper is left out of the 1990 world total (its milex stays: YEM has none)",
    ),
)
"""The unification years in which NMC counts a state twice. A predecessor's value
(``milex`` or ``milper``) is left out of the world total where the unified state
has a value of the same variable that year. A scan of NMC v6.0 for spell starts
repeating a same-year spell end's milex or milper finds exactly these two."""


def exclusions(
    nmc: pd.DataFrame, duplicates: tuple[Duplicate, ...] = WORLD_DUPLICATES
) -> list[dict[str, int | str]]:
    """The predecessor values left out of the world total, as applied to ``nmc``.

    Parameters
    ----------
    nmc
        Output of :func:`secdilemma.data.readers.read_nmc`.
    duplicates
        Candidate duplicates; each applies per variable only where both rows
        exist and both have a value of that variable.

    Returns
    -------
    list of dict
        ``{"ccode", "state", "year", "variable", "covered_by", "reason"}`` per
        value left out (recorded in the provenance).
    """
    values = nmc.set_index(["ccode", "year"])[["milex", "milper"]]
    out: list[dict[str, int | str]] = []
    for dup in duplicates:
        own, cover = (dup.ccode, dup.year), (dup.covered_by, dup.year)
        if own not in values.index or cover not in values.index:
            continue
        for var in ("milex", "milper"):
            if pd.notna(values.loc[own, var]) and pd.notna(values.loc[cover, var]):
                out.append(
                    {
                        "ccode": dup.ccode,
                        "state": dup.abb,
                        "year": dup.year,
                        "variable": var,
                        "covered_by": dup.covered_abb,
                        "reason": dup.reason,
                    }
                )
    return out


def check_system(
    nmc: pd.DataFrame,
    table: StateTable,
    years: list[int] | range,
    *,
    source: str = "NMC",
    limit: int = 12,
) -> None:
    """Refuse a world total built from an incomplete (or inconsistent) system.

    In every year of ``years``, the NMC rows must be exactly the COW system
    members of that year (members on any day of the year, per the state
    list). The real NMC v6.0 and v7.0 files match ``states2016.csv`` exactly
    in every year 1816-2016.

    Parameters
    ----------
    nmc
        Output of :func:`secdilemma.data.readers.read_nmc`.
    table
        The COW state list.
    years
        The years whose world totals a build uses (each panel year and the
        year before it, whose share the growth compares with).
    source
        The NMC file, for the message.
    limit
        How many rows the message lists (the count is always given).

    Raises
    ------
    RawDataError
        Naming the member state-years without an NMC row (they would drop
        out of the world total and move every other state's share) and the
        NMC rows of states that are not members that year.
    """
    wanted = set(years)
    names = table.states.drop_duplicates("ccode").set_index("ccode")["stateabb"].to_dict()
    members = {
        (int(code), y)
        for code, first, last in zip(
            table.states["ccode"], table.states["styear"], table.states["endyear"], strict=True
        )
        for y in range(int(first), int(last) + 1)
        if y in wanted
    }
    rows = nmc[nmc["year"].isin(wanted)]
    present = set(zip(rows["ccode"].astype(int), rows["year"].astype(int), strict=True))

    def listing(cells: set[tuple[int, int]]) -> str:
        ordered = sorted(cells, key=lambda c: (c[1], c[0]))
        text = ", ".join(f"{names.get(c, '?')} ({c}) {y}" for c, y in ordered[:limit])
        return text + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")

    problems = []
    missing = members - present
    if missing:
        problems.append(
            f"{len(missing)} state-year(s) that are system members per {table.source} have "
            f"no NMC row: {listing(missing)}"
        )
    extra = present - members
    if extra:
        problems.append(
            f"{len(extra)} NMC row(s) are for states that are not system members that "
            f"year: {listing(extra)}"
        )
    if problems:
        raise RawDataError(
            f"{source}: the world total would be built from an incomplete system: "
            + "; ".join(problems)
            + ". Expected one NMC row per member state-year (a -9 value is fine: it is "
            "a missing value, not a missing row); is the file truncated or from another "
            "release than the state list?"
        )
