"""``secdilemma simulate`` and ``secdilemma demo``: simulated dyads from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import xarray as xr

from secdilemma.cli.app import app
from secdilemma.cli.fit import load_panel
from secdilemma.core.parameters import REGIMES, ActionParams
from secdilemma.core.simulate import simulate_dyads
from secdilemma.plotting import plot_dyad_moves, plot_spiral, save_figure


def parse_floats(text: str, name: str, n: int | None = None) -> tuple[float, ...]:
    """Parse a comma-separated list of numbers, naming the option on error."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated numbers, got {text!r}", param_hint=f"--{name}"
        ) from None
    if n is not None and len(values) != n:
        raise typer.BadParameter(
            f"expected {n} comma-separated numbers, got {text!r}", param_hint=f"--{name}"
        )
    return values


def write_netcdf(panel: xr.Dataset, out: Path) -> Path:
    """Write a panel to netCDF (HDF5 via h5netcdf), creating parent folders."""
    out.parent.mkdir(parents=True, exist_ok=True)
    panel.to_netcdf(out, engine="h5netcdf")
    return out


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="netCDF file to write.")],
    dyads: Annotated[int, typer.Option(min=1, help="Number of dyads.")] = 1000,
    years: Annotated[int, typer.Option(min=1, help="Years per dyad.")] = 60,
    beliefs: Annotated[
        str,
        typer.Option(
            help=f"Belief regime of both states, or two comma-separated (side 0, side 1): "
            f"{', '.join(REGIMES)}."
        ),
    ] = "sensible",
    intent: Annotated[
        str, typer.Option(help="True intents of side 0 and side 1, e.g. benign,malign.")
    ] = "benign,benign",
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same file).")] = 0,
    beta: Annotated[float, typer.Option(help="Fear: weight of own belief.")] = 2.0,
    gamma: Annotated[float, typer.Option(help="Reactivity to the other's last move.")] = 0.6,
    delta: Annotated[float, typer.Option(help="Extra escalation of a malign state.")] = 1.0,
    cutpoints: Annotated[
        str,
        typer.Option(help="Three increasing cutpoints; write --cutpoints=-1.5,1,3."),
    ] = "-1.5,1,3",
) -> None:
    """Simulate coupled dyads forward (DESIGN §3) and write the panel as netCDF."""
    regimes = beliefs.split(",")
    intents = intent.split(",")
    if len(intents) != 2:
        raise typer.BadParameter(f"expected two intents, got {intent!r}", param_hint="--intent")
    try:
        action = ActionParams(beta, gamma, delta, parse_floats(cutpoints, "cutpoints", 3))
        panel = simulate_dyads(
            dyads,
            years,
            beliefs=regimes[0] if len(regimes) == 1 else regimes,
            intent=intents,
            action=action,
            seed=seed,
        )
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    write_netcdf(panel, out)
    typer.echo(f"wrote {out} ({dyads} dyads x {years} years, beliefs={beliefs}, intent={intent})")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the outputs.")] = Path("build"),
    dyads: Annotated[int, typer.Option(min=1, help="Simulated dyads per regime.")] = 1000,
    years: Annotated[int, typer.Option(min=1, help="Years per simulated dyad.")] = 60,
    seed: Annotated[int, typer.Option(help="Random seed (simulation and sampler).")] = 20261127,
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
    """Run the main job: the spiral simulated, the historical dyads drawn and fitted.

    Simulates two benign states under misplaced certainty and under
    security-dilemma sensibility (netCDF + spiral figure), draws the coded
    moves of the bundled historical panel, and fits the ``free`` variant to it
    (posterior netCDF with provenance, its diagnostics, and the fitted belief
    paths figure). Figures are written as PNG and PDF under ``OUT/figures``.
    """
    panels = {
        name: simulate_dyads(dyads, years, beliefs=name, seed=seed)
        for name in ("misplaced_certainty", "sensible")
    }
    for name, panel in panels.items():
        typer.echo(f"wrote {write_netcdf(panel, out / f'simulated_{name}.nc')}")
    history = load_panel(None, historical)
    figures = {"spiral": plot_spiral(panels), "historical_moves": plot_dyad_moves(history)}
    if fit:
        # Imported here: PyMC is only needed, and only paid for, when fitting.
        from secdilemma.model import fit as fit_model
        from secdilemma.model import save_fit
        from secdilemma.model.io import fit_diagnostics
        from secdilemma.model.manifest import write_manifest
        from secdilemma.plotting.beliefs import plot_belief_paths

        posterior = fit_model(history, "free", draws=draws, tune=tune, chains=chains, seed=seed)
        typer.echo(fit_diagnostics(posterior).summary())
        typer.echo(f"wrote {save_fit(posterior, out / 'free_historical.nc')}")
        typer.echo(f"wrote {write_manifest(posterior, out / 'free_historical.json')}")
        figures["belief_paths"] = plot_belief_paths(posterior, states=history["state"])
    for name, figure in figures.items():
        for path in save_figure(figure, out / "figures" / name):
            typer.echo(f"wrote {path}")
