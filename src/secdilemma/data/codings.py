"""Named codings of the moves, for the robustness of the findings to the coding.

A *coding* is a source of the spending moves and a growth threshold
(``build-up`` above ``+t``, ``de-escalate`` below ``-t``; ``militarized`` from
the MIDs as always, DESIGN §6):

- ``nmc-2.5``, ``nmc-5`` (the default coding), ``nmc-10``: growth of the
  share of world NMC expenditure (milper where milex is missing);
- ``sipri-2.5``, ``sipri-5``, ``sipri-10``: real growth of SIPRI
  constant-price expenditure (:mod:`secdilemma.data.sipri`).

:func:`coded_panel` returns a bundled panel under any of them. The NMC codings
are derived from the bundled panel's own columns (its growth and hostility
columns), so they need no raw data; they equal a fresh build with those
thresholds (a test checks it). The SIPRI codings come from ``sipri_moves.csv``,
moves derived from the SIPRI extract and shipped with the package (the
extract's terms allow derived codings, not its values), or are recomputed
from the raw files with ``raw_dir``. A SIPRI-coded panel keeps only the dyads
whose two sides both have a SIPRI constant-price series in the span; the
others are named in ``attrs["sipri_left_out"]``.

:func:`agreement_table` compares the SIPRI and the NMC coding per dyad (the
share of identical moves), and :func:`agreement_markdown` renders it;
``secdilemma data codings`` writes both (``coding_agreement.csv`` and
``coding_agreement.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.data.build import DEFAULT_DYADS, FLOAT_FORMAT, build_panel
from secdilemma.data.coding import MOVE_MILITARIZED, CodingParams, growth_move
from secdilemma.data.load import (
    bundled_panel_path,
    dyads_path,
    is_rivalry_panel,
    panel_to_dataset,
    read_dyad_coords,
    read_panel_csv,
)
from secdilemma.data.readers import RawDataError
from secdilemma.data.rivalry_panel import build_rivalry_panel
from secdilemma.panel import PanelError

THRESHOLDS: tuple[float, ...] = (0.025, 0.05, 0.10)
"""Growth thresholds of the named codings (2.5, 5 and 10 %)."""

SOURCES: tuple[str, ...] = ("nmc", "sipri")
"""Sources of the spending moves."""

SIPRI_MOVES_FILE = "sipri_moves.csv"
"""Cached SIPRI-coded moves of both bundled panels (moves only, no SIPRI values)."""

AGREEMENT_FILES = ("coding_agreement.csv", "coding_agreement.md")

CODINGS_COMMAND = "secdilemma data codings --raw ../shared/data/raw --out data/processed --bundle"
"""The command that writes the committed SIPRI moves and agreement tables."""


def _pct(threshold: float) -> str:
    """``0.025`` -> ``"2.5"``, ``0.05`` -> ``"5"``."""
    return f"{threshold * 100:g}"


@dataclass(frozen=True)
class Coding:
    """A source of the spending moves and its growth threshold.

    Parameters
    ----------
    source
        ``"nmc"`` or ``"sipri"``.
    threshold
        ``build-up`` above ``+threshold``, ``de-escalate`` below ``-threshold``.
    """

    source: str
    threshold: float

    @property
    def name(self) -> str:
        """``"nmc-5"``, ``"sipri-2.5"``, ..."""
        return f"{self.source}-{_pct(self.threshold)}"

    @property
    def params(self) -> CodingParams:
        """The :class:`CodingParams` of this coding (other parameters at default)."""
        return CodingParams(build_up=self.threshold, de_escalate=self.threshold)


CODINGS: tuple[Coding, ...] = tuple(Coding(s, t) for s in SOURCES for t in THRESHOLDS)
"""The six named codings; ``nmc-5`` is the bundled panels' own."""


def coding(name: str | Coding) -> Coding:
    """The named coding.

    Parameters
    ----------
    name
        ``"nmc-5"``, ``"sipri-10"``, ... or a :class:`Coding`.

    Returns
    -------
    Coding
        One of :data:`CODINGS`.

    Raises
    ------
    PanelError
        If the name is not one of them (the message lists them).
    """
    if isinstance(name, Coding):
        name = name.name
    by_name = {c.name: c for c in CODINGS}
    if name not in by_name:
        raise PanelError(f"unknown coding {name!r}; expected one of {list(by_name)}")
    return by_name[name]


