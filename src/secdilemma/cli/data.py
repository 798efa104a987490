"""``secdilemma data ...``: build, fetch and plot the historical dyad panel.

The data code (pandas, xarray) is imported inside the commands, so that
``secdilemma --help`` does not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.files import OutputPathError

if TYPE_CHECKING:
    from secdilemma.data.coding import CodingParams

data_app = typer.Typer(
    help="Historical dyads from Correlates of War data: build, fetch, plot.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def bundled_dir() -> Path:
    """Directory of the panel shipped inside the package (``secdilemma/data/bundled``)."""
    from secdilemma.data.load import bundled_panel_path

    return bundled_panel_path().parent


def split_dyads(values: list[str] | None) -> tuple[str, ...]:
    """Dyad names from repeated and/or comma-separated ``--dyads`` values."""
    from secdilemma.data.build import DEFAULT_DYADS

    if not values:
        return DEFAULT_DYADS
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def bundle_conflicts(
    *,
    dyads: list[str] | None,
    rivalries: str | None,
    start: int,
    end: int | None,
    params: CodingParams,
    nmc_version: str,
    verify: bool,
    milex: str,
) -> list[str]:
    """The options that differ from a bundled panel's build (``--bundle`` refuses them)."""
    from secdilemma.data.build import DEFAULT_DYADS, DEFAULT_START
    from secdilemma.data.coding import CodingParams

    given = {
        "--dyads": dyads is not None and split_dyads(dyads) != DEFAULT_DYADS,
        "--rivalries (other than td)": rivalries is not None and rivalries.lower() != "td",
        "--start": start != DEFAULT_START,
        "--end": end is not None,
        "--build-up/--de-escalate/--min-hostility": params != CodingParams(),
        "--nmc-version": nmc_version != "6.0",
        "--allow-unverified-raw": not verify,
        "--milex": milex != "nmc",
    }
    return [option for option, differs in given.items() if differs]


