"""COW states: names, codes, membership years and successions within a dyad side.

A dyad is named by two COW abbreviations or codes, ``"USA-RUS"`` or
``"2-365"``; its id is always the abbreviations, side 0 first. A side's
*state* is fixed (``GMY``), but the COW code whose data fill a given year can
be a predecessor or successor listed in :data:`SUCCESSIONS`: by default
Germany's side is West Germany (GFR, 260) in 1955-1990 and Germany (GMY, 255)
before and after.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from secdilemma.data.readers import RawDataError

SUCCESSIONS: dict[str, tuple[tuple[str, int, int], ...]] = {
    "GMY": (("GFR", 1955, 1990),),
    "YEM": (("YAR", 1926, 1990),),
}
"""Per state abbreviation: ``(stand-in abbreviation, first year, last year)``
spells whose data stand for the state in a dyad. GFR is used for GMY in
1955-1990 (NMC lists both GFR and unified GMY in 1990; GFR is used there, and
counted once in the world total, :data:`secdilemma.data.world.WORLD_DUPLICATES`).
North Yemen (YAR, 678) stands for Yemen (YEM, 679) in 1926-1990 the same way
(NMC lists both in 1990; YAR is used there). The other changes of identity
need no entry: COW keeps one code for the USSR and Russia (365), for North
Vietnam and Vietnam (816) and for Yugoslavia and Serbia (345)."""


@dataclass(frozen=True)
class StateTable:
    """COW abbreviations, codes and membership years.

    Parameters
    ----------
    states
        Output of :func:`secdilemma.data.readers.read_states`.
    source
        File name used in error messages.
    """

    states: pd.DataFrame
    source: str = "COW state list"

    def resolve(self, token: str) -> tuple[str, int]:
        """Abbreviation and code of a state named by abbreviation or code.

        Parameters
        ----------
        token
            ``"USA"`` (case-insensitive) or ``"2"``.

        Returns
        -------
        tuple of (str, int)
            The abbreviation and the COW code.

        Raises
        ------
        RawDataError
            If no state has that abbreviation or code.
        """
        token = token.strip()
        pairs = self.states[["stateabb", "ccode"]].drop_duplicates()
        if token.isdigit():
            hit = pairs[pairs["ccode"] == int(token)]
        else:
            hit = pairs[pairs["stateabb"] == token.upper()]
        if hit.empty:
            raise RawDataError(
                f"{self.source}: unknown state {token!r}; expected a COW abbreviation "
                "(e.g. 'USA') or code (e.g. '2')"
            )
        return str(hit["stateabb"].iloc[0]), int(hit["ccode"].iloc[0])

    def member_years(self, ccode: int) -> set[int]:
        """Calendar years in which a state is a system member (any day of the year).

        Parameters
        ----------
        ccode
            COW code.

        Returns
        -------
        set of int
            Years covered by any of the state's membership spells.
        """
        spells = self.states[self.states["ccode"] == ccode]
        years: set[int] = set()
        for st, en in zip(spells["styear"], spells["endyear"], strict=True):
            years.update(range(int(st), int(en) + 1))
        return years


@dataclass(frozen=True)
class Dyad:
    """A resolved dyad: id, the two states and their year-by-year stand-ins.

    Parameters
    ----------
    id
        ``"ABB-ABB"``, side 0 first.
    states
        Abbreviation of each side.
    ccodes
        COW code of each side.
    stand_ins
        Per side, ``(abbreviation, ccode, first year, last year)`` spells in
        which another code's data are used (see :data:`SUCCESSIONS`).
    """

    id: str
    states: tuple[str, str]
    ccodes: tuple[int, int]
    stand_ins: tuple[tuple[tuple[str, int, int, int], ...], ...]

    def source(self, side: int, year: int) -> tuple[str, int]:
        """Abbreviation and code whose data fill ``side`` in ``year``.

        Parameters
        ----------
        side
            0 or 1.
        year
            Calendar year.

        Returns
        -------
        tuple of (str, int)
            The stand-in if one covers ``year``, else the side's own state.
        """
        for abb, code, first, last in self.stand_ins[side]:
            if first <= year <= last:
                return abb, code
        return self.states[side], self.ccodes[side]


def parse_dyad(
    name: str,
    table: StateTable,
    successions: dict[str, tuple[tuple[str, int, int], ...]] | None = None,
) -> Dyad:
    """Resolve ``"USA-RUS"`` or ``"2-365"`` into a :class:`Dyad`.

    Parameters
    ----------
    name
        Two abbreviations or codes joined by ``-``.
    table
        The COW state list.
    successions
        Stand-in spells per abbreviation; default :data:`SUCCESSIONS`.

    Returns
    -------
    Dyad
        The resolved dyad.

    Raises
    ------
    RawDataError
        If the name is not two states, names an unknown state or a state twice.
    """
    successions = SUCCESSIONS if successions is None else successions
    parts = name.strip().split("-")
    if len(parts) != 2 or not all(parts):
        raise RawDataError(
            f"dyad {name!r}: expected two COW abbreviations or codes joined by '-', "
            "e.g. 'USA-RUS' or '2-365'"
        )
    (abb0, code0), (abb1, code1) = (table.resolve(p) for p in parts)
    if code0 == code1:
        raise RawDataError(f"dyad {name!r}: both sides are {abb0}; expected two states")
    stand_ins = []
    for abb in (abb0, abb1):
        spells = []
        for sub, first, last in successions.get(abb, ()):
            sub_abb, sub_code = table.resolve(sub)
            spells.append((sub_abb, sub_code, int(first), int(last)))
        stand_ins.append(tuple(spells))
    return Dyad(f"{abb0}-{abb1}", (abb0, abb1), (code0, code1), tuple(stand_ins))
