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

A fit whose sampling was interrupted and kept (``fit(..., keep_partial=True)``)
also has ``interrupted = 1`` (:mod:`secdilemma.model.sampling`).

Files are written with ``h5netcdf``; no pickle anywhere.

Compact files. ``save_fit(fit, path, compact=True)`` writes :func:`compact_fit`
of the fit: what the NumPy engine of :mod:`secdilemma.analysis` recomputes
exactly from the parameters is dropped (the belief paths ``posterior.belief``,
most of a historical fit's bytes, and a ``posterior_predictive`` group, which
:func:`secdilemma.analysis.predictive.posterior_predictive` redraws bit for bit
from its seed), per-state summaries are stored as float32, and every numeric
variable is compressed (gzip with the shuffle filter). Readers get the belief
paths from :func:`secdilemma.analysis.likelihood.beliefs` whether they are
stored or not. A compact file records what was done in its ``compact`` attr
(JSON), which the checksum covers; it loads like any other fit. What stays
float64 and why is :data:`FLOAT64_VARIABLES`.

Integrity. :func:`save_fit` writes to a temporary file beside the target, reads
it back, and renames it into place only if it holds exactly the fit
(:func:`secdilemma.files.atomic_path`): an interrupted or failed save leaves a
previous file untouched. It stores :func:`data_sha256`, a SHA-256 over every
variable of every group and the provenance attrs, as the root attr
``data_sha256``; :func:`load_fit` recomputes it and refuses a file that does
not match (a :class:`FitFileError` naming the file), as it refuses a file HDF5
cannot read or one that lacks a group. Fits saved before checksums existed
load with an :class:`IntegrityWarning`.
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

from secdilemma.files import atomic_path
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

FIT_GROUPS = ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data")
"""Groups every fit has (:mod:`secdilemma.model.sampling`)."""

CHECKSUM_ATTR = "data_sha256"
"""Root attr holding :func:`data_sha256` of a saved fit."""

COMPACT_ATTR = "compact"
"""Root attr (JSON) of a compact fit (:func:`compact_fit`): what was dropped and what cast."""

RECOMPUTABLE = {"posterior": ("belief",)}
"""Variables :func:`compact_fit` drops: the engine recomputes them exactly from the
parameters (:func:`secdilemma.analysis.likelihood.beliefs`). The
``posterior_predictive`` group, if present, is dropped too."""

FLOAT64_VARIABLES = ("alpha", "l0", "w", "s")
"""Per-state posterior variables a compact fit keeps in float64.

They are what the engine reads (with the shared parameters, which have no
``dyad`` dimension and always stay float64), so belief paths, likelihoods and
predictive checks recomputed from a compact fit equal those of the full fit
to rounding (1e-10). The ``log_likelihood`` group stays float64 too, so
PSIS-LOO of a compact fit is the full fit's. Every other posterior variable
with a ``dyad`` dimension (``p_malign``, ``misplaced_certainty``,
``p_misplaced``, ``p_regime``, ``configuration_weight`` and the non-centred
``z_*``) is a summary read through means and quantiles, or a standard normal
the engine never reads: float32's seven significant digits are far below its
Monte Carlo error (~1e-2), at half the bytes."""

COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
"""HDF5 filters of a compact file's numeric variables (level 6 or 9 saves < 1 %)."""

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


class FitFileError(ValueError):
    """A fit file cannot be used: unreadable, incomplete, or its data fail the checksum."""


class IntegrityWarning(UserWarning):
    """A fit file has no checksum (saved before checksums existed): it cannot be verified."""


def _canonical_bytes(values: np.ndarray) -> bytes:
    """Bytes of an array that survive a netCDF round trip unchanged.

    Numbers (booleans and integers included) as little-endian float64 with one
    NaN pattern, so that a dtype the file stores differently (``bool`` as
    ``int8``) hashes alike; text as NUL-separated UTF-8. netCDF has no ``None``:
    an object array of ``None`` (nutpie's ``divergence_message`` without
    divergences) reads back as NaN, a ``None`` (or NaN) among strings as ``""``,
    and both hash as they read back.
    """
    a = np.asarray(values)
    if a.dtype.kind == "O":
        flat = a.ravel().tolist()
        if all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in flat
        ):
            a = np.array([np.nan if v is None else v for v in flat], dtype="<f8")
        else:
            a = np.array([str(v) if isinstance(v, str) else "" for v in flat], dtype=object)
    if a.dtype.kind in "biuf":
        a = np.ascontiguousarray(a, dtype="<f8")
        return np.where(np.isnan(a), np.nan, a).tobytes()
    if a.dtype.kind in "mM":
        return np.ascontiguousarray(a).view("<i8").tobytes()
    return "\0".join(str(v) for v in a.ravel().tolist()).encode("utf-8")


