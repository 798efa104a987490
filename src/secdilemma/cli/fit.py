"""``secdilemma fit``: fit a model variant to the historical or a simulated panel.

The command checks everything cheap first (options, variant, panel, dyads,
output paths), then imports PyMC and fits (:func:`secdilemma.pipeline.fit_to_file`).
"""

from __future__ import annotations

import warnings
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import EXIT_INTERRUPTED, app
from secdilemma.core.parameters import MAX_SEED

EXIT_DIAGNOSTICS = 3
"""Exit status of a fit saved with failed diagnostics."""


def _bundled_variants() -> str:
    """Names of the bundled variants, read without importing the model code."""
    folder = files("secdilemma").joinpath("model", "variants")
    return ", ".join(sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml")))


@app.command("fit")
def fit_command(
    out: Annotated[
        Path,
        typer.Option(
            help="Fit file NAME.nc to write, e.g. models/free.nc; its manifest goes to NAME.json."
        ),
    ],
    variant: Annotated[
        str,
        typer.Option(help=f"Bundled variant ({_bundled_variants()}) or a variant .toml file."),
    ] = "free",
    dyads: Annotated[
        str, typer.Option(help="'all' or comma-separated dyad ids, e.g. USA-RUS,IND-PAK.")
    ] = "all",
    panel: Annotated[
        Path | None,
        typer.Option(
            help="Panel to fit: a bundled panel by name (dyads, rivalries), a netCDF file "
            "(e.g. from `secdilemma simulate`), or a folder written by `secdilemma data build` "
            "or its dyads.csv. Default: the bundled 12-dyad historical panel."
        ),
    ] = None,
    draws: Annotated[int, typer.Option(min=1, help="Draws kept per chain.")] = 1000,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up draws per chain.")] = 1000,
    chains: Annotated[int, typer.Option(min=1, help="Number of chains.")] = 4,
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_SEED, help="Sampler seed (same seed, same draws).")
    ] = 0,
    sampler: Annotated[
        str,
        typer.Option(
            help="nutpie (default), pymc, or smc: tempered SMC, --draws particles per chain, "
            "reports the log marginal likelihood and the mass of each mode."
        ),
    ] = "nutpie",
    target_accept: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Target acceptance rate.")
    ] = 0.8,
    init: Annotated[
        str,
        typer.Option(
            help="pilot (start every chain in the mode of highest log-density found by a "
            "short pilot run; flagged as failed if the pilot found several) or jitter."
        ),
    ] = "pilot",
    adaptation: Annotated[
        str,
        typer.Option(help="nutpie mass-matrix adaptation: low_rank (default), diag or draw_diag."),
    ] = "low_rank",
    mode: Annotated[
        list[str] | None,
        typer.Option(
            help="SMC: a mode as NAME=EXPRESSION, e.g. 'hardening=mu_w < -0.8' (repeat for "
            "each); default: the variant's known split, else a data-driven one."
        ),
    ] = None,
    smc_threshold: Annotated[
        float | None,
        typer.Option(min=0.01, max=0.99, help="SMC: ESS share kept per tempering stage."),
    ] = None,
    hmc_iters: Annotated[
        int | None, typer.Option(min=1, help="SMC: HMC iterations per stage.")
    ] = None,
    leapfrog: Annotated[
        int | None, typer.Option(min=1, help="SMC: mean leapfrog steps per HMC iteration.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show sampling progress.")] = True,
    overwrite: Annotated[
        bool,
        typer.Option(help="Replace an existing fit NAME.nc and its manifest NAME.json."),
    ] = False,
    keep_partial: Annotated[
        bool,
        typer.Option(
            help="If interrupted (Ctrl-C), save the draws completed so far, flagged "
            "`interrupted` (default: save nothing)."
        ),
    ] = False,
    group_by: Annotated[
        str | None,
        typer.Option(
            help="A dyad attribute of the panel (e.g. region or rivalry_type of the rivalry "
            "panel): the shares pi and rho vary by its groups, hierarchically."
        ),
    ] = None,
    beliefs: Annotated[
        bool,
        typer.Option(
            help="Record belief paths per draw (--no-beliefs for large panels: they are "
            "recomputed from the parameters when needed)."
        ),
    ] = True,
) -> None:
    """Fit a model variant (DESIGN §4), check its diagnostics and save the posterior.

    Writes the fit to --out (NAME.nc) and its JSON manifest beside it
    (NAME.json), together, when both are complete. An existing NAME.nc or
    NAME.json is replaced only with --overwrite; a NAME.json that is not a
    secdilemma manifest is never replaced; --out must end in .nc and may not
    be the panel. Options, variant, panel and output paths are checked before
    anything is compiled.

    Exit status: 0 saved, diagnostics passed; 3 saved, a diagnostic failed
    (the file is flagged diagnostics_ok = 0); 2 a usage or input error,
    nothing done; 130 interrupted (Ctrl-C): nothing is written, unless
    --keep-partial saved the completed draws, flagged interrupted.
    """
    from secdilemma.model.diagnostics import FitDiagnosticsWarning
    from secdilemma.model.variants import load_variant
    from secdilemma.pipeline import fit_outputs, fit_to_file, load_panel

    if init not in ("pilot", "jitter"):
        raise typer.BadParameter(f"expected pilot or jitter, got {init!r}", param_hint="--init")
    if adaptation not in ("low_rank", "diag", "draw_diag"):
        raise typer.BadParameter(
            f"expected low_rank, diag or draw_diag, got {adaptation!r}", param_hint="--adaptation"
        )
    if sampler not in ("nutpie", "pymc", "smc"):
        raise typer.BadParameter(
            f"expected nutpie, pymc or smc, got {sampler!r}", param_hint="--sampler"
        )
    smc_options = {"threshold": smc_threshold, "hmc_iters": hmc_iters, "leapfrog": leapfrog}
    smc_options = {k: v for k, v in smc_options.items() if v is not None}
    modes = None
    if mode:
        if sampler != "smc":
            raise typer.BadParameter("modes are reported by --sampler smc", param_hint="--mode")
        modes = {}
        for item in mode:
            name, sep, expression = item.partition("=")
            if not sep or not name.strip() or not expression.strip():
                raise typer.BadParameter(
                    f"expected NAME=EXPRESSION, got {item!r}", param_hint="--mode"
                )
            modes[name.strip()] = expression.strip()
    if smc_options and sampler != "smc":
        raise typer.BadParameter(
            "--smc-threshold, --hmc-iters and --leapfrog apply to --sampler smc",
            param_hint="--sampler",
        )
    spec = load_variant(variant)
    data = load_panel(panel, dyads)
    if group_by is not None:
        from secdilemma.panel import grouping

        grouping(data, group_by)  # an unknown attribute fails here, naming the available ones
    inputs = [p for p in (panel, Path(variant)) if p is not None and p.is_file()]
    fit_outputs(out, inputs=inputs, overwrite=overwrite)
    if sampler == "smc" and (group_by is not None or keep_partial):
        raise typer.BadParameter(
            "--group-by and --keep-partial apply to the NUTS samplers (nutpie, pymc)",
            param_hint="--sampler",
        )
    plan = (
        f"{chains} SMC chains x {draws} particles"
        if sampler == "smc"
        else f"{chains} chains x ({tune} tune + {draws} draws)"
    )
    typer.echo(
        f"fitting variant {spec.name!r} to {data.sizes['dyad']} dyads x "
        f"{data.sizes['year']} years: {plan}"
    )
    extra = {"modes": modes, "sampler_kwargs": smc_options} if sampler == "smc" else {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FitDiagnosticsWarning)
            result, (path, manifest) = fit_to_file(
                data,
                spec,
                out,
                overwrite=overwrite,
                inputs=inputs,
                draws=draws,
                tune=tune,
                chains=chains,
                seed=seed,
                sampler=sampler,
                target_accept=target_accept,
                progress_bar=progress,
                init=init,
                adaptation=adaptation,
                keep_partial=keep_partial,
                group_by=group_by,
                beliefs=beliefs,
                **extra,  # type: ignore[arg-type]
            )
    except KeyboardInterrupt as err:
        if not str(err):
            raise  # an interrupt outside sampling: the generic handler reports it
        hint = "" if keep_partial else " (--keep-partial keeps the completed draws)"
        typer.echo(f"interrupted: {err}; nothing was written{hint}", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    for w in caught:
        if not issubclass(w.category, FitDiagnosticsWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    from secdilemma.model.contraction import contraction_summary, fit_contraction
    from secdilemma.model.io import fit_diagnostics

    diagnostics = fit_diagnostics(result)
    if sampler == "smc":
        from secdilemma.model.smc import smc_summary

        typer.echo(smc_summary(result))
    else:
        typer.echo(diagnostics.summary())
    typer.echo(contraction_summary(fit_contraction(result)))
    typer.echo(f"wrote {path}")
    typer.echo(f"wrote {manifest}")
    if result.attrs.get("interrupted"):
        sampled = result["posterior"].sizes["draw"]
        typer.echo(
            f"interrupted: kept {sampled} of {draws} draws per chain in {path}, flagged "
            "interrupted (diagnostics_ok = 0)",
            err=True,
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    if not diagnostics.ok:
        typer.secho(
            "WARNING: diagnostics failed; the saved posterior is flagged (diagnostics_ok = 0)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=EXIT_DIAGNOSTICS)
