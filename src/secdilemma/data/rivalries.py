"""Rivalry lists: Thompson-Dreyer, Thompson-Sakuwa-Suhas and Klein-Goertz-Diehl.

Each list is read by a validating reader into one table of *spells* (one row
per rivalry as the source lists it), normalised to the same columns whatever
the source: ``rivalry_id`` (the source's number, as text), ``rivalry_name``,
``ccode1 < ccode2``, ``start``, ``end`` (years), ``region``, ``rivalry_type``
and the boolean type flags ``type_spatial``, ``type_positional``,
``type_ideological``, ``type_interventionary``, plus ``line`` (the file line,
for messages).

:func:`rivalry_pairs` groups the spells active in a span into one entry per
pair of states. A pair listed twice (two spells, e.g. Russia-United States 1
and 2) becomes *one* dyad with both spells recorded, so dyad ids stay unique
and no data are counted twice. A state that another stands in for (the
successions of :data:`secdilemma.data.states.SUCCESSIONS`: GFR for GMY,
YAR for YEM) is mapped to the state it stands in for first, so a rivalry of
West Germany and one of Germany with the same partner are one dyad too.

Vocabulary (the ``rivalry_type`` and ``region`` coords of a rivalry panel):

- ``rivalry_type`` for ``td`` and ``tss``: one of :data:`RIVALRY_TYPES`
  (``tss``: ``unspecified`` where no type is flagged); for ``kgd`` one of
  :data:`KGD_LEVELS`;
- ``region``: ``td`` only, Thompson and Dreyer's region labels verbatim
  (:data:`TD_REGIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.readers import Column, RawDataError, line_of, read_table
from secdilemma.data.states import SUCCESSIONS, StateTable

RIVALRY_TYPES: tuple[str, ...] = ("spatial", "positional", "ideological", "interventionary")
"""Thompson's rivalry types (TD ``type1..3``, TSS flags)."""

KGD_LEVELS: tuple[str, ...] = ("isolated", "proto", "enduring")
"""Klein-Goertz-Diehl rivalry levels (``rivtypold``), lowest first."""

TD_REGIONS: tuple[str, ...] = (
    "Caribbean",
    "Central Africa",
    "Central America",
    "Central Asia",
    "East Africa",
    "East Asia",
    "Eastern Europe",
    "European GPs",
    "Global",
    "Gulf",
    "Mashriq",
    "Mashriq/Gulf",
    "Multiple",
    "North Africa",
    "North America",
    "North America/Central America",
    "Northeast Asia",
    "South America",
    "South Asia",
    "Southeast Asia",
    "Southeast Europe",
    "Southern Africa",
    "Southwest Eurasia",
    "West Africa",
)
"""Thompson and Dreyer's regions, as written in the source (all 197 rivalries)."""

SPELL_COLUMNS = (
    "rivalry_id",
    "rivalry_name",
    "ccode1",
    "ccode2",
    "start",
    "end",
    "region",
    "rivalry_type",
    *(f"type_{t}" for t in RIVALRY_TYPES),
    "line",
)
"""Columns of a normalised spell table."""


@dataclass(frozen=True)
class RivalryList:
    """One rivalry list: where it is, what it is, how to cite it.

    Parameters
    ----------
    name
        Short name (``td``, ``tss``, ``kgd``).
    file
        Path relative to the raw directory.
    title
        Human name.
    citation
        Article or book of record.
    types
        Vocabulary of ``rivalry_type``.
    has_region
        Whether the list gives a region.
    """

    name: str
    file: str
    title: str
    citation: str
    types: tuple[str, ...]
    has_region: bool


RIVALRY_LISTS: dict[str, RivalryList] = {
    "td": RivalryList(
        "td",
        "rivalries/td_rivalries_peacesciencer.csv",
        "Thompson & Dreyer strategic rivalries, 1494-2010",
        "Thompson, William R. & David Dreyer (2012), Handbook of International Rivalries, "
        "CQ Press; via peacesciencer (Miller 2022, Conflict Management and Peace Science "
        "39(6)), td_rivalries",
        RIVALRY_TYPES,
        True,
    ),
    "tss": RivalryList(
        "tss",
        "rivalries/tss_rivalries_peacesciencer.csv",
        "Thompson, Sakuwa & Suhas strategic rivalries, 1494-2020",
        "Thompson, William R., Kentaro Sakuwa & Prashant Hosur Suhas (2022), Analyzing "
        "Strategic Rivalries in World Politics, Springer; via peacesciencer (Miller 2022), "
        "tss_rivalries",
        (*RIVALRY_TYPES, "unspecified"),
        False,
    ),
    "kgd": RivalryList(
        "kgd",
        "rivalries/kgd_rivalries_kdg.csv",
        "Klein, Goertz & Diehl rivalries, 1816-2001",
        "Klein, James P., Gary Goertz & Paul F. Diehl (2006), The New Rivalry Dataset: "
        "Procedures and Patterns, Journal of Peace Research 43(3): 331-348",
        KGD_LEVELS,
        False,
    ),
}
"""The rivalry lists ``secdilemma data build --rivalries`` knows."""


