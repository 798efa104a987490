"""Move coding (DESIGN §6): from COW state-years and MIDs to moves 0..3.

The rule, with the defaults of :class:`CodingParams`:

1. ``militarized`` (3) if the state *entered* a MID against its dyad partner
   that year: a MIDB 5.0 participant spell of the state starts that year, with
   the state's hostility level ``hostlev >= 2`` (threat, display, use of
   force, war), in a dispute where the partner has a spell on the other side
   (``sidea`` differs) overlapping it in years.
2. Else the relative growth of the state's share of world military
   expenditure, ``g = share[t] / share[t-1] - 1`` with
   ``share = milex / sum of milex over all NMC states with milex that year``
   (each state counted once, :mod:`secdilemma.data.world`):
   ``build-up`` (2) if ``g > +0.05``, ``de-escalate`` (0) if ``g < -0.05``,
   ``hold`` (1) otherwise (the boundaries are ``hold``). ``g`` is rounded to
   10 decimals before the comparison so that a growth of exactly 5 % is not
   tipped over by floating-point error.
3. Where the milex growth is undefined (``milex`` missing in ``t`` or ``t-1``),
   the same thresholds on the growth of the share of world military
   personnel (``milper``).
4. Else the move is missing (NaN). The first year of a state's series has no
   growth and is missing unless militarized.

A ``milex`` (or ``milper``) of 0 counts as missing for shares and growth
(NMC's first-year zeros, PAK 1947, PRK 1948, TAW 1949, are suspect, and a
growth from 0 is undefined); the raw value is kept as it is in the panel.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from secdilemma.data.states import Dyad
from secdilemma.data.world import WORLD_DUPLICATES, Duplicate, exclusions

MOVE_DE_ESCALATE, MOVE_HOLD, MOVE_BUILD_UP, MOVE_MILITARIZED = 0, 1, 2, 3


class CodingParamsError(ValueError):
    """A coding parameter is out of its range; the message names it and the range."""


@dataclass(frozen=True)
class CodingParams:
    """Thresholds of the move coding (defaults as documented in DESIGN §6).

    Parameters
    ----------
    build_up
        ``build-up`` when share growth is strictly above this.
    de_escalate
        ``de-escalate`` when share growth is strictly below minus this.
    min_hostility
        Lowest MID hostility level (1..5) of the state's entry that codes
        ``militarized``.
    zero_is_missing
        Treat a 0 ``milex`` / ``milper`` as missing for shares and growth.
    decimals
        Decimals the growth is rounded to before the thresholds are applied.

    Raises
    ------
    CodingParamsError
        If ``build_up`` is not > 0, ``de_escalate`` not in (0, 1),
        ``min_hostility`` not 1..5, ``zero_is_missing`` not a bool or
        ``decimals`` not a whole number 0..15.
    """

    build_up: float = 0.05
    de_escalate: float = 0.05
    min_hostility: int = 2
    zero_is_missing: bool = True
    decimals: int = 10

    def __post_init__(self) -> None:
        """Check every parameter's range (see the class docstring).

        Raises
        ------
        CodingParamsError
            Naming the parameter, its ``secdilemma data build`` option, the value
            and the range expected.
        """
        for name in ("build_up", "de_escalate"):
            value = getattr(self, name)
            ok = isinstance(value, Real) and not isinstance(value, bool)
            if not ok or not math.isfinite(value) or value <= 0:
                raise CodingParamsError(
                    f"coding parameter {name} (--{name.replace('_', '-')}) = {value!r}: "
                    "expected a share growth > 0, e.g. 0.05 for 5 %"
                )
        if self.de_escalate >= 1:
            raise CodingParamsError(
                f"coding parameter de_escalate (--de-escalate) = {self.de_escalate!r}: "
                "expected < 1 (a share cannot fall by 100 % or more, so no year would "
                "be de-escalate)"
            )
        if not _whole(self.min_hostility) or not 1 <= self.min_hostility <= 5:
            raise CodingParamsError(
                f"coding parameter min_hostility (--min-hostility) = {self.min_hostility!r}: "
                "expected a MID hostility level 1..5"
            )
        if not isinstance(self.zero_is_missing, bool):
            raise CodingParamsError(
                f"coding parameter zero_is_missing = {self.zero_is_missing!r}: expected "
                "True or False"
            )
        if not _whole(self.decimals) or not 0 <= self.decimals <= 15:
            raise CodingParamsError(
                f"coding parameter decimals = {self.decimals!r}: expected a whole number 0..15"
            )

    def as_dict(self) -> dict[str, float | int | bool]:
        """Return the parameters as a plain dict (for the provenance file)."""
        return asdict(self)


def _whole(value: object) -> bool:
    """Whether ``value`` is an integer (``bool`` excluded)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def world_shares(
    nmc: pd.DataFrame,
    params: CodingParams,
    duplicates: tuple[Duplicate, ...] = WORLD_DUPLICATES,
) -> pd.DataFrame:
    """Each state-year's share of world milex and milper, and their growth.

    Parameters
    ----------
    nmc
        Output of :func:`secdilemma.data.readers.read_nmc`.
    params
        Coding parameters (``zero_is_missing``).
    duplicates
        State-years counted once in the world total
        (:data:`secdilemma.data.world.WORLD_DUPLICATES`: GFR 1990 and YAR's
        1990 milper, covered by unified Germany and Yemen).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(ccode, year)``: ``milex``, ``milper`` (as in the
        source, NaN = missing), ``world_milex``, ``world_milper`` (sums over
        all states with a usable value that year, duplicates left out),
        ``milex_share``, ``milper_share`` (a left-out state's own share is
        taken of that total) and their relative growth ``*_share_growth``
        over the same state's previous calendar year (NaN if either year is
        unusable).
    """
    df = nmc[["ccode", "year", "milex", "milper"]].copy()
    left_out = exclusions(nmc, duplicates)
    for var in ("milex", "milper"):
        usable = df[var].where(df[var] > 0) if params.zero_is_missing else df[var]
        counted = usable.copy()
        for cell in left_out:
            if cell["variable"] == var:
                hit = (df["ccode"] == cell["ccode"]) & (df["year"] == cell["year"])
                counted[hit] = np.nan
        world = counted.groupby(df["year"]).transform("sum", min_count=1)
        df[f"world_{var}"] = world
        df[f"{var}_share"] = usable / world
    df = df.set_index(["ccode", "year"]).sort_index()
    prev = df[["milex_share", "milper_share"]].copy()
    prev.index = pd.MultiIndex.from_arrays(
        [prev.index.get_level_values(0), prev.index.get_level_values(1) + 1],
        names=["ccode", "year"],
    )
    prev = prev.reindex(df.index)
    for var in ("milex", "milper"):
        df[f"{var}_share_growth"] = df[f"{var}_share"] / prev[f"{var}_share"] - 1.0
    return df


