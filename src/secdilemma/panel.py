"""The dyad-panel schema shared by the simulator, the historical loader and the models.

A *panel* is an :class:`xarray.Dataset` with dims ``(dyad, side, year)``:

- ``move`` (float, NaN where missing): the coded military move, 0
  ``de-escalate``, 1 ``hold``, 2 ``build-up``, 3 ``militarized`` (DESIGN §2);
- coords ``dyad`` (ids such as ``"USA-RUS"``), ``side`` (0, 1), ``year``
  (calendar years for historical data, periods 0..T-1 for simulated data),
  and ``state`` / ``ccode`` over ``(dyad, side)``.

Simulated panels add ``belief``, ``evidence`` and ``intent``; historical panels
add the raw source values (``milex``, ``milper``, ``hostility`` ...). Models
read only ``move``.

On disk a panel is a netCDF file: :func:`save_panel` writes netCDF-4 (HDF5,
atomically), :func:`read_panel` reads netCDF-4 or netCDF-3 and validates, with
errors (:class:`PanelFileError`) that name the file. The historical panel's CSV
form is read by :func:`secdilemma.data.load.load_dyads`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.files import atomic_path

MOVE_LABELS: tuple[str, ...] = ("de-escalate", "hold", "build-up", "militarized")
"""Names of the move categories 0..3."""

MOVE_FLAG_ATTRS = {
    "flag_values": [0, 1, 2, 3],
    "flag_meanings": "de-escalate hold build-up militarized",
    "long_name": "military move",
    "units": "1",
}
"""CF-style attributes of the ``move`` variable."""

PANEL_DIMS = ("dyad", "side", "year")


class PanelError(ValueError):
    """A panel (or a request to select from one) breaks the schema; the message says how."""


def validate_panel(panel: xr.Dataset, *, source: str = "panel") -> xr.Dataset:
    """Check that a Dataset follows the panel schema and return it.

    Parameters
    ----------
    panel
        Candidate panel.
    source
        Name used in error messages (e.g. a file path).

    Returns
    -------
    xarray.Dataset
        The same panel, with ``move`` transposed to ``(dyad, side, year)``.

    Raises
    ------
    PanelError
        If ``move`` is absent, has other dims, a side axis other than (0, 1),
        non-consecutive years, values outside 0..3 (other than NaN; the
        message names the dyad and year), a dyad id that appears more than
        once, or two dyads over the same pair of states (``"USA-RUS"`` and
        ``"RUS-USA"``, judged by the ``state`` coord when there is one). A
        repeated dyad is an error, never de-duplicated: the models would count
        the same data twice.
    """
    if "move" not in panel:
        raise PanelError(f"{source}: no 'move' variable; expected a panel with dims {PANEL_DIMS}")
    if set(panel["move"].dims) != set(PANEL_DIMS):
        raise PanelError(f"{source}: 'move' has dims {panel['move'].dims}, expected {PANEL_DIMS}")
    panel = panel.transpose(*PANEL_DIMS, ...)
    sides = panel["side"].values.tolist()
    if sides != [0, 1]:
        raise PanelError(f"{source}: side coordinate must be [0, 1], got {sides}")
    years = np.asarray(panel["year"].values)
    if years.size and not np.array_equal(np.diff(years), np.ones(years.size - 1)):
        raise PanelError(f"{source}: years must be consecutive integers, got {years.tolist()}")
    move = panel["move"].values.astype(float)
    bad = ~np.isnan(move) & ~np.isin(move, (0.0, 1.0, 2.0, 3.0))
    if bad.any():
        d, i, t = np.argwhere(bad)[0]
        raise PanelError(
            f"{source}: move must be 0..3 or missing, got {move[d, i, t]!r} for dyad "
            f"{panel['dyad'].values[d]}, side {i}, year {years[t]}"
        )
    _check_unique_dyads(panel, source)
    return panel


def _check_unique_dyads(panel: xr.Dataset, source: str) -> None:
    """Raise if a dyad id repeats or two dyads hold the same pair of states."""
    ids = [str(d) for d in panel["dyad"].values.tolist()]
    repeated = sorted(d for d, n in Counter(ids).items() if n > 1)
    if repeated:
        raise PanelError(
            f"{source}: dyad id(s) {repeated} appear more than once; expected each dyad "
            "once (the models would count its data twice)"
        )
    if "state" not in panel.coords or set(panel["state"].dims) != {"dyad", "side"}:
        return
    states = panel["state"].transpose("dyad", "side").values
    seen: dict[frozenset[str], str] = {}
    for dyad, pair in zip(ids, states, strict=True):
        key = frozenset(str(s) for s in pair)
        if len(key) < 2:
            continue
        if key in seen:
            raise PanelError(
                f"{source}: dyads {seen[key]!r} and {dyad!r} are the same pair of states "
                f"{sorted(key)}; expected each pair once (the models would count its data "
                "twice)"
            )
        seen[key] = dyad


def grouping_attributes(panel: xr.Dataset) -> list[str]:
    """The dyad coords a panel can be grouped by.

    Parameters
    ----------
    panel
        A panel.

    Returns
    -------
    list of str
        Names of the coords over ``dyad`` alone holding text or bools (for a
        rivalry panel ``rivalry_type``, ``region``, ``type_spatial``, ...),
        sorted. Ids and names that differ per dyad (``dyad``,
        ``rivalry_id``, ``rivalry_name``, ``rivalry_spells``,
        ``listed_pairs``) and numbers are not categories and are left out.
    """
    not_categories = {"dyad", "rivalry_id", "rivalry_name", "rivalry_spells", "listed_pairs"}
    out = []
    for name, coord in panel.coords.items():
        if coord.dims != ("dyad",) or name in not_categories:
            continue
        if coord.dtype.kind in ("U", "S", "O", "b"):
            out.append(str(name))
    return sorted(out)


def grouping(panel: xr.Dataset, attribute: str) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Codes and labels of a categorical dyad attribute, for a hierarchical group.

    Parameters
    ----------
    panel
        A panel with the attribute as a coord over ``dyad``.
    attribute
        One of :func:`grouping_attributes` (e.g. ``"rivalry_type"``,
        ``"region"``).

    Returns
    -------
    codes
        ``(dyad,)`` index into ``labels`` of each dyad's value.
    labels
        The distinct values, sorted (bools as ``"False"``, ``"True"``).

    Raises
    ------
    PanelError
        If the attribute does not exist or is not categorical (the message
        lists the available ones), or a dyad's value is empty.
    """
    available = grouping_attributes(panel)
    if attribute not in available:
        raise PanelError(
            f"grouping attribute {attribute!r} is not a categorical dyad coord of this panel; "
            f"available: {available or 'none (a rivalry panel has rivalry_type, region, ...)'}"
        )
    values = np.asarray(panel[attribute].values).astype(str)
    empty = [str(d) for d, v in zip(panel["dyad"].values, values, strict=True) if v == ""]
    if empty:
        raise PanelError(
            f"grouping attribute {attribute!r} is empty for dyad(s) {empty[:10]}; expected a "
            "value for every dyad"
        )
    labels = tuple(sorted(set(values.tolist())))
    codes = np.array([labels.index(v) for v in values], dtype=np.int64)
    return codes, labels