def recode(df: pd.DataFrame, source: str, threshold: float, min_hostility: int = 2) -> np.ndarray:
    """Moves of a long panel under another threshold, from its own growth columns.

    Parameters
    ----------
    df
        A long panel with ``hostility`` and, for ``"nmc"``,
        ``milex_share_growth`` / ``milper_share_growth`` (milper where the milex
        growth is undefined), for ``"sipri"`` ``sipri_growth``.
    source
        ``"nmc"`` or ``"sipri"``.
    threshold
        The growth threshold (both directions).
    min_hostility
        Lowest MID hostility coded ``militarized``.

    Returns
    -------
    numpy.ndarray
        Float moves (NaN missing), one per row.
    """
    if source == "nmc":
        growth = df["milex_share_growth"].where(
            df["milex_share_growth"].notna(), df["milper_share_growth"]
        )
    else:
        growth = df["sipri_growth"]
    params = CodingParams(build_up=threshold, de_escalate=threshold, min_hostility=min_hostility)
    move = growth_move(growth.to_numpy(dtype=float), params)
    move[df["hostility"].to_numpy(dtype=float) >= min_hostility] = MOVE_MILITARIZED
    return move


def covered_dyads(df: pd.DataFrame) -> list[str]:
    """Dyads both of whose sides have a SIPRI growth in some year of the span.

    Parameters
    ----------
    df
        A long panel built with ``milex="sipri"`` (``sipri_growth``).

    Returns
    -------
    list of str
        Dyad ids, in panel order.
    """
    has = df.groupby(["dyad", "side"], sort=False)["sipri_growth"].count() > 0
    both = has.groupby(level="dyad", sort=False).all()
    return [str(d) for d in both.index if both[d]]