def growth_move(growth: pd.Series | np.ndarray, params: CodingParams) -> np.ndarray:
    """Code share growth as ``de-escalate`` / ``hold`` / ``build-up`` (NaN stays NaN).

    Parameters
    ----------
    growth
        Relative growth of the share of world spending (0.05 = 5 %).
    params
        Thresholds.

    Returns
    -------
    numpy.ndarray
        Float moves 0, 1, 2 or NaN.
    """
    g = np.round(np.asarray(growth, dtype=float), params.decimals)
    move = np.where(g > params.build_up, MOVE_BUILD_UP, MOVE_HOLD).astype(float)
    move[g < -params.de_escalate] = MOVE_DE_ESCALATE
    move[np.isnan(g)] = np.nan
    return move


def mid_events(midb: pd.DataFrame, ccode: int, partner: int) -> pd.DataFrame:
    """Per year, the MIDs ``ccode`` entered or fought against ``partner`` (MIDB 5.0).

    A spell of ``ccode`` counts if ``partner`` has a spell in the same dispute
    on the other side (``sidea`` differs) overlapping it in years.

    Parameters
    ----------
    midb
        Output of :func:`secdilemma.data.readers.read_midb`.
    ccode
        The acting state.
    partner
        Its dyad partner.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``year`` (only years with an event): ``mid_onset`` (1 if a
        spell of ``ccode`` against ``partner`` starts that year), ``hostility``
        (highest ``hostlev`` of those starting spells, NaN if none) and
        ``ongoing_mid`` (1 if both states' opposing spells cover the year).
    """
    own = midb[midb["ccode"] == ccode]
    other = midb[midb["ccode"] == partner]
    pairs = own.merge(other, on="dispnum", suffixes=("", "_p"))
    pairs = pairs[
        (pairs["sidea"] != pairs["sidea_p"])
        & (pairs["styear"] <= pairs["endyear_p"])
        & (pairs["styear_p"] <= pairs["endyear"])
    ]
    # one row per spell of the acting state (a spell may face several partner spells)
    spells = pairs.drop_duplicates(["dispnum", "styear", "endyear", "sidea", "hostlev"])
    onset = spells.groupby("styear")["hostlev"].max().rename("hostility")
    onset.index.name = "year"
    ongoing_years = sorted(
        {
            y
            for a, b, c, d in zip(
                pairs["styear"],
                pairs["endyear"],
                pairs["styear_p"],
                pairs["endyear_p"],
                strict=True,
            )
            for y in range(max(a, c), min(b, d) + 1)
        }
    )
    out = pd.DataFrame(index=pd.Index(sorted(set(onset.index) | set(ongoing_years)), name="year"))
    out["mid_onset"] = out.index.isin(onset.index).astype(np.int64)
    out["hostility"] = onset.reindex(out.index).astype(float)
    out["ongoing_mid"] = out.index.isin(ongoing_years).astype(np.int64)
    return out


