"""``secdilemma simulate``: simulated dyads from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.core.parameters import MAX_SEED, REGIMES


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


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="netCDF file to write; an existing file is replaced.")],
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
        str,
        typer.Option(
            help="True intents of side 0 and side 1: benign or malign (or 0, 1), "
            "e.g. benign,malign."
        ),
    ] = "benign,benign",
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Random seed (same seed, same file).")
    ] = 0,
    beta: Annotated[float, typer.Option(help="Fear: weight of own belief (> 0).")] = 2.0,
    gamma: Annotated[float, typer.Option(help="Reactivity to the other's last move (>= 0).")] = 0.6,
    delta: Annotated[float, typer.Option(help="Extra escalation of a malign state (> 0).")] = 1.0,
    cutpoints: Annotated[
        str,
        typer.Option(help="Three increasing cutpoints; write --cutpoints=-1.5,1,3."),
    ] = "-1.5,1,3",
) -> None:
    """Simulate coupled dyads forward (DESIGN §3) and write the panel as netCDF.

    The file is written atomically: an error or Ctrl-C leaves an existing
    file at --out as it was. Simulating is cheap and reproducible from the
    seed, so an existing file is replaced without --overwrite.
    """
    from secdilemma.core.parameters import ActionParams
    from secdilemma.core.simulate import simulate_dyads
    from secdilemma.files import check_output_path
    from secdilemma.panel import save_panel

    regimes = beliefs.split(",")
    intents = intent.split(",")
    if len(intents) != 2:
        raise typer.BadParameter(f"expected two intents, got {intent!r}", param_hint="--intent")
    action = ActionParams(beta, gamma, delta, parse_floats(cutpoints, "cutpoints", 3))
    check_output_path(out)
    panel = simulate_dyads(
        dyads,
        years,
        beliefs=regimes[0] if len(regimes) == 1 else regimes,
        intent=intents,
        action=action,
        seed=seed,
    )
    save_panel(panel, out)
    typer.echo(f"wrote {out} ({dyads} dyads x {years} years, beliefs={beliefs}, intent={intent})")
