"""The jobs the command line runs, as functions that return the paths they wrote.

- :func:`load_panel`: the panel a job reads (bundled, a built panel folder or
  its CSV, or a netCDF panel), restricted to some dyads;
- :func:`fit_outputs`: the files a fit will write, checked before any work;
- :func:`fit_to_file`: fit a variant and save the fit with its manifest;
- :func:`save_fit_with_manifest`: save a fit and its manifest together;
- :func:`report`: the main job (``make run``, ``secdilemma report``): the
  variants fitted (or their reference fits reused), compared, checked against
  history, history rerun with sensible beliefs; figures, tables, ``report.md``;
  also on the whole population (``panel="rivalries"``, :func:`is_population`),
  with shares by group (``group_by``) and P(misplaced certainty) by group, and,
  with ``robustness``, the comparison under each coding (:mod:`secdilemma.robustness`);
- :func:`demo`: the spiral simulated, the historical dyads drawn and ``free``
  fitted.

Every file goes through :mod:`secdilemma.files` (temporary file, renamed when
complete), and outputs are checked (:func:`secdilemma.files.check_output_path`)
before anything is computed. Importing this module does not import PyMC: the
functions that fit import the model code when they run.

A fit ``NAME.nc`` has its manifest ``NAME.json`` beside it, and the two are
one result: ``out`` must end in ``.nc``; an existing ``NAME.nc`` or
``NAME.json`` is replaced only with ``overwrite=True``; a ``NAME.json`` that is
not a secdilemma manifest (:func:`secdilemma.model.manifest.is_manifest`) is
never replaced; and neither file may be an input of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xarray as xr

from secdilemma.core.parameters import check_seed
from secdilemma.files import OutputPathError, atomic_paths, check_output_path
from secdilemma.panel import PanelError, PanelFileError, read_panel

if TYPE_CHECKING:
    from secdilemma.model.variants import Variant

Echo = Callable[[str], None]
"""Where a job reports progress (``typer.echo`` in the CLI); ``None`` is silent."""

PANEL_CSV = "dyads.csv"
"""Name of the panel CSV inside a folder written by ``secdilemma data build``."""


def _say(echo: Echo | None, message: str) -> None:
    if echo is not None:
        echo(message)


def parse_dyads(text: str | Sequence[str] | None) -> list[str] | None:
    """Dyad ids from ``"all"``, ``None``, a comma-separated string or a sequence.

    Returns
    -------
    list of str or None
        The ids in order; ``None`` for all dyads.

    Raises
    ------
    ValueError
        If no id is given or an id is given twice.
    """
    if text is None or (isinstance(text, str) and text.strip().lower() == "all"):
        return None
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [str(name).strip() for name in items if str(name).strip()]
    if not names:
        raise ValueError(f"dyads: no dyad id in {text!r}; expected 'all' or ids such as USA-RUS")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"dyads: {', '.join(repeated)} given more than once")
    return names


BUNDLED_PANELS = ("dyads", "rivalries")
"""Names of the panels shipped with the package (:func:`secdilemma.load_dyads`)."""


def load_panel(
    panel: str | Path | None = None, dyads: str | Sequence[str] | None = None
) -> xr.Dataset:
    """The panel a job reads, restricted to ``dyads``.

    Parameters
    ----------
    panel
        ``None`` for the bundled historical panel; the name of a bundled panel
        (:data:`BUNDLED_PANELS`: ``"dyads"``, ``"rivalries"``) unless a file of
        that name exists; a folder written by ``secdilemma data build`` or its
        ``dyads.csv``; or a netCDF panel (from ``secdilemma simulate`` or
        :func:`secdilemma.panel.save_panel`).
    dyads
        ``"all"``/``None``, or dyad ids (comma-separated or a sequence); the
        historical panels also accept the reversed id (``RUS-USA``).

    Returns
    -------
    xarray.Dataset
        A valid panel (:func:`secdilemma.panel.validate_panel`).

    Raises
    ------
    FileNotFoundError
        If ``panel`` does not exist.
    ValueError
        If the file does not hold a valid panel, a dyad is not in it, or a
        dyad is selected twice; messages name the file or the dyad.
    """
    from secdilemma.data.load import load_dyads

    names = parse_dyads(dyads)
    if panel is None:
        data = load_dyads(names)
    elif str(panel) in BUNDLED_PANELS and not Path(panel).exists():
        data = load_dyads(names, panel=str(panel))
    else:
        path = Path(panel)
        if not path.exists():
            raise FileNotFoundError(
                f"panel {path}: no such file or folder, and not the name of a bundled panel "
                f"({', '.join(BUNDLED_PANELS)})"
            )
        if path.is_dir():
            path = path / PANEL_CSV
        if path.suffix.lower() == ".csv":
            try:
                data = load_dyads(names, path=path)
            except ValueError as err:  # pandas' parse errors do not name the file
                if str(path) in str(err):
                    raise
                raise PanelFileError(f"{path}: not a panel CSV ({err})") from err
        else:
            data = read_panel(path)
            if names is not None:
                have = [str(d) for d in data["dyad"].values]
                absent = [d for d in names if d not in set(have)]
                if absent:
                    shown = ", ".join(have[:6]) + (
                        f" ... ({len(have)} dyads)" if len(have) > 6 else ""
                    )
                    raise ValueError(f"{path}: no dyad(s) {', '.join(absent)}; it has {shown}")
                data = data.sel(dyad=names)
    ids = [str(d) for d in data["dyad"].values]
    if len(set(ids)) != len(ids):
        repeated = sorted({d for d in ids if ids.count(d) > 1})
        raise ValueError(
            f"dyads: {', '.join(repeated)} selected more than once (e.g. as A-B and B-A)"
        )
    return data


def fit_outputs(
    out: str | Path, *, inputs: Iterable[str | Path] = (), overwrite: bool = False
) -> tuple[Path, Path]:
    """Check, before any work, the fit ``out`` and its manifest beside it.

    Parameters
    ----------
    out
        The fit file, ``NAME.nc``; the manifest is ``NAME.json``.
    inputs
        Files the run reads (panel, variant file): neither output may be one.
    overwrite
        Whether an existing fit and manifest may be replaced.

    Returns
    -------
    tuple of pathlib.Path
        ``(NAME.nc, NAME.json)``.

    Raises
    ------
    OutputPathError
        If ``out`` does not end in ``.nc``, either file is an input, a
        directory, in a folder that cannot be written, exists without
        ``overwrite``, or ``NAME.json`` exists and is not a secdilemma manifest.
    """
    from secdilemma.model.manifest import is_manifest

    out = Path(out)
    if out.suffix != ".nc":
        raise OutputPathError(
            f"--out {out}: expected a .nc file for the fit (its manifest is written beside "
            "it as NAME.json)"
        )
    manifest = out.with_suffix(".json")
    inputs = [Path(p) for p in inputs]
    check_output_path(out, inputs=inputs, overwrite=overwrite)
    check_output_path(manifest, inputs=inputs, option="manifest")
    if manifest.exists():
        if not is_manifest(manifest):
            raise OutputPathError(
                f"manifest {manifest}: exists and is not a secdilemma fit manifest; the fit "
                f"{out.name} would write its manifest there: move that file or choose another --out"
            )
        if not overwrite:
            raise OutputPathError(
                f"manifest {manifest}: exists (an earlier fit's); pass --overwrite "
                "(overwrite=True) to replace the fit and its manifest"
            )
    return out, manifest


def save_fit_with_manifest(
    fit: xr.DataTree, out: str | Path, *, compact: bool = False
) -> tuple[Path, Path]:
    """Save ``fit`` to ``out`` (``NAME.nc``) and its manifest to ``NAME.json``, together.

    Both are written under temporary names and renamed into place only when
    both are complete (:func:`secdilemma.files.atomic_paths`): an error or
    interrupt leaves the previous pair as it was. With ``compact`` the fit is
    saved compact (:func:`secdilemma.model.io.compact_fit`); the manifest is
    the same either way.

    Returns
    -------
    tuple of pathlib.Path
        ``(NAME.nc, NAME.json)``.
    """
    from secdilemma.model.io import write_fit
    from secdilemma.model.manifest import write_manifest

    out = Path(out)
    manifest = out.with_suffix(".json")
    with atomic_paths(out, manifest) as (tmp_fit, tmp_manifest):
        write_fit(fit, tmp_fit, label=out, compact=compact)
        write_manifest(fit, tmp_manifest)
    return out, manifest


def fit_to_file(
    panel: xr.Dataset,
    variant: str | Path | Variant,
    out: str | Path,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | Path] = (),
    **fit_kwargs: Any,
) -> tuple[xr.DataTree, tuple[Path, Path]]:
    """Fit ``variant`` to ``panel`` and save the fit and its manifest.

    The outputs are checked first (:func:`fit_outputs`), so that nothing is
    sampled for a file that cannot be written.

    Parameters
    ----------
    panel, variant
        As for :func:`secdilemma.model.sampling.fit`.
    out, overwrite, inputs
        As for :func:`fit_outputs`.
    **fit_kwargs
        Passed to :func:`secdilemma.model.sampling.fit` (``draws``, ``seed``,
        ``keep_partial`` ...).

    Returns
    -------
    fit, (fit_path, manifest_path)

    Raises
    ------
    secdilemma.model.sampling.FitInterrupted
        If sampling was interrupted (and ``keep_partial`` is not set): nothing
        is written.
    """
    nc, _ = fit_outputs(out, inputs=inputs, overwrite=overwrite)
    from secdilemma.model import sampling

    result = sampling.fit(panel, variant, **fit_kwargs)
    return result, save_fit_with_manifest(result, nc)


DEMO_FILES = (
    "simulated_misplaced_certainty.nc",
    "simulated_sensible.nc",
    "free_historical.nc",
    "free_historical.json",
    "figures/spiral.png",
)
"""Files of :func:`demo` whose targets are checked before it starts."""


def demo(
    out: str | Path = "build",
    *,
    dyads: int = 1000,
    years: int = 60,
    seed: int = 20261127,
    fit: bool = True,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    historical: str | Sequence[str] | None = None,
    echo: Echo | None = None,
) -> list[Path]:
    """The demo: the spiral simulated, the historical dyads drawn and fitted.

    Simulates two benign states under misplaced certainty and under
    security-dilemma sensibility (netCDF + spiral figure), draws the coded
    moves of the bundled historical panel, and fits the ``free`` variant to it
    (posterior netCDF with provenance and its manifest, the diagnostics, and
    the fitted belief paths figure). Figures are PNG and PDF under
    ``out/figures``. Every input and output is checked before the first file
    is written; earlier outputs in ``out`` are replaced.

    Parameters
    ----------
    out
        Output folder.
    dyads, years
        Simulated dyads per regime and years per dyad.
    seed
        Seed of the simulation and the sampler.
    fit
        Also fit the ``free`` variant to the historical panel.
    draws, tune, chains
        Settings of that fit.
    historical
        Historical dyads to draw and fit (``None``/``"all"`` or ids).
    echo
        Progress reporter (e.g. ``print``).

    Returns
    -------
    list of pathlib.Path
        The files written, in order.
    """
    from secdilemma.core.simulate import simulate_dyads
    from secdilemma.panel import save_panel
    from secdilemma.plotting import plot_dyad_moves, plot_spiral, save_figure

    out = Path(out)
    check_seed(seed)
    for name in DEMO_FILES:
        check_output_path(out / name, option="--out")
    history = load_panel(None, historical)
    written: list[Path] = []

    def wrote(paths: Iterable[Path]) -> None:
        for path in paths:
            written.append(path)
            _say(echo, f"wrote {path}")

    panels = {
        name: simulate_dyads(dyads, years, beliefs=name, seed=seed)
        for name in ("misplaced_certainty", "sensible")
    }
    for name, panel in panels.items():
        wrote([save_panel(panel, out / f"simulated_{name}.nc")])
    figures = {"spiral": plot_spiral(panels), "historical_moves": plot_dyad_moves(history)}
    if fit:
        from secdilemma.model.io import fit_diagnostics
        from secdilemma.model.sampling import fit as fit_model
        from secdilemma.plotting.beliefs import plot_belief_paths

        posterior = fit_model(history, "free", draws=draws, tune=tune, chains=chains, seed=seed)
        from secdilemma.model.contraction import contraction_summary, fit_contraction

        _say(echo, fit_diagnostics(posterior).summary())
        _say(echo, contraction_summary(fit_contraction(posterior)))
        wrote(save_fit_with_manifest(posterior, out / "free_historical.nc"))
        figures["belief_paths"] = plot_belief_paths(posterior, states=history["state"])
    for name, figure in figures.items():
        wrote(save_figure(figure, out / "figures" / name))
    return written


REPORT_VARIANTS = ("mixture", "sensible", "misplaced_certainty", "free")
"""Variants the report fits, the headline model first (DESIGN §4)."""

HEADLINE = "mixture"
"""The headline model, when it is among the report's variants."""

