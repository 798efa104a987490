"""Rivalry panels: every rivalry of a list, coded by the same rule as the bundled dyads.

:func:`build_rivalry_panel` reads a rivalry list (:mod:`secdilemma.data.rivalries`),
groups the rivalries active in the span into pairs of states and codes every
pair whose two states are system members with NMC data over its whole
post-``start`` span (both states existing), so the years after a rivalry
ended are in: that is where trust can show. Every rivalry of the list is
either in a dyad of the panel or in the *left-out* table with the reason.

:func:`write_rivalry_panel` writes, per list (``td`` below):

- ``td_panel.csv``: the long panel (one row per dyad, year and side): the
  columns of the bundled dyad panel except the per-year world totals and
  the shares (:data:`RIVALRY_PANEL_COLUMNS`), which are in ``td_world.csv``;
- ``td_dyads.csv``: one row per dyad, its states and span and the rivalry
  metadata (the dyad coords of the loaded panel);
- ``td_left_out.csv``: the rivalries not in the panel, with the reason;
- ``td_world.csv``: the world totals per year;
- ``td_codebook.csv`` and ``td_provenance.json``.

As for the dyad panel, the bytes depend only on the raw files, the options
and the package version, so a rebuild is byte for byte identical.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.build import (
    CODEBOOK,
    DEFAULT_START,
    FLOAT_FORMAT,
    PANEL_COLUMNS,
    SIPRI_CODEBOOK,
    code_dyads,
    dyad_years,
    milex_files,
    read_inputs,
    recode_milex,
    world_years,
)
from secdilemma.data.coding import CodingParams, world_shares
from secdilemma.data.readers import RawDataError
from secdilemma.data.rivalries import (
    RIVALRY_TYPES,
    RivalryList,
    left_out_pair,
    read_rivalries,
    rivalry_list,
    rivalry_pairs,
    successor_codes,
)
from secdilemma.data.states import SUCCESSIONS, parse_dyad
from secdilemma.data.world import exclusions
from secdilemma.files import write_files

_DERIVED = ("world_milex", "world_milper", "milex_share", "milper_share")
RIVALRY_PANEL_COLUMNS = tuple(c for c in PANEL_COLUMNS if c not in _DERIVED)
"""Columns of ``{list}_panel.csv``: the dyad panel's, without the world totals and
shares (per year in ``{list}_world.csv``; ``share = milex / world_milex``)."""

LEFT_OUT_COLUMNS = ("rivalry_id", "rivalry_name", "ccode1", "ccode2", "start", "end", "line")
WORLD_COLUMNS = ("year", "world_milex", "world_milper")

DYAD_CODEBOOK: tuple[tuple[str, str, str], ...] = (
    ("dyad", "-", "dyad id: COW abbreviations of side 0 and side 1 (side 0 the lower code)"),
    ("state0", "-", "COW abbreviation of side 0"),
    ("state1", "-", "COW abbreviation of side 1"),
    ("ccode0", "-", "COW code of side 0 (the lower code)"),
    ("ccode1", "-", "COW code of side 1"),
    ("first_year", "calendar year", "first year of the dyad in the panel"),
    ("last_year", "calendar year", "last year of the dyad in the panel"),
    ("rivalry_id", "-", "the source's rivalry number(s), joined by + (one per spell)"),
    ("rivalry_name", "-", "the source's rivalry name(s), joined by '; ' (empty for kgd)"),
    ("rivalry_start", "calendar year", "first year of the earliest spell"),
    ("rivalry_end", "calendar year", "last year of the latest spell (td caps at 2010)"),
    ("rivalry_spells", "-", "each spell's years, start-end, joined by +"),
    ("n_spells", "count", "number of the source's rivalries (spells) in this dyad"),
    ("listed_pairs", "-", "the COW codes as the source lists them (before successions)"),
    (
        "rivalry_type",
        "-",
        "td: type1 of the earliest spell; tss: the first flagged type of the earliest "
        "spell (positional, spatial, ideological, interventionary order); kgd: the highest "
        "level of any spell (isolated < proto < enduring)",
    ),
    *(
        (f"type_{t}", "True/False", f"whether any spell is of type {t} (td, tss)")
        for t in RIVALRY_TYPES
    ),
    ("region", "-", "td only: the region of the earliest spell, as in the source"),
)
"""Codebook rows of ``{list}_dyads.csv``: column, units, meaning."""


@dataclass(frozen=True)
class RivalryBuild:
    """A built rivalry panel and everything needed to write it.

    Parameters
    ----------
    spec
        The rivalry list.
    panel
        Long table, columns :data:`RIVALRY_PANEL_COLUMNS`.
    dyads
        One row per dyad: states, span and rivalry metadata.
    left_out
        The rivalries not in the panel, with the reason.
    world
        World totals per year used.
    provenance
        JSON-serialisable record.
    """

    spec: RivalryList
    panel: pd.DataFrame
    dyads: pd.DataFrame
    left_out: pd.DataFrame
    world: pd.DataFrame
    provenance: dict

    def file_names(self) -> dict[str, str]:
        """Names of the files of this list (see :func:`rivalry_file_names`)."""
        return rivalry_file_names(self.spec.name)


def rivalry_file_names(name: str) -> dict[str, str]:
    """File name per part of a rivalry build of list ``name``.

    Parameters
    ----------
    name
        ``td``, ``tss`` or ``kgd``.

    Returns
    -------
    dict
        ``panel``, ``dyads``, ``left_out``, ``world``, ``codebook``,
        ``provenance`` to file names (``td_panel.csv`` ...).
    """
    parts = ("panel", "dyads", "left_out", "world", "codebook")
    return {
        **{p: f"{name}_{p}.csv" for p in parts},
        "provenance": f"{name}_provenance.json",
    }


def build_rivalry_panel(
    raw_dir: Path | str,
    rivalries: str = "td",
    start: int = DEFAULT_START,
    end: int | None = None,
    params: CodingParams | None = None,
    nmc_version: str = "6.0",
    successions: dict[str, tuple[tuple[str, int, int], ...]] | None = None,
    *,
    verify: bool = True,
    milex: str = "nmc",
) -> RivalryBuild:
    """Code every rivalry of a list into a panel (DESIGN §6 coding).

    Parameters
    ----------
    raw_dir
        Directory laid out like ``../shared/data/raw`` (with ``rivalries/``).
    rivalries
        ``td`` (Thompson-Dreyer), ``tss`` (Thompson-Sakuwa-Suhas) or ``kgd``
        (Klein-Goertz-Diehl).
    start
        First year (default 1946); rivalries ending before it are left out.
    end
        Last year; default the last year of both NMC and MID data (2014).
    params
        Coding thresholds; default :class:`~secdilemma.data.coding.CodingParams`.
    nmc_version
        ``"6.0"`` or ``"7.0"``.
    successions
        Stand-in spells; default :data:`secdilemma.data.states.SUCCESSIONS`.
    verify
        Refuse raw files whose sha256 is not the registered one.
    milex
        ``"nmc"`` (default) or ``"sipri"``: the source of the spending moves
        (:func:`secdilemma.data.build.build_panel`).

    Returns
    -------
    RivalryBuild
        Panel, dyad metadata, left-out rivalries, world totals, provenance.

    Raises
    ------
    RawDataError
        On an unknown list name (checked first), a span outside the data, or
        any bad raw file. A rivalry that cannot be built is not an error: it
        is in ``left_out`` with its reason.
    """
    spec = rivalry_list(rivalries)
    params = CodingParams() if params is None else params
    successions = SUCCESSIONS if successions is None else successions
    extra = {"rivalries": (spec.file,), **milex_files(milex)}
    inputs = read_inputs(raw_dir, nmc_version, verify=verify, extra=extra)
    start, end = inputs.span(start, end)
    spells = read_rivalries(inputs.paths["rivalries"], spec.name)
    successors = successor_codes(inputs.table, successions)
    pairs, left_out = rivalry_pairs(spells, start, end, successors)

    built = []
    for pair in pairs:
        lo, hi = pair.ccodes
        if lo == hi:
            left_out += left_out_pair(
                pair, f"both states are {lo} once stand-ins are mapped to their successor"
            )
            continue
        try:
            dyad = parse_dyad(f"{lo}-{hi}", inputs.table, successions)
        except RawDataError:
            unknown = [c for c in (lo, hi) if c not in set(inputs.table.states["ccode"])]
            left_out += left_out_pair(
                pair, f"state code(s) {unknown} not in the COW state list (states2016)"
            )
            continue
        try:
            years = dyad_years(dyad, inputs.table, inputs.nmc, start, end)
        except RawDataError:
            left_out += left_out_pair(
                pair,
                f"no year in {start}-{end} in which both {dyad.states[0]} and "
                f"{dyad.states[1]} are system members with NMC data",
            )
            continue
        built.append((dyad, years, pair))
    if not built:
        raise RawDataError(
            f"{inputs.paths['rivalries']}: no rivalry of {spec.name} can be built in "
            f"{start}-{end}; expected at least one"
        )
    panel = code_dyads(inputs, [(d, y) for d, y, _ in built], params)
    panel = recode_milex(inputs, panel, milex, params)
    observed = panel.groupby("dyad", sort=False)["move"].count()
    keep = []
    for dyad, years, pair in built:
        if observed[dyad.id] == 0:
            left_out += left_out_pair(
                pair, f"no coded move in {years[0]}-{years[-1]}: every source value missing"
            )
        else:
            keep.append((dyad, years, pair.metadata(spec)))
    panel = panel[panel["dyad"].isin([d.id for d, _, _ in keep])].reset_index(drop=True)
    panel = panel[[c for c in (*RIVALRY_PANEL_COLUMNS, "sipri_growth") if c in panel.columns]]

    dyads = pd.DataFrame(
        [
            {
                "dyad": dyad.id,
                "state0": dyad.states[0],
                "state1": dyad.states[1],
                "ccode0": dyad.ccodes[0],
                "ccode1": dyad.ccodes[1],
                "first_year": years[0],
                "last_year": years[-1],
                **meta,
            }
            for dyad, years, meta in keep
        ]
    )
    dyads = dyads[[c for c, _, _ in DYAD_CODEBOOK if c in dyads.columns]]
    left = pd.DataFrame(left_out, columns=[*LEFT_OUT_COLUMNS, "reason"])
    line = dict(zip(spells["rivalry_id"], spells["line"], strict=True))
    left["line"] = left["rivalry_id"].map(line).astype(np.int64)
    left = left.sort_values("line", kind="stable").reset_index(drop=True)

    used = world_years([(d, y) for d, y, _ in keep])
    shares = world_shares(inputs.nmc, params).reset_index()
    world = (
        shares[shares["year"].isin(used)]
        .groupby("year", as_index=False)[["world_milex", "world_milper"]]
        .first()
    )

    reasons = Counter(_reason_kind(r) for r in left["reason"])
    provenance = {
        "package": "secdilemma",
        "package_version": version("secdilemma"),
        "rivalry_list": {"name": spec.name, "title": spec.title, "citation": spec.citation},
        "raw_files": inputs.provenance_files({"rivalries": spec.citation}),
        "raw_verified": inputs.verified,
        "nmc_version": nmc_version,
        "milex_source": milex,
        "coding": params.as_dict(),
        "successions": {k: [list(s) for s in v] for k, v in successions.items()},
        "successor_codes": {str(k): v for k, v in sorted(successors.items())},
        "start": start,
        "end": end,
        "sides": "side 0 is the lower COW code (after stand-ins are mapped to successors)",
        "world_total": "as the dyad panel: complete system checked in "
        f"{used[0]}-{used[-1]}, each state counted once (world_duplicates)",
        "world_duplicates": exclusions(inputs.nmc),
        "counts": {
            "rivalries_listed": len(spells),
            "rivalries_in_panel": int(dyads["n_spells"].sum()),
            "rivalries_left_out": len(left),
            "dyads": len(dyads),
            "left_out_by_reason": dict(sorted(reasons.items())),
        },
    }
    return RivalryBuild(
        spec=spec, panel=panel, dyads=dyads, left_out=left, world=world, provenance=provenance
    )


def _reason_kind(reason: str) -> str:
    """The reason of a left-out rivalry without its particulars (for tallies)."""
    for kind in (
        "rivalry ended in",
        "rivalry began in",
        "no year in",
        "no coded move",
        "not in the COW state list",
        "both states are",
    ):
        if kind in reason:
            return {
                "rivalry ended in": "ended before the first year",
                "rivalry began in": "began after the last year",
                "no year in": "no year with both states members with NMC data",
                "no coded move": "no coded move",
                "not in the COW state list": "state not in the COW state list",
                "both states are": "one state after successions",
            }[kind]
    return reason


def region_summary(panel: pd.DataFrame, dyads: pd.DataFrame) -> pd.DataFrame:
    """Per region: dyads, rivalries, dyad-years and move counts (for data/README.md).

    Parameters
    ----------
    panel
        A rivalry long panel (``td_panel.csv``).
    dyads
        Its dyad metadata (``td_dyads.csv``), with ``region``.

    Returns
    -------
    pandas.DataFrame
        One row per region (sorted) and an ``all`` row: ``dyads``,
        ``rivalries`` (spells), ``dyad_years``, the counts of moves over both
        sides (``de-escalate``, ``hold``, ``build-up``, ``militarized``,
        ``missing``) and ``rivalry_type`` counts as ``types`` text.
    """
    region = dyads.set_index("dyad")["region"]
    df = panel.assign(region=panel["dyad"].map(region))
    labels = ("de-escalate", "hold", "build-up", "militarized")
    rows = []
    for name in [*sorted(region.unique()), "all"]:
        sub = df if name == "all" else df[df["region"] == name]
        meta = dyads if name == "all" else dyads[dyads["region"] == name]
        types = meta["rivalry_type"].value_counts()
        row = {
            "region": name,
            "dyads": len(meta),
            "rivalries": int(meta["n_spells"].sum()),
            "dyad_years": int(sub[sub["side"] == 0].shape[0]),
        }
        for k, label in enumerate(labels):
            row[label] = int((sub["move"] == k).sum())
        row["missing"] = int(sub["move"].isna().sum())
        row["types"] = ", ".join(f"{t} {types[t]}" for t in sorted(types.index))
        rows.append(row)
    return pd.DataFrame(rows)


def render_rivalries(build: RivalryBuild) -> dict[str, bytes]:
    """The bytes of every file of a rivalry build.

    Parameters
    ----------
    build
        Output of :func:`build_rivalry_panel`.

    Returns
    -------
    dict
        File name to content.
    """
    names = build.file_names()

    def csv(df: pd.DataFrame) -> bytes:
        return df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode()

    panel_units = {row[0]: row for row in (*CODEBOOK, *SIPRI_CODEBOOK)}
    rows = [
        (names["panel"], col, panel_units[col][1], panel_units[col][2], panel_units[col][3])
        for col in build.panel.columns
    ]
    list_source = f"{build.spec.title} ({build.spec.name})"
    rows += [
        (names["dyads"], col, units, meaning, list_source if col.startswith("rival") else "package")
        for col, units, meaning in DYAD_CODEBOOK
        if col in build.dyads.columns
    ]
    rows += [
        (names["left_out"], col, "-", f"as in the source list ({col})", list_source)
        for col in LEFT_OUT_COLUMNS
        if col != "line"
    ]
    rows += [
        (names["left_out"], "line", "-", "line of the rivalry in the source file", "package"),
        (names["left_out"], "reason", "-", "why the rivalry is not in the panel", "package"),
        (names["world"], "year", "calendar year", "year", "package"),
        (
            names["world"],
            "world_milex",
            panel_units["world_milex"][1],
            panel_units["world_milex"][2],
            panel_units["world_milex"][3],
        ),
        (
            names["world"],
            "world_milper",
            panel_units["world_milper"][1],
            panel_units["world_milper"][2],
            panel_units["world_milper"][3],
        ),
    ]
    codebook = pd.DataFrame(rows, columns=["file", "column", "units", "meaning", "source"])
    files = {
        names["panel"]: csv(build.panel),
        names["dyads"]: csv(build.dyads),
        names["left_out"]: csv(build.left_out),
        names["world"]: csv(build.world),
        names["codebook"]: csv(codebook),
    }
    provenance = dict(build.provenance)
    provenance["outputs"] = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    files[names["provenance"]] = (json.dumps(provenance, indent=2, sort_keys=True) + "\n").encode()
    return files


def write_rivalry_panel(build: RivalryBuild, out_dirs: list[Path] | tuple[Path, ...]) -> list[Path]:
    """Write every file of a rivalry build into each directory (atomically).

    Parameters
    ----------
    build
        Output of :func:`build_rivalry_panel`.
    out_dirs
        Target directories (created if absent).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    return write_files(render_rivalries(build), out_dirs)
