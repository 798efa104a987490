"""``secdilemma demo``: the spiral simulated, ``free`` fitted (thin wrapper of the pipeline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.core.parameters import MAX_SEED


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="Folder for the outputs; earlier outputs in it are replaced.")
    ] = Path("build"),
    dyads: Annotated[int, typer.Option(min=1, help="Simulated dyads per regime.")] = 1000,
    years: Annotated[int, typer.Option(min=1, help="Years per simulated dyad.")] = 60,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Random seed (simulation and sampler).")
    ] = 20261127,
    fit: Annotated[
        bool, typer.Option(help="Also fit the free variant to the bundled historical panel.")
    ] = True,
    draws: Annotated[int, typer.Option(min=1, help="Draws per chain of the fit.")] = 1000,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up draws per chain of the fit.")] = 1000,
    chains: Annotated[int, typer.Option(min=1, help="Chains of the fit.")] = 4,
    historical: Annotated[
        str, typer.Option(help="Historical dyads to draw and fit: 'all' or ids, e.g. USA-RUS.")
    ] = "all",
) -> None:
    """Run the demo: the spiral simulated, the historical dyads drawn and fitted.

    Simulates two benign states under misplaced certainty and under
    security-dilemma sensibility (netCDF + spiral figure), draws the coded
    moves of the bundled historical panel, and fits the ``free`` variant to it
    (posterior netCDF with provenance and its JSON manifest, its diagnostics,
    and the fitted belief paths figure). Figures are written as PNG and PDF
    under ``OUT/figures``. Options and output folder are checked before the
    first file is written.
    """
    from secdilemma.pipeline import demo as run_demo

    run_demo(
        out,
        dyads=dyads,
        years=years,
        seed=seed,
        fit=fit,
        draws=draws,
        tune=tune,
        chains=chains,
        historical=historical,
        echo=typer.echo,
    )