QUICK_FIT = {"draws": 300, "tune": 300}
"""Sampler settings ``--quick`` fits with when no reference fit can be reused (the
reference fits, made with the full settings, are reused under ``--quick`` too)."""

DRAWS_PER_CHAIN = {False: 250, True: 100}
"""Posterior draws per chain behind the predictive checks, the counterfactuals and the
belief-path bands: full report, ``--quick``."""


POPULATION_PANELS = ("rivalries",)
"""Bundled panels that are the whole population (Thompson-Dreyer rivalries, issue 12)."""

DISPLAY_GROUPING = "region"
"""Dyad attribute by which a population report without ``group_by`` shows P(misplaced
certainty) (the fits' ``rho`` is then one population share, shown once)."""


def is_population(panel: xr.Dataset | str | Path | None, data: xr.Dataset) -> bool:
    """Whether a report is on the whole population rather than the historical panel.

    That is: the bundled ``rivalries`` panel by name, or any panel of
    rivalries (one with a ``rivalry_id`` coord).
    """
    named = isinstance(panel, (str, Path)) and str(panel) in POPULATION_PANELS
    return bool(named and not Path(str(panel)).exists()) or "rivalry_id" in data.coords


def fit_stem(variant: str, *, population: bool = False, group_by: str | None = None) -> str:
    """File stem of a report's fit: ``mixture``, ``mixture_rivalries``, ``mixture_by_region`` ...

    A population or grouped fit is named apart from the historical panel's
    (and from the reference fits ``VARIANT_historical``), so none replaces another.
    """
    return variant + ("_rivalries" if population else "") + (f"_by_{group_by}" if group_by else "")