def data_sha256(fit: xr.DataTree) -> str:
    """SHA-256 of a fit's data: every variable of every group and the provenance attrs.

    Groups in path order, variables (data and coordinates) in name order, each
    as its group, name, dims and shape followed by its values
    (:func:`_canonical_bytes`); then the :data:`PROVENANCE_KEYS` attrs as text,
    and the :data:`COMPACT_ATTR` of a compact fit. Other attrs (timestamps that
    ArviZ adds to groups, ``diagnostics_ok``) are left out.

    Parameters
    ----------
    fit
        A fit, in memory or as loaded.

    Returns
    -------
    str
        Hex digest.
    """
    digest = hashlib.sha256()
    for node in sorted(fit.subtree, key=lambda n: n.path):
        ds = node.to_dataset(inherit=False)
        for name in sorted(str(v) for v in ds.variables):
            var = ds.variables[name]
            header = {"group": node.path, "name": name, "dims": list(map(str, var.dims))}
            header["shape"] = [int(n) for n in var.shape]
            digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
            digest.update(_canonical_bytes(var.values))
    for key in PROVENANCE_KEYS:
        digest.update(json.dumps([key, str(fit.attrs.get(key, ""))]).encode("utf-8"))
    if COMPACT_ATTR in fit.attrs:  # only where present: older checksums stay valid
        digest.update(json.dumps([COMPACT_ATTR, str(fit.attrs[COMPACT_ATTR])]).encode("utf-8"))
    return digest.hexdigest()


def _short(err: BaseException) -> str:
    """First line of an exception's message, shortened, for a one-line error."""
    text = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return text if len(text) <= 160 else text[:157] + "..."


def _read_tree(path: Path) -> xr.DataTree:
    """Read a whole netCDF file into memory, turning HDF5's errors into :class:`FitFileError`."""
    if path.is_dir():
        raise FitFileError(f"{path}: is a directory; expected a fit file (.nc)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such fit file")
    if path.stat().st_size == 0:
        raise FitFileError(f"{path}: is empty; not a fit")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return tree.load().copy()
    except Exception as err:  # h5py raises OSError, KeyError, ValueError ... on damage
        raise FitFileError(
            f"{path}: cannot be read as a netCDF-4 fit ({_short(err)}); the file is "
            "damaged, truncated or not a fit"
        ) from err


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


def provenance_attrs(
    *,
    title: str,
    variant: Variant,
    panel: xr.Dataset,
    sampler: dict[str, Any],
    seed: int,
    diagnostics: Diagnostics,
    free_variables: list[str],
) -> dict[str, Any]:
    """The root attrs every fit carries (:data:`PROVENANCE_KEYS`), JSON-encoded.

    One writer for NUTS (:mod:`secdilemma.model.sampling`) and SMC
    (:mod:`secdilemma.model.smc`) fits, so both record the same provenance.
    """
    from datetime import UTC, datetime

    return {
        "title": title,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "variant": variant.to_json(),
        "panel_sha256": json.dumps(panel_sha256(panel)),
        "versions": json.dumps(library_versions(), sort_keys=True),
        "sampler": json.dumps(sampler, sort_keys=True),
        "seed": json.dumps(int(seed)),
        "diagnostics": diagnostics.to_json(),
        "diagnostics_ok": int(diagnostics.ok),
        "free_variables": json.dumps(free_variables),
    }


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


def compact_fit(fit: xr.DataTree) -> xr.DataTree:
    """The fit without what the engine recomputes, per-state summaries as float32.

    Drops :data:`RECOMPUTABLE` (the belief paths) and any
    ``posterior_predictive`` group, and casts the posterior variables with a
    ``dyad`` dimension other than :data:`FLOAT64_VARIABLES` to float32 (module
    docstring). Everything else is unchanged. The result records what was
    done in its :data:`COMPACT_ATTR` attr (compacting a compact fit again
    changes nothing but what it drops now, e.g. a predictive group added since).

    Parameters
    ----------
    fit
        A fit with provenance.

    Returns
    -------
    xarray.DataTree
        A new tree; ``fit`` is not modified.
    """
    earlier = json.loads(fit.attrs.get(COMPACT_ATTR, "{}"))
    groups: dict[str, xr.Dataset] = {}
    dropped: list[str] = list(earlier.get("dropped", []))
    cast: list[str] = list(earlier.get("float32", []))
    for name, node in fit.children.items():
        if name == "posterior_predictive":
            dropped.append(name)
            continue
        ds = node.to_dataset(inherit=False)
        gone = [v for v in RECOMPUTABLE.get(name, ()) if v in ds.data_vars]
        ds = ds.drop_vars(gone)
        dropped += [f"{name}.{v}" for v in gone]
        if name == "posterior":
            for v in list(ds.data_vars):
                var = ds[v]
                if "dyad" in var.dims and v not in FLOAT64_VARIABLES and var.dtype == np.float64:
                    ds[v] = var.astype(np.float32)
                    cast.append(f"{name}.{v}")
        groups[name] = ds
    dropped, cast = list(dict.fromkeys(dropped)), list(dict.fromkeys(cast))
    out = xr.DataTree.from_dict({k: xr.DataTree(v) for k, v in groups.items()})
    out.attrs = dict(fit.attrs)
    out.attrs.pop(CHECKSUM_ATTR, None)
    out.attrs[COMPACT_ATTR] = json.dumps(
        {"dropped": dropped, "float32": cast, "compression": COMPRESSION}
    )
    return out


