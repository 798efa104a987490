"""Posterior mass of the belief regimes of the ``free`` model, by SMC with an HMC kernel.

On the historical panel (:func:`secdilemma.data.load.load_dyads`) the posterior
of the ``free`` model has two well separated modes in the population mean of
the belief weight ``mu_w``:

- *hardening* (``mu_w < -0.8``, near ``mu_w = -2``): beliefs harden;
- *settling* (``mu_w > -0.8``, near ``mu_w = 0.6``): beliefs settle (trust).

A third, small region is also counted: ``delta < 1.8`` and ``mu_w > 1.5``. It
lies inside the settling region, so its share is included in the settling share.

This script estimates how the posterior mass splits between the regimes, with
``pymc.sample_smc`` (tempering from the prior to the posterior) and a custom HMC
mutation kernel, and it records the SMC estimate of the log marginal
likelihood. NUTS cannot answer the question: its chains do not move between the
modes (``benchmarks/README.md``: two raw chains in each mode, bulk ESS 6-7), so
the fraction of chains in a mode says where they started, not how much mass the
mode has. The mass split has to come from a method that reweights particles
between the modes, here tempering.

Usage, from the repository root::

    .venv/bin/python benchmarks/smc_modes.py            # 3 seeds x 2000 particles
    .venv/bin/python benchmarks/smc_modes.py --quick    # 300 particles, one seed
    .venv/bin/python benchmarks/smc_modes.py --seeds 4,5 --particles 4000 --out smc_4000.json

It writes a JSON file (default ``benchmarks/smc_modes.json``) with the settings,
the date, the library versions and, per seed, the regime shares, the log
marginal likelihood, the tempering stages, the final-stage acceptance rate, the
wall time and posterior quantiles of ``mu_w``, ``mu_s``, ``delta`` and ``pi``;
it prints a short table.

Notes
-----
**Algorithm.** The initial population is drawn from the prior by rejection:
PyMC's prior draws of the ordered cutpoints are unordered about 40% of the time,
which makes the ordered transform, hence the prior and likelihood, NaN and
crashes SMC. We draw four times the population, keep only the draws whose values
are all finite (ordered cutpoints) and use the first ``--particles`` of them:
exact sampling from the prior truncated to the ordered region, which is the
model's actual prior. The mutation kernel (:class:`HMCKernel`) runs, per stage,
``--hmc-iters`` HMC iterations on the tempered target ``prior + beta *
likelihood`` with a diagonal mass matrix from the particles' variances (see its
docstring). PyMC's own kernels were tried first and did not reach the settling
mode (comment above :class:`HMCKernel`).

**Cost.** About 3.5 minutes (210-230 s) per 2000-particle seed on one core:
14-15 stages of about 50 leapfrog steps per particle, at about 0.15 ms per
log-density and gradient. Building the model and drawing the initial population
take about 5 s more per seed (warm PyTensor cache). The full default run (3
seeds) takes about 11.5 minutes, ``--quick`` about 40 s. The script pins numba,
OpenMP and BLAS to one thread unless the environment says otherwise.

**Reliability.** The hardening share is not a stable estimate at 2000
particles: over seeds 1-3 it was 0.596, 0.352 and 0.822, while the log marginal
likelihood agreed to 0.5 (-2138.0 to -2137.5). Settling mass appears only in the
last tempering stages. The per-stage ``hardening_share`` in the JSON stays near
0.3 up to ``beta = 0.2`` and rises to 0.8-0.9 by ``beta = 0.8``. It falls only
in the last one to three stages, where the particles that have reached the
settling well (summed log-likelihood about -2099, against -2114 in the hardening
mode) are strongly upweighted. The final split therefore depends on how many
particles sit in that well when ``beta`` nears 1, which varies between seeds.
Read the spread over seeds as the uncertainty of the estimate; more particles,
more HMC iterations or a higher ``--threshold`` (more stages) should narrow it.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pymc.model import modelcontext
from pymc.pytensorf import compile as compile_pytensor
from pymc.pytensorf import join_nonshared_inputs, make_shared_replacements
from pymc.smc.kernels import SMC_KERNEL

from secdilemma.data.load import load_dyads
from secdilemma.model.builder import build_model

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "smc_modes.json"

# Regimes, on the population mean of the belief weight (logit scale) and on delta.
HARDENING_MAX_MU_W = -0.8  # hardening: mu_w < -0.8; settling: mu_w > -0.8
THIRD_MAX_DELTA, THIRD_MIN_MU_W = 1.8, 1.5  # third: delta < 1.8 and mu_w > 1.5

INIT_OVERSAMPLE = 4  # prior draws per kept particle (about 63% are ordered)
INIT_SEED_OFFSET = 10_000  # initial population seed = INIT_SEED_OFFSET + seed
QUANTILES = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
REPORTED = ("mu_w", "mu_s", "delta", "pi")


# Why not PyMC's own SMC kernels. With 300 particles (seed 1) the stock kernels
# did not reach the settling mode, which NUTS finds: the median summed
# log-likelihood of their final particles (``loglik_move`` summed over dyads and
# sides) was -2137 with IMH and -2119 with MH, against -2098 for the NUTS draws
# of ``models/free_historical.nc``. IMH (independent Gaussian proposals fitted to
# the previous stage) ended in a low-``delta`` region (median delta 0.9). PyMC's
# correlation rule stops after 3-5 steps per stage here, far too few in 110
# dimensions, so MH was forced to at least 25 random-walk steps per stage; it
# still ended 86% in the hardening mode, below even that mode's level. The HMC
# kernel below reaches about -2099 in the settling mode and -2114 in the
# hardening mode.
class HMCKernel(SMC_KERNEL):
    """HMC mutation kernel for :func:`pymc.sample_smc` (PyMC 6.4 ``SMC_KERNEL`` API).

    Tempered target: ``prior_logp + beta * likelihood_logp`` (PyMC's split into
    ``model.varlogp`` and ``model.datalogp``; the latter includes the model's
    potentials). Per stage: a diagonal mass matrix from the resampled
    particles' variances, then ``hmc_iters`` HMC iterations, each with ``L ~
    U{leapfrog // 2, ..., 3 * leapfrog // 2}`` leapfrog steps (one ``L`` for
    all particles), a per-particle step-size jitter ``U(0.8, 1.2)``, and a global
    step size adapted towards acceptance ``target_accept`` between iterations
    (it carries over from stage to stage). Points where the log-density or its
    gradient fails or is not finite are rejected.

    Parameters
    ----------
    *args, **kwargs
        Passed to :class:`pymc.smc.kernels.SMC_KERNEL` (``draws``, ``start``,
        ``model``, ``random_seed``, ``threshold``, ``compile_kwargs``).
    hmc_iters
        HMC iterations per stage.
    leapfrog
        Mean number of leapfrog steps per iteration.
    target_accept
        Acceptance rate the global step size is adapted to.
    step_size
        Initial global step size (in units of the particles' standard deviations).
    verbose
        Print one line per stage to stderr.
    """

    stats_dtypes_shapes: ClassVar[dict[str, tuple[type, list]]] = {
        "log_marginal_likelihood": (float, []),
        "beta": (float, []),
        "accept_rate": (float, []),
        "step_size": (float, []),
        "n_leapfrog": (int, []),
        "hardening_share": (float, []),
    }

    def __init__(
        self,
        *args: Any,
        hmc_iters: int = 5,
        leapfrog: int = 10,
        target_accept: float = 0.7,
        step_size: float = 0.3,
        verbose: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.n_hmc = int(hmc_iters)
        self.n_leap = int(leapfrog)
        self.target = float(target_accept)
        self.eps = float(step_size)
        self.verbose = verbose
        model = modelcontext(kwargs.get("model"))
        ip = model.initial_point(random_seed=0)
        shared = make_shared_replacements(ip, self.variables, model)
        outs, x = join_nonshared_inputs(
            point=ip,
            outputs=[model.varlogp, model.datalogp],
            inputs=self.variables,
            shared_inputs=shared,
        )
        fn = compile_pytensor(
            [x],
            [outs[0], outs[1], pt.grad(outs[0], x), pt.grad(outs[1], x)],
            on_unused_input="ignore",
        )
        fn.trust_input = True
        self.vg = fn
        # Position of mu_w in the raveled particle (value variables in model order).
        offsets = np.cumsum([0] + [size for _, size in self.var_info.values()])
        self.i_mu_w = int(offsets[list(self.var_info).index("mu_w")])
        self.n_steps = 0
        self.acc_rate = np.nan
        self.last_acc = np.nan
        self.var = self.sd = np.empty(0)

    def _eval(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Prior and likelihood log-densities and their gradients, one row per particle."""
        n, d = X.shape
        pl, ll = np.empty(n), np.empty(n)
        gp, gl = np.empty((n, d)), np.empty((n, d))
        for i in range(n):
            try:
                a, b, ga, gb = self.vg(X[i])
            except (ZeroDivisionError, FloatingPointError, ValueError, OverflowError):
                a, b, ga, gb = np.nan, np.nan, np.nan, np.nan  # extreme point: rejected below
            pl[i], ll[i], gp[i], gl[i] = a, b, ga, gb
        ok = np.isfinite(pl) & np.isfinite(ll) & np.isfinite(gp).all(1) & np.isfinite(gl).all(1)
        pl[~ok], ll[~ok], gp[~ok], gl[~ok] = -np.inf, -np.inf, 0.0, 0.0
        return pl, ll, gp, gl

    def tune(self) -> None:
        """Diagonal mass matrix: the resampled particles' variances."""
        self.var = np.var(self.tempered_posterior, axis=0) + 1e-10
        self.sd = np.sqrt(self.var)

    def mutate(self) -> None:
        """``n_hmc`` HMC iterations for every particle at the current ``beta``."""
        X = self.tempered_posterior.copy()
        pl, ll, gp, gl = self._eval(X)
        b = self.beta
        acc_all = []
        self.n_steps = 0
        for _ in range(self.n_hmc):
            n, d = X.shape
            L = int(self.rng.integers(max(1, self.n_leap // 2), 3 * self.n_leap // 2 + 1))
            # Whitened coordinates y = x / sd with a scalar step e per particle:
            # p += e/2 * grad_y = e/2 * sd * grad_x and y += e * p, i.e. x += e * sd * p.
            # With eps = e * sd (per dimension): p += eps/2 * grad_x, x += eps * p.
            eps = self.eps * self.rng.uniform(0.8, 1.2, size=(n, 1)) * self.sd
            p = self.rng.standard_normal((n, d))
            H0 = pl + b * ll - 0.5 * (p**2).sum(1)
            Xn = X.copy()
            pn = p + 0.5 * eps * (gp + b * gl)
            for step in range(L):
                Xn = Xn + eps * pn
                npl, nll, ngp, ngl = self._eval(Xn)
                g = ngp + b * ngl
                pn = pn + (eps if step < L - 1 else 0.5 * eps) * g
                self.n_steps += 1
            H1 = npl + b * nll - 0.5 * (pn**2).sum(1)
            log_r = H1 - H0
            log_r[~np.isfinite(log_r)] = -np.inf
            acc = np.log(self.rng.random(n)) < log_r
            X[acc], pl[acc], ll[acc] = Xn[acc], npl[acc], nll[acc]
            gp[acc], gl[acc] = ngp[acc], ngl[acc]
            a = float(acc.mean())
            acc_all.append(a)
            self.eps *= float(np.exp(1.5 * (a - self.target)))
        self.tempered_posterior = X
        self.prior_logp, self.likelihood_logp = pl, ll
        self.tempered_posterior_logp = pl + b * ll
        self.acc_rate = float(np.mean(acc_all))
        self.last_acc = acc_all[-1]

    def sample_stats(self) -> dict[str, Any]:
        """Per-stage statistics (recorded by PyMC under ``sample_stats``)."""
        hard = float(np.mean(self.tempered_posterior[:, self.i_mu_w] < HARDENING_MAX_MU_W))
        if self.verbose:
            print(
                f"  stage {self.iteration:2d}  beta {self.beta:.4f}  accept {self.acc_rate:.3f}"
                f"  step {self.eps:.3f}  leapfrog {self.n_steps}  hardening {hard:.3f}",
                file=sys.stderr,
                flush=True,
            )
        return {
            "log_marginal_likelihood": self.log_marginal_likelihood if self.beta == 1 else np.nan,
            "beta": self.beta,
            "accept_rate": self.acc_rate,
            "step_size": self.eps,
            "n_leapfrog": self.n_steps,
            "hardening_share": hard,
        }

    def sample_settings(self) -> dict[str, Any]:
        """Settings recorded once, as attributes of ``sample_stats``."""
        return {
            "_n_draws": self.draws,
            "threshold": self.threshold,
            "_n_tune": self.n_steps,
            "hmc_iters": self.n_hmc,
            "hmc_leap": self.n_leap,
        }


def ordered_prior_population(
    model: pm.Model, particles: int, seed: int, kernel_kwargs: dict[str, Any]
) -> tuple[dict[str, np.ndarray], int]:
    """Initial population: prior draws with finite values only (ordered cutpoints).

    Draws ``INIT_OVERSAMPLE * particles`` points from the prior (PyMC's own
    population sampler, transformed values) and keeps the first ``particles``
    whose values are all finite: rejection sampling from the prior truncated to
    ordered cutpoints. Returns the population and the number of finite draws.
    """
    n_draw = INIT_OVERSAMPLE * particles
    with model:
        kernel = HMCKernel(
            draws=n_draw, model=model, random_seed=INIT_SEED_OFFSET + seed, **kernel_kwargs
        )
    pop = kernel.initialize_population()
    finite = np.all(
        [np.all(np.isfinite(np.asarray(v).reshape(n_draw, -1)), axis=1) for v in pop.values()],
        axis=0,
    )
    n_ok = int(finite.sum())
    if n_ok < particles:
        raise RuntimeError(f"only {n_ok} of {n_draw} prior draws are ordered; need {particles}")
    keep = np.flatnonzero(finite)[:particles]
    return {k: np.asarray(v)[keep] for k, v in pop.items()}, n_ok


def quantiles(x: np.ndarray) -> dict[str, float]:
    """The :data:`QUANTILES` of ``x``, keyed by probability."""
    return {
        f"{q:g}": round(float(v), 4)
        for q, v in zip(QUANTILES, np.quantile(x, QUANTILES), strict=True)
    }


def run_seed(model: pm.Model, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One SMC run; the regime shares and summaries of its final particles."""
    kernel_kwargs = {"hmc_iters": args.hmc_iters, "leapfrog": args.leapfrog}
    t0 = time.perf_counter()
    start, n_ordered = ordered_prior_population(model, args.particles, seed, kernel_kwargs)
    init_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with model:
        idata = pm.sample_smc(
            draws=args.particles,
            kernel=HMCKernel,
            start=start,
            chains=1,
            cores=1,
            random_seed=seed,
            progressbar=False,
            compute_convergence_checks=False,
            threshold=args.threshold,
            verbose=not args.no_progress,
            **kernel_kwargs,
        )
    wall_s = time.perf_counter() - t0

    post = idata["posterior"]
    draws = {k: post[k].values.reshape(-1) for k in REPORTED}
    mu_w, delta = draws["mu_w"], draws["delta"]
    hard = mu_w < HARDENING_MAX_MU_W
    third = (delta < THIRD_MAX_DELTA) & (mu_w > THIRD_MIN_MU_W)
    loglik = post["loglik_move"].values.reshape(args.particles, -1).sum(1)

    stats = idata["sample_stats"]
    stage = {k: stats[k].values.reshape(-1) for k in HMCKernel.stats_dtypes_shapes}

    def median_loglik(mask: np.ndarray) -> float | None:
        return round(float(np.median(loglik[mask])), 2) if mask.any() else None

    return {
        "seed": seed,
        "hardening_share": float(hard.mean()),
        "settling_share": float((~hard).mean()),
        "third_regime_share": float(third.mean()),
        "log_marginal_likelihood": float(stage["log_marginal_likelihood"][-1]),
        "n_stages": len(stage["beta"]),
        "final_stage_accept_rate": float(stage["accept_rate"][-1]),
        "wall_seconds": round(wall_s, 1),
        "init_seconds": round(init_s, 1),
        "ordered_prior_draws": f"{n_ordered} of {INIT_OVERSAMPLE * args.particles}",
        "unique_final_particles": len(np.unique(mu_w)),
        "median_summed_loglik": {
            "all": median_loglik(np.ones_like(hard)),
            "hardening": median_loglik(hard),
            "settling": median_loglik(~hard),
        },
        "quantiles": {k: quantiles(v) for k, v in draws.items()},
        "stages": [
            {
                "beta": round(float(stage["beta"][i]), 5),
                "accept_rate": round(float(stage["accept_rate"][i]), 4),
                "step_size": round(float(stage["step_size"][i]), 4),
                "n_leapfrog": int(stage["n_leapfrog"][i]),
                "hardening_share": round(float(stage["hardening_share"][i]), 4),
            }
            for i in range(len(stage["beta"]))
        ],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(
        description="Posterior mass of the hardening and settling regimes of a secdilemma "
        "model (SMC with an HMC kernel).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--particles", type=int, default=2000, help="SMC particles (final draws)")
    ap.add_argument("--seeds", default="1,2,3", help="comma-separated random seeds, one run each")
    ap.add_argument("--variant", default="free", help="model variant (name or TOML path)")
    ap.add_argument("--hmc-iters", type=int, default=5, help="HMC iterations per stage")
    ap.add_argument("--leapfrog", type=int, default=10, help="mean leapfrog steps per iteration")
    ap.add_argument("--threshold", type=float, default=0.5, help="SMC ESS threshold per stage")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON file")
    ap.add_argument("--quick", action="store_true", help="smoke run: 300 particles, first seed")
    ap.add_argument("--no-progress", action="store_true", help="no per-stage lines on stderr")
    args = ap.parse_args(argv)
    args.seeds = [int(s) for s in str(args.seeds).split(",") if s.strip()]
    if args.quick:
        args.particles, args.seeds = 300, args.seeds[:1]
    return args


def main(argv: list[str] | None = None) -> None:
    """Run every seed, write the JSON and print a table."""
    args = parse_args(argv)
    settings = {
        "particles": args.particles,
        "seeds": args.seeds,
        "variant": args.variant,
        "hmc_iters": args.hmc_iters,
        "leapfrog": args.leapfrog,
        "threshold": args.threshold,
        "quick": args.quick,
        "target_accept": 0.7,
        "initial_step_size": 0.3,
        "init_oversample": INIT_OVERSAMPLE,
        "init_seed": f"{INIT_SEED_OFFSET} + seed",
        "regimes": {
            "hardening": f"mu_w < {HARDENING_MAX_MU_W}",
            "settling": f"mu_w > {HARDENING_MAX_MU_W}",
            "third": f"delta < {THIRD_MAX_DELTA} and mu_w > {THIRD_MIN_MU_W} (inside settling)",
        },
        "quantiles": list(QUANTILES),
        "threads": {k: os.environ.get(k) for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS")},
    }
    result: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": settings,
        "machine": {
            "node": platform.node(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": {
            "pymc": pm.__version__,
            "pytensor": pytensor.__version__,
            "numpy": np.__version__,
        },
        "runs": [],
    }

    model = build_model(load_dyads(), args.variant)
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        print(f"seed {seed}: {args.particles} particles", file=sys.stderr, flush=True)
        result["runs"].append(run_seed(model, seed, args))
        out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")  # after every seed

    shares = [r["hardening_share"] for r in result["runs"]]
    result["summary"] = {
        "hardening_share_mean": round(float(np.mean(shares)), 4),
        "hardening_share_min": min(shares),
        "hardening_share_max": max(shares),
    }
    out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")

    print(f"\n{args.variant} model, {args.particles} particles; wrote {out}")
    print(" seed  hardening  settling  third  log ML     stages  accept  wall s")
    for r in result["runs"]:
        print(
            f"{r['seed']:5d}  {r['hardening_share']:9.3f}  {r['settling_share']:8.3f}"
            f"  {r['third_regime_share']:5.3f}  {r['log_marginal_likelihood']:9.2f}"
            f"  {r['n_stages']:6d}  {r['final_stage_accept_rate']:6.3f}  {r['wall_seconds']:6.1f}"
        )


if __name__ == "__main__":
    main()
