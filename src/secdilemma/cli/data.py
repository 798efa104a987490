"""``secdilemma data ...``: build, fetch and plot the historical dyad panel.

The data code (pandas, xarray) is imported inside the commands, so that
``secdilemma --help`` does not pay for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.files import check_output_path

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
    start: Annotated[
        int | None, typer.Option(help="First year (default: the bundled panel's first year).")
    ] = None,
    end: Annotated[
        int | None, typer.Option(help="Last year (default: last year of NMC and MID data).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("data/processed"),
    nmc_version: Annotated[str, typer.Option(help="NMC version: 6.0 or 7.0.")] = "6.0",
    build_up: Annotated[
        float, typer.Option(help="Share growth above which a year is build-up.")
    ] = 0.05,
    de_escalate: Annotated[
        float, typer.Option(help="Share decline beyond which a year is de-escalate.")
    ] = 0.05,
    min_hostility: Annotated[
        int, typer.Option(min=1, max=5, help="Lowest MID hostility coded militarized.")
    ] = 2,
    bundle: Annotated[
        bool,
        typer.Option(
            help="Also replace the panel shipped inside the package (maintainers, after "
            "rebuilding the default panel)."
        ),
    ] = False,
) -> None:
    """Build the dyad panel from raw COW files: panel CSV, codebook and provenance."""
    from secdilemma.data.build import (
        CODEBOOK_FILE,
        DEFAULT_START,
        PANEL_FILE,
        PROVENANCE_FILE,
        build_panel,
        write_panel,
    )
    from secdilemma.data.coding import CodingParams

    start = DEFAULT_START if start is None else start
    params = CodingParams(build_up=build_up, de_escalate=de_escalate, min_hostility=min_hostility)
    targets = [out, bundled_dir()] if bundle else [out]
    for folder in targets:  # before reading anything: an unwritable --out fails at once
        for name in (PANEL_FILE, CODEBOOK_FILE, PROVENANCE_FILE):
            check_output_path(folder / name, option="--out")
    result = build_panel(raw, split_dyads(dyads), start, end, params, nmc_version)
    for path in write_panel(result, targets):
        typer.echo(f"wrote {path}")


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

    for suffix in (".png", ".pdf"):
        check_output_path(out.with_suffix(suffix), inputs=[panel] if panel else [])
    fig = plot_dyad_moves(load_dyads(path=panel))
    for path in save_figure(fig, out):
        typer.echo(f"wrote {path}")
