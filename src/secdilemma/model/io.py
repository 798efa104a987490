"""Save fitted posteriors to netCDF and load them back, with provenance.

A fit is an ArviZ 1.x :class:`xarray.DataTree` with groups ``posterior``,
``sample_stats``, ``log_likelihood``, ``observed_data`` and ``constant_data``.
Its root attrs carry the provenance, each a JSON string (netCDF attrs hold
only strings and numbers) — see :data:`PROVENANCE_KEYS`:

- ``variant``: the variant specification (so the model can be rebuilt);
- ``panel_sha256``: :func:`panel_sha256` of the panel fitted;
- ``versions``: package and library versions;
- ``sampler``: sampler name and settings, timings;
- ``seed``: the seed;
- ``diagnostics``: :class:`~secdilemma.model.diagnostics.Diagnostics`, with
  ``diagnostics_ok`` (1 or 0) as the flag;
- ``free_variables``: names of the sampled parameters.

Files are written with ``h5netcdf``; no pickle anywhere.
"""

from __future__ import annotations

import hashlib
import json
import platform
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.model.diagnostics import Diagnostics
from secdilemma.model.variants import Variant
from secdilemma.panel import validate_panel

PROVENANCE_KEYS = (
    "variant",
    "panel_sha256",
    "versions",
    "sampler",
    "seed",
    "diagnostics",
    "free_variables",
)
"""Root attrs (JSON strings) every saved fit carries."""

LIBRARIES = (
    "secdilemma",
    "pymc",
    "pytensor",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "nutpie",
    "numba",
    "numpy",
    "xarray",
    "h5netcdf",
)


class ProvenanceWarning(UserWarning):
    """A saved fit's provenance does not match what it is used with."""


def panel_sha256(panel: xr.Dataset) -> str:
    """SHA-256 of what the models read from a panel.

    The hash covers ``move`` (as float64, NaN for missing, in ``(dyad, side,
    year)`` order) and the ``dyad``, ``side`` and ``year`` coordinates; other
    variables (raw source values, simulated truth) and attrs do not enter the
    likelihood and are left out, so a panel re-saved with extra metadata
    keeps its hash.

    Parameters
    ----------
    panel
        A valid panel.

    Returns
    -------
    str
        Hex digest.
    """
    panel = validate_panel(panel)
    move = np.ascontiguousarray(panel["move"].values, dtype="<f8")
    header = json.dumps(
        {
            "dims": list(panel["move"].dims),
            "shape": list(move.shape),
            "dyad": [str(d) for d in panel["dyad"].values],
            "side": [int(s) for s in panel["side"].values],
            "year": [int(y) for y in panel["year"].values],
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(header.encode("utf-8"))
    digest.update(move.tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries a fit depends on."""
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = version(lib)
        except PackageNotFoundError:
            out[lib] = "not installed"
    return out


def fit_info(fit: xr.DataTree) -> dict[str, Any]:
    """Decoded provenance of a fit: every JSON attr of :data:`PROVENANCE_KEYS`.

    Raises
    ------
    ValueError
        If an attr is missing or not valid JSON (naming it).
    """
    info: dict[str, Any] = {}
    for key in PROVENANCE_KEYS:
        if key not in fit.attrs:
            raise ValueError(f"fit: provenance attr {key!r} missing; not a secdilemma fit?")
        try:
            info[key] = json.loads(fit.attrs[key])
        except (TypeError, json.JSONDecodeError):
            raise ValueError(f"fit: provenance attr {key!r} is not valid JSON") from None
    return info


def fit_variant(fit: xr.DataTree) -> Variant:
    """The :class:`~secdilemma.model.variants.Variant` a fit was made with."""
    return Variant.from_dict(fit_info(fit)["variant"], source="fit attrs")


def fit_diagnostics(fit: xr.DataTree) -> Diagnostics:
    """The :class:`~secdilemma.model.diagnostics.Diagnostics` stored with a fit."""
    return Diagnostics.from_json(fit.attrs["diagnostics"])


def save_fit(fit: xr.DataTree, path: str | Path) -> Path:
    """Write a fit to netCDF (``h5netcdf``), all groups and provenance attrs.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.model.sampling.fit`.
    path
        Output file, conventionally ``models/NAME.nc``; parent directories are
        created.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If the fit lacks a provenance attr.
    """
    fit_info(fit)  # refuse to save a fit without provenance
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fit.to_netcdf(path, engine="h5netcdf")
    return path


def load_fit(
    path: str | Path, panel: xr.Dataset | None = None, *, strict: bool = False
) -> xr.DataTree:
    """Read a fit saved by :func:`save_fit`, optionally checking it against a panel.

    Parameters
    ----------
    path
        A ``.nc`` file written by :func:`save_fit`.
    panel
        The panel the fit is meant to describe: its :func:`panel_sha256` is
        compared with the stored one.
    strict
        Raise instead of warning when the panel does not match.

    Returns
    -------
    xarray.DataTree
        The fit, fully loaded into memory (the file is closed).

    Warns
    -----
    ProvenanceWarning
        If ``panel`` is given and its hash differs from the stored one.

    Raises
    ------
    ValueError
        If the file has no valid provenance, or (``strict``) the panel differs.
    """
    path = Path(path)
    with xr.open_datatree(path, engine="h5netcdf") as tree:
        fit = tree.load().copy()
    try:
        info = fit_info(fit)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    if panel is not None:
        given = panel_sha256(panel)
        if given != info["panel_sha256"]:
            message = (
                f"{path}: the panel given (sha256 {given[:12]}...) is not the panel this "
                f"fit was made from (sha256 {info['panel_sha256'][:12]}...); its posterior "
                "does not describe these data"
            )
            if strict:
                raise ValueError(message)
            warnings.warn(message, ProvenanceWarning, stacklevel=2)
    return fit
