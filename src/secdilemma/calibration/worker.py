"""What runs on a Dask worker: one simulation, fitted with a model compiled once per process.

:func:`run_simulation` is one task of an SBC run: simulate a panel from the
prior (:mod:`secdilemma.calibration.simulation`), fit it with the package's
fitter, rank the truth (:mod:`secdilemma.calibration.ranks`) and write the
result to ``DIR/sims/sim_NNNNN.nc`` *atomically* (a temporary file in the
same folder, renamed once complete: :func:`secdilemma.files.atomic_path`), then
return a small dict of metadata; the driver never receives a posterior.

**Compile once per worker.** The first task of a variant and panel shape in a
process compiles a :class:`~secdilemma.model.sampling.CompiledModel` (about a
minute cold); later tasks swap their simulated moves into it
(``compiled.with_data``) and sample in seconds. The fit is the same, bit for
bit, whichever panel the model was compiled with (``tests/test_model_refit.py``),
so which worker ran a simulation does not change its ranks. Before its
first compilation a worker has the model compiled once in a child process
(:func:`warm_cache`), because code numba compiles in a process and the same
code loaded from the cache differ in floating-point detail.

**A failure is a result.** An exception while simulating or fitting is caught
and written as that simulation's result (``status = "error"``, the message,
no ranks): rerunning it would fail the same way (its seed fixes it), and
dropping it would bias SBC. A fit whose diagnostics fail is a result too
(``status = "fitted"``, ``diagnostics_ok = 0``): its ranks are kept. Only a
task lost with its worker (killed, out of memory) leaves no file; the driver
records it as ``lost`` and ``--resume`` runs it again.

**Per-worker set-up** (:class:`WorkerSetup`, a Dask worker plugin, also
applied by the task itself when no plugin ran): one thread for BLAS and numba
(``OMP_NUM_THREADS`` etc.; a worker is one core) and a PyTensor compile
directory of its own, ``BASE/<worker name>`` (``PYTENSOR_FLAGS=base_compiledir=``,
numba's cache included), because workers that share one directory wait on
its lock while compiling. These must be set before PyTensor and numba are
imported in the worker process, so this module imports neither at the top:
PyMC is imported inside :func:`run_simulation`. A worker that restarts keeps
its name, so its cache is warm. nutpie runs the chains one after the other
(``cores=1``) inside a worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import traceback
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from distributed import WorkerPlugin

from secdilemma.calibration.ranks import quantities, rank_all, true_values
from secdilemma.calibration.simulation import simulate, streams
from secdilemma.files import atomic_path, write_text
from secdilemma.model.variants import Variant

THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
"""Environment of a worker process: one thread each for BLAS and numba."""

DEFAULT_COMPILEDIR = Path.home() / ".pytensor" / "secdilemma-workers"
"""Default base of the per-worker PyTensor compile directories."""

RESULT_FORMAT = 1
"""Version of the per-simulation file layout (checked on ``--resume``)."""

_COMPILED: dict[tuple[str, tuple[int, int]], Any] = {}
"""This process's compiled models, by (variant JSON, panel shape)."""

_CONFIGURED: dict[str, Any] = {}
"""What :func:`configure_process` set in this process."""


def worker_compiledir(base: str | Path, worker_name: str) -> Path:
    """``base/<worker name>``, the name made safe for a folder."""
    return Path(base) / (re.sub(r"[^A-Za-z0-9._-]+", "_", str(worker_name)) or "worker")


