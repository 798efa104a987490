r"""Fit the headline variant to the whole rivalry population: time, memory, size (issue 12).

Fits ``mixture`` (or ``--variant``) to the bundled Thompson-Dreyer rivalry panel
(``load_dyads(panel="rivalries")``: 110 dyads x 69 years) with the package's
``fit`` (4 x (1000 + 1000) by default, belief paths not recorded), then saves
it and reports: wall time split into compile, pilot + warm-up + sampling, and
post-processing; the peak resident memory of the process; the size of the
saved file; one log-density-and-gradient evaluation; divergences, min bulk
ESS and max R-hat over the shared parameters, and ``diagnostics_ok``.

Usage::

    .venv/bin/python benchmarks/bench_population.py --out benchmarks/population.json
    .venv/bin/python benchmarks/bench_population.py --variant sensible --group-by region
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import arviz_stats as azs
import numpy as np

from secdilemma.data.load import load_dyads
from secdilemma.model.builder import build_model
from secdilemma.model.io import save_fit
from secdilemma.model.sampling import fit


def gradient_ms(panel, variant: str, group_by: str | None) -> float:
    """Median time of one log-density + gradient evaluation (PyTensor's numba mode)."""
    model = build_model(panel, variant, group_by=group_by, record_beliefs=False)
    function = model.logp_dlogp_function(ravel_inputs=True)
    function.set_extra_values({})
    point = np.concatenate([np.ravel(model.initial_point()[v.name]) for v in function._grad_vars])
    function(point)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(50):
            function(point)
        times.append((time.perf_counter() - start) / 50)
    return round(float(np.median(times)) * 1e3, 3)


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="mixture")
    parser.add_argument("--group-by", default=None)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None, help="JSON file for the record")
    args = parser.parse_args()
    panel = load_dyads(panel="rivalries")
    record = {"variant": args.variant, "group_by": args.group_by, "dyads": panel.sizes["dyad"],
              "years": panel.sizes["year"], "draws": args.draws, "tune": args.tune,
              "chains": args.chains, "seed": args.seed,
              "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "load_average_start": [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    record["gradient_ms"] = gradient_ms(panel, args.variant, args.group_by)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the record says what failed
        result = fit(
            panel, args.variant, draws=args.draws, tune=args.tune, chains=args.chains,
            seed=args.seed, progress_bar=False, group_by=args.group_by, beliefs=False,
        )  # fmt: skip
    record["wall_s"] = round(time.perf_counter() - start, 1)
    sampler = json.loads(result.attrs["sampler"])
    record["compile_s"] = sampler["compile_seconds"]
    record["pilot_and_sampling_s"] = sampler["sampling_seconds"]
    record["other_s"] = round(
        record["wall_s"] - record["compile_s"] - record["pilot_and_sampling_s"], 1
    )
    record["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    with tempfile.TemporaryDirectory() as folder:
        path = save_fit(result, Path(folder) / "population.nc")
        record["file_mb"] = round(path.stat().st_size / 2**20, 1)
        path = save_fit(result, Path(folder) / "population_compact.nc", compact=True)
        record["file_mb_compact"] = round(path.stat().st_size / 2**20, 1)
    record["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    posterior = result["posterior"].to_dataset()
    shared = [
        name for name, da in posterior.data_vars.items()
        if "dyad" not in da.dims and not name.startswith("z_") and float(da.std()) > 0
    ]  # fmt: skip
    record["divergences"] = int(result["sample_stats"]["diverging"].sum())
    record["min_bulk_ess"] = round(float(min(azs.ess(posterior[shared])[n].min() for n in shared)))
    record["max_rhat"] = round(float(max(azs.rhat(posterior[shared])[n].max() for n in shared)), 3)
    record["steps_per_draw"] = round(float(result["sample_stats"]["n_steps"].mean()), 1)
    record["diagnostics_ok"] = int(result.attrs["diagnostics_ok"])
    print(json.dumps(record, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
