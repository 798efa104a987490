r"""Time the population report's steps after the fits, on a fake fit of the 110 rivalries.

The report on the whole population (``secdilemma report --panel rivalries``)
spends its time in the fits (``benchmarks/bench_population.py``) and then in
the predictive checks, the 220 counterfactuals and the figures. Their cost
depends on the number of draws and dyads, not on the posterior, so this
script times them on a fake ``mixture`` fit (``tests/fakes.py``; random
parameters, 4 chains x 100 draws, the ``--quick`` setting) without sampling.

Usage::

    .venv/bin/python benchmarks/population_downstream.py
"""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.fakes

matplotlib.use("Agg")


def main(chains: int = 4, draws: int = 100) -> dict[str, float]:
    """Time each step; return seconds per step."""
    import matplotlib.pyplot as plt
    from tests.fakes import fake_fit

    from secdilemma import load_dyads
    from secdilemma.analysis.counterfactual import counterfactual
    from secdilemma.analysis.predictive import posterior_predictive, ppc_table
    from secdilemma.plotting import (
        plot_counterfactual_summary,
        plot_misplaced_by_group,
        plot_misplaced_certainty,
        plot_ppc_pvalues,
    )

    warnings.simplefilter("ignore")
    panel = load_dyads(panel="rivalries")
    rng = np.random.default_rng(1)
    n, nd = chains * draws, panel.sizes["dyad"]
    values = {
        "beta": rng.normal(2, 0.1, n),
        "gamma": rng.normal(0.6, 0.05, n),
        "delta": rng.normal(1, 0.1, n),
        "pi": rng.uniform(0.2, 0.4, n),
        "cutpoints": np.tile([-1.5, 1, 3], (n, 1)) + rng.normal(0, 0.05, (n, 1)),
        "alpha": rng.normal(0, 0.3, (n, nd, 2)),
        "regime_l0": np.tile([0.0, 1.7], (n, 1)),
        "regime_w": np.tile([1.0, 0.4], (n, 1)),
        "regime_s": np.tile([1.0, 0.0], (n, 1)),
        "regime_share": np.tile([0.6, 0.4], (n, 1)),
    }
    fit = fake_fit(panel, values, chains, draws, regimes=("sensible", "misplaced_certainty"))
    post = fit["posterior"].to_dataset()
    state = ("chain", "draw", "dyad", "side")
    post["p_misplaced"] = (state, rng.uniform(size=(chains, draws, nd, 2)))
    post["p_malign"] = (state, rng.uniform(size=(chains, draws, nd, 2)))
    post["misplaced_certainty"] = (state, rng.uniform(-1, 1, size=(chains, draws, nd, 2)))
    post["rho"] = (("chain", "draw"), rng.uniform(0.3, 0.5, (chains, draws)))
    fit["posterior"] = xr.DataTree(post)

    seconds: dict[str, float] = {}

    def step(name: str, work: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        result = work()
        seconds[name] = time.perf_counter() - t0
        print(f"{name}: {seconds[name]:.1f} s", flush=True)
        return result

    checked = step(
        "predictive checks", lambda: posterior_predictive(fit, max_draws=draws, seed=1, panel=panel)
    )
    table = step("ppc table", lambda: ppc_table(checked, panel=panel).assign(variant="mixture"))
    dyads = [str(d) for d in panel["dyad"].values]
    trees = step(
        f"{2 * nd} counterfactuals",
        lambda: [
            counterfactual(fit, d, side=s, beliefs="sensible", max_draws=draws, seed=1, panel=panel)
            for d in dyads
            for s in (0, 1)
        ],
    )
    figures = {
        "figure misplaced_by_group": lambda: plot_misplaced_by_group(fit, panel, "region"),
        "figure misplaced_certainty": lambda: plot_misplaced_certainty(fit, states=panel["state"]),
        "figure counterfactuals": lambda: plot_counterfactual_summary(trees),
        "figure ppc_pvalues": lambda: plot_ppc_pvalues(table, "generative"),
    }
    for name, draw in figures.items():
        plt.close(step(name, draw))
    print(f"total: {sum(seconds.values()):.1f} s")
    return seconds


if __name__ == "__main__":
    main()