def configure_process(worker_name: str, compiledir: str | Path | None = None) -> dict[str, Any]:
    """Set one thread for BLAS and numba and a compile directory of this worker's own.

    Idempotent. The environment only acts on libraries not yet imported; if
    PyTensor already is, its compile directory stays as it was, and the record
    says so (``compiledir_applied`` False).

    Returns
    -------
    dict
        ``worker``, ``compiledir`` (the directory in force) and
        ``compiledir_applied``.
    """
    if _CONFIGURED:
        return _CONFIGURED
    os.environ.update(THREAD_ENV)
    target = worker_compiledir(compiledir or DEFAULT_COMPILEDIR, worker_name)
    applied = "pytensor" not in sys.modules
    if applied:
        target.mkdir(parents=True, exist_ok=True)
        flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f]
        flags = [f for f in flags if not f.startswith("base_compiledir=")]
        os.environ["PYTENSOR_FLAGS"] = ",".join([*flags, f"base_compiledir={target}"])
    else:
        import pytensor

        target = Path(pytensor.config.base_compiledir)
    try:  # BLAS pools already loaded (NumPy is imported by then) take the limit now
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn's stack
        pass
    _CONFIGURED.update(
        {"worker": str(worker_name), "compiledir": str(target), "compiledir_applied": applied}
    )
    return _CONFIGURED


class WorkerSetup(WorkerPlugin):
    """Dask worker plugin: :func:`configure_process` on every worker, also on restarted ones.

    Parameters
    ----------
    compiledir
        Base of the per-worker compile directories (default
        :data:`DEFAULT_COMPILEDIR`; on a cluster, a folder on a file system
        the worker's node can write).
    """

    name = "secdilemma-calibration-setup"

    def __init__(self, compiledir: str | Path | None = None) -> None:
        self.compiledir = None if compiledir is None else str(compiledir)

    def setup(self, worker: Any) -> None:
        """Configure the worker process before any task runs there."""
        configure_process(worker.name, self.compiledir)


def _worker_name() -> str | None:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except ValueError:  # not inside a Dask worker
        return None


def warm_cache(variant: Variant, n_dyads: int, n_years: int) -> float:
    """Compile the model once in a child process, so that this process loads it from the cache.

    Measured (PyTensor 3.3.8, numba 0.68): machine code that numba compiles
    in a process differs in floating-point detail from the same code loaded
    from the compile cache by a later process, and NUTS amplifies the
    difference: a fit compiled into an empty cache gives other draws, for the
    same seed, than the same fit in any later process. A child process
    therefore compiles first (writing the cache, or finding it warm: ~20 s);
    the worker's own compilation then loads the cached code, and every fit of
    a run, on whichever worker, fresh or restarted, runs the same code, so
    the same seed gives the same ranks. The child inherits the worker's
    environment (its compile directory).

    Once the child has compiled a model into a compile directory, a marker
    file there (``secdilemma-warm/<hash of model, shape and library
    versions>.json``, with the number of files in numba's cache) lets later
    processes skip the child while the cache still holds at least that many
    files. Returns the seconds taken (0 when skipped).
    """
    import pytensor

    from secdilemma.model.io import library_versions

    started = time.perf_counter()
    spec = json.dumps({"variant": json.loads(variant.to_json()), "shape": [n_dyads, n_years]})
    key = hashlib.sha256((spec + json.dumps(library_versions(), sort_keys=True)).encode())
    base = Path(pytensor.config.base_compiledir)
    marker = base / "secdilemma-warm" / f"{key.hexdigest()[:20]}.json"

    def n_cached() -> int:
        numba = base / "numba"
        return sum(1 for _ in numba.iterdir()) if numba.is_dir() else 0

    if marker.is_file() and n_cached() >= json.loads(marker.read_text())["numba_files"]:
        return 0.0
    subprocess.run(
        [sys.executable, "-m", "secdilemma.calibration.worker"],
        input=spec, text=True, check=True, capture_output=True, env=dict(os.environ),
    )  # fmt: skip
    write_text(marker, json.dumps({"numba_files": n_cached(), "model": json.loads(spec)}))
    return time.perf_counter() - started


def _compile_from_stdin() -> None:
    """Entry point of :func:`warm_cache`'s child: compile the model described on stdin."""
    from secdilemma.core.simulate import simulate_dyads
    from secdilemma.model.sampling import CompiledModel

    spec = json.loads(sys.stdin.read())
    n_dyads, n_years = spec["shape"]
    CompiledModel(simulate_dyads(n_dyads, n_years, seed=0), Variant.from_dict(spec["variant"]))


