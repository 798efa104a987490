"""Simulation-based calibration (SBC) of the model variants, run on Dask.

Draw parameters from a variant's prior, simulate a panel with the package's
simulator, fit it with the package's fitter, and rank each true value among
its posterior draws: if the fit computes the posterior correctly, every rank
is uniform (Talts et al. 2018; Modrák et al. 2023).

- :mod:`~secdilemma.calibration.simulation`: one simulation's prior draw and panel, its seeds;
- :mod:`~secdilemma.calibration.ranks`: the ranked quantities, thinning, ranks;
- :mod:`~secdilemma.calibration.worker`: the Dask task (compile once per worker,
  refit with swapped data, atomic result file) and the worker set-up;
- :mod:`~secdilemma.calibration.run`: :func:`calibrate`, the driver (LocalCluster or
  a scheduler address, progress, ``resume``), and :func:`combine` -> ``ranks.nc``;
- :mod:`~secdilemma.calibration.uniformity`: uniformity tests and the summary table.

Figures are in :mod:`secdilemma.plotting.calibration`. Names are imported on
first use: ``import secdilemma.calibration`` imports neither PyMC nor Dask.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "CalibrationError": "run",
    "calibrate": "run",
    "combine": "run",
    "load_ranks": "run",
    "quantities": "ranks",
    "simulate": "simulation",
    "simulation_seed": "simulation",
    "uniformity_table": "uniformity",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access."""
    if name in _WHERE:
        return getattr(import_module(f"secdilemma.calibration.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'secdilemma.calibration' has no attribute {name!r}")