def _compare(
    fits: dict[str, xr.DataTree],
    kfold: bool,
    panel: xr.Dataset,
    seed: int = 0,
    *,
    without_kfold: str = "the full report refits them (K-fold)",
) -> Any:
    """Compare the fits with the dyad as the unit: :func:`secdilemma.compare`, for the report.

    PSIS-LOO per dyad (the sum of its two states' terms where a fit has them
    per state; DESIGN §5), exact leave-one-dyad-out refits of the dyads whose
    Pareto k exceeds 0.7 when ``kfold`` (masked, compiled once per variant,
    chains started at the fit's draws: :mod:`secdilemma.model.kfold`), and
    stacking weights.

    Parameters
    ----------
    fits
        Variant -> fit (at least one).
    kfold
        Whether to refit the dyads where PSIS-LOO is unreliable (the full
        report) or only name them (``--quick``).
    panel
        The panel the fits were made from (checked against each; the refits
        need it).
    seed
        Base seed of the refits (:class:`~secdilemma.model.kfold.RefitSettings`).
    without_kfold
        Without ``kfold``: what would refit the dyads whose Pareto k exceeds
        0.7, said in the note that names them.

    Returns
    -------
    secdilemma.reporting.Comparison
        ``table`` as :attr:`secdilemma.analysis.comparison.Comparison.table`;
        ``pointwise`` one row per variant and dyad (``elpd_loo``: the PSIS term,
        or the refit's held-out term where refitted; ``pareto_k`` of PSIS;
        ``refitted``).
    """
    from secdilemma.analysis.comparison import compare
    from secdilemma.model.kfold import RefitSettings
    from secdilemma.reporting import Comparison

    result = compare(
        fits,
        panel,
        unit="dyad",
        refit="auto" if kfold else "none",
        settings=RefitSettings(seed=seed),
    )
    pointwise = result.pointwise.rename(columns={"model": "variant", "elpd": "elpd_loo"})
    pointwise = pointwise[["variant", "dyad", "elpd_loo", "elpd_psis", "pareto_k", "refitted"]]
    high = pointwise[pointwise["pareto_k"] > result.k_threshold]
    notes = list(result.notes)
    refitted = sum(len(d) for d in result.refitted.values())
    if kfold:
        method = f"PSIS-LOO + K-fold ({refitted} dyad refits)" if refitted else "PSIS-LOO"
        if not len(high):
            notes.append("Every Pareto k is at most 0.7: no K-fold refit was needed.")
    else:
        method = "PSIS-LOO only (no K-fold refits)"
        if len(high):
            notes.append(
                f"Pareto k > 0.7 for {len(high)} (model, dyad) pairs ("
                + ", ".join(f"{r.variant} {r.dyad}" for r in high.itertuples())
                + f"): their PSIS-LOO terms are unreliable; {without_kfold}."
            )
        else:
            notes.append("Every Pareto k is at most 0.7.")
    return Comparison(table=result.table, pointwise=pointwise, method=method, notes=notes)


