r"""Fit a variant to the bundled historical panel once per seed; report what issue 4 asks.

For each seed, :func:`secdilemma.model.sampling.fit` with its defaults (4 x (1000 + 1000)
unless changed) and, per fit: wall time, divergences, the smallest bulk and tail
ESS and the largest R-hat over the shared parameters (every posterior variable
without a ``dyad`` dimension, ``z_*`` excluded; DESIGN's ``cutpoints`` included),
the sampled mode (``mu_w`` below -0.8: hardening, else settling), whether the
pilot chains were separated, and ``diagnostics_ok``. One line per seed on
stdout and, with ``--out``, a JSON file.

Usage::

    .venv/bin/python benchmarks/fit_seeds.py --seeds 1,2,3,4,5
    .venv/bin/python benchmarks/fit_seeds.py --variant sensible --seeds 1 --out /tmp/s.json
    .venv/bin/python benchmarks/fit_seeds.py --variant benchmarks/variants/free_tight_w.toml \
        --target-accept 0.9 --seeds 1,2,3,4,5,6,20261127 \
        --out benchmarks/fit_seeds_free_tight_w.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import arviz_stats as azs

from secdilemma.data.load import load_dyads
from secdilemma.model.sampling import fit

HARDENING_MU_W = -0.8
"""``mu_w`` below which a fit is counted as sampling the hardening mode."""


def one_fit(variant: str, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Fit once and summarise the shared parameters' diagnostics."""
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the record below says what failed
        result = fit(load_dyads(), variant, seed=seed, progress_bar=False, **settings)
    wall = time.perf_counter() - started
    posterior = result["posterior"].to_dataset()
    shared = [  # fixed values recorded as deterministics (a regime's w = 1) are constant
        name
        for name, da in posterior.data_vars.items()
        if "dyad" not in da.dims and not name.startswith("z_") and float(da.std()) > 0
    ]
    bulk = azs.ess(posterior[shared], method="bulk")
    tail = azs.ess(posterior[shared], method="tail")
    rhat = azs.rhat(posterior[shared])
    bulk_min = {name: float(bulk[name].min()) for name in shared}
    rhat_max = {name: float(rhat[name].max()) for name in shared if rhat[name].notnull().all()}
    sampler = json.loads(result.attrs["sampler"])
    mu_w = float(posterior["mu_w"].mean()) if "mu_w" in posterior else None
    return {
        "seed": seed,
        "wall_s": round(wall, 1),
        "divergences": int(result["sample_stats"]["diverging"].sum()),
        "min_bulk_ess": round(min(bulk_min.values())),
        "lowest": min(bulk_min, key=bulk_min.get),
        "min_tail_ess": round(min(float(tail[name].min()) for name in shared)),
        "max_rhat": round(max(rhat_max.values()), 4),
        "mode": None if mu_w is None else ("hardening" if mu_w < HARDENING_MU_W else "settling"),
        "mu_w_mean": mu_w,
        "pilot_separated": (sampler.get("pilot") or {}).get("separated"),
        "pilot_multimodal": (sampler.get("pilot") or {}).get("multimodal"),
        "main_separated": (sampler.get("chains_logp") or {}).get("separated"),
        "chain_mean_logp": (sampler.get("chains_logp") or {}).get("chain_mean_logp"),
        "max_rhat_of": max(rhat_max, key=rhat_max.get),
        "delta_mean": round(float(posterior["delta"].mean()), 3),
        "pi_mean": round(float(posterior["pi"].mean()), 3),
        "rho_mean": round(float(posterior["rho"].mean()), 3) if "rho" in posterior else None,
        "diagnostics_ok": int(result.attrs["diagnostics_ok"]),
        "failures": json.loads(result.attrs["diagnostics"])["failures"],
    }


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="free", help="variant name or TOML path")
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated seeds")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--target-accept", type=float, default=0.8)
    parser.add_argument("--out", default=None, help="JSON file for the per-seed records")
    args = parser.parse_args()
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains}
    settings["target_accept"] = args.target_accept
    records = []
    for seed in (int(s) for s in args.seeds.split(",")):
        record = one_fit(args.variant, seed, settings)
        print(json.dumps(record), flush=True)
        records.append(record)
    if args.out:
        with open(args.out, "w") as handle:
            json.dump({"variant": args.variant, **settings, "fits": records}, handle, indent=2)


if __name__ == "__main__":
    main()
