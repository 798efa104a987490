"""Mass of the hardening and settling modes of ``free`` by SMC, and what it takes to pin it down.

On the historical panel (:func:`secdilemma.data.load.load_dyads`) the posterior
of the ``free`` variant has two separated modes in the population mean of the
belief weight ``mu_w``: *hardening* (``mu_w < -0.8``, near -2) and *settling*
(``mu_w >= -0.8``, near 0.5). NUTS chains do not move between them, so their
split says where they started. This script fits the variant with the package's
SMC (``secdilemma.fit(panel, "free", sampler="smc", ...)``: tempering from the
prior, HMC mutation kernel, :mod:`secdilemma.model.smc`) at one setting, for
several seeds, and records per seed the hardening share (per chain and
pooled), the log marginal likelihood, stages, acceptance, mutation
correlation, per-stage shares, wall and CPU time, and quantiles of ``mu_w``,
``mu_s``, ``delta`` and ``pi``. Each setting is stored under its ``--label`` in
the output JSON (default ``benchmarks/smc_settings.json``), which keeps the
other labels; the JSON is rewritten after every seed.

Usage, from the repository root (one core: numba, OpenMP and BLAS are pinned
to one thread unless the environment says otherwise)::

    nice -n 10 .venv/bin/python benchmarks/smc_modes.py --label base     # 2000 particles
    nice -n 10 .venv/bin/python benchmarks/smc_modes.py --quick          # 300 particles, 1 seed
    nice -n 10 .venv/bin/python benchmarks/smc_modes.py --label t09 --threshold 0.9 --hmc-iters 3

``benchmarks/smc_modes.json`` holds the results of this script's first version
(commit b414a13: its own HMC kernel, NUTS parametrisation, potentials tempered
with the likelihood), kept for reference; ``benchmarks/README.md`` compares them.
"""

# Thread limits must be set before numpy and numba are imported, hence the late imports.
# ruff: noqa: E402

from __future__ import annotations

import os

for _var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm
import pytensor

from secdilemma.data.load import load_dyads
from secdilemma.model.diagnostics import FitDiagnosticsWarning
from secdilemma.model.io import fit_diagnostics
from secdilemma.model.modes import pooled as pooled_estimate
from secdilemma.model.sampling import fit
from secdilemma.model.smc import smc_record

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "smc_settings.json"
QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)
REPORTED = ("mu_w", "mu_s", "delta", "pi")
THIRD = "delta < 1.8 and mu_w > 1.5"  # a small region inside settling (smc_modes.json)


