"""Simulation-based calibration of a variant, run on ``dask.distributed``.

:func:`calibrate` is the driver (``secdilemma calibrate`` on the command line):

1. it fixes every simulation by a seed (:func:`~secdilemma.calibration.simulation.simulation_seed`
   of the run's seed and the index) and the run's settings (written to
   ``DIR/settings.json``; their hash marks each result);
2. with ``resume``, it skips the simulations whose result file is there and
   complete (opened and checked, :func:`~secdilemma.calibration.worker.read_result`);
   without it, a folder that already holds results is refused;
3. it submits one independent task per remaining simulation
   (:func:`~secdilemma.calibration.worker.run_simulation`) to a Dask cluster: a
   :class:`~distributed.LocalCluster` by default (one single-threaded worker
   process per core; set up by :class:`~secdilemma.calibration.worker.WorkerSetup`),
   or a running cluster at ``scheduler`` (e.g. one started by dask-jobqueue's
   ``SLURMCluster``, README "Calibration"), or a given ``client``; each task
   writes its result atomically and returns only a small dict;
4. it gathers the results as they complete (:func:`distributed.as_completed`),
   reporting progress, and records a task lost with its worker (after Dask's
   own retries) as ``lost`` rather than dropping it;
5. it combines every simulation's file into ``DIR/ranks.nc``
   (:func:`combine`): one row per simulation, with its seed, status,
   diagnostics, run time and worker, so any one simulation can be rerun alone
   (``only=[index]``, in this process, no cluster).

Why not ``simuk``: it runs its fits one after another in one process and
builds and compiles the model for every simulation, the two costs this module
exists to remove (a recompile is about a minute, a refit seconds). Its rank
convention (``#{posterior draws < truth}`` after thinning) is the one used here
(:mod:`secdilemma.calibration.ranks`), with random tie-breaking added for
the discrete latents.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.calibration.ranks import RANK_DRAWS, quantities
from secdilemma.calibration.simulation import simulation_seed
from secdilemma.calibration.worker import (
    THREAD_ENV,
    WorkerSetup,
    read_result,
    result_path,
    run_simulation,
)
from secdilemma.files import atomic_path, write_text
from secdilemma.model.variants import Variant, load_variant

SBC_FIT = {
    "draws": 500,
    "tune": 500,
    "chains": 2,
    "init": "pilot",
    "target_accept": 0.8,
    "adaptation": "low_rank",
}
"""Default per-fit settings of a calibration run (README "Calibration" says why)."""

Progress = Callable[[dict[str, Any], int, int], None]
"""``progress(meta, n_done, n_total)``: called after each finished simulation."""


class CalibrationError(ValueError):
    """A calibration run cannot start (bad settings, a folder of another run)."""


def settings_hash(settings: dict[str, Any]) -> str:
    """SHA-256 (16 hex digits) of the settings that fix every simulation's result."""
    text = json.dumps(settings, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def print_progress(meta: dict[str, Any], done: int, total: int) -> None:
    """Default progress report: one line per finished simulation, on standard error."""
    status = meta["status"]
    if status == "fitted":
        status += "" if meta["diagnostics_ok"] == 1 else " (diagnostics failed)"
    if meta.get("compiled"):
        status += f", compiled in {meta['compile_seconds']:.0f} s"
    text = f"[{done:>{len(str(total))}}/{total}] sim {meta['index']:05d} {status}"
    if meta.get("error"):
        text += f": {meta['error'][:200]}"
    print(f"{text} ({meta.get('wall_seconds', float('nan')):.1f} s, {meta['worker']})",
          file=sys.stderr, flush=True)  # fmt: skip


def calibrate(
    variant: str | Path | Variant | dict[str, Any] = "mixture",
    n_sims: int = 200,
    dyads: int = 6,
    years: int = 40,
    *,
    draws: int = SBC_FIT["draws"],
    tune: int = SBC_FIT["tune"],
    chains: int = SBC_FIT["chains"],
    seed: int = 0,
    out: str | Path = "calibration",
    scheduler: str | None = None,
    client: Any = None,
    n_workers: int | None = None,
    resume: bool = False,
    only: Sequence[int] | None = None,
    rank_draws: int = RANK_DRAWS,
    init: str = SBC_FIT["init"],
    pilot: dict[str, int] | None = None,
    target_accept: float = SBC_FIT["target_accept"],
    adaptation: str = SBC_FIT["adaptation"],
    compiledir: str | Path | None = None,
    progress: Progress | bool = True,
) -> xr.Dataset:
    """Simulation-based calibration of a variant: ``n_sims`` prior draws, simulated and fitted.

    Parameters
    ----------
    variant
        Variant name, TOML path, mapping or :class:`~secdilemma.model.variants.Variant`.
    n_sims
        Number of simulations.
    dyads, years
        Size of each simulated panel.
    draws, tune, chains
        Per-fit sampler settings (as :func:`secdilemma.fit`); ``init``,
        ``pilot``, ``target_accept`` and ``adaptation`` too.
    seed
        The run's seed: the same seed and settings give the same ranks.
    out
        Folder of the run: ``settings.json``, ``sims/sim_NNNNN.nc``, ``ranks.nc``.
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); default: a
        :class:`~distributed.LocalCluster` with ``n_workers`` workers (default:
        one per core), closed at the end.
    client
        A :class:`distributed.Client` to use instead (it stays open).
    n_workers
        Workers of the local cluster.
    resume
        Skip simulations whose result file is there and complete.
    only
        Run these simulation indices only, in this process without Dask
        (rerunning a simulation alone); the combined table covers all ``n_sims``.
    rank_draws
        Thinned draws ``L`` each truth is ranked among (ranks ``0..L``).
    compiledir
        Base of the per-worker compile directories
        (:data:`~secdilemma.calibration.worker.DEFAULT_COMPILEDIR`).
    progress
        ``True`` (a line per simulation on standard error), ``False``, or a
        callable ``progress(meta, n_done, n_total)``.

    Returns
    -------
    xarray.Dataset
        The combined ranks (:func:`combine`), also written to ``out/ranks.nc``.

    Raises
    ------
    CalibrationError
        On bad settings, or if ``out`` holds results of other settings, or
        results at all without ``resume``.
    """
    variant = load_variant(variant)
    for name, value, low in (("n_sims", n_sims, 1), ("dyads", dyads, 1), ("years", years, 2)):
        if int(value) != value or value < low:
            raise CalibrationError(f"{name}: must be an integer >= {low}, got {value!r}")
    if rank_draws < 1 or rank_draws > chains * draws:
        raise CalibrationError(
            f"rank_draws: must lie in 1..chains x draws = {chains * draws}, got {rank_draws}"
        )
    fit_settings: dict[str, Any] = {
        "draws": int(draws), "tune": int(tune), "chains": int(chains), "init": init,
        "target_accept": float(target_accept), "adaptation": adaptation,
    }  # fmt: skip
    if pilot is not None:
        fit_settings["pilot"] = dict(pilot)
    settings = {
        "variant": json.loads(variant.to_json()),
        "n_sims": int(n_sims),
        "dyads": int(dyads),
        "years": int(years),
        "seed": int(seed),
        "fit": fit_settings,
        "rank_draws": int(rank_draws),
    }
    fixed = {k: v for k, v in settings.items() if k != "n_sims"}  # more sims may be added
    digest = settings_hash(fixed)
    out = Path(out)
    _prepare_folder(out, settings, digest, resume=resume or only is not None)

    indices = list(range(n_sims)) if only is None else sorted({int(i) for i in only})
    bad = [i for i in indices if not 0 <= i < n_sims]
    if bad:
        raise CalibrationError(f"only: indices {bad} outside 0..{n_sims - 1}")
    if resume and only is None:
        indices = [i for i in indices if not _finished(out, i, digest)]
    jobs = [
        {
            "index": i,
            "seed": simulation_seed(seed, i),
            "variant": variant.to_json(),
            "n_dyads": int(dyads),
            "n_years": int(years),
            "fit": fit_settings,
            "rank_draws": int(rank_draws),
            "out": str(out.resolve()),
            "settings_hash": digest,
            "compiledir": None if compiledir is None else str(compiledir),
        }
        for i in indices
    ]
    report = print_progress if progress is True else (progress or None)
    started = time.perf_counter()
    lost: dict[int, str] = {}
    if only is not None:
        for done, job in enumerate(jobs, 1):
            meta = run_simulation(job)
            if report:
                report(meta, done, len(jobs))
    elif jobs:
        lost = _run_on_dask(jobs, scheduler, client, n_workers, compiledir, report)
    ranks = combine(out, n_sims, lost=lost, settings=settings, digest=digest)
    ranks.attrs["driver_seconds"] = round(time.perf_counter() - started, 3)
    ranks.attrs["simulations_run"] = json.dumps([job["index"] for job in jobs])
    with atomic_path(out / "ranks.nc") as tmp:
        ranks.to_netcdf(tmp, engine="h5netcdf")
    return ranks


def _finished(out: Path, index: int, digest: str) -> bool:
    """Whether simulation ``index`` has a complete result file of these settings."""
    return read_result(result_path(out, index), settings_hash=digest) is not None


def _prepare_folder(out: Path, settings: dict[str, Any], digest: str, *, resume: bool) -> None:
    """Write ``settings.json``; refuse a folder of another run (or any results without resume)."""
    path = out / "settings.json"
    if path.is_file():
        previous = json.loads(path.read_text())
        previous_fixed = {k: v for k, v in previous.get("settings", {}).items() if k != "n_sims"}
        if settings_hash(previous_fixed) != digest:
            raise CalibrationError(
                f"out: {out} holds a calibration run with other settings ({path}); "
                "choose another folder"
            )
    existing = sorted((out / "sims").glob("sim_*.nc")) if (out / "sims").is_dir() else []
    if existing and not resume:
        raise CalibrationError(
            f"out: {out} already holds {len(existing)} simulation results; pass --resume "
            "(resume=True) to skip the finished ones, or choose another folder"
        )
    (out / "sims").mkdir(parents=True, exist_ok=True)
    record = {"settings": settings, "settings_hash": digest, "secdilemma": version("secdilemma")}
    write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def local_cluster(n_workers: int | None = None) -> Any:
    """A :class:`~distributed.LocalCluster`: one single-threaded worker process per core."""
    from distributed import LocalCluster

    n = n_workers or os.cpu_count() or 1
    return LocalCluster(
        n_workers=n,
        threads_per_worker=1,
        processes=True,
        env=dict(THREAD_ENV),  # set in each worker process before it starts
        dashboard_address=":0",  # any free port: several runs may share a machine
        # memory_limit: a worker holds one compiled model and one fit (~100 MB-1 GB)
        memory_limit=0,
    )


def _run_on_dask(
    jobs: list[dict[str, Any]],
    scheduler: str | None,
    client: Any,
    n_workers: int | None,
    compiledir: str | Path | None,
    report: Progress | None,
) -> dict[int, str]:
    """Submit one task per job, gather as completed; returns the lost tasks' errors."""
    from distributed import Client, as_completed

    cluster = None
    own_client = client is None
    if client is None:
        if scheduler is None:
            cluster = local_cluster(n_workers)
            client = Client(cluster)
        else:
            client = Client(scheduler)
    lost: dict[int, str] = {}
    try:
        client.register_plugin(WorkerSetup(compiledir))
        futures = client.map(
            run_simulation,
            jobs,
            key=[f"sbc-{job['settings_hash']}-{job['index']:05d}" for job in jobs],
            pure=False,
        )
        index_of = {f.key: job["index"] for f, job in zip(futures, jobs, strict=True)}
        for done, future in enumerate(as_completed(futures), 1):
            try:
                meta = future.result()
            except Exception as err:  # the task died with its worker (KilledWorker ...)
                index = index_of[future.key]
                lost[index] = f"{type(err).__name__}: {err}"
                meta = {"index": index, "status": "lost", "diagnostics_ok": -1,
                        "worker": "?", "error": lost[index]}  # fmt: skip
            if report:
                report(meta, done, len(jobs))
            future.release()
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()
    return lost


STATUS = ("fitted", "error", "lost")
"""Status of a simulation in ``ranks.nc``: fitted (ranks kept, whatever the
diagnostics), error (the fit or simulation raised: recorded, no ranks), lost
(no result file: the task died with its worker, or never ran; ``--resume``
runs it)."""


def combine(
    out: str | Path,
    n_sims: int,
    *,
    lost: dict[int, str] | None = None,
    settings: dict[str, Any] | None = None,
    digest: str | None = None,
) -> xr.Dataset:
    """Every simulation's result as one Dataset over ``simulation`` (and ``quantity``).

    Variables: ``rank``, ``truth``, ``posterior_mean``, ``posterior_sd``,
    ``ess_bulk``, ``n_ties`` over ``(simulation, quantity)``; ``seed``,
    ``status``, ``diagnostics_ok``, ``n_divergent``, ``wall_seconds``,
    ``sampling_seconds``, ``compile_seconds``, ``worker``, ``error`` and
    ``diagnostics`` (JSON) over ``simulation``. A simulation without a complete
    result file is a row with status ``lost`` (rank -1): never dropped.
    """
    out = Path(out)
    settings = settings or json.loads((out / "settings.json").read_text())["settings"]
    variant = Variant.from_dict(settings["variant"], source=str(out / "settings.json"))
    labels = [q.label for q in quantities(variant)]
    n_q = len(labels)
    floats = ("truth", "posterior_mean", "posterior_sd", "ess_bulk")
    per_q: dict[str, np.ndarray] = {k: np.full((n_sims, n_q), np.nan) for k in floats}
    per_q["rank"] = np.full((n_sims, n_q), -1, dtype=np.int64)
    per_q["n_ties"] = np.full((n_sims, n_q), -1, dtype=np.int64)
    per_sim: dict[str, list[Any]] = {
        k: []
        for k in ("seed", "status", "diagnostics_ok", "n_divergent", "wall_seconds",
                  "sampling_seconds", "compile_seconds", "worker", "error", "diagnostics")
    }  # fmt: skip
    for i in range(n_sims):
        ds = read_result(result_path(out, i), settings_hash=digest)
        if ds is None:
            per_sim["seed"].append(simulation_seed(settings["seed"], i))
            per_sim["status"].append("lost")
            per_sim["diagnostics_ok"].append(-1)
            per_sim["n_divergent"].append(-1)
            for k in ("wall_seconds", "sampling_seconds", "compile_seconds"):
                per_sim[k].append(np.nan)
            per_sim["worker"].append("")
            per_sim["error"].append((lost or {}).get(i, "no complete result file"))
            per_sim["diagnostics"].append("{}")
            continue
        if list(ds["quantity"].values) != labels:
            raise CalibrationError(f"{result_path(out, i)}: quantities differ from the variant's")
        for k in per_q:
            per_q[k][i] = ds[k].values
        a = ds.attrs
        diagnostics = json.loads(a["diagnostics"]) if a["diagnostics"] else {}
        per_sim["seed"].append(int(a["seed"]))
        per_sim["status"].append(str(a["status"]))
        per_sim["diagnostics_ok"].append(int(a["diagnostics_ok"]))
        per_sim["n_divergent"].append(int(diagnostics.get("n_divergent", -1)))
        for k in ("wall_seconds", "sampling_seconds", "compile_seconds"):
            per_sim[k].append(float(a[k]))
        per_sim["worker"].append(str(a["worker"]))
        per_sim["error"].append(str(a["error"]))
        per_sim["diagnostics"].append(str(a["diagnostics"]))
    dims = ("simulation", "quantity")
    data_vars: dict[str, Any] = {k: (dims, v) for k, v in per_q.items()}
    for k, v in per_sim.items():
        dtype = (np.int64 if k in ("seed", "diagnostics_ok", "n_divergent") else
                 float if k.endswith("seconds") else str)  # fmt: skip
        data_vars[k] = (("simulation",), np.asarray(v, dtype=dtype))
    ds = xr.Dataset(data_vars, coords={"simulation": np.arange(n_sims), "quantity": labels})
    ds["rank"].attrs["long_name"] = "rank of the truth among rank_draws thinned draws (-1: none)"
    ds["status"].attrs["flag_meanings"] = " ".join(STATUS)
    ds.attrs = {
        "title": f"secdilemma simulation-based calibration of variant {variant.name!r}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "variant": variant.name,
        "settings": json.dumps(settings, sort_keys=True),
        "settings_hash": digest or "",
        "rank_draws": int(settings["rank_draws"]),
        "secdilemma": version("secdilemma"),
    }
    return ds


def load_ranks(path: str | Path) -> xr.Dataset:
    """Read a ``ranks.nc`` written by :func:`calibrate`."""
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()