def compiled_model(variant: Variant, panel: xr.Dataset) -> tuple[Any, bool]:
    """The compiled model of this process for the variant and panel shape; compiled if new.

    A new one is compiled after :func:`warm_cache`, so that it runs the
    cached code. Returns the :class:`~secdilemma.model.sampling.CompiledModel`
    (with ``warm_seconds``, the child's time, set) and whether it was compiled
    by this call.
    """
    from secdilemma.model.sampling import CompiledModel

    key = (variant.to_json(), (panel.sizes["dyad"], panel.sizes["year"]))
    if key in _COMPILED:
        return _COMPILED[key], False
    warm = warm_cache(variant, panel.sizes["dyad"], panel.sizes["year"])
    model = CompiledModel(panel, variant)
    model.warm_seconds = warm
    _COMPILED[key] = model
    return model, True


def result_path(out: str | Path, index: int) -> Path:
    """``out/sims/sim_NNNNN.nc``."""
    return Path(out) / "sims" / f"sim_{int(index):05d}.nc"


def run_simulation(job: dict[str, Any]) -> dict[str, Any]:
    """One SBC simulation: simulate, fit, rank, write the result file; return metadata.

    Parameters
    ----------
    job
        ``index``, ``seed`` (the simulation's), ``variant`` (JSON),
        ``n_dyads``, ``n_years``, ``fit`` (keyword arguments of
        :meth:`~secdilemma.model.sampling.CompiledModel.fit`), ``rank_draws``,
        ``out`` (the run's folder), ``settings_hash`` and ``compiledir``.

    Returns
    -------
    dict
        ``index``, ``seed``, ``status`` (``fitted`` or ``error``),
        ``diagnostics_ok`` (1, 0, or -1 without a fit), ``wall_seconds``,
        ``sampling_seconds``, ``compile_seconds``, ``compiled`` (whether this
        task compiled the model), ``worker``, ``error`` and ``path``.
    """
    started = time.perf_counter()
    name = _worker_name()
    setup = configure_process(name, job.get("compiledir")) if name is not None else {}
    from secdilemma.model.builder import BELIEF_REFERENCE, model_data
    from secdilemma.model.diagnostics import FitDiagnosticsWarning
    from secdilemma.model.sampling import MultimodalPosteriorWarning

    variant = Variant.from_dict(json.loads(job["variant"]), source="calibration job")
    qs = quantities(variant)
    seeds = streams(job["seed"])
    meta: dict[str, Any] = {
        "index": int(job["index"]),
        "seed": int(job["seed"]),
        "status": "error",
        "diagnostics_ok": -1,
        "compiled": False,
        "compile_seconds": 0.0,
        "sampling_seconds": float("nan"),
        "worker": name or "local",
        "error": "",
    }
    ranks = None
    truth_values: dict[str, float] = {}
    panel = None
    diagnostics = "{}"
    caught: list[str] = []
    try:
        panel, truth = simulate(variant, job["n_dyads"], job["n_years"], job["seed"])
        data = model_data(panel)
        truth_values = true_values(
            variant, truth, lag_reference=data.lag_reference, belief_reference=BELIEF_REFERENCE
        )
        model, compiled_now = compiled_model(variant, panel)
        meta["compiled"] = compiled_now
        if compiled_now:  # the child's compilation and this process's (from the cache)
            meta["compile_seconds"] = round(model.warm_seconds + model.compile_seconds, 3)
        settings = {"progress_bar": False, "cores": 1 if name is not None else None}
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always", FitDiagnosticsWarning)
            warnings.simplefilter("always", MultimodalPosteriorWarning)
            result = model.fit(panel, **job["fit"], **settings, seed=seeds.sampler)
        caught = [
            str(w.message)
            for w in records
            if issubclass(w.category, (FitDiagnosticsWarning, MultimodalPosteriorWarning))
        ]
        sampler = json.loads(result.attrs["sampler"])
        meta["sampling_seconds"] = sampler["sampling_seconds"]
        meta["diagnostics_ok"] = int(result.attrs["diagnostics_ok"])
        diagnostics = result.attrs["diagnostics"]
        ranks = rank_all(
            result["posterior"].to_dataset(),
            truth_values,
            qs,
            rank_draws=job["rank_draws"],
            rng=np.random.default_rng(seeds.ranks),
        )
        meta["status"] = "fitted"
    except Exception as err:  # a failure is a result (module docstring)
        meta["error"] = f"{type(err).__name__}: {err}"
        meta["traceback"] = traceback.format_exc(limit=8)
    meta["wall_seconds"] = round(time.perf_counter() - started, 3)
    dataset = _result_dataset(job, qs, ranks, truth_values, panel, meta, diagnostics, caught, setup)
    path = result_path(job["out"], job["index"])
    with atomic_path(path) as tmp:
        dataset.to_netcdf(tmp, engine="h5netcdf")
    meta["path"] = str(path)
    meta.pop("traceback", None)
    return meta


