"""Build the historical dyad panel from raw COW files and write it reproducibly.

:func:`build_panel` reads the raw files from a directory laid out as
``../shared/data/raw`` (see :data:`RAW_FILES`), validates everything, codes the
moves (:mod:`secdilemma.data.coding`) and returns the panel as a long table
(one row per dyad, year and side). :func:`write_panel` writes the panel CSV,
its codebook and a provenance file; the bytes depend only on the raw files,
the coding parameters and the package version (no timestamps, no absolute
paths), so a rebuild is byte-for-byte identical.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from secdilemma.data.coding import CodingParams, code_side, world_shares
from secdilemma.data.rawfiles import (  # noqa: F401  (NMC_FILES, RAW_FILES, sha256: public here too)
    NMC_FILES,
    RAW_FILES,
    locate_raw,
    sha256,
    verify_raw,
)
from secdilemma.data.readers import (
    RawDataError,
    read_dyadic_mid,
    read_midb,
    read_nmc,
    read_states,
)
from secdilemma.data.sipri import (
    SIPRI_CITATION,
    SIPRI_FILE,
    apply_sipri,
    read_sipri,
    sipri_growth,
)
from secdilemma.data.states import SUCCESSIONS, Dyad, StateTable, parse_dyad
from secdilemma.data.world import check_system, exclusions
from secdilemma.files import OutputPathError, check_output_path, write_files

DEFAULT_DYADS: tuple[str, ...] = (
    "USA-RUS",
    "IND-PAK",
    "GRC-TUR",
    "ARG-BRA",
    "EGY-ISR",
    "FRN-GMY",
    "IND-SRI",
    "PRK-ROK",
    "CHN-TAW",
    "CHN-USA",
    "IRN-IRQ",
    "ISR-SYR",
)
"""The bundled dyads (side 0 first)."""

DEFAULT_START = 1946
"""First year of the bundled panel."""

PANEL_FILE, CODEBOOK_FILE, PROVENANCE_FILE = "dyads.csv", "codebook.csv", "provenance.json"

_NMC = "COW National Material Capabilities (NMC)"
_MIDB = "COW MID 5.0 participants (MIDB), via this package's coding rule"
CODEBOOK: tuple[tuple[str, str, str, str], ...] = (
    ("dyad", "-", "dyad id: COW abbreviations of side 0 and side 1", "package"),
    ("year", "calendar year", "year of observation", "package"),
    ("side", "-", "position of the state in its dyad (0 or 1)", "package"),
    ("state", "-", "COW abbreviation of the side's state", "COW state list v2016"),
    ("ccode", "-", "COW code of the side's state", "COW state list v2016"),
    (
        "source_state",
        "-",
        "COW abbreviation whose data fill this year (differs from state where a "
        "successor stands in, e.g. GFR for GMY 1955-1990)",
        "package (SUCCESSIONS)",
    ),
    ("source_ccode", "-", "COW code whose data fill this year", "package (SUCCESSIONS)"),
    (
        "move",
        "0..3",
        "coded military move: 0 de-escalate, 1 hold, 2 build-up, 3 militarized; empty = missing",
        "package coding rule (data/README.md)",
    ),
    (
        "milex",
        "thousands of current GBP (to 1913) / current USD (from 1914)",
        "military expenditure as in the source; empty where the source has -9 or blank",
        _NMC,
    ),
    (
        "milper",
        "thousands of personnel",
        "military personnel as in the source; empty where missing",
        _NMC,
    ),
    (
        "world_milex",
        "as milex",
        "sum of milex over all NMC states with a usable (non-missing, non-zero) milex that year",
        _NMC,
    ),
    ("world_milper", "thousands", "sum of usable milper over all NMC states that year", _NMC),
    ("milex_share", "fraction", "milex / world_milex (empty if milex missing or 0)", _NMC),
    ("milper_share", "fraction", "milper / world_milper (empty if milper missing or 0)", _NMC),
    (
        "milex_share_growth",
        "fraction",
        "milex_share[t] / milex_share[t-1] - 1 for the same source state (empty if "
        "either year unusable)",
        _NMC,
    ),
    (
        "milper_share_growth",
        "fraction",
        "milper_share[t] / milper_share[t-1] - 1 for the same source state",
        _NMC,
    ),
    (
        "growth_source",
        "-",
        "which growth coded a non-militarized move: milex, milper (milex growth "
        "undefined) or empty (neither)",
        "package",
    ),
    (
        "mid_onset",
        "0/1",
        "1 if a MID participation spell of the state against its partner (partner on "
        "the other side, overlapping spell) starts this year",
        _MIDB,
    ),
    (
        "hostility",
        "1..5",
        "highest hostility level (hostlev) of the state in the MIDs against its partner "
        "it entered this year; empty if none. 1 none, 2 threat, 3 display, 4 use of "
        "force, 5 war",
        _MIDB,
    ),
    (
        "ongoing_mid",
        "0/1",
        "1 if the two states take part in a MID on opposite sides this year "
        "(both spells cover the year)",
        _MIDB,
    ),
    (
        "mid402_disputes",
        "count",
        "distinct disputes of the pair this year in dyadic MID 4.02 (cross-check; "
        "mirrored and duplicated rows counted once)",
        "COW dyadic MID 4.02 (Maoz et al. 2019)",
    ),
)
"""Codebook rows: column, units, meaning, source."""

PANEL_COLUMNS = tuple(row[0] for row in CODEBOOK)

SIPRI_CODEBOOK: tuple[tuple[str, str, str, str], ...] = (
    (
        "sipri_growth",
        "fraction",
        "real growth of the state's SIPRI constant-price military expenditure over the "
        "previous year (same SIPRI series); codes the move under --milex sipri. Derived "
        "from the SIPRI extract, which may not be redistributed: never committed",
        "SIPRI Military Expenditure Database 2024, via this package",
    ),
)
"""Codebook row of the extra column of a panel coded from SIPRI (``--milex sipri``)."""

MILEX_SOURCES = ("nmc", "sipri")
"""Sources of the spending moves: NMC share-of-world growth (default) or SIPRI real growth."""
INT_COLUMNS = (
    "year",
    "side",
    "ccode",
    "source_ccode",
    "mid_onset",
    "ongoing_mid",
    "mid402_disputes",
)
FLOAT_FORMAT = "%.12g"

CITATIONS = {
    "nmc": "Singer, Bremer & Stuckey (1972), in Russett (ed.) Peace, War, and Numbers, "
    "19-48; Singer (1987), International Interactions 14: 115-32. NMC v{v}, "
    "https://correlatesofwar.org/data-sets/national-material-capabilities/",
    "midb": "Palmer et al. (2022), The MID5 Dataset, 2011-2014, Conflict Management and "
    "Peace Science 39(4): 470-482. MID v5.0, https://correlatesofwar.org/data-sets/mids/",
    "dyadic": "Maoz, Johnson, Kaplan, Ogunkoya & Shreve (2019), Journal of Conflict "
    "Resolution 63(3): 811-835. Dyadic MID v4.02, https://correlatesofwar.org/data-sets/mids/",
    "states": "Correlates of War Project (2017), State System Membership List, v2016, "
    "https://correlatesofwar.org/data-sets/state-system-membership/",
    "sipri": SIPRI_CITATION,
}


@dataclass(frozen=True)
class PanelBuild:
    """A built panel and everything needed to write it.

    Parameters
    ----------
    panel
        Long table, one row per dyad, year and side, columns :data:`PANEL_COLUMNS`.
    provenance
        JSON-serialisable record of inputs, parameters and version.
    """

    panel: pd.DataFrame
    provenance: dict


def check_distinct(resolved: list[Dyad], names: tuple[str, ...] | list[str]) -> None:
    """Refuse a pair of states requested twice, in either orientation.

    ``USA-RUS,RUS-USA`` (or ``USA-RUS,2-365``) would build the same data twice
    and the models would count it twice, so it is an error, not a silent
    de-duplication.

    Parameters
    ----------
    resolved
        The resolved dyads, in request order.
    names
        The names as requested (for the message).

    Raises
    ------
    RawDataError
        Naming both requests and the pair.
    """
    seen: dict[frozenset[int], str] = {}
    for dyad, name in zip(resolved, names, strict=True):
        key = frozenset(dyad.ccodes)
        if key in seen:
            raise RawDataError(
                f"dyads {seen[key]!r} and {name!r} name the same pair of states "
                f"({dyad.states[0]}, {dyad.states[1]}); expected each pair once"
            )
        seen[key] = name


def dyad_years(dyad: Dyad, table: StateTable, nmc: pd.DataFrame, start: int, end: int) -> list[int]:
    """Consecutive years of a dyad: first to last year both sides exist and have NMC rows.

    Parameters
    ----------
    dyad
        The resolved dyad.
    table
        COW state list (membership years).
    nmc
        NMC rows (which state-years exist in the data).
    start, end
        Bounds, inclusive.

    Returns
    -------
    list of int
        The dyad's years.

    Raises
    ------
    RawDataError
        If no year qualifies.
    """
    in_nmc = set(zip(nmc["ccode"].tolist(), nmc["year"].tolist(), strict=True))
    members: dict[int, set[int]] = {}
    ok = []
    for year in range(start, end + 1):
        codes = [dyad.source(side, year)[1] for side in (0, 1)]
        for code in codes:
            if code not in members:
                members[code] = table.member_years(code)
        if all(year in members[c] and (c, year) in in_nmc for c in codes):
            ok.append(year)
    if not ok:
        raise RawDataError(
            f"dyad {dyad.id}: no overlapping years in {start}-{end} in which both "
            f"{dyad.states[0]} and {dyad.states[1]} are system members with NMC data"
        )
    return list(range(ok[0], ok[-1] + 1))


@dataclass(frozen=True)
class RawInputs:
    """The raw files of a build, read, validated and hashed.

    Parameters
    ----------
    raw_dir
        The raw directory.
    paths
        Key (``nmc``, ``midb``, ``dyadic``, ``states``, ...) to file.
    files
        Key to the :func:`~secdilemma.data.rawfiles.verify_raw` record.
    nmc, midb, dyadic
        The parsed NMC, MIDB and dyadic MID tables.
    table
        The COW state list.
    nmc_version
        ``"6.0"`` or ``"7.0"``.
    verified
        Whether checksums were enforced.
    """

    raw_dir: Path
    paths: dict[str, Path]
    files: dict[str, dict]
    nmc: pd.DataFrame
    midb: pd.DataFrame
    dyadic: pd.DataFrame
    table: StateTable
    nmc_version: str
    verified: bool

    def span(self, start: int, end: int | None) -> tuple[int, int]:
        """Check ``start``/``end`` against the data and fill in the default end.

        Parameters
        ----------
        start
            First year.
        end
            Last year, or ``None`` for the last year of both NMC and MIDB.

        Returns
        -------
        tuple of (int, int)
            ``(start, end)``.

        Raises
        ------
        RawDataError
            If the span lies outside the data: ``end`` after the MID data
            or before the NMC data, or ``start`` after ``end``.
        """
        last_mid = int(self.midb["endyear"].max())
        last = min(int(self.nmc["year"].max()), last_mid)
        end = last if end is None else int(end)
        if end > last_mid:
            raise RawDataError(
                f"--end {end}: the MID data ({self.paths['midb']}) end in {last_mid}; later "
                "moves cannot be coded militarized; expected end <= " + str(last_mid)
            )
        first_nmc = int(self.nmc["year"].min())
        if end < first_nmc:
            raise RawDataError(
                f"--end {end}: the NMC data ({self.paths['nmc']}) start in {first_nmc}; "
                f"expected end >= {first_nmc}"
            )
        if start > end:
            raise RawDataError(
                f"--start {start} is after --end {end} (the default end is the last year of "
                "both the NMC and the MID data); expected start <= end"
            )
        return int(start), end

    def provenance_files(self, citations: dict[str, str] | None = None) -> list[dict]:
        """The raw-file entries of a provenance record (with citations).

        Parameters
        ----------
        citations
            Citations of the extra files (by key), beside :data:`CITATIONS`.

        Returns
        -------
        list of dict
            One entry per file: path, sha256, bytes, verified, citation.
        """
        known = {**CITATIONS, **(citations or {})}
        return [
            {**self.files[key], "citation": known[key].format(v=self.nmc_version)}
            for key in self.paths
        ]


def read_inputs(
    raw_dir: Path | str,
    nmc_version: str = "6.0",
    *,
    verify: bool = True,
    extra: dict[str, tuple[str, ...]] | None = None,
) -> RawInputs:
    """Locate, verify and read the raw COW files of a build.

    Parameters
    ----------
    raw_dir
        Directory laid out like ``../shared/data/raw``.
    nmc_version
        ``"6.0"`` or ``"7.0"``.
    verify
        Refuse files whose sha256 is not the registered one (see
        :func:`~secdilemma.data.rawfiles.verify_raw`); checked before any
        file is parsed.
    extra
        Further files to locate and verify (read by the caller).

    Returns
    -------
    RawInputs
        The parsed tables and the file records.

    Raises
    ------
    RawDataError
        On a missing, unverified or malformed file.
    """
    paths = locate_raw(raw_dir, nmc_version, extra)
    files = verify_raw(raw_dir, paths, verify=verify)
    return RawInputs(
        raw_dir=Path(raw_dir),
        paths=paths,
        files=files,
        nmc=read_nmc(paths["nmc"]),
        midb=read_midb(paths["midb"]),
        dyadic=read_dyadic_mid(paths["dyadic"]),
        table=StateTable(read_states(paths["states"]), source=str(paths["states"])),
        nmc_version=nmc_version,
        verified=verify,
    )


def milex_files(milex: str) -> dict[str, tuple[str, ...]]:
    """The extra raw files a spending source needs.

    Parameters
    ----------
    milex
        ``"nmc"`` or ``"sipri"``.

    Returns
    -------
    dict
        ``{}`` for NMC, ``{"sipri": (SIPRI_FILE,)}`` for SIPRI.

    Raises
    ------
    RawDataError
        If ``milex`` is not one of :data:`MILEX_SOURCES`.
    """
    if milex not in MILEX_SOURCES:
        raise RawDataError(
            f"unknown --milex {milex!r}; expected one of {list(MILEX_SOURCES)} (nmc: share of "
            "world NMC expenditure, sipri: SIPRI constant-price real growth)"
        )
    return {"sipri": (SIPRI_FILE,)} if milex == "sipri" else {}


def recode_milex(
    inputs: RawInputs, panel: pd.DataFrame, milex: str, params: CodingParams
) -> pd.DataFrame:
    """The panel with its spending moves from ``milex`` (NMC: unchanged).

    Parameters
    ----------
    inputs
        The raw inputs (with the SIPRI file for ``"sipri"``).
    panel
        A long panel coded from NMC.
    milex
        ``"nmc"`` or ``"sipri"``.
    params
        Thresholds.

    Returns
    -------
    pandas.DataFrame
        ``panel`` itself, or the SIPRI-coded copy with ``sipri_growth``
        (:func:`secdilemma.data.sipri.apply_sipri`).
    """
    if milex == "nmc":
        return panel
    members = {
        (int(code), year)
        for code in panel["source_ccode"].unique()
        for year in inputs.table.member_years(int(code))
    }
    growth = sipri_growth(read_sipri(inputs.paths["sipri"]))
    return apply_sipri(panel, growth, params, members)


def world_years(spans: list[tuple[Dyad, list[int]]]) -> list[int]:
    """The years whose world totals a panel uses: each dyad's years and the year before.

    Parameters
    ----------
    spans
        Each dyad with its years.

    Returns
    -------
    list of int
        Sorted years.
    """
    return sorted({y for _, years in spans for y in range(years[0] - 1, years[-1] + 1)})


def code_dyads(
    inputs: RawInputs,
    spans: list[tuple[Dyad, list[int]]],
    params: CodingParams,
) -> pd.DataFrame:
    """Code every side of every dyad over its years into the long panel table.

    Parameters
    ----------
    inputs
        The raw tables.
    spans
        Each dyad with its consecutive years (:func:`dyad_years`), in panel order.
    params
        Coding thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per dyad, year and side (dyads in the given order), columns
        :data:`PANEL_COLUMNS`.

    Raises
    ------
    RawDataError
        If, in a year whose world total the panel uses (a panel year or the
        year before it), a system member has no NMC row or an NMC row is not a
        system member (:func:`secdilemma.data.world.check_system`).
    """
    check_system(inputs.nmc, inputs.table, world_years(spans), source=str(inputs.paths["nmc"]))
    shares = world_shares(inputs.nmc, params)
    parts = []
    for dyad, years in spans:
        for side in (0, 1):
            part = code_side(dyad, side, years, shares, inputs.midb, inputs.dyadic, params)
            part.insert(0, "dyad", dyad.id)
            part.insert(2, "side", side)
            part.insert(3, "state", dyad.states[side])
            part.insert(4, "ccode", dyad.ccodes[side])
            parts.append(part)
    order = {dyad.id: k for k, (dyad, _) in enumerate(spans)}
    panel = pd.concat(parts, ignore_index=True)
    panel = panel.sort_values(
        ["dyad", "year", "side"], key=lambda s: s.map(order) if s.name == "dyad" else s
    ).reset_index(drop=True)
    panel = panel[list(PANEL_COLUMNS)]
    for col in INT_COLUMNS:
        panel[col] = panel[col].astype(np.int64)
    return panel


def build_panel(
    raw_dir: Path | str,
    dyads: tuple[str, ...] | list[str] = DEFAULT_DYADS,
    start: int = DEFAULT_START,
    end: int | None = None,
    params: CodingParams | None = None,
    nmc_version: str = "6.0",
    successions: dict[str, tuple[tuple[str, int, int], ...]] | None = None,
    *,
    verify: bool = True,
    milex: str = "nmc",
) -> PanelBuild:
    """Read, validate and code the raw COW files into the dyad panel.

    Parameters
    ----------
    raw_dir
        Directory laid out like ``../shared/data/raw``.
    dyads
        Dyad names, ``"USA-RUS"`` or ``"2-365"``.
    start
        First year.
    end
        Last year; default the last year covered by both NMC and MIDB.
    params
        Coding thresholds; default :class:`CodingParams`.
    nmc_version
        ``"6.0"`` (COW's CSV) or ``"7.0"`` (peacesciencer's conversion).
    successions
        Stand-in spells; default :data:`secdilemma.data.states.SUCCESSIONS`.
    verify
        Refuse raw files whose sha256 differs from the registered one
        (default). ``False`` (``--allow-unverified-raw``) builds from any
        bytes; the provenance records ``raw_verified: false`` and each file's
        actual hash.
    milex
        Source of the spending moves: ``"nmc"`` (share of world NMC
        expenditure, DESIGN §6) or ``"sipri"`` (SIPRI constant-price real
        growth, :mod:`secdilemma.data.sipri`; adds ``sipri_growth``).

    Returns
    -------
    PanelBuild
        The panel and its provenance.

    Raises
    ------
    RawDataError
        On any bad input: missing or unverified files, missing columns, bad
        values, unknown states, a pair of states requested twice (in either
        orientation, an error rather than a de-duplication), a dyad without
        overlapping years, or years outside the MID data.
    """
    params = CodingParams() if params is None else params
    successions = SUCCESSIONS if successions is None else successions
    if not dyads:
        raise RawDataError("no dyads requested; expected at least one, e.g. 'USA-RUS'")
    extra = milex_files(milex)
    inputs = read_inputs(raw_dir, nmc_version, verify=verify, extra=extra)
    start, end = inputs.span(start, end)
    resolved = [parse_dyad(name, inputs.table, successions) for name in dyads]
    check_distinct(resolved, dyads)
    spans = [(d, dyad_years(d, inputs.table, inputs.nmc, start, end)) for d in resolved]
    panel = recode_milex(inputs, code_dyads(inputs, spans, params), milex, params)
    dyad_meta = [
        {
            "id": dyad.id,
            "states": list(dyad.states),
            "ccodes": list(dyad.ccodes),
            "first_year": years[0],
            "last_year": years[-1],
        }
        for dyad, years in spans
    ]
    used = world_years(spans)
    provenance = {
        "package": "secdilemma",
        "package_version": version("secdilemma"),
        "raw_files": inputs.provenance_files(),
        "raw_verified": inputs.verified,
        "nmc_version": nmc_version,
        "milex_source": milex,
        "coding": params.as_dict(),
        "successions": {k: [list(s) for s in v] for k, v in successions.items()},
        "start": start,
        "end": end,
        "world_total": "sum of the usable values (non-missing, non-zero) of all states in "
        "the NMC file that year; the NMC rows of every year used "
        f"({used[0]}-{used[-1]}) checked to be exactly the "
        "system members of the state list; each state counted once (world_duplicates)",
        "world_duplicates": exclusions(inputs.nmc),
        "dyads": dyad_meta,
    }
    return PanelBuild(panel=panel, provenance=provenance)


def render(build: PanelBuild) -> dict[str, bytes]:
    """The bytes of the panel CSV, the codebook and the provenance file.

    Parameters
    ----------
    build
        Output of :func:`build_panel`.

    Returns
    -------
    dict
        File name to content.
    """
    panel_csv = build.panel.to_csv(
        index=False, float_format=FLOAT_FORMAT, lineterminator="\n"
    ).encode()
    rows = [row for row in (*CODEBOOK, *SIPRI_CODEBOOK) if row[0] in build.panel.columns]
    codebook = pd.DataFrame(rows, columns=["column", "units", "meaning", "source"])
    codebook_csv = codebook.to_csv(index=False, lineterminator="\n").encode()
    provenance = dict(build.provenance)
    provenance["outputs"] = {
        PANEL_FILE: hashlib.sha256(panel_csv).hexdigest(),
        CODEBOOK_FILE: hashlib.sha256(codebook_csv).hexdigest(),
    }
    prov_json = (json.dumps(provenance, indent=2, sort_keys=True) + "\n").encode()
    return {PANEL_FILE: panel_csv, CODEBOOK_FILE: codebook_csv, PROVENANCE_FILE: prov_json}


def check_out_dirs(
    out_dirs: list[Path] | tuple[Path, ...], names: tuple[str, ...], option: str = "--out"
) -> list[Path]:
    """Check, before any work, that every output file can be written.

    Parameters
    ----------
    out_dirs
        Target directories (may not exist yet).
    names
        File names to be written into each.
    option
        The option naming the directory, for the message.

    Returns
    -------
    list of pathlib.Path
        The directories.

    Raises
    ------
    secdilemma.files.OutputPathError
        If a directory is an existing file, lies under a file, or cannot be
        written, or a target file is a directory (the message names it).
    """
    dirs = [Path(d) for d in out_dirs]
    for out in dirs:
        if out.exists() and not out.is_dir():
            raise OutputPathError(f"{option} {out}: is a file; expected a directory")
        for name in names:
            check_output_path(out / name, option=option)
    return dirs


def write_panel(build: PanelBuild, out_dirs: list[Path] | tuple[Path, ...]) -> list[Path]:
    """Write the panel, codebook and provenance into each directory.

    All content is rendered first; each file is written to a temporary file in
    its directory and moved into place (:func:`secdilemma.files.write_bytes`), so an
    error or an interrupt leaves no partial file and the previous one intact.

    Parameters
    ----------
    build
        Output of :func:`build_panel`.
    out_dirs
        Target directories (created if absent).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    return write_files(render(build), out_dirs)
