"""Sequential Monte Carlo fits: every mode of a multimodal posterior, with its mass.

NUTS chains do not move between separated modes (:mod:`secdilemma.model.sampling`),
so a NUTS fit cannot say how the mass of the ``free`` posterior splits between
beliefs that *harden* and beliefs that *settle* on the historical panel.
Tempered SMC can: particles drawn from the prior are moved through the
tempered posteriors ``p(theta) L(theta)^b``, ``b`` from 0 to 1, reweighted and
resampled at every stage, so mass flows between modes through the weights
rather than through the moves. :func:`fit_smc`, reached as
``fit(panel, variant, sampler="smc")`` (CLI ``secdilemma fit --sampler smc``),
runs :func:`pymc.sample_smc` with :class:`HMCMutation`, an HMC kernel, and
returns a fit with the layout of a NUTS fit:

- ``posterior``: ``chain`` = independent SMC runs, ``draw`` = the final
  particles (equally weighted), the sampled parameters and every
  deterministic (``belief``, ``p_malign`` ...). The SMC model samples DESIGN's
  ``cutpoints`` and ``delta`` directly (``build_model(..., centred_cutpoints=False,
  intent_spread=False)``: the same posterior, and a prior without potentials,
  so that the initial particles are exact prior draws); ``cutpoints_centred``
  and ``intent_spread``, the NUTS model's coordinates, are added as the same
  functions of them, so the variable set is a NUTS fit's.
- ``sample_stats``: per particle ``log_likelihood`` (the summed log-likelihood
  that is tempered); per chain ``log_marginal_likelihood``; per chain and
  stage ``beta``, ``accept_rate``, ``step_size``, ``n_leapfrog``,
  ``mutation_correlation`` and ``share_<mode>`` (NaN-padded: chains may take
  different numbers of stages).
- ``log_likelihood``, ``observed_data``, ``constant_data``: as for NUTS.
- attrs: the provenance of :mod:`secdilemma.model.io`; the ``sampler`` attr
  (``name = "smc"``) holds the settings and the *SMC record* (``smc``, read it
  with :func:`smc_record`): per chain log marginal likelihood, stages, beta
  schedule, acceptance, mutation correlation; the modes, their definitions and
  masses (:mod:`secdilemma.model.modes`); the data-driven split; the tolerances.

**Initial particles.** Prior draws (PyMC's own), keeping those with finite
values in the sampler's space: a Normal prior on ordered cutpoints gives
unordered draws about 40 % of the time, which the ordered transform turns into
NaN. The kept draws are exact draws of the prior restricted to ordered
cutpoints, the model's prior, so the log marginal likelihood is that of the
model with that prior normalised (PyMC's prior density of ordered cutpoints
omits the normaliser; SMC's estimate does not depend on it).

**Mutation** (:class:`HMCMutation`). Per stage: a mass matrix from the
resampled particles (their variances, or ``mass_matrix="dense"``: their
covariance, shrunk towards its diagonal), then ``hmc_iters`` HMC iterations
of ``L ~ U{leapfrog/2 .. 3 leapfrog/2}`` leapfrog steps with a per-particle
step-size jitter; the global step size is adapted between iterations towards
``target_accept``. PyMC's own IMH and random-walk kernels did not reach the
settling mode of ``free`` (``benchmarks/smc_modes.py``).

**Modes** (``modes=``): a mapping ``{name: expression or callable}``
(:mod:`secdilemma.model.modes`), ``"auto"`` for the data-driven split, or
``None`` (default): the variant's known split (:data:`~secdilemma.model.modes.KNOWN_MODES`;
``free``: ``hardening`` ``mu_w < -0.8`` and ``settling``), else the
data-driven one. The data-driven split is computed and recorded either way.
The mass of a mode is the share of a chain's final particles in it; pooled
over chains with weights proportional to each chain's marginal likelihood
estimate (:func:`~secdilemma.model.modes.pooled`: SMC's evidence estimate is
unbiased, so this pooling converges as chains are added, which an equal-weight
mean of biased per-chain shares does not), with its standard error across
chains; the equal-weight mean is recorded too.

**Diagnostics** (:func:`smc_diagnostics`). R-hat and ESS along ``draw`` mean
nothing for particles (their order is that of the resampling), so an SMC fit
is checked by what independent runs must agree on: the log marginal
likelihood (spread across chains at most :attr:`SMCTolerances.log_ml_spread`
nats), each mode's mass (standard error of the pooled mass at most
:attr:`SMCTolerances.mode_mass_se`), and by whether the mutation moved the
particles in the last stage (acceptance at least
:attr:`SMCTolerances.min_accept`, mean correlation between the resampled and the
mutated particles at most :attr:`SMCTolerances.max_mutation_correlation`). A
single chain cannot be checked for agreement and fails. The outcome is a
:class:`~secdilemma.model.diagnostics.Diagnostics` (its ``failures`` list;
R-hat, ESS and E-BFMI left empty), stored as the ``diagnostics`` attr with
``diagnostics_ok`` as the flag, so ``diagnostics_ok`` means what it means for
NUTS: the posterior passed every check that applies.

Chains run one after the other in this process (``cores=1``); the same
``seed`` (and settings, library versions) gives the same particles, bit for bit.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from pymc.model import modelcontext
from pymc.pytensorf import compile as compile_pytensor
from pymc.pytensorf import join_nonshared_inputs, make_shared_replacements
from pymc.smc.kernels import SMC_KERNEL
from scipy.special import logsumexp

from secdilemma.model import schema
from secdilemma.model.belief_op import Method
from secdilemma.model.builder import (
    BELIEF_REFERENCE,
    CENTRED_CUTPOINTS,
    INTENT_SPREAD,
    build_model,
    model_data,
)
from secdilemma.model.contraction import contraction, contraction_json
from secdilemma.model.diagnostics import Diagnostics, Thresholds, warn_if_failed
from secdilemma.model.io import provenance_attrs
from secdilemma.model.modes import (
    KNOWN_MODES,
    Mode,
    ModeSpec,
    as_modes,
    find_mode_split,
    mode_masses,
)
from secdilemma.model.variants import Variant, load_variant

MassMatrix = Literal["diag", "dense"]

SMC_DEFAULTS: dict[str, Any] = {
    "threshold": 0.5,
    "hmc_iters": 5,
    "leapfrog": 10,
    "mass_matrix": "diag",
    "step_size": 0.3,
    "correlation_target": None,
    "max_hmc_iters": None,
}
"""Default SMC settings (``sampler_kwargs`` of :func:`fit_smc` override them):
``threshold``, the ESS share kept per tempering stage (closer to 1: more, smaller
stages); ``hmc_iters`` HMC iterations per stage of ``leapfrog`` leapfrog steps
on average; the mass matrix; the initial step size (in particle standard
deviations); with a ``correlation_target``, more iterations per stage (up to
``max_hmc_iters``) until the particles' log-likelihoods correlate with their
values at the stage's start by at most that much (:class:`HMCMutation`)."""