def rivalry_list(name: str) -> RivalryList:
    """The :class:`RivalryList` called ``name``.

    Parameters
    ----------
    name
        ``td``, ``tss`` or ``kgd`` (case-insensitive).

    Returns
    -------
    RivalryList
        Its description.

    Raises
    ------
    RawDataError
        If no list has that name (the known ones are listed).
    """
    key = str(name).strip().lower()
    if key not in RIVALRY_LISTS:
        raise RawDataError(
            f"unknown rivalry list {name!r}; expected one of {sorted(RIVALRY_LISTS)} "
            "(td Thompson-Dreyer, tss Thompson-Sakuwa-Suhas, kgd Klein-Goertz-Diehl)"
        )
    return RIVALRY_LISTS[key]


_TD_COLUMNS = (
    Column("rivalryno", "int"),
    Column("rivalryname", "str"),
    Column("ccode1", "int"),
    Column("ccode2", "int"),
    Column("styear", "int"),
    Column("endyear", "int"),
    Column("region", "str"),
    Column("type1", "str"),
    Column("type2", "text"),
    Column("type3", "text"),
)
_TSS_FLAGS = ("positional", "spatial", "ideological", "interventionary")
_TSS_COLUMNS = (
    Column("tssr_id", "int"),
    Column("rivalry", "str"),
    Column("ccode1", "int"),
    Column("ccode2", "int"),
    Column("start", "int"),
    Column("end", "int"),
    *(Column(flag, "flag") for flag in _TSS_FLAGS),
)
_KGD_COLUMNS = (
    Column("rivnumb", "int"),
    Column("rivala", "int"),
    Column("rivalb", "int"),
    Column("beginr", "int"),
    Column("endr", "int"),
    Column("rivtypold", "str"),
)


def read_rivalries(path: Path | str, name: str) -> pd.DataFrame:
    """Read a rivalry list into the normalised spell table.

    Parameters
    ----------
    path
        The list's file (see :data:`RIVALRY_LISTS`).
    name
        ``td``, ``tss`` or ``kgd``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`SPELL_COLUMNS`, one row per spell in file order, the
        lower code as ``ccode1``.

        - ``td``: ``rivalry_type`` is ``type1`` (the first type the
          source lists); the flags are set for ``type1..3``.
        - ``tss``: ``rivalry_type`` is the first flagged type in the source's
          column order (positional, spatial, ideological,
          interventionary), ``unspecified`` if none; ``region`` is empty.
        - ``kgd``: years are those of ``beginr`` / ``endr`` (YYYYMMDD, with
          DD 00 where the day is unknown);
          ``rivalry_type`` is ``rivtypold`` in lower case; the name is empty
          (the source has none) and ``region`` is empty; no type flags.

    Raises
    ------
    RawDataError
        Naming the file, line and column: a missing column, a bad value, a
        type or level outside the vocabulary, a region outside
        :data:`TD_REGIONS`, a spell ending before it starts, a pair of one
        state, a date that is not YYYYMMDD, or a repeated rivalry number.
    """
    spec = rivalry_list(name)
    path = Path(path)
    reader = {"td": _td, "tss": _tss, "kgd": _kgd}[spec.name]
    what = f"{spec.title} ({spec.name})"
    spells = reader(read_table(path, _COLUMNS[spec.name], what), path)
    spells["line"] = [line_of(i) for i in range(len(spells))]
    for i, (a, b, s, e) in enumerate(
        zip(spells["ccode1"], spells["ccode2"], spells["start"], spells["end"], strict=True)
    ):
        if a == b:
            raise RawDataError(f"{path}, line {line_of(i)}: both states are {a}; expected two")
        if e < s:
            raise RawDataError(
                f"{path}, line {line_of(i)}: rivalry ends in {e}, before it starts in {s}; "
                "expected end >= start"
            )
    repeated = spells["rivalry_id"].duplicated()
    if repeated.any():
        i = int(np.flatnonzero(repeated.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}: rivalry number {spells['rivalry_id'].iloc[i]} "
            "appears twice; expected each once"
        )
    low = np.minimum(spells["ccode1"], spells["ccode2"])
    high = np.maximum(spells["ccode1"], spells["ccode2"])
    spells["ccode1"], spells["ccode2"] = low.astype(np.int64), high.astype(np.int64)
    return spells[list(SPELL_COLUMNS)]