def _check_folder(out: Path) -> None:
    """Refuse, before any work, an output folder that is a file or cannot be written."""
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"--out {out}: is a file, not a folder")
    check_output_path(out / "report.md", option="--out")


def report(
    out: str | Path = "build",
    *,
    variants: str | Sequence[str] | None = None,
    quick: bool = False,
    panel: xr.Dataset | str | Path | None = None,
    dyads: str | Sequence[str] | None = None,
    fits: Sequence[str | Path] = (),
    models: str | Path | None = None,
    refit: bool = False,
    update_references: bool = False,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    seed: int | None = None,
    draws_per_chain: int | None = None,
    group_by: str | None = None,
    kfold: bool | None = None,
    robustness: bool = False,
    codings: str | Sequence[str] | None = None,
    progress_bar: bool = False,
    echo: Echo | None = None,
) -> list[Path]:
    """The main job: fit (or reuse) the variants, compare, check, rerun history, report.

    1. **Fits.** For each variant, a fit given in ``fits`` is used; else the
       reference fit ``MODELS/VARIANT_historical.nc`` is reused if its
       provenance matches what this run would fit
       (:func:`secdilemma.reference.find_reusable`; the rule is in
       :mod:`secdilemma.reference`); else the variant is fitted and saved,
       compact, with its manifest, to ``OUT/fits/VARIANT.nc`` (and, with
       ``update_references``, to the reference file). A flagged fit
       (``diagnostics_ok = 0``) is used, and named at the top of the report.
    2. **Comparison**: :func:`_compare` (PSIS-LOO by dyad, K-fold refits of
       the dyads with Pareto k > 0.7, stacking; ``quick``: PSIS-LOO only, and
       the report says so).
    3. **Posterior predictive checks**, both kinds, every fit; tidy table.
    4. **Counterfactuals** of the headline model: each side of each dyad
       with sensible beliefs.
    5. **Figures** (PNG + PDF), **tables** (CSV + Markdown) and ``report.md``.

    Everything is checked before the first fit (variants, panel, dyads, the
    given fits, the output folder), and written into a staging folder that
    is moved into ``out`` only when complete
    (:func:`secdilemma.files.staged_folder`): a failure or interrupt leaves
    ``out`` as it was (fits already saved as references stay).

    Parameters
    ----------
    out
        Output folder.
    variants
        Variants to fit (default :data:`REPORT_VARIANTS`), names or TOML paths,
        comma-separated or a sequence; the headline model is ``mixture`` if
        present, else the first.
    quick
        PSIS-LOO only, :data:`DRAWS_PER_CHAIN` ``[True]`` draws per chain for the
        checks, fewer figures (:func:`_report_figures`), and, where a fit must
        be made, :data:`QUICK_FIT` settings (matching reference fits are
        reused all the same; with ``update_references`` the fits keep the
        reference settings).
    panel, dyads
        The panel (default the bundled historical one; a path as for
        :func:`load_panel`, or a Dataset) and the dyads to keep.
    fits
        Fit files to use instead of fitting their variants; each must be a
        fit of this panel (else an error naming it).
    models
        Folder of the reference fits (default
        :func:`secdilemma.reference.reference_folder`, the repository's ``models/``).
    refit
        Fit every variant, reusing nothing.
    update_references
        Save the fits this run makes as the reference fits in ``models``
        (``make reference-fits``: ``--quick --refit --update-references``).
    draws, tune, chains, seed
        Sampler settings (default :data:`secdilemma.reference.REFERENCE_SETTINGS`,
        or :data:`QUICK_FIT` under ``quick``).
    draws_per_chain
        Draws per chain behind checks, counterfactuals and bands (default
        :data:`DRAWS_PER_CHAIN`).
    group_by
        A categorical dyad attribute of the panel (``region``,
        ``rivalry_type``, ...; :func:`secdilemma.panel.grouping_attributes`):
        every fit's shares ``pi`` and ``rho`` vary by its groups, and the
        report gains a section "P(misplaced certainty) by group". Default none
        (one population share); a population report then shows the states
        by :data:`DISPLAY_GROUPING` with the population ``rho`` once.
    kfold
        Refit the dyads whose Pareto k exceeds 0.7 (K-fold). Default: yes for a
        full report on the historical panel; no under ``quick`` and on the
        population (:func:`is_population`; 110 dyads), where the report names
        those dyads instead.
    robustness
        Also refit the headline comparison under each coding (``codings``) and
        write ``tables/robustness.{csv,md}``
        (:func:`secdilemma.robustness.coding_robustness`); bundled panels only.
    codings
        The codings of ``robustness`` (default all of
        :data:`secdilemma.data.codings.CODINGS`; ``nmc-5``, the bundled one, is
        always included).
    progress_bar
        Show the sampler's progress bars.
    echo
        Progress reporter (``typer.echo`` in the CLI).

    **The population** (``panel="rivalries"``): fits are made without stored
    belief paths (``beliefs=False``; :mod:`secdilemma.analysis` recomputes
    them), never reuse the reference fits (those are of the historical panel)
    and are saved as ``fits/VARIANT_rivalries[_by_ATTRIBUTE].nc`` (:func:`fit_stem`);
    ``update_references`` is refused. The figures with one panel per dyad
    (:data:`secdilemma.reporting.POPULATION_FIGURES_LEFT_OUT`) are left out, and the report says so.

    Returns
    -------
    list of pathlib.Path
        The files written, in order (``out/report.md`` last).

    Raises
    ------
    ValueError
        On an unknown variant or dyad, a given fit from another panel or that
        cannot be read, an output folder that cannot be written (each naming
        it), before anything is fitted or written.
    """
    import time
    import warnings

    from secdilemma.model.io import fit_info, load_fit
    from secdilemma.model.variants import load_variant
    from secdilemma.reference import (
        REFERENCE_SETTINGS,
        describe_settings,
        find_reusable,
        reference_folder,
        reference_path,
    )
    from secdilemma.reporting import FitRecord

    started = time.perf_counter()
    out = Path(out)
    _check_folder(out)
    names = (
        list(REPORT_VARIANTS)
        if variants is None
        else [v for v in (variants.split(",") if isinstance(variants, str) else variants) if v]
    )
    specs = {}
    for name in names:
        spec = load_variant(name.strip())
        if spec.name in specs:
            raise ValueError(f"--variants: {spec.name} given more than once")
        specs[spec.name] = spec
    if isinstance(panel, xr.Dataset):
        data = panel
        chosen = parse_dyads(dyads)
        if chosen is not None:
            absent = [d for d in chosen if d not in set(map(str, data["dyad"].values))]
            if absent:
                raise ValueError(f"dyads: no dyad(s) {', '.join(absent)} in the panel")
            data = data.sel(dyad=chosen)
    else:
        data = load_panel(panel, dyads)
    population = is_population(panel, data)
    if group_by is not None:
        from secdilemma.panel import grouping

        try:
            grouping(data, group_by)
        except PanelError as err:
            raise ValueError(f"--group-by: {err}") from None
    own_fits = population or group_by is not None
    if update_references and own_fits:
        raise ValueError(
            "--update-references: the reference fits are ungrouped fits of the historical "
            "panel; a report on the population (--panel rivalries) or with --group-by saves "
            "its own fits under OUT/fits/"
        )
    coding_names: list[str] = []
    robust_panel = ""
    if robustness:
        from secdilemma.robustness import check_codings, robustness_panel

        robust_panel = robustness_panel(panel)
        coding_names = check_codings(codings)
    models = reference_folder() if models is None else Path(models)
    settings = dict(REFERENCE_SETTINGS)
    if quick and not update_references:  # reference fits are made with the reference settings
        settings |= QUICK_FIT
    for key, value in (("draws", draws), ("tune", tune), ("chains", chains), ("seed", seed)):
        if value is not None:
            settings[key] = value
    for key in ("draws", "tune", "chains"):
        if int(settings[key]) != settings[key] or settings[key] < (0 if key == "tune" else 1):
            raise ValueError(f"--{key}: must be a positive integer, got {settings[key]!r}")
    check_seed(settings["seed"])
    explicit = any(v is not None for v in (draws, tune, chains, seed))
    acceptable = [settings] + ([dict(REFERENCE_SETTINGS)] if quick and not explicit else [])
    per_chain = DRAWS_PER_CHAIN[quick] if draws_per_chain is None else int(draws_per_chain)
    if per_chain < 1:
        raise ValueError(f"--draws-per-chain: must be positive, got {per_chain}")
    given: dict[str, tuple[Path, xr.DataTree]] = {}
    for path in map(Path, fits):
        try:
            fit = load_fit(path, data, strict=True)
        except ValueError as err:
            raise ValueError(f"--fit {err}") from None
        name = fit_info(fit)["variant"]["name"]
        if name in given:
            raise ValueError(f"--fit {path}: a second fit of variant {name!r}")
        given[name] = (path, fit)
        specs.setdefault(name, load_variant(fit_info(fit)["variant"]))
    if update_references:
        for name in specs:
            check_output_path(reference_path(name, models), option="--update-references")
    headline = HEADLINE if HEADLINE in specs else next(iter(specs))
    _say(
        echo,
        f"report on {data.sizes['dyad']} dyads: {', '.join(specs)} (headline {headline})"
        + ("; the population" if population else "")
        + (f"; shares by {group_by}" if group_by else "")
        + ("; quick" if quick else ""),
    )
    fit_options: dict[str, Any] = {"group_by": group_by, "beliefs": not population}
    use_kfold = (not quick and not population) if kfold is None else bool(kfold)

    from secdilemma.files import staged_folder

    written: list[Path] = []
    with staged_folder(out) as stage, warnings.catch_warnings():
        # R-hat and ESS of a parameter a variant fixes (constant draws) are 0/0: the
        # diagnostics record them as NaN; NumPy's warning about it is noise here.
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        # 1. Fits.
        records: list[FitRecord] = []
        for k, (name, spec) in enumerate(specs.items(), start=1):
            step = f"[fit {k}/{len(specs)}] {name}"
            if name in given:
                path, fit = given[name]
                records.append(
                    FitRecord(name, fit, "given", path, f"given as {path}", _settings(fit))
                )
                _say(echo, f"{step}: using the given fit {path}")
                continue
            reuse = None
            if not refit and not own_fits:
                reuse = find_reusable(
                    reference_path(name, models), panel=data, variant=spec, settings=acceptable
                )
                _say(echo, f"{step}: {reuse.describe()}")
                if reuse.reused:
                    assert reuse.fit is not None
                    records.append(
                        FitRecord(name, reuse.fit, "reused", reuse.path, reuse.describe(),
                                  _settings(reuse.fit))
                    )  # fmt: skip
                    continue
            _say(echo, f"{step}: fitting, {describe_settings(settings)} ...")
            t0 = time.perf_counter()
            fit = _fit_quietly(data, spec, settings, progress_bar, **fit_options)
            status = "passed" if fit.attrs.get("diagnostics_ok") else "FAILED (flagged)"
            _say(echo, f"{step}: fitted in {time.perf_counter() - t0:.0f} s; diagnostics {status}")
            stem = fit_stem(name, population=population, group_by=group_by)
            target = out / "fits" / f"{stem}.nc"
            save_fit_with_manifest(fit, stage / "fits" / f"{stem}.nc", compact=True)
            written += [target, target.with_suffix(".json")]
            if update_references:
                ref = reference_path(name, models)
                save_fit_with_manifest(fit, ref, compact=True)
                _say(echo, f"{step}: saved as the reference fit {ref}")
            if own_fits:
                why = "the reference fits are ungrouped fits of the historical panel"
            else:
                why = "refit requested" if reuse is None else "; ".join(reuse.reasons)
            records.append(
                FitRecord(
                    name, fit, "fitted", target, f"fitted by this run ({why})", _settings(fit)
                )
            )
        fitted = {r.variant: r.fit for r in records}

        # 2. Comparison.
        _say(
            echo,
            "[compare] PSIS-LOO by dyad"
            + ("; K-fold refits where Pareto k > 0.7" if use_kfold else " (no K-fold)"),
        )
        hint = (
            "pass --kfold to refit them (K-fold: one refit per dyad and model, costly on the "
            "population)"
            if population
            else "the full report refits them (K-fold)"
        )
        comparison = _compare(
            fitted, kfold=use_kfold, panel=data, seed=settings["seed"], without_kfold=hint
        )
        if population and not use_kfold:
            comparison.notes.insert(
                0,
                "On the population the comparison is PSIS-LOO only: K-fold refits of its dyads "
                "would be far too costly (pass --kfold to refit those with Pareto k > 0.7).",
            )

        # 3. Predictive checks.
        import pandas as pd

        from secdilemma.analysis.predictive import posterior_predictive, ppc_table

        checked = {}
        tables = []
        for name, fit in fitted.items():
            _say(
                echo,
                f"[checks] {name}: conditional and generative replicates, "
                f"{per_chain} draws per chain",
            )
            checked[name] = posterior_predictive(
                fit, max_draws=per_chain, seed=settings["seed"], panel=data
            )
            tables.append(ppc_table(checked[name], panel=data).assign(variant=name))
        ppc = pd.concat(tables, ignore_index=True)
        ppc = ppc[["variant", *[c for c in ppc.columns if c != "variant"]]]

        # 4. Counterfactuals.
        from secdilemma.analysis.counterfactual import counterfactual

        head = fitted[headline]
        trees = []
        dyad_ids = [str(d) for d in data["dyad"].values]
        _say(echo, f"[counterfactuals] {headline}: {2 * len(dyad_ids)} sides with sensible beliefs")
        for dyad in dyad_ids:
            for side in (0, 1):
                trees.append(
                    counterfactual(head, dyad, side=side, beliefs="sensible", max_draws=per_chain,
                                   seed=settings["seed"], panel=data)
                )  # fmt: skip

        # 5. P(misplaced certainty) by group (issue 12).
        from secdilemma.analysis.groups import fit_group_by, group_shares, group_table
        from secdilemma.model import schema
        from secdilemma.panel import grouping_attributes

        shares = None
        own_group = fit_group_by(head)
        shown_by = group_by or own_group
        if shown_by is None and population and DISPLAY_GROUPING in grouping_attributes(data):
            shown_by = DISPLAY_GROUPING
        if schema.P_MISPLACED in head[schema.POSTERIOR] and (shown_by or own_group):
            shares = group_shares(head, data, None if own_group else shown_by)

        # 6. Robustness to the coding.
        robust = None
        if robustness:
            from secdilemma.robustness import coding_robustness

            robust = coding_robustness(
                robust_panel,
                [str(d) for d in data["dyad"].values],
                specs,
                settings,
                codings=coding_names,
                bundled=fitted,
                fit_options=fit_options,
                progress_bar=progress_bar,
                echo=echo,
            )

        # 7. Tables, figures, report.
        from secdilemma import reporting

        tables_out = {
            "comparison": reporting._comparison_columns(comparison.table),
            "states": reporting.states_table(head, data),
            "dyads": reporting.dyads_table(comparison, data),
            "ppc_summary": reporting.ppc_summary(ppc),
            "counterfactuals": reporting.counterfactual_table(trees),
            "diagnostics": reporting.diagnostics_table(records),
        }
        if shares is not None:
            tables_out["groups"] = group_table(shares)
        if robust is not None:
            tables_out["robustness"] = robust.table
        for path in reporting.write_tables(tables_out, stage / "tables"):
            written.append(out / path.relative_to(stage))
        for name, table in (("ppc", ppc), ("contraction", reporting.contraction_table(records))):
            for path in reporting.write_tables({name: table}, stage / "tables", markdown=False):
                written.append(out / path.relative_to(stage))
        written += _report_figures(
            stage,
            out,
            data,
            checked,
            trees,
            headline,
            ppc,
            per_chain,
            settings["seed"],
            quick,
            echo,
            population=population,
        )
        if shares is not None:
            import matplotlib.pyplot as plt

            from secdilemma.plotting import plot_misplaced_by_group, save_figure

            _say(echo, f"[figures] {headline}: P(misplaced certainty) by {shares.attribute}")
            figure = plot_misplaced_by_group(head, data, None if own_group else shown_by)
            for path in save_figure(figure, stage / "figures" / "misplaced_by_group"):
                written.append(out / path.relative_to(stage))
            plt.close(figure)
        relative = [str(p.relative_to(out)) for p in written] + ["report.md"]
        text = reporting.render_report(
            records=records,
            headline=headline,
            comparison=comparison,
            states=tables_out["states"],
            dyads=tables_out["dyads"],
            ppc=tables_out["ppc_summary"],
            counterfactuals=tables_out["counterfactuals"],
            diagnostics=tables_out["diagnostics"],
            panel=data,
            quick=quick,
            settings={"ppc_draws": per_chain, "counterfactual_draws": per_chain},
            files=relative,
            groups=tables_out.get("groups"),
            grouped=own_group is not None,
            group_attribute=None if shares is None else shares.attribute,
            population=population,
            robustness=robust,
        )
        from secdilemma.files import write_text

        write_text(stage / "report.md", text)
        written.append(out / "report.md")
    flagged = [r.variant for r in records if not r.ok]
    if flagged:
        _say(echo, "flagged fits (diagnostics failed): " + ", ".join(flagged))
    _say(
        echo,
        f"wrote {len(written)} files to {out} in {time.perf_counter() - started:.0f} s; "
        f"read {out / 'report.md'}",
    )
    return written


