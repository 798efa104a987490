"""``secdilemma fit``: fit a model variant to the historical or a simulated panel."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
import xarray as xr

from secdilemma.cli.app import app
from secdilemma.model.diagnostics import FitDiagnosticsWarning
from secdilemma.model.variants import VariantError, available_variants, load_variant


def load_panel(panel: Path | None, dyads: str) -> xr.Dataset:
    """The panel to fit: ``--panel`` or the bundled historical one, restricted to ``--dyads``."""
    names = None if dyads.strip().lower() == "all" else [d.strip() for d in dyads.split(",")]
    if panel is None:
        from secdilemma.data import load_dyads

        return load_dyads(names)
    if not panel.is_file():
        raise typer.BadParameter(f"{panel}: no such file", param_hint="--panel")
    with xr.open_dataset(panel, engine="h5netcdf") as ds:
        data = ds.load()
    if names is not None:
        unknown = sorted(set(names) - {str(d) for d in data["dyad"].values})
        if unknown:
            raise typer.BadParameter(f"dyads {unknown} are not in {panel}", param_hint="--dyads")
        data = data.sel(dyad=names)
    return data


@app.command("fit")
def fit_command(
    out: Annotated[Path, typer.Option(help="netCDF file to write, e.g. models/free.nc.")],
    variant: Annotated[
        str,
        typer.Option(
            help=f"Bundled variant ({', '.join(available_variants())}) or a variant .toml file."
        ),
    ] = "free",
    dyads: Annotated[
        str, typer.Option(help="'all' or comma-separated dyad ids, e.g. USA-RUS,IND-PAK.")
    ] = "all",
    panel: Annotated[
        Path | None,
        typer.Option(help="Panel netCDF (e.g. from `secdilemma simulate`); default: historical."),
    ] = None,
    draws: Annotated[int, typer.Option(min=1, help="Draws kept per chain.")] = 1000,
    tune: Annotated[int, typer.Option(min=0, help="Warm-up draws per chain.")] = 1000,
    chains: Annotated[int, typer.Option(min=1, help="Number of chains.")] = 4,
    seed: Annotated[int, typer.Option(help="Sampler seed (same seed, same draws).")] = 0,
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
) -> None:
    """Fit a model variant (DESIGN §4), check its diagnostics and save the posterior.

    Exits with status 3 (after writing the file) if a sampler diagnostic fails.
    """
    from secdilemma.model.io import fit_diagnostics, save_fit
    from secdilemma.model.manifest import write_manifest
    from secdilemma.model.sampling import fit

    try:
        spec = load_variant(variant)
    except VariantError as err:
        raise typer.BadParameter(str(err), param_hint="--variant") from None
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
    try:
        data = load_panel(panel, dyads)
    except (ValueError, KeyError) as err:
        raise typer.BadParameter(str(err), param_hint="--dyads/--panel") from None
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitDiagnosticsWarning)
        result = fit(
            data,
            spec,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            sampler=sampler,  # type: ignore[arg-type]
            target_accept=target_accept,
            progress_bar=progress,
            init=init,  # type: ignore[arg-type]
            adaptation=adaptation,  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )
    for w in caught:
        if not issubclass(w.category, FitDiagnosticsWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    path = save_fit(result, out)
    diagnostics = fit_diagnostics(result)
    if sampler == "smc":
        from secdilemma.model.smc import smc_summary

        typer.echo(smc_summary(result))
    else:
        typer.echo(diagnostics.summary())
    typer.echo(f"wrote {path}")
    typer.echo(f"wrote {write_manifest(result, path.with_suffix('.json'))}")
    if not diagnostics.ok:
        typer.secho(
            "WARNING: diagnostics failed; the saved posterior is flagged (diagnostics_ok = 0)",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(code=3)