def _compression(fit: xr.DataTree) -> dict[str, dict[str, dict[str, Any]]]:
    """Encodings that compress every numeric variable of at least one dimension."""
    encoding: dict[str, dict[str, dict[str, Any]]] = {}
    for node in fit.subtree:
        ds = node.to_dataset(inherit=False)
        chosen = {
            str(v): dict(COMPRESSION)
            for v in ds.variables
            if ds[v].ndim >= 1 and ds[v].dtype.kind in "biuf" and ds[v].size > 1
        }
        if chosen:
            encoding[node.path] = chosen
    return encoding


def save_fit(fit: xr.DataTree, path: str | Path, *, compact: bool = False) -> Path:
    """Write a fit to netCDF (``h5netcdf``), all groups, provenance and checksum.

    The file is written beside ``path`` under a temporary name, read back and
    compared with the fit (:func:`data_sha256`), and only then renamed to
    ``path``: on any error or interrupt a previous file at ``path`` is left as
    it was and no temporary file remains.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.model.sampling.fit`. Its root attr
        ``data_sha256`` is set to :func:`data_sha256` of its data (unless
        ``compact``: the checksum is then that of the compact copy written).
    path
        Output file, conventionally ``models/NAME.nc``; parent directories are
        created. An existing file is replaced (the CLI asks for ``--overwrite``).
    compact
        Write :func:`compact_fit` of the fit, compressed (module docstring):
        a historical fit of 4 x 1000 draws takes ~5 MB instead of ~60 MB.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        If the fit lacks a provenance attr.
    FitFileError
        If the file written does not read back as the fit (nothing is replaced).
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        write_fit(fit, tmp, label=path, compact=compact)
    return path


def write_fit(
    fit: xr.DataTree,
    path: str | Path,
    *,
    label: str | Path | None = None,
    compact: bool = False,
) -> None:
    """Write a fit to ``path`` itself and check that it reads back (no temporary file).

    The writing step of :func:`save_fit`, for callers that already write to
    a temporary file, such as a fit and its manifest committed together
    (:func:`secdilemma.files.atomic_paths`). Sets ``fit.attrs["data_sha256"]``
    (of the compact copy's attrs instead, with ``compact``).

    Parameters
    ----------
    fit
        A fit with provenance.
    path
        The file to write.
    label
        The name errors give the file (default ``path``).
    compact
        Write :func:`compact_fit` of the fit, compressed.

    Raises
    ------
    ValueError
        If the fit lacks a provenance attr.
    FitFileError
        If the file written does not read back as the fit.
    """
    fit_info(fit)  # refuse to save a fit without provenance
    label = path if label is None else label
    if compact:
        fit = compact_fit(fit)
    encoding = _compression(fit) if COMPACT_ATTR in fit.attrs else None
    fit.attrs[CHECKSUM_ATTR] = data_sha256(fit)
    fit.to_netcdf(path, engine="h5netcdf", encoding=encoding)
    if data_sha256(_read_tree(Path(path))) != fit.attrs[CHECKSUM_ATTR]:
        raise FitFileError(
            f"{label}: the file written does not read back as the fit; nothing was replaced"
        )


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

    IntegrityWarning
        If the file has no checksum (saved before checksums existed).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    FitFileError
        If the file cannot be read, has no valid provenance, lacks a group of
        :data:`FIT_GROUPS`, or its data do not match the checksum stored when
        it was saved (the file is damaged); the message names the file.
    ValueError
        If ``strict`` and the panel differs.
    """
    path = Path(path)
    fit = _read_tree(path)
    try:
        info = fit_info(fit)
    except ValueError as err:
        raise FitFileError(f"{path}: {err}") from None
    stored = fit.attrs.get(CHECKSUM_ATTR)
    if stored is None:
        warnings.warn(
            f"{path}: saved without a checksum (before secdilemma stored one); its data "
            "cannot be verified",
            IntegrityWarning,
            stacklevel=2,
        )
    elif data_sha256(fit) != stored:
        raise FitFileError(
            f"{path}: data do not match the checksum stored when it was saved; the file is "
            "damaged: restore it or refit"
        )
    for group in FIT_GROUPS:
        if group not in fit.children or not fit[group].data_vars:
            raise FitFileError(f"{path}: group {group!r} is missing or empty; not a complete fit")
    absent = [v for v in info["free_variables"] if v not in fit["posterior"].data_vars]
    if absent:
        raise FitFileError(f"{path}: posterior lacks {absent}; not a complete fit")
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
