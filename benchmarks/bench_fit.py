"""Benchmark the belief recursion: compiled Op against the plain-scan baseline.

For a simulated panel (12 dyads x 60 years, mixed intents and belief regimes,
fixed seed) and the bundled historical panel, and for ``belief_method="op"``
and ``"scan"`` side by side in the same process, this times

(a) one log-density-and-gradient evaluation of the model (``--variant``, default
    ``free``; PyTensor's
    default numba mode, median over repeated calls),
(b) compilation: of that log-density-and-gradient function, and nutpie's
    ``compile_pymc_model(model, backend="numba")`` (the start-up of a fit),
(c) a full nutpie fit (default 4 chains x (1000 tune + 1000 draws)) of the
    model as built, chains from nutpie's default jittered starts ("raw"),
(d) optionally (``--fit-modes raw,pipeline``) the package's own
    :func:`secdilemma.model.sampling.fit` with the same settings: build, compile,
    pilot run (which puts every chain in the best mode of the multimodal
    ``free`` posterior), sampling and diagnostics ("pipeline"),

and reports divergences, minimum bulk ESS over the shared parameters (those
without a ``dyad`` dimension), ESS per second, and the op/scan ratios.

Usage::

    .venv/bin/python benchmarks/bench_fit.py                 # full settings
    .venv/bin/python benchmarks/bench_fit.py --quick         # smoke run
    .venv/bin/python benchmarks/bench_fit.py --methods op --panels historical
    .venv/bin/python benchmarks/bench_fit.py --variant mixture --panels historical \
        --fit-modes raw,pipeline --out benchmarks/results_mixture.json

Timings on a shared machine are noisy; compile times depend on the on-disk
cache (``~/.pytensor``): the first run after a code change is cold.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr

import secdilemma
from secdilemma.core.parameters import REGIMES

N_DYADS, N_YEARS, SEED = 12, 60, 20261127


def simulated_panel() -> xr.Dataset:
    """12 x 60 panel: 4 sensible, 4 misplaced-certainty, 4 random-belief dyads."""
    rng = np.random.default_rng(SEED)
    l0, w, s = (np.empty((N_DYADS, 2)) for _ in range(3))
    for d in range(N_DYADS):
        name = ("sensible", "misplaced_certainty", None)[d // 4]
        if name is None:
            l0[d], w[d], s[d] = rng.normal(0, 1, 2), rng.uniform(0.4, 1, 2), rng.uniform(0, 1, 2)
        else:
            p = REGIMES[name]
            l0[d], w[d], s[d] = p.l0, p.w, p.s
    intent = np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 3)
    return secdilemma.simulate_dyads(
        N_DYADS,
        N_YEARS,
        beliefs={"l0": l0, "w": w, "s": s},
        intent=intent,
        alpha=rng.normal(0, 0.3, (N_DYADS, 2)),
        seed=SEED,
    )


def historical_panel() -> xr.Dataset | None:
    """The bundled historical panel, or None (with a note) if not available."""
    try:
        from secdilemma.data import load_dyads

        return load_dyads()
    except Exception as err:  # any failure means: skip this panel
        print(f"note: historical panel skipped ({type(err).__name__}: {err})")
        return None


def time_logp_dlogp(model: pm.Model, n_calls: int) -> dict[str, float]:
    """Compile logp and its gradient (default mode) and time one evaluation."""
    value_vars = model.value_vars
    logp = model.logp()
    t0 = time.perf_counter()
    fn = pytensor.function(value_vars, [logp, *pt.grad(logp, value_vars)])
    fn.trust_input = True
    ip = model.initial_point()
    rng = np.random.default_rng(0)
    point = [
        np.asarray(ip[v.name] + 0.1 * rng.normal(size=np.shape(ip[v.name])), dtype=v.dtype)
        for v in value_vars
    ]
    out = fn(*point)  # the numba linker finishes compiling at the first call
    compile_s = time.perf_counter() - t0
    finite = bool(all(np.all(np.isfinite(o)) for o in out))
    batches = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n_calls):
            fn(*point)
        batches.append((time.perf_counter() - t0) / n_calls)
    return {
        "logp_dlogp_compile_s": compile_s,
        "logp_dlogp_eval_ms": 1e3 * float(np.median(batches)),
        "logp_dlogp_finite": finite,
        "logp": float(out[0]),
    }


def fit(model: pm.Model, chains: int, tune: int, draws: int) -> dict[str, Any]:
    """Compile with nutpie (numba backend) and sample; time both."""
    import nutpie

    t0 = time.perf_counter()
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    trace = nutpie.sample(
        compiled, chains=chains, tune=tune, draws=draws, cores=2, seed=SEED, progress_bar=False
    )
    sample_s = time.perf_counter() - t0
    return {
        "nutpie_compile_s": compile_s,
        "sampling_s": sample_s,
        "fit_wall_s": compile_s + sample_s,
        **summarise(trace, sample_s, compile_s + sample_s),
    }


def summarise(trace: xr.DataTree, sample_s: float, wall_s: float) -> dict[str, Any]:
    """Divergences, bulk ESS of the shared parameters, ESS per second."""
    posterior = trace["posterior"].to_dataset()
    shared = [
        str(name)
        for name, da in posterior.data_vars.items()
        if "dyad" not in da.dims and not str(name).startswith("z_")
    ]
    ess = az.ess(trace, var_names=shared, method="bulk")
    ess_ds = ess.to_dataset() if hasattr(ess, "to_dataset") else ess
    ess_by_var = {k: float(np.min(v.values)) for k, v in ess_ds.data_vars.items()}
    min_ess = min(ess_by_var.values())
    divergences = int(trace["sample_stats"]["diverging"].sum())
    return {
        "divergences": divergences,
        "min_bulk_ess_shared": min_ess,
        "bulk_ess_shared": ess_by_var,
        "ess_per_s_sampling": min_ess / sample_s,
        "ess_per_s_wall": min_ess / wall_s,
    }


def pipeline_fit(panel: xr.Dataset, method: str, args: argparse.Namespace) -> dict[str, Any]:
    """Time :func:`secdilemma.model.sampling.fit` end to end (build, compile, pilot, sample)."""
    from secdilemma.model.sampling import fit as package_fit

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trace = package_fit(
            panel,
            args.variant,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=SEED,
            belief_method=method,
            progress_bar=False,
        )
    wall_s = time.perf_counter() - t0
    summary = summarise(trace, wall_s, wall_s)
    return {
        "pipeline_wall_s": wall_s,
        "pipeline_diagnostics_ok": int(trace.attrs.get("diagnostics_ok", -1)),
        **{f"pipeline_{k}": v for k, v in summary.items() if not k.startswith("ess_per_s")},
        "pipeline_ess_per_s_wall": summary["ess_per_s_wall"],
    }


def bench_one(panel: xr.Dataset, method: str, args: argparse.Namespace) -> dict[str, Any]:
    """All timings of one panel and belief method."""
    from secdilemma.model.builder import build_model

    t0 = time.perf_counter()
    model = build_model(panel, variant=args.variant, belief_method=method)
    result: dict[str, Any] = {"build_s": time.perf_counter() - t0}
    result |= time_logp_dlogp(model, args.n_calls)
    print(
        f"  {method:>4}: logp+grad {result['logp_dlogp_eval_ms']:.3f} ms, "
        f"compile {result['logp_dlogp_compile_s']:.1f} s",
        flush=True,
    )
    modes = [] if args.no_fit else args.fit_modes.split(",")
    if "raw" in modes:
        result |= fit(model, args.chains, args.tune, args.draws)
        print(
            f"  {method:>4}: fit {result['fit_wall_s']:.1f} s wall "
            f"(nutpie compile {result['nutpie_compile_s']:.1f} s, "
            f"sampling {result['sampling_s']:.1f} s), divergences {result['divergences']}, "
            f"min bulk ESS {result['min_bulk_ess_shared']:.0f}, "
            f"ESS/s {result['ess_per_s_sampling']:.1f}",
            flush=True,
        )
    if "pipeline" in modes:
        result |= pipeline_fit(panel, method, args)
        print(
            f"  {method:>4}: package fit() {result['pipeline_wall_s']:.1f} s wall, "
            f"divergences {result['pipeline_divergences']}, "
            f"min bulk ESS {result['pipeline_min_bulk_ess_shared']:.0f}, "
            f"diagnostics_ok {result['pipeline_diagnostics_ok']}",
            flush=True,
        )
    return result


def ratios(by_method: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Scan / op ratios of times (>1: op faster) and op / scan of ESS/s."""
    if not {"op", "scan"} <= set(by_method):
        return {}
    op, scan = by_method["op"], by_method["scan"]
    out = {}
    for key in (
        "logp_dlogp_eval_ms",
        "logp_dlogp_compile_s",
        "nutpie_compile_s",
        "sampling_s",
        "fit_wall_s",
        "pipeline_wall_s",
    ):
        if key in op and key in scan:
            out[f"scan_over_op_{key}"] = scan[key] / op[key]
    for key in ("ess_per_s_sampling", "ess_per_s_wall", "pipeline_ess_per_s_wall"):
        if key in op and key in scan:
            out[f"op_over_scan_{key}"] = op[key] / scan[key]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 2 chains x (100 tune + 100 draws)"
    )
    parser.add_argument("--variant", default="free", help="variant name or TOML path")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--n-calls", type=int, default=200, help="logp+grad calls per timing batch")
    parser.add_argument("--methods", default="op,scan")
    parser.add_argument("--panels", default="simulated,historical")
    parser.add_argument("--no-fit", action="store_true", help="time logp+grad only")
    parser.add_argument(
        "--fit-modes",
        default="raw",
        help="comma list: raw (nutpie on the model), pipeline (package fit())",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="merge into an existing --out file instead of replacing it",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results.json"))
    args = parser.parse_args()
    if args.quick:
        args.chains, args.tune, args.draws = 2, 100, 100

    warnings.filterwarnings("ignore", category=FutureWarning)
    panels = {"simulated": simulated_panel, "historical": historical_panel}
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"node": platform.node(), "python": platform.python_version()},
        "versions": {
            "secdilemma": secdilemma.__version__,
            "pymc": pm.__version__,
            "pytensor": pytensor.__version__,
            "nutpie": __import__("nutpie").__version__,
        },
        "settings": {
            "chains": args.chains,
            "tune": args.tune,
            "draws": args.draws,
            "variant": args.variant,
            "sampler": "nutpie (numba backend)",
        },
        "panels": {},
    }
    if args.update and args.out.exists():
        previous = json.loads(args.out.read_text())
        results["panels"] = previous.get("panels", {})
        results["runs"] = [*previous.get("runs", [previous.get("date")]), results["date"]]
    for panel_name in args.panels.split(","):
        panel = panels[panel_name]()
        if panel is None:
            continue
        shape = {k: int(v) for k, v in panel.sizes.items()}
        print(f"{panel_name} panel {shape}", flush=True)
        by_method = results["panels"].get(panel_name, {}).get("methods", {})
        for method in args.methods.split(","):
            by_method[method] = by_method.get(method, {}) | bench_one(panel, method, args)
        entry = {"shape": shape, "methods": by_method, "ratios": ratios(by_method)}
        for key, value in entry["ratios"].items():
            print(f"  {key}: {value:.2f}", flush=True)
        results["panels"][panel_name] = entry
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    print(f"results written to {args.out}")


if __name__ == "__main__":
    main()