def _result_dataset(
    job: dict[str, Any],
    qs: list[Any],
    ranks: dict[str, np.ndarray] | None,
    truth: dict[str, float],
    panel: xr.Dataset | None,
    meta: dict[str, Any],
    diagnostics: str,
    caught: list[str],
    setup: dict[str, Any],
) -> xr.Dataset:
    """The per-simulation file: ranks and summaries over ``quantity``, metadata as attrs."""
    labels = [q.label for q in qs]
    n = len(labels)
    missing = {
        "rank": np.full(n, -1, dtype=np.int64),
        "truth": np.array([truth.get(label, np.nan) for label in labels]),
        "posterior_mean": np.full(n, np.nan),
        "posterior_sd": np.full(n, np.nan),
        "ess_bulk": np.full(n, np.nan),
        "n_ties": np.full(n, -1, dtype=np.int64),
    }
    values = ranks if ranks is not None else missing
    long_names = {
        "rank": "rank of the true value among the thinned posterior draws (-1: no fit)",
        "truth": "true value (prior draw the panel was simulated from)",
        "posterior_mean": "posterior mean",
        "posterior_sd": "posterior standard deviation",
        "ess_bulk": "bulk effective sample size of the quantity's draws",
        "n_ties": "thinned draws equal to the true value (ties broken at random)",
    }
    ds = xr.Dataset(
        {k: ("quantity", values[k], {"long_name": long_names[k]}) for k in long_names},
        coords={"quantity": labels},
    )
    if panel is not None:
        ds["move"] = (
            ("dyad", "side", "year"),
            panel["move"].values.astype(np.int8),
            {"long_name": "simulated move (0 de-escalate .. 3 militarized)"},
        )
    ds.attrs = {
        "title": f"secdilemma SBC simulation {int(job['index'])}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "format": RESULT_FORMAT,
        "complete": 1,
        "index": int(job["index"]),
        "seed": int(job["seed"]),
        "settings_hash": job["settings_hash"],
        "status": meta["status"],
        "error": meta["error"],
        "traceback": meta.get("traceback", ""),
        "diagnostics_ok": int(meta["diagnostics_ok"]),
        "diagnostics": diagnostics,
        "warnings": json.dumps(caught),
        "wall_seconds": float(meta["wall_seconds"]),
        "sampling_seconds": float(meta["sampling_seconds"]),
        "compile_seconds": float(meta["compile_seconds"]),
        "compiled": int(meta["compiled"]),
        "worker": str(meta["worker"]),
        "worker_setup": json.dumps(setup, default=str),
        "rank_draws": int(job["rank_draws"]),
    }
    return ds


def read_result(path: str | Path, *, settings_hash: str | None = None) -> xr.Dataset | None:
    """A finished simulation's result, or ``None`` if the file is absent or incomplete.

    A file counts as finished when it opens, is marked ``complete``, has the
    current layout (:data:`RESULT_FORMAT`) and, if ``settings_hash`` is given,
    was made with those settings.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception:  # unreadable: half-written by something else, truncated, corrupt
        return None
    if int(ds.attrs.get("complete", 0)) != 1 or int(ds.attrs.get("format", 0)) != RESULT_FORMAT:
        return None
    if "rank" not in ds or "quantity" not in ds.dims:
        return None
    if settings_hash is not None and ds.attrs.get("settings_hash") != settings_hash:
        return None
    return ds


if __name__ == "__main__":
    _compile_from_stdin()
