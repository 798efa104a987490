"""Benchmark the generative engine (secdilemma.core.forward) on posterior-sized input.

Workload: 1000 posterior draws x the bundled historical panel (12 dyads, 69
periods, its missing moves masked), every draw with its own parameters (a
fake posterior around the default action parameters, random belief
parameters per state), year 0 given as in the generative posterior predictive
check. Throughput is counted in dyad-years of the padded grid (draws x dyads x
periods), the unit of the issue's target (>= 2 million per second).

Timed, best and median of ``--repeats`` runs (the machine is shared):

- ``engine``: :func:`secdilemma.core.forward.forward` itself (uniforms drawn inside the timing);
- ``generative_ppc`` / ``conditional_ppc``: the whole
  :func:`secdilemma.analysis.predictive.posterior_predictive` of one kind on a
  fake fit (reading the draws, the likelihood of the observed moves, drawing
  intents, the run, assembling the group);
- ``simulator_loop``: the way a scalar simulator serves a posterior, one
  :func:`secdilemma.simulate_dyads` call (12 dyads x 69 years) per draw;
- ``simulator_vectorised``: one ``simulate_dyads`` call of 12 000 dyads x 69 years
  (the simulator vectorises over dyads, not over draws).

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_engine.py            # writes bench_engine.json
    nice -n 10 .venv/bin/python benchmarks/bench_engine.py --quick    # 100 draws, 1 repeat
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import secdilemma
from secdilemma import ActionParams, load_dyads, simulate_dyads
from secdilemma.analysis.predictive import posterior_predictive
from secdilemma.core.forward import forward

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes import constant_data, fake_fit  # the test suite's fake posterior

OUT = Path(__file__).with_name("bench_engine.json")


def fake_posterior(panel, n_draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-draw parameters of plausible size for the bundled panel."""
    d = panel.sizes["dyad"]
    return {
        "beta": rng.normal(2.0, 0.2, n_draws).clip(0.5),
        "gamma": rng.normal(0.6, 0.1, n_draws).clip(0.0),
        "delta": rng.normal(1.0, 0.2, n_draws).clip(0.2),
        "cutpoints": np.sort(rng.normal([-1.5, 1.0, 3.0], 0.2, (n_draws, 3)), axis=1),
        "pi": rng.uniform(0.1, 0.5, n_draws),
        "alpha": rng.normal(0, 0.3, (n_draws, d, 2)),
        "l0": rng.normal(0, 1.0, (n_draws, d, 2)),
        "w": rng.uniform(0.1, 1.0, (n_draws, d, 2)),
        "s": rng.uniform(0.0, 1.0, (n_draws, d, 2)),
    }


def timed(fn, repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": repeats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="100 draws, 1 repeat, no JSON")
    args = parser.parse_args()
    n, repeats = (100, 1) if args.quick else (args.draws, args.repeats)

    panel = load_dyads()
    constant = constant_data(panel)
    move = constant["move_aligned"].values
    observed = ~np.isnan(move)
    given = np.where(observed, move, 0).astype(np.int8)
    n_dyads, _, n_years = move.shape
    rng = np.random.default_rng(1)
    post = fake_posterior(panel, n, rng)
    frame = {
        **{k: post[k][:, None, None, None] for k in ("beta", "gamma", "delta")},
        "cutpoints": post["cutpoints"][:, None, None, None, :],
        **{k: post[k][:, None] for k in ("alpha", "l0", "w", "s")},
    }
    tau = rng.integers(0, 2, (n, 1, n_dyads, 2))
    dyad_years = n * n_dyads * n_years

    def engine() -> None:
        uniforms = np.random.default_rng(2).random((n_years, n, 1, n_dyads, 2))
        forward(**frame, tau=tau, uniforms=uniforms, observed=observed, given_move=given, n_given=1)

    fit = fake_fit(panel, post, n_chains=1, n_draws=n)
    action_default = ActionParams()

    def simulator_loop() -> None:
        for k in range(n):
            action = ActionParams(
                beta=float(post["beta"][k]),
                gamma=float(post["gamma"][k]),
                delta=float(post["delta"][k]),
                cutpoints=tuple(post["cutpoints"][k]),
            )
            simulate_dyads(
                n_dyads, n_years, action=action, alpha=post["alpha"][k],
                beliefs={key: post[key][k] for key in ("l0", "w", "s")}, seed=k,
            )  # fmt: skip

    results = {
        "engine": timed(engine, repeats),
        "generative_ppc": timed(lambda: posterior_predictive(fit, kinds=["generative"]), repeats),
        "conditional_ppc": timed(lambda: posterior_predictive(fit, kinds=["conditional"]), repeats),
        "simulator_loop": timed(simulator_loop, max(1, repeats // 2)),
        "simulator_vectorised": timed(
            lambda: simulate_dyads(n * n_dyads, n_years, action=action_default, seed=1), repeats
        ),
    }
    for name, r in results.items():
        r["dyad_years"] = dyad_years
        r["million_dyad_years_per_s_best"] = dyad_years / r["best_s"] / 1e6
        r["million_dyad_years_per_s_median"] = dyad_years / r["median_s"] / 1e6
        print(
            f"{name:22s} best {r['best_s']:.3f} s  median {r['median_s']:.3f} s  "
            f"{r['million_dyad_years_per_s_best']:.2f} M dyad-years/s (best), "
            f"{r['million_dyad_years_per_s_median']:.2f} (median)"
        )
    if args.quick:
        return
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "workload": {
            "draws": n,
            "dyads": n_dyads,
            "periods": n_years,
            "dyad_years": dyad_years,
            "panel": "bundled historical panel (load_dyads()), missing moves masked",
        },
        "results": results,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": os.getloadavg(),
        },
        "versions": {"secdilemma": secdilemma.__version__, "numpy": np.__version__},
    }
    OUT.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