def left_align(panel: xr.Dataset) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Moves shifted so that every dyad's series starts at period 0.

    Historical dyads start in different calendar years; the belief recursion
    and the models take year 0 as each dyad's baseline (DESIGN §3). Leading
    years in which neither side has an observed move are dropped; shorter
    dyads are padded with NaN at the end.

    Parameters
    ----------
    panel
        A valid panel.

    Returns
    -------
    move
        Array ``(dyad, side, period)`` of moves with NaN where missing.
    first_year
        Index into ``panel.year`` of each dyad's first observed year.
    """
    move = validate_panel(panel)["move"].values.astype(float)
    observed_any = (~np.isnan(move)).any(axis=1)  # (dyad, year)
    has_data = observed_any.any(axis=1)
    if not has_data.all():
        empty = panel["dyad"].values[~has_data].tolist()
        raise PanelError(f"panel: dyads with no observed move at all: {empty}")
    first = observed_any.argmax(axis=1)
    n_years = move.shape[2]
    aligned = np.full_like(move, np.nan)
    for d, start in enumerate(first):  # one slice copy per dyad, outside any log-density
        aligned[d, :, : n_years - start] = move[d, :, start:]
    return aligned, first.astype(np.int64)


class PanelFileError(PanelError):
    """A panel file cannot be read or does not hold a valid panel; the message names it."""


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NETCDF3_SIGNATURE = b"CDF"


def read_panel(path: str | Path) -> xr.Dataset:
    """Read a panel saved as netCDF (by :func:`save_panel` or ``secdilemma simulate``).

    Parameters
    ----------
    path
        A netCDF-4 (HDF5) or netCDF-3 file.

    Returns
    -------
    xarray.Dataset
        The panel, loaded into memory and validated (:func:`validate_panel`).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    PanelFileError
        If the file is empty, not netCDF, damaged, or does not hold a valid
        panel; the message names the file and what was expected.
    """
    path = Path(path)
    if path.is_dir():
        raise PanelFileError(f"{path}: is a directory; expected a panel file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such panel file")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise PanelFileError(f"{path}: is empty; expected a netCDF panel")
    engine = "scipy" if head.startswith(NETCDF3_SIGNATURE) else "h5netcdf"
    try:
        with xr.open_dataset(path, engine=engine) as ds:
            data = ds.load()
    except Exception as err:  # h5py and scipy raise OSError, KeyError, ValueError ...
        kind = "netCDF-3" if engine == "scipy" else "netCDF-4"
        if engine == "h5netcdf" and not head.startswith(HDF5_SIGNATURE):
            reason = "not a netCDF file"
        else:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:160]
        raise PanelFileError(
            f"{path}: cannot be read as a {kind} panel ({reason}); the file is damaged, "
            "truncated or of another format"
        ) from err
    try:
        return validate_panel(data, source=str(path))
    except (ValueError, TypeError, KeyError) as err:
        message = str(err)
        if not message.startswith(str(path)):
            message = f"{path}: not a valid panel ({message})"
        raise PanelFileError(message) from err


def save_panel(panel: xr.Dataset, path: str | Path) -> Path:
    """Write a panel to netCDF-4 (``h5netcdf``), atomically.

    The file is written beside ``path`` under a temporary name and renamed
    into place when complete (:func:`secdilemma.files.atomic_path`): an error
    or interrupt leaves a previous file at ``path`` as it was.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        panel.to_netcdf(tmp, engine="h5netcdf")
    return path