@data_app.command("build")
def build(
    raw: Annotated[Path, typer.Option(help="Raw data directory laid out like ../shared/data/raw.")],
    dyads: Annotated[
        list[str] | None,
        typer.Option(
            help="Dyads as COW abbreviations or codes (USA-RUS or 2-365); repeat or "
            "comma-separate. Default: the 12 bundled dyads."
        ),
    ] = None,
    rivalries: Annotated[
        str | None,
        typer.Option(
            help="Instead of --dyads: every rivalry of a list, td (Thompson-Dreyer), tss "
            "(Thompson-Sakuwa-Suhas) or kgd (Klein-Goertz-Diehl), active in --start..--end; "
            "writes LIST_panel.csv, LIST_dyads.csv, LIST_left_out.csv, ..."
        ),
    ] = None,
    start: Annotated[
        int | None, typer.Option(help="First year (default: the bundled panel's first year).")
    ] = None,
    end: Annotated[
        int | None, typer.Option(help="Last year (default: last year of NMC and MID data).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("data/processed"),
    nmc_version: Annotated[str, typer.Option(help="NMC version: 6.0 or 7.0.")] = "6.0",
    milex: Annotated[
        str,
        typer.Option(
            help="Source of the spending moves: nmc (share of world NMC expenditure) or "
            "sipri (SIPRI constant-price real growth, for the 21 states of the extract)."
        ),
    ] = "nmc",
    build_up: Annotated[
        float, typer.Option(help="Share growth above which a year is build-up.")
    ] = 0.05,
    de_escalate: Annotated[
        float, typer.Option(help="Share decline beyond which a year is de-escalate.")
    ] = 0.05,
    min_hostility: Annotated[
        int, typer.Option(min=1, max=5, help="Lowest MID hostility coded militarized.")
    ] = 2,
    allow_unverified_raw: Annotated[
        bool,
        typer.Option(
            "--allow-unverified-raw",
            help="Build even if a raw file's sha256 differs from the registered one "
            "(a truncated or other release); the provenance records the actual hashes.",
        ),
    ] = False,
    bundle: Annotated[
        bool,
        typer.Option(
            help="Also replace the panel shipped inside the package (maintainers; only "
            "for the default dyad build or the default --rivalries td build)."
        ),
    ] = False,
) -> None:
    """Build a panel from raw COW files: the dyads (default) or a rivalry population."""
    from secdilemma.data.build import (
        CODEBOOK_FILE,
        DEFAULT_START,
        PANEL_FILE,
        PROVENANCE_FILE,
        build_panel,
        check_out_dirs,
        write_panel,
    )
    from secdilemma.data.coding import CodingParams, CodingParamsError
    from secdilemma.data.readers import RawDataError
    from secdilemma.data.rivalries import rivalry_list
    from secdilemma.data.rivalry_panel import (
        build_rivalry_panel,
        rivalry_file_names,
        write_rivalry_panel,
    )

    start = DEFAULT_START if start is None else start
    try:
        if rivalries is not None and dyads is not None:
            raise RawDataError(
                "--dyads and --rivalries: choose one (a dyad list or a rivalry list)"
            )
        params = CodingParams(
            build_up=build_up, de_escalate=de_escalate, min_hostility=min_hostility
        )
        verify = not allow_unverified_raw
        if bundle:
            conflicts = bundle_conflicts(
                dyads=dyads,
                rivalries=rivalries,
                start=start,
                end=end,
                params=params,
                nmc_version=nmc_version,
                verify=verify,
                milex=milex,
            )
            if conflicts:
                raise RawDataError(
                    f"--bundle replaces a panel shipped with the package, which must be the "
                    f"default build; drop {', '.join(conflicts)} (or --bundle)"
                )
        targets = [out, bundled_dir()] if bundle else [out]
        if rivalries is not None:
            names = tuple(rivalry_file_names(rivalry_list(rivalries).name).values())
            check_out_dirs(targets, names)
            result = build_rivalry_panel(
                raw, rivalries, start, end, params, nmc_version, verify=verify, milex=milex
            )
            written = write_rivalry_panel(result, targets)
            counts = result.provenance["counts"]
            typer.echo(
                f"{result.spec.name}: {counts['rivalries_listed']} rivalries listed, "
                f"{counts['rivalries_in_panel']} in {counts['dyads']} dyads, "
                f"{counts['rivalries_left_out']} left out ({result.file_names()['left_out']})"
            )
        else:
            check_out_dirs(targets, (PANEL_FILE, CODEBOOK_FILE, PROVENANCE_FILE))
            result = build_panel(
                raw,
                split_dyads(dyads),
                start,
                end,
                params,
                nmc_version,
                verify=verify,
                milex=milex,
            )
            written = write_panel(result, targets)
    except (RawDataError, CodingParamsError, OutputPathError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    for path in written:
        typer.echo(f"wrote {path}")


@data_app.command("codings")
def codings(
    raw: Annotated[Path, typer.Option(help="Raw data directory laid out like ../shared/data/raw.")],
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("data/processed"),
    allow_unverified_raw: Annotated[
        bool,
        typer.Option(
            "--allow-unverified-raw",
            help="Build even if a raw file's sha256 differs from the registered one.",
        ),
    ] = False,
    bundle: Annotated[
        bool,
        typer.Option(help="Also replace the SIPRI moves shipped inside the package."),
    ] = False,
) -> None:
    """SIPRI-coded moves of both bundled panels and their agreement with the NMC coding.

    Writes sipri_moves.csv (moves only: the SIPRI extract may not be
    redistributed), coding_agreement.csv and coding_agreement.md.
    """
    from secdilemma.data.build import check_out_dirs
    from secdilemma.data.codings import (
        AGREEMENT_FILES,
        SIPRI_MOVES_FILE,
        check_moves_match_panels,
        render_codings,
        sipri_moves,
    )
    from secdilemma.data.readers import RawDataError
    from secdilemma.files import write_bytes

    try:
        check_out_dirs([out], (SIPRI_MOVES_FILE, *AGREEMENT_FILES))
        if bundle:
            check_out_dirs([bundled_dir()], (SIPRI_MOVES_FILE,), option="--bundle")
        moves = sipri_moves(raw, verify=not allow_unverified_raw)
        check_moves_match_panels(moves)
    except (RawDataError, OutputPathError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None
    files = render_codings(moves)
    targets = [(out, name) for name in files]
    if bundle:
        targets.append((bundled_dir(), SIPRI_MOVES_FILE))
    for folder, name in targets:
        folder.mkdir(parents=True, exist_ok=True)
        typer.echo(f"wrote {write_bytes(folder / name, files[name])}")


@data_app.command("fetch")
def fetch(
    dest: Annotated[Path, typer.Argument(help="Directory to download the raw files into.")],
) -> None:
    """Download the raw COW files (checksummed) needed by ``data build``."""
    from secdilemma.data.fetch import fetch_raw

    for rel, path in fetch_raw(dest).items():
        typer.echo(f"{rel}: {path}")


@data_app.command("figure")
def figure(
    out: Annotated[Path, typer.Option(help="Figure path; .png and .pdf are written.")] = Path(
        "figures/dyad_moves"
    ),
    panel: Annotated[
        Path | None, typer.Option(help="Panel CSV (default: the bundled panel).")
    ] = None,
) -> None:
    """Plot each dyad's coded moves, both sides, with MID years marked."""
    from secdilemma.data.load import load_dyads
    from secdilemma.plotting.data_figure import plot_dyad_moves
    from secdilemma.plotting.style import save_figure

    fig = plot_dyad_moves(load_dyads(path=panel))
    for path in save_figure(fig, out):
        typer.echo(f"wrote {path}")
