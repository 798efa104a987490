"""The jobs the command line runs, as functions that return the paths they wrote.

- :func:`load_panel`: the panel a job reads (bundled, a built panel folder or
  its CSV, or a netCDF panel), restricted to some dyads;
- :func:`fit_outputs`: the files a fit will write, checked before any work;
- :func:`fit_to_file`: fit a variant and save the fit with its manifest;
- :func:`save_fit_with_manifest`: save a fit and its manifest together;
- :func:`demo`: the main job (``make run``): the spiral simulated, the
  historical dyads drawn and fitted.

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
from secdilemma.panel import PanelFileError, read_panel

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


def save_fit_with_manifest(fit: xr.DataTree, out: str | Path) -> tuple[Path, Path]:
    """Save ``fit`` to ``out`` (``NAME.nc``) and its manifest to ``NAME.json``, together.

    Both are written under temporary names and renamed into place only when
    both are complete (:func:`secdilemma.files.atomic_paths`): an error or
    interrupt leaves the previous pair as it was.

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
        write_fit(fit, tmp_fit, label=out)
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
    """The main job: the spiral simulated, the historical dyads drawn and fitted.

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