INIT_MAX_ROUNDS = 100
"""Rounds of prior draws tried for the initial population before giving up."""


@dataclass(frozen=True)
class SMCTolerances:
    """Pass/fail tolerances of an SMC fit (module docstring, "Diagnostics").

    Attributes
    ----------
    log_ml_spread
        Largest acceptable spread (max - min) of the chains' log marginal
        likelihoods, in nats: chains whose evidence differs by more than a
        factor ``e`` did not find the same posterior mass.
    mode_mass_se
        Largest acceptable standard error (across chains) of a mode's pooled
        mass. At 0.025 the pooled masses of independent fits agree within 0.1
        with probability about 0.95 (the range of three normal estimates
        exceeds 3.3 standard errors 5 % of the time).
    min_accept
        Smallest acceptable acceptance rate of the mutation kernel in the last
        stage, per chain.
    max_mutation_correlation
        Largest acceptable mean (over coordinates) correlation between the
        resampled particles and the same particles after the last stage's
        mutation: near 1, the final particles are copies of few ancestors.
    """

    log_ml_spread: float = 1.0
    mode_mass_se: float = 0.025
    min_accept: float = 0.1
    max_mutation_correlation: float = 0.9


class HMCMutation(SMC_KERNEL):
    """HMC mutation kernel for :func:`pymc.sample_smc` (PyMC 6 ``SMC_KERNEL`` API).

    Tempered target ``prior_logp + beta * likelihood_logp`` (PyMC's split into
    ``model.varlogp`` and ``model.datalogp``). Per stage: a mass matrix from the
    resampled particles, then ``hmc_iters`` HMC iterations of ``L ~
    U{leapfrog // 2, ..., 3 * leapfrog // 2}`` leapfrog steps (one ``L`` for all
    particles), a per-particle step-size jitter ``U(0.8, 1.2)``, and a global
    step size adapted towards ``target_accept`` between iterations; it carries
    over from stage to stage within a chain and restarts at ``step_size`` for
    every chain. A point where the log-density or its gradient fails or is not
    finite is rejected. The initial population keeps the prior draws with
    finite values (:mod:`secdilemma.model.smc`, "Initial particles").

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
        Initial global step size, in units of the particles' standard deviations.
    mass_matrix
        ``"diag"``: the particles' variances; ``"dense"``: their covariance,
        shrunk by ``d / N`` towards its diagonal.
    correlation_target, max_hmc_iters
        If a target is given: after the first ``hmc_iters`` iterations of a
        stage, go on (up to ``max_hmc_iters`` in all) while the correlation
        over particles of their log-likelihood now and at the stage's start
        exceeds the target. The log-likelihood is what the next stage's weights
        and the evidence are made of, so this spends iterations where the
        particles are slowest to forget their ancestors (the last stages).
    track
        Optional function of the particles ``(N, d)`` (the sampler's space)
        returning ``{name: membership}`` (one boolean per particle) of the
        modes: their shares are recorded per stage as ``share_<name>``, and the
        log-likelihood correlation is taken within modes (particles do not move
        between separated modes, so their difference in log-likelihood would
        keep any correlation across modes high).
    track_names
        The names ``track`` returns (fixed before sampling, for PyMC's stats).
    verbose
        Print one line per stage to stderr.
    """

    stats_dtypes_shapes: ClassVar[dict[str, tuple[type, list]]] = {
        "log_marginal_likelihood": (float, []),
        "beta": (float, []),
        "accept_rate": (float, []),
        "last_iteration_accept_rate": (float, []),
        "step_size": (float, []),
        "n_leapfrog": (int, []),
        "n_hmc_iters": (int, []),
        "mutation_correlation": (float, []),
        "mutation_correlation_max": (float, []),
        "loglik_correlation": (float, []),
    }

    def __init__(
        self,
        *args: Any,
        hmc_iters: int = 5,
        leapfrog: int = 10,
        target_accept: float = 0.7,
        step_size: float = 0.3,
        mass_matrix: MassMatrix = "diag",
        correlation_target: float | None = None,
        max_hmc_iters: int | None = None,
        track: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None,
        track_names: tuple[str, ...] = (),
        verbose: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if mass_matrix not in ("diag", "dense"):
            raise ValueError(f"mass_matrix: expected 'diag' or 'dense', got {mass_matrix!r}")
        self.n_hmc = int(hmc_iters)
        self.correlation_target = -np.inf if correlation_target is None else correlation_target
        self.max_hmc = self.n_hmc if correlation_target is None else int(max_hmc_iters or 0)
        if self.max_hmc < self.n_hmc:
            raise ValueError(
                f"max_hmc_iters: must be at least hmc_iters ({self.n_hmc}) with a "
                f"correlation_target, got {max_hmc_iters!r}"
            )
        self.n_leap = int(leapfrog)
        self.target = float(target_accept)
        self.eps0 = float(step_size)
        self.mass_matrix = mass_matrix
        self.track = track
        self.track_names = tuple(track_names)
        # Instance-level stats: PyMC collects exactly these keys per stage.
        self.stats_dtypes_shapes = {
            **type(self).stats_dtypes_shapes,
            **{f"share_{name}": (float, []) for name in self.track_names},
        }
        self.verbose = verbose
        model = modelcontext(kwargs.get("model"))
        point = model.initial_point(random_seed=0)
        shared = make_shared_replacements(point, self.variables, model)
        outs, x = join_nonshared_inputs(
            point=point,
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
        self.value_and_grad = fn
        self.setup_kernel()

    def setup_kernel(self) -> None:
        """Reset the adaptation state: every chain starts from the same settings."""
        self.eps = self.eps0
        self.n_steps = 0
        self.acc_rate = self.last_acc = self.corr = self.corr_max = self.ll_corr = np.nan
        self.iters_done = 0
        self.groups = np.zeros(0, dtype=int)
        self.scale = np.empty(0)

    def initialize_population(self) -> dict[str, np.ndarray]:
        """Prior draws with finite values only (module docstring, "Initial particles")."""
        kept: dict[str, list[np.ndarray]] = {}
        n_kept = 0
        for _ in range(INIT_MAX_ROUNDS):
            batch = super().initialize_population()
            finite = np.all(
                [
                    np.all(np.isfinite(np.asarray(v).reshape(self.draws, -1)), axis=1)
                    for v in batch.values()
                ],
                axis=0,
            )
            for k, v in batch.items():
                kept.setdefault(k, []).append(np.asarray(v)[finite])
            n_kept += int(finite.sum())
            if n_kept >= self.draws:
                return {k: np.concatenate(v)[: self.draws] for k, v in kept.items()}
        raise RuntimeError(
            f"SMC: only {n_kept} of {INIT_MAX_ROUNDS * self.draws} prior draws have finite "
            "values in the sampler's space; check the priors (e.g. of ordered cutpoints)"
        )

    def _evaluate(self, X: np.ndarray) -> tuple[np.ndarray, ...]:
        """Prior and likelihood log-densities and their gradients, one row per particle."""
        n, d = X.shape
        pl, ll = np.empty(n), np.empty(n)
        gp, gl = np.empty((n, d)), np.empty((n, d))
        for i in range(n):
            try:
                pl[i], ll[i], gp[i], gl[i] = self.value_and_grad(X[i])
            except (ZeroDivisionError, FloatingPointError, ValueError, OverflowError):
                pl[i] = ll[i] = np.nan  # an extreme point: rejected below
        ok = np.isfinite(pl) & np.isfinite(ll) & np.isfinite(gp).all(1) & np.isfinite(gl).all(1)
        pl[~ok], ll[~ok], gp[~ok], gl[~ok] = -np.inf, -np.inf, 0.0, 0.0
        return pl, ll, gp, gl

    def tune(self) -> None:
        """Mass matrix from the resampled particles: ``x = mean + scale @ y``."""
        X = self.tempered_posterior
        if self.mass_matrix == "diag":
            self.scale = np.sqrt(np.var(X, axis=0) + 1e-10)
            return
        n, d = X.shape
        cov = np.atleast_2d(np.cov(X, rowvar=False))
        shrink = min(1.0, d / n)
        cov = (1 - shrink) * cov + shrink * np.diag(np.diag(cov)) + 1e-10 * np.eye(d)
        self.scale = np.linalg.cholesky(cov)

    def _to_x(self, p: np.ndarray) -> np.ndarray:
        """Velocity in the sampler's space of whitened momenta ``p`` (rows)."""
        return p * self.scale if self.scale.ndim == 1 else p @ self.scale.T

    def _to_y(self, g: np.ndarray) -> np.ndarray:
        """Gradient in whitened coordinates of gradients ``g`` in the sampler's space."""
        return g * self.scale if self.scale.ndim == 1 else g @ self.scale

    def mutate(self) -> None:
        """``hmc_iters`` HMC iterations for every particle at the current ``beta``."""
        X = self.tempered_posterior.copy()
        start = X.copy()
        pl, ll, gp, gl = self._evaluate(X)
        ll_start = ll.copy()
        self.groups = self._groups(X)
        b = self.beta
        accepted_share = []
        self.n_steps = 0
        n, d = X.shape
        finite = np.isfinite(ll_start)
        for iteration in range(self.max_hmc):
            if iteration >= self.n_hmc and self._loglik_correlation(ll_start, ll, finite) <= (
                self.correlation_target
            ):
                break
            L = int(self.rng.integers(max(1, self.n_leap // 2), 3 * self.n_leap // 2 + 1))
            eps = self.eps * self.rng.uniform(0.8, 1.2, size=(n, 1))
            p = self.rng.standard_normal((n, d))
            h0 = pl + b * ll - 0.5 * (p**2).sum(1)
            Xn = X.copy()
            pn = p + 0.5 * eps * self._to_y(gp + b * gl)
            for step in range(L):
                Xn = Xn + eps * self._to_x(pn)
                npl, nll, ngp, ngl = self._evaluate(Xn)
                pn = pn + (eps if step < L - 1 else 0.5 * eps) * self._to_y(ngp + b * ngl)
                self.n_steps += 1
            h1 = npl + b * nll - 0.5 * (pn**2).sum(1)
            log_r = h1 - h0
            log_r[~np.isfinite(log_r)] = -np.inf
            accept = np.log(self.rng.random(n)) < log_r
            X[accept], pl[accept], ll[accept] = Xn[accept], npl[accept], nll[accept]
            gp[accept], gl[accept] = ngp[accept], ngl[accept]
            share = float(accept.mean())
            accepted_share.append(share)
            self.eps *= float(np.exp(1.5 * (share - self.target)))
        self.tempered_posterior = X
        self.prior_logp, self.likelihood_logp = pl, ll
        self.tempered_posterior_logp = pl + b * ll
        self.acc_rate = float(np.mean(accepted_share))
        self.last_acc = accepted_share[-1]
        self.iters_done = len(accepted_share)
        per_coordinate = mutation_correlation(start, X)
        self.corr = float(np.mean(per_coordinate)) if per_coordinate.size else np.nan
        self.corr_max = float(np.max(per_coordinate)) if per_coordinate.size else np.nan
        self.ll_corr = self._loglik_correlation(ll_start, ll, finite)

    def _groups(self, X: np.ndarray) -> np.ndarray:
        """Index of the first tracked mode each particle is in (-1: none; all 0 untracked)."""
        if self.track is None:
            return np.zeros(len(X), dtype=int)
        inside = np.array([self.track(X)[name] for name in self.track_names], dtype=bool)
        return np.where(inside.any(0), inside.argmax(0), -1)

    def _loglik_correlation(
        self, before: np.ndarray, after: np.ndarray, finite: np.ndarray
    ) -> float:
        """Within-mode correlation of the log-likelihoods at the stage's start and now."""
        ok = finite & np.isfinite(after)
        a, b = before[ok].copy(), after[ok].copy()
        for g in np.unique(self.groups[ok]):
            here = self.groups[ok] == g
            a[here] -= a[here].mean()
            b[here] -= b[here].mean()
        r = mutation_correlation(a[:, None], b[:, None])
        return float(r[0]) if r.size else float("nan")

    def sample_stats(self) -> dict[str, Any]:
        """Per-stage statistics, recorded by PyMC under ``sample_stats``."""
        inside = self.track(self.tempered_posterior) if self.track is not None else {}
        shares = {k: float(np.mean(v)) for k, v in inside.items()}
        stats = {
            "log_marginal_likelihood": self.log_marginal_likelihood,
            "beta": self.beta,
            "accept_rate": self.acc_rate,
            "last_iteration_accept_rate": self.last_acc,
            "step_size": self.eps,
            "n_leapfrog": self.n_steps,
            "n_hmc_iters": self.iters_done,
            "mutation_correlation": self.corr,
            "mutation_correlation_max": self.corr_max,
            "loglik_correlation": self.ll_corr,
            **{f"share_{k}": float(shares.get(k, np.nan)) for k in self.track_names},
        }
        if self.verbose:
            extra = "".join(f"  {k} {v:.3f}" for k, v in shares.items())
            print(
                f"  stage {self.iteration:2d}  beta {self.beta:.4f}  accept {self.acc_rate:.3f}"
                f"  step {self.eps:.3f}  leapfrog {self.n_steps}  corr {self.corr:.3f}"
                f" max {self.corr_max:.3f} loglik {self.ll_corr:.3f}{extra}",
                file=sys.stderr,
                flush=True,
            )
        return stats

    def sample_settings(self) -> dict[str, Any]:
        """Settings recorded once, as attributes of PyMC's ``sample_stats``."""
        return {
            "_n_draws": self.draws,
            "threshold": self.threshold,
            "hmc_iters": self.n_hmc,
            "leapfrog": self.n_leap,
            "mass_matrix": self.mass_matrix,
            "correlation_target": None
            if not np.isfinite(self.correlation_target)
            else self.correlation_target,
            "max_hmc_iters": self.max_hmc,
        }


def mutation_correlation(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Per coordinate, the correlation over particles of their values before and after a mutation.

    Coordinates with no spread among the particles are left out (an empty
    array if none is left).
    """
    a = before - before.mean(0)
    b = after - after.mean(0)
    denominator = np.sqrt((a**2).sum(0) * (b**2).sum(0))
    ok = denominator > 0
    return (a * b).sum(0)[ok] / denominator[ok]


def _stage_tracker(
    model: pm.Model, modes: list[Mode]
) -> tuple[Callable[[np.ndarray], dict[str, float]] | None, tuple[str, ...]]:
    """Membership of particles in each expression mode, per stage (callables are not tracked)."""
    tracked = [(m, m.expression) for m in modes if m.expression is not None]
    if not tracked:
        return None, ()
    names = sorted(set().union(*(e.names for _, e in tracked)))
    missing = [n for n in names if n not in model.named_vars]
    if missing:
        raise ValueError(
            f"modes: unknown variable(s) {missing}; model variables: "
            f"{sorted(v for v in model.named_vars if v != schema.LOGLIK)}"
        )
    point = model.initial_point(random_seed=0)
    shared = make_shared_replacements(point, model.value_vars, model)
    outputs = model.replace_rvs_by_values([model[n] for n in names])
    outs, x = join_nonshared_inputs(
        point=point, outputs=outputs, inputs=model.value_vars, shared_inputs=shared
    )
    fn = compile_pytensor([x], outs, on_unused_input="ignore")

    def track(X: np.ndarray) -> dict[str, np.ndarray]:
        rows = [fn(row) for row in X]
        values = {n: np.stack([np.asarray(r[i]) for r in rows]) for i, n in enumerate(names)}
        return {m.name: e.evaluate(values) for m, e in tracked}

    return track, tuple(m.name for m, _ in tracked)


def _per_chain(stat: xr.DataArray, n_chains: int) -> list[np.ndarray]:
    """PyMC's per-stage SMC stats as one array per chain (ragged across chains)."""
    values = stat.values
    if n_chains == 1:  # PyMC then lays the stages out along its "chain" dimension
        return [np.asarray(values, dtype=float).ravel()]
    if values.ndim == 1:  # an object array of per-chain lists (different stage counts)
        return [np.asarray(list(v), dtype=float) for v in values]
    return [np.asarray(values[c], dtype=float) for c in range(n_chains)]


def _padded(rows: list[np.ndarray]) -> np.ndarray:
    width = max(len(r) for r in rows)
    out = np.full((len(rows), width), np.nan)
    for c, r in enumerate(rows):
        out[c, : len(r)] = r
    return out


def resolve_modes(
    variant: Variant, modes: Mapping[str, ModeSpec] | Literal["auto"] | None
) -> tuple[list[Mode] | None, str]:
    """The modes to report and where they come from (``None``: the data-driven split)."""
    if modes is None:
        if variant.name in KNOWN_MODES:
            return as_modes(KNOWN_MODES[variant.name]), f"known split of variant {variant.name!r}"
        return None, "data-driven split"
    if isinstance(modes, str):
        if modes != "auto":
            raise ValueError(f"modes: expected a mapping, 'auto' or None, got {modes!r}")
        return None, "data-driven split"
    return as_modes(modes), "given"


def _check_failures(
    log_ml: list[float],
    masses: dict[str, dict[str, Any]],
    final_accept: list[float],
    final_corr: list[float],
    tolerances: SMCTolerances,
) -> tuple[list[str], dict[str, list[str]]]:
    """Failures and flagged items of :func:`smc_diagnostics`."""
    failures: list[str] = []
    flagged: dict[str, list[str]] = {}
    n_chains = len(log_ml)
    if n_chains < 2:
        failures.append(
            "a single SMC chain: the agreement of independent runs (log marginal likelihood, "
            "mode masses) cannot be checked; run chains >= 2"
        )
    if not np.all(np.isfinite(log_ml)):
        failures.append(f"log marginal likelihood not finite in some chain: {log_ml}")
    elif n_chains > 1 and np.ptp(log_ml) > tolerances.log_ml_spread:
        flagged["log_ml"] = [f"chain {c}" for c in range(n_chains)]
        failures.append(
            f"log marginal likelihoods {[round(v, 2) for v in log_ml]} spread over "
            f"{np.ptp(log_ml):.2f} nats (> {tolerances.log_ml_spread:g}): the SMC chains did not "
            "find the same posterior mass (more particles or mutation steps)"
        )
    loose = [
        f"{name} ({m['mean']:.3f} +- {m['se']:.3f}, per chain {m['per_chain']})"
        for name, m in masses.items()
        if m["se"] is not None and m["se"] > tolerances.mode_mass_se
    ]
    if loose:
        flagged["mode_mass"] = [name for name, m in masses.items() if m["se"] is not None
                                and m["se"] > tolerances.mode_mass_se]  # fmt: skip
        failures.append(
            f"mode masses disagree across SMC chains (standard error > "
            f"{tolerances.mode_mass_se:g}): {'; '.join(loose)} (more particles, mutation steps "
            "or chains)"
        )
    low = [c for c, a in enumerate(final_accept) if not a >= tolerances.min_accept]
    if low:
        flagged["accept_rate"] = [f"chain {c}" for c in low]
        failures.append(
            f"mutation acceptance in the last stage below {tolerances.min_accept:g} in chain(s) "
            f"{low}: {[round(final_accept[c], 3) for c in low]}"
        )
    stuck = [c for c, r in enumerate(final_corr) if not r <= tolerances.max_mutation_correlation]
    if stuck:
        flagged["mutation_correlation"] = [f"chain {c}" for c in stuck]
        failures.append(
            f"the last stage's mutation left the particles correlated with their resampled "
            f"ancestors (mean correlation > {tolerances.max_mutation_correlation:g}) in chain(s) "
            f"{stuck}: {[round(final_corr[c], 3) for c in stuck]} (more HMC iterations)"
        )
    return failures, flagged


def smc_diagnostics(
    record: Mapping[str, Any], n_draws: int, tolerances: SMCTolerances | None = None
) -> Diagnostics:
    """Check an SMC record (:func:`smc_record`) against tolerances (module docstring).

    Parameters
    ----------
    record
        With ``log_marginal_likelihood`` (per chain), ``final_accept_rate`` and
        ``final_mutation_correlation`` (per chain) and ``modes`` →
        ``masses`` (mode → ``{per_chain, mean, se}``).
    n_draws
        Particles per chain.
    tolerances
        :class:`SMCTolerances` (defaults if ``None``).

    Returns
    -------
    Diagnostics
        ``failures`` and ``flagged`` filled in; no divergences, R-hat, ESS or E-BFMI.
    """
    tolerances = tolerances or SMCTolerances()
    log_ml = [float("nan") if v is None else float(v) for v in record["log_marginal_likelihood"]]
    masses = (record.get("modes") or {}).get("masses", {})
    failures, flagged = _check_failures(
        log_ml,
        masses,
        [float("nan") if v is None else v for v in record["final_accept_rate"]],
        [float("nan") if v is None else v for v in record["final_mutation_correlation"]],
        tolerances,
    )
    return Diagnostics(
        n_chains=len(log_ml),
        n_draws=int(n_draws),
        n_divergent=0,
        rhat_max={},
        ess_bulk_min={},
        ess_tail_min={},
        ebfmi=[],
        failures=failures,
        flagged=flagged,
        thresholds=Thresholds(),
    )


def smc_record(fit: xr.DataTree) -> dict[str, Any]:
    """The SMC record of a fit (module docstring), decoded from its ``sampler`` attr.

    Raises
    ------
    ValueError
        If the fit was not made with ``sampler="smc"``.
    """
    sampler = json.loads(fit.attrs.get("sampler", "{}"))
    if sampler.get("name") != "smc":
        raise ValueError(f"fit: not an SMC fit (sampler {sampler.get('name')!r})")
    return sampler["smc"]


def smc_summary(fit: xr.DataTree) -> str:
    """One line per SMC check and mode, for reports and the CLI."""
    record = smc_record(fit)
    diagnostics = Diagnostics.from_json(fit.attrs["diagnostics"])
    log_ml = record["log_marginal_likelihood"]
    lines = [
        f"SMC: {len(log_ml)} chains x {diagnostics.n_draws} particles, stages {record['n_stages']}",
        "log marginal likelihood per chain: "
        + ", ".join(f"{v:.2f}" for v in log_ml)
        + f" (pooled {record['log_marginal_likelihood_pooled']:.2f})",
        "last-stage acceptance per chain: "
        + ", ".join(f"{v:.2f}" for v in record["final_accept_rate"]),
    ]
    modes = record["modes"]
    for name, m in modes.get("masses", {}).items():
        se = "n/a" if m["se"] is None else f"{m['se']:.3f}"
        lines.append(
            f"mode {name} [{modes['definition'][name]}]: mass {m['mean']:.3f} (se {se}; "
            f"per chain {', '.join(f'{v:.3f}' for v in m['per_chain'])})"
        )
    if not modes.get("masses"):
        lines.append("modes: no split found (" + modes["source"] + ")")
    status = (
        "all SMC checks passed" if diagnostics.ok else "FAILED: " + "; ".join(diagnostics.failures)
    )
    return "\n".join([*lines, status])


def _nuts_coordinates(posterior: xr.Dataset, variant: Variant, lag_reference: float) -> xr.Dataset:
    """Add the NUTS model's ``cutpoints_centred`` and ``intent_spread`` (module docstring)."""
    extra = {}
    if "cutpoints" not in variant.fixed:
        location = (
            posterior[schema.ALPHA].mean((schema.DYAD, schema.SIDE))
            + posterior["beta"] * BELIEF_REFERENCE
            + posterior["gamma"] * lag_reference
        )
        centred = posterior["cutpoints"] - location
        centred.attrs = {"long_name": "c - mean(alpha) - beta b_ref - gamma x_ref (derived)"}
        extra[CENTRED_CUTPOINTS] = centred
    if "delta" not in variant.fixed:
        spread = posterior["delta"] * np.sqrt(posterior[schema.PI] * (1 - posterior[schema.PI]))
        spread.attrs = {"long_name": "delta sqrt(pi (1 - pi)) (derived)"}
        extra[INTENT_SPREAD] = spread
    return posterior.assign(extra)


def fit_smc(
    panel: xr.Dataset,
    variant: str | Path | Variant | dict[str, Any] = "free",
    *,
    draws: int = 1000,
    chains: int = 4,
    seed: int = 0,
    cores: int | None = None,
    target_accept: float = 0.7,
    belief_method: Method = "op",
    progress_bar: bool = True,
    tolerances: SMCTolerances | None = None,
    sampler_kwargs: dict[str, Any] | None = None,
    modes: Mapping[str, ModeSpec] | Literal["auto"] | None = None,
) -> xr.DataTree:
    """Fit a variant by tempered SMC with an HMC kernel; report the mass of each mode.

    Called by :func:`secdilemma.model.sampling.fit` with ``sampler="smc"``.

    Parameters
    ----------
    panel
        Panel with ``move`` over ``(dyad, side, year)``.
    variant
        Variant name, TOML path, mapping or
        :class:`~secdilemma.model.variants.Variant`.
    draws
        Particles per chain (the final draws).
    chains
        Independent SMC runs (at least 2 for the agreement checks).
    seed
        The same seed gives the same particles.
    cores
        ``None`` or 1: chains run one after the other in this process.
    target_accept
        Acceptance rate the HMC step size is adapted to.
    belief_method
        ``"op"`` or ``"scan"`` (:func:`~secdilemma.model.builder.build_model`).
    progress_bar
        PyMC's SMC progress bar.
    tolerances
        :class:`SMCTolerances` of the diagnostics.
    sampler_kwargs
        Overrides of :data:`SMC_DEFAULTS` (``threshold``, ``hmc_iters``,
        ``leapfrog``, ``mass_matrix``, ``step_size``, ``correlation_target``,
        ``max_hmc_iters``) and ``verbose`` (one line
        per stage on stderr).
    modes
        ``{name: expression or callable}``, ``"auto"`` or ``None`` (module docstring).

    Returns
    -------
    xarray.DataTree
        The fit (groups and attrs in the module docstring).

    Warns
    -----
    FitDiagnosticsWarning
        If an SMC check fails; the fit's ``diagnostics_ok`` attr is then 0.
    """
    for name, value in (("draws", draws), ("chains", chains)):
        if int(value) != value or value < 1:
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    if draws < 10:
        raise ValueError(f"draws: SMC needs at least 10 particles, got {draws}")
    if cores not in (None, 1):
        raise ValueError(
            f"cores: SMC chains run one after the other in this process (cores=1), got {cores!r}"
        )
    if tolerances is not None and not isinstance(tolerances, SMCTolerances):
        raise TypeError("thresholds: an SMC fit takes SMCTolerances (secdilemma.model.smc)")
    settings = {**SMC_DEFAULTS, **(sampler_kwargs or {})}
    verbose = bool(settings.pop("verbose", False))
    unknown = sorted(set(settings) - set(SMC_DEFAULTS))
    if unknown:
        raise ValueError(
            f"sampler_kwargs: unknown SMC settings {unknown}; known: {sorted(SMC_DEFAULTS)}"
        )
    if not 0 < settings["threshold"] < 1:
        raise ValueError(f"threshold: must lie in (0, 1), got {settings['threshold']!r}")
    variant = load_variant(variant)
    chosen, source = resolve_modes(variant, modes)
    started = time.perf_counter()
    model = build_model(panel, variant, belief_method=belief_method, centred_cutpoints=False,
                        intent_spread=False)  # fmt: skip
    track, track_names = _stage_tracker(model, chosen or [])
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*initval.*", category=UserWarning)
        trace = pm.sample_smc(
            draws=int(draws),
            kernel=HMCMutation,
            chains=int(chains),
            cores=1,
            random_seed=int(seed),
            progressbar=progress_bar,
            compute_convergence_checks=False,
            threshold=float(settings["threshold"]),
            hmc_iters=int(settings["hmc_iters"]),
            leapfrog=int(settings["leapfrog"]),
            target_accept=float(target_accept),
            step_size=float(settings["step_size"]),
            mass_matrix=settings["mass_matrix"],
            correlation_target=settings["correlation_target"],
            max_hmc_iters=settings["max_hmc_iters"],
            track=track,
            track_names=track_names,
            verbose=verbose,
        )
    sampled_at = time.perf_counter()

    from secdilemma.model.sampling import _assemble  # sampling imports this module lazily

    data = model_data(panel)
    posterior = _nuts_coordinates(trace["posterior"].to_dataset(), variant, data.lag_reference)
    stage_stats = {
        k: _per_chain(v, int(chains)) for k, v in trace["sample_stats"].to_dataset().items()
    }
    log_ml = [float(s[-1]) for s in stage_stats["log_marginal_likelihood"]]
    loglik = posterior["loglik_move"].sum([d for d in posterior["loglik_move"].dims
                                           if d not in ("chain", "draw")])  # fmt: skip
    coords = {"chain": posterior["chain"].values}
    stats = xr.Dataset(
        {
            "log_likelihood": loglik.assign_attrs(long_name="summed log-likelihood (tempered)"),
            "log_marginal_likelihood": (("chain",), np.asarray(log_ml)),
            **{
                k: (("chain", "stage"), _padded(v))
                for k, v in stage_stats.items()
                if k != "log_marginal_likelihood"
            },
            "log_marginal_likelihood_stage": (
                ("chain", "stage"),
                _padded(stage_stats["log_marginal_likelihood"]),
            ),
        },
        coords=coords,
    )
    tree = xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})
    result = _assemble(tree, model, panel)
    post = result["posterior"].to_dataset()

    free = [rv.name for rv in model.free_RVs]
    scalars = [n for n in free if post[n].dims == ("chain", "draw")]
    split = find_mode_split(post, candidates=scalars)
    if chosen is None:
        chosen = as_modes(split["modes"]) if split["found"] else []
    masses = (
        mode_masses(post, chosen, log_evidence=log_ml)
        if chosen
        else {"masses": {}, "unassigned": None}
    )
    record = {
        "log_marginal_likelihood": [round(v, 4) for v in log_ml],
        "log_marginal_likelihood_pooled": round(float(logsumexp(log_ml) - np.log(len(log_ml))), 4),
        "log_marginal_likelihood_spread": round(float(np.ptp(log_ml)), 4),
        "n_stages": [len(b) for b in stage_stats["beta"]],
        "beta": [[round(float(v), 6) for v in b] for b in stage_stats["beta"]],
        "accept_rate": [[round(float(v), 4) for v in a] for a in stage_stats["accept_rate"]],
        "final_accept_rate": [round(float(a[-1]), 4) for a in stage_stats["accept_rate"]],
        "final_mutation_correlation": [
            round(float(r[-1]), 4) for r in stage_stats["mutation_correlation"]
        ],
        "modes": {
            "source": source,
            "definition": {m.name: m.describe() for m in chosen},
            **masses,
        },
        "data_driven_split": split,
        "tolerances": asdict(tolerances or SMCTolerances()),
    }
    diagnostics = smc_diagnostics(record, int(draws), tolerances)
    sampler_record = {
        "name": "smc",
        "requested": "smc",
        "draws": int(draws),
        "chains": int(chains),
        "cores": 1,
        "seed": int(seed),
        "target_accept": float(target_accept),
        "belief_method": belief_method,
        "progress_bar": bool(progress_bar),
        "sampler_kwargs": {**settings, "verbose": verbose},
        "kernel": "HMCMutation",
        "parametrisation": "cutpoints and delta sampled directly (centred_cutpoints=False, "
        "intent_spread=False)",
        "sampling_seconds": round(sampled_at - started, 3),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "smc": record,
    }
    result.attrs = provenance_attrs(
        title=f"secdilemma SMC fit of variant {variant.name!r}",
        variant=variant,
        panel=panel,
        sampler=sampler_record,
        seed=seed,
        diagnostics=diagnostics,
        free_variables=free,
    )
    result.attrs["contraction"] = contraction_json(contraction(result, seed=seed))
    warn_if_failed(diagnostics, label=f"SMC fit of variant {variant.name!r}", stacklevel=3)
    return result
