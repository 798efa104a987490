"""The world total that shares are taken of: a complete system.

A state's share of world military expenditure (DESIGN §6) is only as good as
the world total beneath it. An incomplete system silently moves every share:
a state-year that is a COW system member (per ``states2016.csv``) but has no
NMC row drops out of the world total, and every other state's share of that
year rises (with the USA 1995 row deleted, RUS 1995 flips from de-escalate
to build-up). :func:`check_system` makes that an error naming the missing
rows. A member whose NMC row has ``milex = -9`` is *not* missing a row: the
source says its spending is unknown, and it is left out of that year's total
as documented (``world_milex`` is a sum over the usable values).
"""

from __future__ import annotations

import pandas as pd

from secdilemma.data.readers import RawDataError
from secdilemma.data.states import StateTable


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
