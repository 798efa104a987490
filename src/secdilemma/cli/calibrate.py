"""``secdilemma calibrate``: simulation-based calibration of a variant on Dask."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.files import write_text
from secdilemma.model.variants import VariantError, available_variants, load_variant


@app.command("calibrate")
def calibrate_command(
    out: Annotated[Path, typer.Option(help="Folder of the run (settings, sims/, ranks.nc).")],
    variant: Annotated[
        str,
        typer.Option(
            help=f"Bundled variant ({', '.join(available_variants())}) or a variant .toml file."
        ),
    ] = "mixture",
    sims: Annotated[int, typer.Option(min=1, help="Number of simulations.")] = 200,
    dyads: Annotated[int, typer.Option(min=1, help="Dyads per simulated panel.")] = 6,
    years: Annotated[int, typer.Option(min=2, help="Years per simulated panel.")] = 40,
    draws: Annotated[int, typer.Option(min=1, help="Draws kept per chain.")] = 500,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up draws per chain.")] = 500,
    chains: Annotated[int, typer.Option(min=1, help="Chains per fit.")] = 2,
    seed: Annotated[int, typer.Option(help="Seed of the run (same seed, same ranks).")] = 0,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Address of a running Dask scheduler; default: a LocalCluster."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Workers of the LocalCluster (default: cores).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Skip simulations whose result file is complete.")
    ] = False,
    only: Annotated[
        str | None,
        typer.Option(help="Rerun these simulation indices alone, in this process: '3,17'."),
    ] = None,
    rank_draws: Annotated[
        int, typer.Option(min=1, help="Thinned draws L each truth is ranked among.")
    ] = 99,
    init: Annotated[str, typer.Option(help="pilot (as `secdilemma fit`) or jitter.")] = "pilot",
    compiledir: Annotated[
        Path | None,
        typer.Option(help="Base of the per-worker PyTensor compile folders."),
    ] = None,
    figures: Annotated[bool, typer.Option(help="Write the rank figures.")] = True,
) -> None:
    """Simulation-based calibration: prior draws, simulated panels, fits, ranks.

    Writes OUT/sims/sim_NNNNN.nc (one per simulation), OUT/ranks.nc (all of
    them), OUT/summary.csv and .md (uniformity tests) and OUT/figures/.
    """
    from secdilemma.calibration.report import run_counts, write_report
    from secdilemma.calibration.run import CalibrationError, calibrate

    try:
        spec = load_variant(variant)
    except VariantError as err:
        raise typer.BadParameter(str(err), param_hint="--variant") from None
    if init not in ("pilot", "jitter"):
        raise typer.BadParameter(f"expected pilot or jitter, got {init!r}", param_hint="--init")
    indices = None
    if only is not None:
        try:
            indices = [int(v) for v in only.split(",") if v.strip()]
        except ValueError:
            message = f"expected comma-separated indices, got {only!r}"
            raise typer.BadParameter(message, param_hint="--only") from None
    typer.echo(
        f"calibrating variant {spec.name!r}: {sims} simulations of {dyads} dyads x {years} "
        f"years, {chains} chains x ({tune} tune + {draws} draws), L = {rank_draws}",
        err=True,
    )
    try:
        ranks = calibrate(
            spec, sims, dyads, years, draws=draws, tune=tune, chains=chains, seed=seed,
            out=out, scheduler=scheduler, n_workers=workers, resume=resume, only=indices,
            rank_draws=rank_draws, init=init, compiledir=compiledir,
        )  # fmt: skip
    except CalibrationError as err:
        raise typer.BadParameter(str(err)) from None
    write_text(out / "command.txt", "secdilemma " + shlex.join(sys.argv[1:]) + "\n")
    for path in write_report(ranks, out, figures=figures):
        typer.echo(f"wrote {path}")
    counts = run_counts(ranks)
    typer.echo(
        f"{counts['fitted']} fitted ({counts['diagnostics_failed']} failed diagnostics), "
        f"{counts['error']} errors, {counts['lost']} lost; wrote {out / 'ranks.nc'}"
    )
