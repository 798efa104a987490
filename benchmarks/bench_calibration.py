"""Benchmark of simulation-based calibration: compile once and swap data, against recompiling.

In one process (one core's worth of work: chains one after the other,
``cores=1``, as inside a Dask worker), for a variant on panels of the SBC
size (default 6 dyads x 40 years) simulated by
:func:`secdilemma.calibration.simulation.simulate`, at the SBC fit settings:

- ``compile_once``: :class:`secdilemma.model.sampling.CompiledModel` compiled
  once (its compile time reported, warm PyTensor cache), then ``--refits``
  refits of other simulated panels (``compiled.with_data``): wall seconds per fit;
- ``recompile``: ``--recompiles`` fits by :func:`secdilemma.fit`, which builds
  and compiles the model every time: wall seconds per fit.

The speed-up is the ratio of the two per-fit times. The throughput of a whole
run on a ``LocalCluster`` (fits per minute, all workers) is read from the
``ranks.nc`` of finished runs given with ``--runs`` (driver wall time, the
cluster's start and compilations included). Results go to
``bench_calibration.json``.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_calibration.py --variant mixture \
        --runs models/calibration/runs/*/ranks.nc
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import xarray as xr

from secdilemma.calibration.simulation import simulate, simulation_seed
from secdilemma.model.io import library_versions
from secdilemma.model.variants import load_variant

HERE = Path(__file__).resolve().parent


def fit_settings(args: argparse.Namespace) -> dict:
    return {"draws": args.draws, "tune": args.tune, "chains": args.chains, "init": args.init,
            "progress_bar": False, "cores": 1}  # fmt: skip


def bench_in_process(args: argparse.Namespace) -> dict:
    from secdilemma.model.sampling import CompiledModel, fit

    variant = load_variant(args.variant)
    panels = [simulate(variant, args.dyads, args.years, simulation_seed(args.seed, i))[0]
              for i in range(args.refits + args.recompiles + 1)]  # fmt: skip
    settings = fit_settings(args)
    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        compiled = CompiledModel(panels[0], variant)
        out["compile_seconds"] = round(time.perf_counter() - start, 2)
        refits = []
        for i, panel in enumerate(panels[1 : args.refits + 1]):
            start = time.perf_counter()
            compiled.fit(panel, **settings, seed=i)
            refits.append(time.perf_counter() - start)
        recompiles = []
        for i, panel in enumerate(panels[args.refits + 1 :]):
            start = time.perf_counter()
            fit(panel, variant, **settings, seed=i)
            recompiles.append(time.perf_counter() - start)
    out["refit_seconds"] = [round(v, 2) for v in refits]
    out["recompile_fit_seconds"] = [round(v, 2) for v in recompiles]
    out["refit_mean"] = round(float(np.mean(refits)), 2)
    out["recompile_mean"] = round(float(np.mean(recompiles)), 2)
    out["speed_up"] = round(out["recompile_mean"] / out["refit_mean"], 2)
    out["fits_per_minute_one_core_compile_once"] = round(60 / out["refit_mean"], 2)
    out["fits_per_minute_one_core_recompile"] = round(60 / out["recompile_mean"], 2)
    return out


def throughput(paths: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
        status = ds["status"].values.astype(str)
        run = json.loads(ds.attrs["simulations_run"])
        seconds = float(ds.attrs["driver_seconds"])
        fitted = status == "fitted"
        rows.append({
            "run": str(path),
            "variant": ds.attrs["variant"],
            "simulations_run": len(run),
            "driver_seconds": round(seconds, 1),
            "fits_per_minute": round(len(run) / seconds * 60, 2) if run else None,
            "mean_task_seconds": round(float(np.nanmean(ds["wall_seconds"].values[fitted])), 2),
            "workers": sorted(set(ds["worker"].values.astype(str)) - {""}),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mixture")
    parser.add_argument("--dyads", type=int, default=6)
    parser.add_argument("--years", type=int, default=40)
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--tune", type=int, default=400)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--init", default="pilot")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--refits", type=int, default=5)
    parser.add_argument("--recompiles", type=int, default=2)
    parser.add_argument("--runs", nargs="*", default=[])
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "bench_calibration.json")
    args = parser.parse_args()
    previous = json.loads(args.out.read_text()) if args.out.is_file() else {}
    result = {
        **previous,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": library_versions(),
        "load_average_at_start": list(os.getloadavg()),
    }
    if not args.skip_in_process:
        key = f"{args.variant}_{args.dyads}x{args.years}_{args.chains}x({args.tune}+{args.draws})"
        result.setdefault("in_process", {})[key] = {**vars(args) | {"out": str(args.out)},
                                                    **bench_in_process(args)}  # fmt: skip
    if args.runs:
        result["runs"] = throughput(args.runs)
    result["load_average_at_end"] = list(os.getloadavg())
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