def dyadic_mid_counts(dyadic: pd.DataFrame, ccode: int, partner: int) -> pd.Series:
    """Distinct disputes per year between two states in the dyadic MID 4.02 file.

    The file lists every non-directed dispute-dyad-year in both orientations
    and a few more than once; counting distinct ``(disno, year)`` for the
    unordered pair counts each dispute once.

    Parameters
    ----------
    dyadic
        Output of :func:`secdilemma.data.readers.read_dyadic_mid`.
    ccode, partner
        The two states (order irrelevant).

    Returns
    -------
    pandas.Series
        Number of disputes, indexed by ``year`` (only years with at least one).
    """
    pair = {ccode, partner}
    rows = dyadic[dyadic["statea"].isin(pair) & dyadic["stateb"].isin(pair)]
    rows = rows[rows["statea"] != rows["stateb"]]
    distinct = rows.drop_duplicates(["disno", "year"])
    counts = distinct.groupby("year")["disno"].size().rename("mid402_disputes")
    return counts.astype(np.int64)


def code_side(
    dyad: Dyad,
    side: int,
    years: list[int],
    shares: pd.DataFrame,
    midb: pd.DataFrame,
    dyadic: pd.DataFrame,
    params: CodingParams,
) -> pd.DataFrame:
    """The panel rows of one side of a dyad: raw values, MID indicators and the move.

    Parameters
    ----------
    dyad
        The resolved dyad.
    side
        0 or 1.
    years
        Consecutive calendar years of the dyad.
    shares
        Output of :func:`world_shares`.
    midb, dyadic
        MID 5.0 participants and dyadic MID 4.02 rows.
    params
        Coding parameters.

    Returns
    -------
    pandas.DataFrame
        One row per year, columns as in :data:`secdilemma.data.build.CODEBOOK`
        (without the dyad-level ones).
    """
    rows = []
    cache: dict[tuple[int, int], tuple[pd.DataFrame, pd.Series]] = {}
    for year in years:
        abb, code = dyad.source(side, year)
        _, partner = dyad.source(1 - side, year)
        if (code, partner) not in cache:
            cache[(code, partner)] = (
                mid_events(midb, code, partner),
                dyadic_mid_counts(dyadic, code, partner),
            )
        events, counts = cache[(code, partner)]
        key = (code, year)
        rec = shares.loc[key].to_dict() if key in shares.index else {}
        ev = events.loc[year].to_dict() if year in events.index else {}
        rows.append(
            {
                "year": year,
                "source_state": abb,
                "source_ccode": code,
                "milex": rec.get("milex", np.nan),
                "milper": rec.get("milper", np.nan),
                "world_milex": rec.get("world_milex", np.nan),
                "world_milper": rec.get("world_milper", np.nan),
                "milex_share": rec.get("milex_share", np.nan),
                "milper_share": rec.get("milper_share", np.nan),
                "milex_share_growth": rec.get("milex_share_growth", np.nan),
                "milper_share_growth": rec.get("milper_share_growth", np.nan),
                "mid_onset": int(ev.get("mid_onset", 0)),
                "hostility": ev.get("hostility", np.nan),
                "ongoing_mid": int(ev.get("ongoing_mid", 0)),
                "mid402_disputes": int(counts.get(year, 0)),
            }
        )
    df = pd.DataFrame(rows)
    use_milex = df["milex_share_growth"].notna()
    growth = df["milex_share_growth"].where(use_milex, df["milper_share_growth"])
    df["growth_source"] = np.where(use_milex, "milex", np.where(growth.notna(), "milper", ""))
    move = growth_move(growth, params)
    militarized = df["hostility"].to_numpy() >= params.min_hostility
    move[militarized] = MOVE_MILITARIZED
    df["move"] = move
    return df
