"""The root Typer application that every command module registers on."""

import typer

app = typer.Typer(
    name="secdilemma",
    help="Bayesian belief-update models of the security dilemma.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