def run_seed(panel: Any, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One fit; the hardening share and summaries of its final particles."""
    kwargs = {
        "threshold": args.threshold,
        "hmc_iters": args.hmc_iters,
        "leapfrog": args.leapfrog,
        "mass_matrix": args.mass_matrix,
        "correlation_target": args.correlation_target,
        "max_hmc_iters": args.max_hmc_iters,
        "verbose": not args.no_progress,
    }
    modes = {"hardening": "mu_w < -0.8", "settling": "mu_w >= -0.8", "third": THIRD}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitDiagnosticsWarning)
        result = fit(
            panel,
            args.variant,
            sampler="smc",
            draws=args.particles,
            chains=args.chains,
            seed=seed,
            target_accept=args.target_accept,
            progress_bar=False,
            sampler_kwargs=kwargs,
            modes=modes,
        )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if args.save is not None:
        scalars = [v for v, da in result["posterior"].data_vars.items() if "year" not in da.dims]
        keep = result["posterior"].to_dataset()[scalars]
        keep["log_likelihood"] = result["sample_stats"]["log_likelihood"]
        args.save.mkdir(parents=True, exist_ok=True)
        keep.to_netcdf(args.save / f"{args.label}_seed{seed}.nc", engine="h5netcdf")
    record = smc_record(result)
    post = result["posterior"]
    loglik = result["sample_stats"]["log_likelihood"].values  # (chain, draw)
    hard = post["mu_w"].values < -0.8

    def median(mask: np.ndarray) -> float | None:
        return round(float(np.median(loglik[mask])), 2) if mask.any() else None

    stats = result["sample_stats"]
    return {
        "seed": seed,
        "hardening_share": record["modes"]["masses"]["hardening"],
        "third_share": record["modes"]["masses"]["third"],
        "log_marginal_likelihood": record["log_marginal_likelihood"],
        "log_marginal_likelihood_pooled": record["log_marginal_likelihood_pooled"],
        "n_stages": record["n_stages"],
        "final_accept_rate": record["final_accept_rate"],
        "final_mutation_correlation": record["final_mutation_correlation"],
        "diagnostics_ok": bool(result.attrs["diagnostics_ok"]),
        "failures": fit_diagnostics(result).failures,
        "warned": [str(w.message)[:200] for w in caught],
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "median_summed_loglik": {"hardening": median(hard), "settling": median(~hard)},
        "data_driven_split": record["data_driven_split"],
        "quantiles": {
            k: {
                f"{q:g}": round(float(v), 4)
                for q, v in zip(QUANTILES, np.quantile(post[k].values, QUANTILES), strict=True)
            }
            for k in REPORTED
        },
        "stages": [
            {
                "beta": [round(float(v), 5) for v in stats["beta"].values[c] if np.isfinite(v)],
                "n_hmc_iters": [int(v) for v in stats["n_hmc_iters"].values[c] if np.isfinite(v)],
                "accept_rate": [
                    round(float(v), 3) for v in stats["accept_rate"].values[c] if np.isfinite(v)
                ],
                "mutation_correlation": [
                    round(float(v), 3)
                    for v in stats["mutation_correlation"].values[c]
                    if np.isfinite(v)
                ],
                "mutation_correlation_max": [
                    round(float(v), 3)
                    for v in stats["mutation_correlation_max"].values[c]
                    if np.isfinite(v)
                ],
                "loglik_correlation": [
                    round(float(v), 3)
                    for v in stats["loglik_correlation"].values[c]
                    if np.isfinite(v)
                ],
                "hardening_share": [
                    round(float(v), 4) for v in stats["share_hardening"].values[c] if np.isfinite(v)
                ],
            }
            for c in range(args.chains)
        ],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        description="Mass of the hardening mode of a secdilemma model by SMC, over seeds.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--label", default="base", help="name of this setting in the JSON")
    ap.add_argument("--particles", type=int, default=2000, help="particles per SMC chain")
    ap.add_argument("--chains", type=int, default=1, help="independent SMC chains per seed")
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one fit each")
    ap.add_argument("--variant", default="free", help="model variant (name or TOML path)")
    ap.add_argument("--threshold", type=float, default=0.5, help="ESS share kept per stage")
    ap.add_argument("--hmc-iters", type=int, default=5, help="HMC iterations per stage")
    ap.add_argument("--leapfrog", type=int, default=10, help="mean leapfrog steps per iteration")
    ap.add_argument("--mass-matrix", default="diag", choices=("diag", "dense"))
    ap.add_argument(
        "--correlation-target",
        type=float,
        default=None,
        help="more HMC iterations per stage while the log-likelihood correlation exceeds it",
    )
    ap.add_argument("--max-hmc-iters", type=int, default=None, help="cap with a target")
    ap.add_argument("--target-accept", type=float, default=0.7, help="HMC target acceptance")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON file")
    ap.add_argument("--save", type=Path, default=None, help="folder for each seed's particles")
    ap.add_argument("--quick", action="store_true", help="smoke run: 300 particles, first seed")
    ap.add_argument("--no-progress", action="store_true", help="no per-stage lines on stderr")
    args = ap.parse_args(argv)
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    if args.quick:
        args.particles, args.seeds, args.label = 300, args.seeds[:1], "quick"
    return args


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Spread over seeds of the pooled hardening share and of every chain's share."""
    pooled = [r["hardening_share"]["mean"] for r in runs]
    chains = [v for r in runs for v in r["hardening_share"]["per_chain"]]
    log_ml = [v for r in runs for v in r["log_marginal_likelihood"]]
    every = pooled_estimate(chains, log_ml)  # all chains of all seeds as one fit
    return {
        "all_chains_evidence_weighted": every,
        "hardening_share_per_seed": pooled,
        "hardening_share_spread_over_seeds": round(float(np.ptp(pooled)), 4),
        "hardening_share_sd_per_chain": round(float(np.std(chains, ddof=1)), 4)
        if len(chains) > 1
        else None,
        "log_ml_spread": round(float(np.ptp(log_ml)), 3),
        "target_met": bool(np.ptp(pooled) <= 0.1),
        "cpu_seconds_per_seed": round(float(np.mean([r["cpu_seconds"] for r in runs])), 1),
        "wall_seconds_per_seed": round(float(np.mean([r["wall_seconds"] for r in runs])), 1),
    }


def main(argv: list[str] | None = None) -> None:
    """Run every seed of one setting, update the JSON, print a table."""
    args = parse_args(argv)
    out = args.out.resolve()
    results = json.loads(out.read_text()) if out.is_file() else {"settings": {}}
    entry: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {
            k: getattr(args, k)
            for k in (
                "particles",
                "chains",
                "seeds",
                "variant",
                "threshold",
                "hmc_iters",
                "leapfrog",
                "mass_matrix",
                "correlation_target",
                "max_hmc_iters",
                "target_accept",
            )
        },
        "machine": {
            "node": platform.node(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "threads": {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
        },
        "versions": {"pymc": pm.__version__, "pytensor": pytensor.__version__},
        "runs": [],
    }
    panel = load_dyads()
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        print(f"{args.label}, seed {seed}: {args.chains} x {args.particles}", file=sys.stderr)
        entry["runs"].append(run_seed(panel, seed, args))
        entry["summary"] = summary(entry["runs"])
        results["settings"][args.label] = entry
        out.write_text(json.dumps(results, indent=1, allow_nan=False) + "\n")

    print(f"\n{args.label}: {args.variant}, {args.chains} x {args.particles}; wrote {out}")
    print(" seed  hardening (per chain)            log ML (per chain)      stages  cpu s")
    for r in entry["runs"]:
        share = r["hardening_share"]
        print(
            f"{r['seed']:5d}  {share['mean']:.3f} {share['per_chain']}"
            f"  {r['log_marginal_likelihood']}  {r['n_stages']}  {r['cpu_seconds']:.0f}"
        )
    print(json.dumps(entry["summary"]))


if __name__ == "__main__":
    main()
