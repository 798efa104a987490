"""``secdilemma report``: the main job (``make run``); a thin wrapper of the pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from secdilemma.cli.app import app
from secdilemma.core.parameters import MAX_SEED


@app.command()
def report(
    out: Annotated[
        Path,
        typer.Option(help="Folder for report.md, tables/, figures/ and fits/; files replaced."),
    ] = Path("build"),
    quick: Annotated[
        bool,
        typer.Option(
            help="PSIS-LOO only (no K-fold), 100 draws per chain for the checks and "
            "counterfactuals, and 4 x (300 + 300) where a fit must be made."
        ),
    ] = False,
    variants: Annotated[
        str,
        typer.Option(
            help="Comma-separated variants (names or .toml files); mixture is the headline model."
        ),
    ] = "mixture,sensible,misplaced_certainty,free",
    dyads: Annotated[
        str, typer.Option(help="'all' or comma-separated dyad ids, e.g. USA-RUS,IND-PAK.")
    ] = "all",
    panel: Annotated[
        Path | None,
        typer.Option(
            help="Panel to report on: a bundled panel by name ('dyads', the historical 12; "
            "'rivalries', the whole population of 110 Thompson-Dreyer rivalries), a netCDF "
            "panel, or a `secdilemma data build` folder or its dyads.csv. Default: 'dyads'."
        ),
    ] = None,
    fit: Annotated[
        list[Path] | None,
        typer.Option(
            "--fit",
            help="A fit file (.nc) to use instead of fitting its variant; repeat for several. "
            "It must be a fit of this panel.",
        ),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option(
            help="Folder of reference fits VARIANT_historical.nc, reused when their provenance "
            "matches (default: the repository's models/)."
        ),
    ] = None,
    refit: Annotated[bool, typer.Option(help="Fit every variant; reuse no reference fit.")] = False,
    update_references: Annotated[
        bool,
        typer.Option(help="Save the fits this run makes as the reference fits in --models."),
    ] = False,
    draws: Annotated[
        int | None, typer.Option(min=1, help="Draws per chain (default 1000; --quick 300).")
    ] = None,
    tune: Annotated[
        int | None, typer.Option(min=0, help="Warm-up draws per chain (default 1000; --quick 300).")
    ] = None,
    chains: Annotated[int | None, typer.Option(min=1, help="Chains (default 4).")] = None,
    seed: Annotated[
        int | None,
        typer.Option(min=0, max=MAX_SEED, help="Sampler seed (default 20261201, the references')."),
    ] = None,
    draws_per_chain: Annotated[
        int | None,
        typer.Option(
            min=1, help="Draws per chain behind checks and counterfactuals (250; --quick 100)."
        ),
    ] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            help="A dyad attribute of the panel (rivalries: region, rivalry_type, type_spatial, "
            "...): pi and rho vary by its groups, and the report adds P(misplaced certainty) "
            "by group. Default: none (one population share)."
        ),
    ] = None,
    kfold: Annotated[
        bool | None,
        typer.Option(
            "--kfold/--no-kfold",
            help="Refit dyads with Pareto k > 0.7 (K-fold). Default: yes for a full report on "
            "the historical panel; no under --quick and for --panel rivalries.",
        ),
    ] = None,
    robustness: Annotated[
        bool,
        typer.Option(
            help="Also refit the comparison under each coding (nmc-2.5/5/10, sipri-2.5/5/10; "
            "PSIS-LOO only) and write tables/robustness.csv/.md. Bundled panels only."
        ),
    ] = False,
    codings: Annotated[
        str | None,
        typer.Option(help="Comma-separated codings for --robustness (default all six)."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the sampler's progress bars.")] = True,
) -> None:
    """Fit or reuse the variants, compare them, check them against history, write the report.

    For each variant a reference fit in --models is reused when its provenance
    matches (panel, variant specification, sampler settings, seed, package
    version, and its log-likelihood recomputed by this version); otherwise
    the variant is fitted and saved to OUT/fits/. Then: PSIS-LOO comparison by
    dyad with stacking weights (--quick: PSIS-LOO only, and the report says
    so), both posterior predictive checks, the counterfactuals of the headline
    model (each side of each dyad with sensible beliefs), every figure (PNG
    and PDF), the tables (CSV and Markdown) and OUT/report.md, which names
    flagged fits at the top.

    Everything is checked before the first fit, and written into a staging
    folder moved into OUT only when complete: an error or Ctrl-C leaves OUT as
    it was.

    With --panel rivalries (the whole population) fits are made without stored
    belief paths, saved as OUT/fits/VARIANT_rivalries[_by_ATTR].nc (never as
    reference fits), compared by PSIS-LOO only (--kfold to refit), and the
    report adds P(misplaced certainty) by group (by --group-by, else by region
    with one population share). Exit status: 0 written (flagged fits are named, not an error);
    2 a usage or input error, nothing done; 130 interrupted.
    """
    from secdilemma.pipeline import report as run_report

    run_report(
        out,
        variants=variants,
        quick=quick,
        panel=panel,
        dyads=dyads,
        fits=fit or (),
        models=models,
        refit=refit,
        update_references=update_references,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        draws_per_chain=draws_per_chain,
        group_by=group_by,
        kfold=kfold,
        robustness=robustness,
        codings=codings,
        progress_bar=progress,
        echo=typer.echo,
    )