def _settings(fit: xr.DataTree) -> dict[str, Any]:
    """The draws, tune, chains and seed a fit recorded."""
    from secdilemma.model.io import fit_info

    sampler = fit_info(fit)["sampler"]
    return {k: sampler.get(k) for k in ("draws", "tune", "chains", "seed")}


def _fit_quietly(
    panel: xr.Dataset,
    variant: Any,
    settings: dict[str, Any],
    progress_bar: bool,
    **options: Any,
) -> xr.DataTree:
    """Fit, with the diagnostic and multimodality warnings recorded (the report names them).

    ``options`` (``group_by``, ``beliefs``) go to :func:`secdilemma.model.sampling.fit`.
    """
    import warnings

    from secdilemma.model import sampling
    from secdilemma.model.diagnostics import FitDiagnosticsWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitDiagnosticsWarning)
        warnings.simplefilter("ignore", sampling.MultimodalPosteriorWarning)
        return sampling.fit(panel, variant, **settings, **options, progress_bar=progress_bar)


def _report_figures(
    stage: Path,
    out: Path,
    panel: xr.Dataset,
    checked: dict[str, xr.DataTree],
    trees: list[xr.DataTree],
    headline: str,
    ppc: Any,
    per_chain: int,
    seed: int,
    quick: bool,
    echo: Echo | None,
    *,
    population: bool = False,
) -> list[Path]:
    """Every research figure of the report, PNG + PDF, under ``figures/``.

    Under ``quick`` the per-statistic histograms and the rootograms are drawn
    for the headline model only (the p-value heat maps summarise them for
    the others), and the counterfactuals as one forest plot (the full report
    adds each one's history). For the ``population`` the figures with one
    panel per dyad are left out (:data:`secdilemma.reporting.POPULATION_FIGURES_LEFT_OUT`).
    """
    import matplotlib.pyplot as plt

    from secdilemma.core.simulate import simulate_dyads
    from secdilemma.plotting import (
        plot_belief_paths,
        plot_counterfactual,
        plot_counterfactual_summary,
        plot_dyad_moves,
        plot_misplaced_certainty,
        plot_ppc_pvalues,
        plot_ppc_rootograms,
        plot_ppc_statistics,
        plot_spiral,
        save_figure,
    )

    written: list[Path] = []

    def save(fig: Any, name: str) -> None:
        for path in save_figure(fig, stage / "figures" / name):
            written.append(out / path.relative_to(stage))
        plt.close(fig)

    _say(echo, "[figures] the spiral, the coded moves")
    spiral = {
        name: simulate_dyads(1000, 60, beliefs=name, seed=20261127)
        for name in ("misplaced_certainty", "sensible")
    }
    save(plot_spiral(spiral), "spiral")
    if not population:
        save(plot_dyad_moves(panel), "historical_moves")
    states = panel["state"] if "state" in panel.coords else None
    for name, fit in checked.items():
        _say(echo, f"[figures] {name}: belief paths, misplaced certainty, predictive checks")
        if not population:
            save(
                plot_belief_paths(fit, states=states, max_draws=per_chain, seed=seed,
                                  title=f"Posterior belief paths, {name}"),
                f"{name}/belief_paths",
            )  # fmt: skip
        save(plot_misplaced_certainty(fit, states=states), f"{name}/misplaced_certainty")
        table = ppc[ppc["variant"] == name]
        for kind in ("conditional", "generative"):
            save(plot_ppc_pvalues(table, kind), f"{name}/ppc_pvalues_{kind}")
            if not population and (name == headline or not quick):  # slowest (~15 s each)
                save(plot_ppc_statistics(fit, kind), f"{name}/ppc_statistics_{kind}")
                save(plot_ppc_rootograms(fit, kind), f"{name}/ppc_rootograms_{kind}")
    save(plot_counterfactual_summary(trees), "counterfactuals")
    if not quick and not population:
        _say(echo, f"[figures] {len(trees)} counterfactual histories ({headline})")
        for tree in trees:
            name = f"counterfactual/{tree.attrs['dyad']}_{tree.attrs['state']}"
            save(plot_counterfactual(tree), name)
    return written