def sipri_moves(raw_dir: Path | str, *, verify: bool = True) -> pd.DataFrame:
    """SIPRI-coded moves of both bundled panels at every threshold, from the raw files.

    Parameters
    ----------
    raw_dir
        Directory laid out like ``../shared/data/raw`` (with ``sipri/``).
    verify
        Refuse raw files whose sha256 is not the registered one.

    Returns
    -------
    pandas.DataFrame
        ``panel`` (``dyads`` or ``rivalries``), ``dyad``, ``year``, ``side``
        and one move column per threshold (``move_2.5``, ``move_5``,
        ``move_10``), for the dyads of :func:`covered_dyads` only. No SIPRI
        values or growth: the extract's terms forbid redistributing them.
    """
    builds = {
        "dyads": build_panel(raw_dir, DEFAULT_DYADS, verify=verify, milex="sipri").panel,
        "rivalries": build_rivalry_panel(raw_dir, "td", verify=verify, milex="sipri").panel,
    }
    parts = []
    for name, df in builds.items():
        keep = df[df["dyad"].isin(covered_dyads(df))]
        out = keep[["dyad", "year", "side"]].copy()
        out.insert(0, "panel", name)
        for t in THRESHOLDS:
            out[f"move_{_pct(t)}"] = recode(keep, "sipri", t)
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def read_sipri_moves(path: Path | str | None = None) -> pd.DataFrame:
    """Read the cached SIPRI-coded moves (default: the copy shipped with the package).

    Parameters
    ----------
    path
        ``sipri_moves.csv``.

    Returns
    -------
    pandas.DataFrame
        As :func:`sipri_moves`.

    Raises
    ------
    FileNotFoundError
        If the file is absent.
    PanelError
        If a column is missing or a move is not 0..3 or empty.
    """
    path = bundled_panel_path().with_name(SIPRI_MOVES_FILE) if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: SIPRI moves not found; write them with `{CODINGS_COMMAND}`"
        )
    df = pd.read_csv(
        path, keep_default_na=False, na_values={f"move_{_pct(t)}": [""] for t in THRESHOLDS}
    )
    wanted = ["panel", "dyad", "year", "side", *(f"move_{_pct(t)}" for t in THRESHOLDS)]
    absent = [c for c in wanted if c not in df.columns]
    if absent:
        raise PanelError(f"{path}: lacks column(s) {absent}; expected {wanted}")
    for col in wanted[4:]:
        move = df[col].to_numpy(dtype=float)
        bad = ~np.isnan(move) & ~np.isin(move, (0.0, 1.0, 2.0, 3.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise PanelError(f"{path}, line {i + 2}, column {col!r}: expected a move 0..3 or empty")
    return df


def coded_panel(
    name: str | Coding,
    panel: str = "dyads",
    *,
    raw_dir: Path | str | None = None,
    verify: bool = True,
) -> xr.Dataset:
    """A bundled panel under a named coding.

    Parameters
    ----------
    name
        One of :data:`CODINGS` (``"nmc-5"`` is the bundled panel itself).
    panel
        ``"dyads"`` (the 12) or ``"rivalries"`` (Thompson-Dreyer).
    raw_dir
        For a SIPRI coding, recompute the moves from the raw files instead of
        reading the shipped ``sipri_moves.csv``.
    verify
        With ``raw_dir``: refuse raw files whose sha256 is not the registered one.

    Returns
    -------
    xarray.Dataset
        The panel with ``move`` under the coding (``attrs["coding"]``); raw
        columns as in the bundled panel (its NMC values). A SIPRI coding keeps
        only the dyads both of whose sides SIPRI covers
        (``attrs["sipri_left_out"]`` lists the others).

    Raises
    ------
    PanelError
        If the coding or the panel is unknown.
    """
    chosen = coding(name)
    path = bundled_panel_path(panel)
    df = read_panel_csv(path)
    coords = read_dyad_coords(dyads_path(path), df) if is_rivalry_panel(path) else None
    attrs: dict[str, str] = {"coding": chosen.name}
    if chosen.source == "nmc":
        df = df.assign(move=recode(df, "nmc", chosen.threshold))
    else:
        moves = sipri_moves(raw_dir, verify=verify) if raw_dir is not None else read_sipri_moves()
        moves = moves[moves["panel"] == panel]
        col = f"move_{_pct(chosen.threshold)}"
        keep = list(dict.fromkeys(moves["dyad"]))
        attrs["sipri_left_out"] = " ".join(d for d in dict.fromkeys(df["dyad"]) if d not in keep)
        df = df[df["dyad"].isin(keep)].drop(columns="move")
        df = df.merge(moves[["dyad", "year", "side", col]], on=["dyad", "year", "side"], how="left")
        df = df.rename(columns={col: "move"})
    if coords is not None:
        coords = coords.loc[list(dict.fromkeys(df["dyad"]))]
    ds = panel_to_dataset(df, source=f"{path} ({chosen.name})", dyad_coords=coords)
    ds.attrs.update(attrs)
    return ds


def agreement_table(
    moves: pd.DataFrame | None = None, panels: dict[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Per dyad, the share of identical moves under the SIPRI and the NMC coding.

    Compared are the cells both codings code (a move under each). ``militarized``
    is the same in both by construction, so the table also gives the agreement
    over the *spending* cells (neither militarized), where the sources differ.

    Parameters
    ----------
    moves
        SIPRI moves (:func:`sipri_moves` or :func:`read_sipri_moves`); default
        the shipped copy.
    panels
        The NMC-coded long panels by name; default the two bundled panels.

    Returns
    -------
    pandas.DataFrame
        One row per panel, dyad and threshold (and an ``all`` row per panel
        and threshold): ``n_both``, ``n_identical``, ``agreement``,
        ``n_spending``, ``n_spending_identical``, ``spending_agreement``.
    """
    moves = read_sipri_moves() if moves is None else moves
    if panels is None:
        panels = {p: read_panel_csv(bundled_panel_path(p)) for p in ("dyads", "rivalries")}
    rows = []
    for panel_name, nmc in panels.items():
        sipri = moves[moves["panel"] == panel_name]
        both = nmc.merge(sipri, on=["dyad", "year", "side"], how="inner")
        for t in THRESHOLDS:
            col = f"move_{_pct(t)}"
            a = recode(both, "nmc", t)
            b = both[col].to_numpy(dtype=float)
            coded = ~np.isnan(a) & ~np.isnan(b)
            spending = coded & (a != MOVE_MILITARIZED) & (b != MOVE_MILITARIZED)
            same = a == b
            frame = pd.DataFrame(
                {"dyad": both["dyad"], "coded": coded, "spending": spending, "same": same}
            )
            groups = [(d, g) for d, g in frame.groupby("dyad", sort=False)] + [("all", frame)]
            for dyad, g in groups:
                n, n_s = int(g["coded"].sum()), int(g["spending"].sum())
                k = int((g["coded"] & g["same"]).sum())
                k_s = int((g["spending"] & g["same"]).sum())
                rows.append(
                    {
                        "panel": panel_name,
                        "dyad": dyad,
                        "threshold": t,
                        "n_both": n,
                        "n_identical": k,
                        "agreement": k / n if n else np.nan,
                        "n_spending": n_s,
                        "n_spending_identical": k_s,
                        "spending_agreement": k_s / n_s if n_s else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def agreement_csv(table: pd.DataFrame) -> bytes:
    """The agreement table as CSV bytes (shares to 4 decimals)."""
    return table.to_csv(index=False, float_format="%.4g", lineterminator="\n").encode()


def agreement_markdown(table: pd.DataFrame, left_out: dict[str, list[str]]) -> bytes:
    """The agreement table as a Markdown page, with the command that made it.

    Parameters
    ----------
    table
        Output of :func:`agreement_table`.
    left_out
        Per panel, the dyads SIPRI does not cover on both sides.

    Returns
    -------
    bytes
        UTF-8 Markdown.
    """
    lines = [
        "# Move coding: SIPRI constant-price growth against NMC share growth",
        "",
        f"Written by `{CODINGS_COMMAND}` (`secdilemma.data.codings`).",
        "",
        "Per dyad: the cells both codings code (`n`), the share of identical moves over",
        "them, and the share over the *spending* cells (neither coding militarized:",
        "`militarized` comes from the MIDs in both, so it agrees by construction).",
        "Thresholds: build-up above +t, de-escalate below -t, for t = 2.5, 5 and 10 %.",
        "NMC codes the growth of the share of world expenditure, SIPRI the real growth",
        'of the state\'s own expenditure (data/README.md, "SIPRI coding").',
        "",
    ]
    titles = {"dyads": "The 12 bundled dyads", "rivalries": "Thompson-Dreyer rivalries"}
    head = ["dyad", "n", *(f"agree {_pct(t)} %" for t in THRESHOLDS), "spending n"]
    head += [f"spending {_pct(t)} %" for t in THRESHOLDS]
    for panel_name in dict.fromkeys(table["panel"]):
        sub = table[table["panel"] == panel_name]
        lines += [f"## {titles.get(panel_name, panel_name)}", ""]
        if left_out.get(panel_name):
            lines += [
                f"Not covered by SIPRI on both sides ({len(left_out[panel_name])} dyads, left "
                "out): " + ", ".join(left_out[panel_name]) + ".",
                "",
            ]
        lines += ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
        for dyad, g in sub.groupby("dyad", sort=False):
            g = g.set_index("threshold")
            cells = [f"{g.loc[t, 'agreement']:.2f}" for t in THRESHOLDS]
            spend = [f"{g.loc[t, 'spending_agreement']:.2f}" for t in THRESHOLDS]
            name = f"**{dyad}**" if dyad == "all" else str(dyad)
            n, n_s = int(g["n_both"].iloc[0]), int(g["n_spending"].iloc[0])
            lines.append("| " + " | ".join([name, str(n), *cells, str(n_s), *spend]) + " |")
        lines.append("")
    return ("\n".join(lines)).encode()


def render_codings(moves: pd.DataFrame) -> dict[str, bytes]:
    """The bytes of ``sipri_moves.csv`` and the two agreement files.

    Parameters
    ----------
    moves
        Output of :func:`sipri_moves`.

    Returns
    -------
    dict
        File name to content.
    """
    table = agreement_table(moves)
    left_out = {}
    for panel_name in ("dyads", "rivalries"):
        all_dyads = dict.fromkeys(read_panel_csv(bundled_panel_path(panel_name))["dyad"])
        covered = set(moves.loc[moves["panel"] == panel_name, "dyad"])
        left_out[panel_name] = [d for d in all_dyads if d not in covered]
    return {
        SIPRI_MOVES_FILE: moves.to_csv(
            index=False, float_format=FLOAT_FORMAT, lineterminator="\n"
        ).encode(),
        AGREEMENT_FILES[0]: agreement_csv(table),
        AGREEMENT_FILES[1]: agreement_markdown(table, left_out),
    }


def check_moves_match_panels(moves: pd.DataFrame) -> None:
    """Refuse SIPRI moves whose dyad-years are not those of the bundled panels.

    Parameters
    ----------
    moves
        Output of :func:`sipri_moves`.

    Raises
    ------
    RawDataError
        If a dyad-year-side is absent from its bundled panel (the moves were
        built from other raw files or options than the panels).
    """
    for panel_name in ("dyads", "rivalries"):
        keys = read_panel_csv(bundled_panel_path(panel_name))[["dyad", "year", "side"]]
        sub = moves[moves["panel"] == panel_name][["dyad", "year", "side"]]
        extra = sub.merge(keys, how="left", indicator=True)
        extra = extra[extra["_merge"] == "left_only"]
        if not extra.empty:
            row = extra.iloc[0]
            raise RawDataError(
                f"SIPRI moves for {panel_name} {row['dyad']} {row['year']} side {row['side']} "
                "have no row in the bundled panel; rebuild the panels from the same raw files"
            )