_COLUMNS = {"td": _TD_COLUMNS, "tss": _TSS_COLUMNS, "kgd": _KGD_COLUMNS}


def _vocabulary(values: pd.Series, allowed: tuple[str, ...], column: str, path: Path) -> None:
    """Raise on the first value outside ``allowed`` (empty strings are skipped)."""
    bad = ~values.isin(allowed) & (values != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise RawDataError(
            f"{path}, line {line_of(i)}, column '{column}': got {values.iloc[i]!r}; "
            f"expected one of {list(allowed)}"
        )


def _td(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Thompson-Dreyer rows to spells."""
    for col in ("type1", "type2", "type3"):
        _vocabulary(raw[col], RIVALRY_TYPES, col, path)
    _vocabulary(raw["region"], TD_REGIONS, "region", path)
    out = pd.DataFrame(
        {
            "rivalry_id": raw["rivalryno"].astype(str),
            "rivalry_name": raw["rivalryname"],
            "ccode1": raw["ccode1"],
            "ccode2": raw["ccode2"],
            "start": raw["styear"],
            "end": raw["endyear"],
            "region": raw["region"],
            "rivalry_type": raw["type1"],
        }
    )
    listed = raw[["type1", "type2", "type3"]]
    for t in RIVALRY_TYPES:
        out[f"type_{t}"] = (listed == t).any(axis=1)
    return out


def _tss(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Thompson-Sakuwa-Suhas rows to spells."""
    flags = raw[list(_TSS_FLAGS)]
    first = flags.idxmax(axis=1).where(flags.any(axis=1), "unspecified")
    out = pd.DataFrame(
        {
            "rivalry_id": raw["tssr_id"].astype(str),
            "rivalry_name": raw["rivalry"],
            "ccode1": raw["ccode1"],
            "ccode2": raw["ccode2"],
            "start": raw["start"],
            "end": raw["end"],
            "region": "",
            "rivalry_type": first.astype(str),
        }
    )
    for t in RIVALRY_TYPES:
        out[f"type_{t}"] = raw[t].astype(bool)
    return out


def _kgd(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Klein-Goertz-Diehl rows to spells (dates YYYYMMDD to years)."""
    for col in ("beginr", "endr"):
        values = raw[col]
        month, day = values // 100 % 100, values % 100
        bad = (values < 10_000_000) | (values > 99_991_231) | ~month.between(1, 12)
        bad |= ~day.between(0, 31)  # day 00: day unknown (14 dates in the source)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise RawDataError(
                f"{path}, line {line_of(i)}, column '{col}': got {values.iloc[i]}; expected "
                "a date YYYYMMDD (DD may be 00, day unknown)"
            )
    level = raw["rivtypold"].str.lower()
    _vocabulary(level, KGD_LEVELS, "rivtypold", path)
    out = pd.DataFrame(
        {
            "rivalry_id": raw["rivnumb"].astype(str),
            "rivalry_name": "",
            "ccode1": raw["rivala"],
            "ccode2": raw["rivalb"],
            "start": raw["beginr"] // 10_000,
            "end": raw["endr"] // 10_000,
            "region": "",
            "rivalry_type": level,
        }
    )
    for t in RIVALRY_TYPES:
        out[f"type_{t}"] = False
    return out


@dataclass(frozen=True)
class RivalryPair:
    """The spells of one pair of states, active in the panel's span.

    Parameters
    ----------
    ccodes
        The pair after successions, lower code first (side 0).
    spells
        The pair's spells, sorted by start year then rivalry number.
    """

    ccodes: tuple[int, int]
    spells: pd.DataFrame

    def metadata(self, spec: RivalryList) -> dict[str, str | int | bool]:
        """The dyad coords of this pair (see the module docstring and data/README.md).

        Parameters
        ----------
        spec
            The list the spells come from.

        Returns
        -------
        dict
            ``rivalry_id`` (numbers joined by ``+``), ``rivalry_name`` (names
            joined by ``"; "``), ``rivalry_start``, ``rivalry_end`` (first
            start, last end), ``rivalry_spells`` (``"1945-1989+2007-2010"``),
            ``n_spells``, ``listed_pairs`` (the source's codes, ``"260-265"``),
            ``rivalry_type`` (``td``/``tss``: that of the earliest spell;
            ``kgd``: the highest level of any spell), the type flags (any
            spell) and, for ``td``, ``region`` (that of the earliest spell).
        """
        s = self.spells
        first = s.iloc[0]
        if spec.name == "kgd":
            kind = max(s["rivalry_type"], key=KGD_LEVELS.index)
        else:
            kind = str(first["rivalry_type"])
        meta: dict[str, str | int | bool] = {
            "rivalry_id": "+".join(s["rivalry_id"]),
            "rivalry_name": "; ".join(n for n in s["rivalry_name"] if n),
            "rivalry_start": int(s["start"].min()),
            "rivalry_end": int(s["end"].max()),
            "rivalry_spells": "+".join(
                f"{a}-{b}" for a, b in zip(s["start"], s["end"], strict=True)
            ),
            "n_spells": len(s),
            "listed_pairs": "+".join(
                dict.fromkeys(f"{a}-{b}" for a, b in zip(s["ccode1"], s["ccode2"], strict=True))
            ),
            "rivalry_type": kind,
        }
        if spec.name != "kgd":
            for t in RIVALRY_TYPES:
                meta[f"type_{t}"] = bool(s[f"type_{t}"].any())
        if spec.has_region:
            meta["region"] = str(first["region"])
        return meta


def successor_codes(
    table: StateTable, successions: dict[str, tuple[tuple[str, int, int], ...]] | None = None
) -> dict[int, int]:
    """COW code of each stand-in to the code of the state it stands in for.

    Parameters
    ----------
    table
        The COW state list.
    successions
        Default :data:`secdilemma.data.states.SUCCESSIONS`.

    Returns
    -------
    dict
        E.g. ``{260: 255, 678: 679}`` (GFR for GMY, YAR for YEM); a succession
        whose states are not in the state list is skipped.
    """
    successions = SUCCESSIONS if successions is None else successions
    known = set(table.states["stateabb"])
    out = {}
    for abb, spells in successions.items():
        for sub, _, _ in spells:
            if abb in known and sub in known:  # a list without the pair cannot name it
                out[table.resolve(sub)[1]] = table.resolve(abb)[1]
    return out


def rivalry_pairs(
    spells: pd.DataFrame,
    start: int,
    end: int,
    successors: dict[int, int],
) -> tuple[list[RivalryPair], list[dict[str, str | int]]]:
    """Group the spells active in ``start..end`` into pairs of states.

    A spell is active if it overlaps the span (``end >= start`` and
    ``start <= end``). The pair is taken after mapping stand-ins to the state
    they stand in for (``successors``), lower code first.

    Parameters
    ----------
    spells
        Output of :func:`read_rivalries`.
    start, end
        The panel's span.
    successors
        Output of :func:`successor_codes`.

    Returns
    -------
    pairs
        One :class:`RivalryPair` per pair, ordered by the pair's earliest
        spell (start year, then rivalry number as in the file).
    left_out
        One record per spell that is not active (``rivalry_id``,
        ``rivalry_name``, ``ccode1``, ``ccode2``, ``start``, ``end``,
        ``reason``), in file order.
    """
    active = (spells["end"] >= start) & (spells["start"] <= end)
    left_out = []
    for _, row in spells[~active].iterrows():
        reason = (
            f"rivalry ended in {row['end']}, before the first year {start}"
            if row["end"] < start
            else f"rivalry began in {row['start']}, after the last year {end}"
        )
        left_out.append(_record(row, reason))
    live = spells[active].copy()
    a = live["ccode1"].map(lambda c: successors.get(c, c))
    b = live["ccode2"].map(lambda c: successors.get(c, c))
    live["pair_lo"], live["pair_hi"] = np.minimum(a, b), np.maximum(a, b)
    live = live.sort_values(["start", "line"], kind="stable")
    pairs = []
    for (lo, hi), group in live.groupby(["pair_lo", "pair_hi"], sort=False):
        cols = [c for c in group.columns if c not in ("pair_lo", "pair_hi")]
        pairs.append(
            RivalryPair(ccodes=(int(lo), int(hi)), spells=group[cols].reset_index(drop=True))
        )
    return pairs, left_out


def _record(row: pd.Series, reason: str) -> dict[str, str | int]:
    """A left-out spell as a plain record."""
    return {
        "rivalry_id": str(row["rivalry_id"]),
        "rivalry_name": str(row["rivalry_name"]),
        "ccode1": int(row["ccode1"]),
        "ccode2": int(row["ccode2"]),
        "start": int(row["start"]),
        "end": int(row["end"]),
        "reason": reason,
    }


def left_out_pair(pair: RivalryPair, reason: str) -> list[dict[str, str | int]]:
    """Every spell of a pair that cannot be built, each with ``reason``.

    Parameters
    ----------
    pair
        The pair.
    reason
        Why it cannot be built.

    Returns
    -------
    list of dict
        Records as in :func:`rivalry_pairs`.
    """
    return [_record(row, reason) for _, row in pair.spells.iterrows()]
