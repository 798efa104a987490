"""Fit a variant to a panel: sample, check, and record provenance.

:func:`fit` builds the model (:func:`secdilemma.model.builder.build_model`),
samples it with nutpie (numba backend; chains run in threads) or, as a
fallback, PyMC's own NUTS, and returns an ArviZ 1.x :class:`xarray.DataTree`
with groups

- ``posterior``: sampled parameters and the deterministics (``belief``,
  ``p_malign``, ``misplaced_certainty``, ``alpha``, ``l0``, ``w``, ``s``);
- ``sample_stats``: per-draw sampler statistics (``diverging``, ``energy`` ...);
- ``log_likelihood``: ``move[dyad, side]``, one term per observing state
  (its whole sequence, intent marginalised), ready for ``arviz_stats.loo``;
- ``observed_data``: ``move`` as it entered the likelihood (-1 = not
  modelled: missing, or a dyad's first period);
- ``constant_data``: the left-aligned moves, each dyad's first calendar year
  and last observed period;

and the provenance attrs of :mod:`secdilemma.model.io`. After sampling the
diagnostics of :mod:`secdilemma.model.diagnostics` are computed; a failure
issues a :class:`~secdilemma.model.diagnostics.FitDiagnosticsWarning` naming
the parameters concerned and sets the ``diagnostics_ok`` attr to 0.

Multimodality and initialisation. NUTS chains do not move between separated
modes, and a posterior with two modes of comparable mass cannot be
represented by chains that each stay in one. On the historical panel the
``free`` variant has (at least) two: beliefs *harden* towards malice
(``mu_w`` ~ -2, ``w`` ~ 0.1, ``sigma_w`` ~ 1) or *settle* into trust
(``mu_w`` ~ 0.5, ``w`` ~ 0.6, ``mu_s`` ~ 1.5). The settling mode has the
higher log-density (by ~18 nats in the mean, ~14 in the log-likelihood), but
not clearly the larger mass: sequential Monte Carlo with tempering (2000 particles,
three seeds; ``benchmarks/README.md``) put 35-82 % of the mass in the
hardening mode, and 1-2 % in a third (``delta`` ~ 1.2, ``w`` ~ 0.9). Which mode
the data favour is the package's scientific question, so the fit never
settles it silently:

- ``init="pilot"`` (default): a short pilot run from jittered starts; every
  chain of the main run starts at a draw of the pilot chain with the highest
  mean log-density. If the pilot chains' mean log-densities are separated
  (:func:`chain_log_densities`, :data:`MODE_SEPARATION`), the fit describes
  that mode only: a :class:`MultimodalPosteriorWarning` and a diagnostic
  failure (``diagnostics_ok = 0``) say so.
- ``init="jitter"``: every chain from its own jittered start.

Either way, chains of the main run with separated mean log-densities are
also a diagnostic failure. The pilot record and the main run's (per chain:
mean log-density and the means of the scalar parameters, :func:`chain_means`)
are stored in the ``sampler`` attr. On the historical panel
(``free``, seeds 1-5) the pilot chains were separated, and the fit flagged,
every time; the main run sampled the settling mode for seeds 1, 2 and 4 and the
hardening one for seeds 3 and 5, where no pilot chain reached settling (the
hardening mode has sub-modes of its own). A pilot whose chains all land in one
mode, with nothing separating them, would go unnoticed, as with any
multi-chain check. ``fit(..., sampler="smc")`` samples such a posterior by
tempered sequential Monte Carlo and reports the mass of each mode
(:mod:`secdilemma.model.smc`); the ``mixture`` variant asks the
harden-or-settle question as a discrete regime per state instead.

The same ``seed`` (and settings, sampler and library versions) gives the same
draws, bit for bit, on a cold or a warm compile cache (models are compiled
without PyTensor's fast-math, :data:`REPRODUCIBLE_FLAGS`).

Interrupts. nutpie and PyMC both answer Ctrl-C (``SIGINT``) by stopping and
returning the draws taken so far. :func:`fit` does not pass such a run off as
a fit: if any chain has fewer draws than asked, it raises
:class:`FitInterrupted` (a ``KeyboardInterrupt``) saying how far sampling got.
With ``keep_partial=True`` it returns the draws every chain completed instead,
with the root attr ``interrupted = 1``, the true ``draws`` (and
``draws_requested``, ``draws_per_chain``) in the ``sampler`` attr and a
diagnostic failure; a run interrupted before its first draw (during the pilot
or the warm-up) has nothing to keep and raises all the same. Progress
(compiling, pilot, sampling) is logged at INFO level on the
``secdilemma.model.sampling`` logger.

Compile once, refit many times. :func:`fit` builds, compiles and samples in one
call; :class:`CompiledModel` keeps the compiled model and refits it to other
panels of the same shape by swapping the :func:`pymc.Data` containers, with
the same sampling, post-processing and provenance (:func:`_run_nutpie`,
:func:`_finish`), for simulation-based calibration and other many-fit jobs.
:meth:`CompiledModel.sample` is the bare sampler on swapped data (no pilot, no
diagnostics; chains may start at given points, e.g. draws of an earlier fit,
:meth:`CompiledModel.unconstrained`), for K-fold refits with a dyad masked
(:mod:`secdilemma.model.kfold`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import arviz_stats as azs
import numpy as np
import pymc as pm
import pytensor
import xarray as xr

from secdilemma.core.parameters import check_seed
from secdilemma.model import schema
from secdilemma.model.belief_op import Method
from secdilemma.model.builder import LOGLIK_DETERMINISTIC, ModelData, build_model, model_data
from secdilemma.model.contraction import contraction, contraction_json
from secdilemma.model.diagnostics import Thresholds, check_fit, warn_if_failed
from secdilemma.model.io import provenance_attrs
from secdilemma.model.variants import Variant, load_variant
from secdilemma.panel import grouping

if TYPE_CHECKING:
    from secdilemma.model.smc import SMCTolerances

Sampler = Literal["nutpie", "pymc", "smc"]
Init = Literal["jitter", "pilot"]
Adaptation = Literal["diag", "draw_diag", "low_rank"]

PILOT_ADAPTATION: Adaptation = "diag"
"""Mass-matrix adaptation of the pilot run (its 300 warm-up draws are too few
for a low-rank estimate)."""

PILOT_DEFAULTS = {"chains": 4, "tune": 300, "draws": 100, "maxdepth": 6}
"""Settings of the pilot run of ``init="pilot"``. Trees of at most ``2**6``
leapfrog steps: a pilot chain that starts in a stiff region of little mass (on
the historical panel, ``beta`` ~ 4 with ``sigma_alpha`` ~ 2 for ``mixture``)
would otherwise spend most of the fit's time in trees of 1000 steps there; the
pilot only has to say where the modes are."""

MODE_NEGLIGIBLE = 4.6
"""A separated pilot mode counts only if its estimated log mass
(:func:`chain_log_masses`) is within this many nats (a factor of 100) of the
mode the main run samples; a mode 100 times lighter than that shifts posterior
means by less than 1 % of its distance from them."""


MODE_SEPARATION = 6.0
"""Chains (of the pilot or of the main run) count as separated when the spread
(max - min) of their mean log-densities exceeds this many standard errors of a
chain mean (pooled ``sd / sqrt(ESS)``). Four chains in one mode exceed 6
standard errors with probability below 0.1 %; the two historical modes of
``free`` are ~18 nats, some 10-20 standard errors of a pilot chain, apart. On
panels simulated from the model (12 dyads x 60 years, the slow recovery test's
sensible and misplaced-certainty panels, pilot seeds 1-4 each) the pilots'
spread was 1.9-4.4 standard errors: no false alarm in 8."""


class MultimodalPosteriorWarning(UserWarning):
    """Chains (pilot or main run) settled in separated modes.

    The draws do not represent the posterior; also recorded as a diagnostic failure.
    """


class SamplerFallbackWarning(UserWarning):
    """nutpie was requested but could not be used; PyMC's NUTS sampled instead."""


class FitInterrupted(KeyboardInterrupt):
    """Sampling was interrupted (Ctrl-C, ``SIGINT``) before every draw was taken.

    A ``KeyboardInterrupt``, so that a script stops as on any Ctrl-C; the
    message says where sampling stopped.

    Attributes
    ----------
    draws_per_chain
        Draws of the main run each chain completed (zeros if interrupted in
        the pilot or the warm-up).
    draws_requested
        Draws per chain asked for.
    """

    def __init__(self, message: str, draws_per_chain: list[int], draws_requested: int) -> None:
        super().__init__(message)
        self.draws_per_chain = draws_per_chain
        self.draws_requested = draws_requested


logger = logging.getLogger(__name__)


def _draws_per_chain(trace: xr.DataTree) -> list[int]:
    """Draws each chain of a (possibly interrupted) trace completed.

    nutpie pads shorter chains with NaN; PyMC truncates them. A draw counts
    when its log-density is finite.
    """
    if "sample_stats" not in trace.children:
        return [0]
    stats = trace["sample_stats"]
    name = "logp" if "logp" in stats else "lp"
    if name not in stats or stats.sizes.get("draw", 0) == 0:
        return [0] * max(int(trace["posterior"].sizes.get("chain", 1)), 1)
    return [int(n) for n in np.isfinite(stats[name]).sum("draw").values]


def chain_log_densities(logp: xr.DataArray) -> dict[str, Any]:
    """Mean log-density per chain, its standard error, and whether chains are separated.

    Parameters
    ----------
    logp
        Log-density per draw, dims ``(chain, draw)``.

    Returns
    -------
    dict
        ``chain_mean_logp`` (per chain), ``standard_error`` (pooled
        ``sd / sqrt(ESS)`` of a chain mean, ESS by :func:`arviz_stats.ess`)
        and ``separated``: the spread of the chain means exceeds
        :data:`MODE_SEPARATION` standard errors, i.e. the chains sampled
        regions of different typical log-density (different modes).
    """
    mean_logp = logp.mean("draw").values
    ess = [float(azs.ess(logp.isel(chain=[c]).values, method="mean")) for c in logp["chain"]]
    variance = logp.var("draw", ddof=1).values
    standard_error = float(np.sqrt(np.mean(variance / np.maximum(ess, 1.0))))
    return {
        "chain_mean_logp": [round(float(v), 3) for v in mean_logp],
        "standard_error": round(standard_error, 3),
        "separated": bool(np.ptp(mean_logp) > MODE_SEPARATION * standard_error),
    }


def chain_log_masses(unconstrained: np.ndarray, logp: np.ndarray) -> list[float]:
    """Rough log posterior mass of the region each chain sampled (Gaussian entropy).

    If the density is proportional to ``Z q`` near a mode, with ``q`` a normal
    density of covariance ``Sigma``, then ``log Z = E[log p] + H(q)`` with
    ``H = d/2 (1 + log 2 pi) + 1/2 log det Sigma``. ``Sigma`` is each chain's
    sample covariance in the unconstrained space, shrunk halfway towards its
    diagonal (a pilot chain has ~100 draws for ~40 dimensions). This is what
    separates a *heavy* mode from a merely *high* one: on the historical panel
    the ``free`` variant's settling mode has the higher log-density but not the
    larger mass (SMC, ``benchmarks/smc_modes.json``), because hardening leaves
    many per-state parameters free. It is an approximation for modes that are
    roughly Gaussian in the unconstrained space; the log-density of an
    unnormalised model is used, so only differences between chains mean anything.

    Parameters
    ----------
    unconstrained
        Draws ``(chain, draw, dim)`` in the sampler's space.
    logp
        Log-density of each draw ``(chain, draw)``.

    Returns
    -------
    list of float
        Estimated log mass per chain.
    """
    out = []
    for draws, lp in zip(unconstrained, logp, strict=True):
        d = draws.shape[1]
        cov = np.atleast_2d(np.cov(draws, rowvar=False))
        cov = 0.5 * cov + 0.5 * np.diag(np.diag(cov)) + 1e-12 * np.eye(d)
        _, logdet = np.linalg.slogdet(cov)
        entropy = 0.5 * d * (1.0 + np.log(2 * np.pi)) + 0.5 * logdet
        out.append(round(float(np.mean(lp) + entropy), 3))
    return out


def chain_means(posterior: xr.DataTree | xr.Dataset) -> dict[str, list[float]]:
    """Per-chain posterior means of the scalar parameters (those with dims ``chain, draw``).

    Stored with the pilot and the main run, so that a reader can see what
    separates the modes (e.g. ``mu_w`` about -2 against 0.5 on the historical panel).
    """
    data = posterior.to_dataset() if isinstance(posterior, xr.DataTree) else posterior
    return {
        name: [round(float(v), 3) for v in da.mean("draw").values]
        for name, da in data.data_vars.items()
        if set(da.dims) == {"chain", "draw"}
    }


def _pilot_start(
    compiled: Any,
    *,
    chains: int,
    cores: int | None,
    seed: int,
    target_accept: float,
    progress_bar: bool,
    pilot: dict[str, int],
    **sampler_kwargs: Any,
) -> tuple[Any, dict[str, Any]]:
    """Short pilot run; start the real chains at draws of the heaviest pilot chain.

    Each pilot chain runs from its own jittered start (nutpie's default
    initial points); the chain whose region has the largest estimated mass
    (:func:`chain_log_masses`) is taken as the basin to sample, and every chain
    of the real run starts at a random draw (per chain seed) of that pilot
    chain in the unconstrained space. Returns the re-initialised compiled
    model and a record of the pilot: chain mean log-densities and log masses,
    the chosen chain, whether chains were separated, and ``multimodal``: a
    chain separated from the chosen one (by mean log-density) whose region's
    estimated mass is within :data:`MODE_NEGLIGIBLE` nats of it.
    """
    import nutpie

    settings = {**sampler_kwargs, "maxdepth": pilot.get("maxdepth", 10)}
    trace = nutpie.sample(
        compiled,
        draws=pilot["draws"],
        tune=pilot["tune"],
        chains=pilot["chains"],
        cores=cores or chains,
        seed=seed + 1,
        save_warmup=False,
        progress_bar=progress_bar,
        target_accept=target_accept,
        store_unconstrained=True,
        adaptation=PILOT_ADAPTATION,
        **settings,
    )
    if min(_draws_per_chain(trace)) < pilot["draws"]:
        raise FitInterrupted(
            "sampling stopped during the pilot run, before the first draw of the main run",
            [0] * chains,
            0,
        )
    logp = trace["sample_stats"]["logp"]
    unconstrained = np.asarray(trace["sample_stats"]["unconstrained_draw"].values)
    chains_logp = chain_log_densities(logp)
    masses = chain_log_masses(unconstrained, np.asarray(logp.values))
    best = int(np.argmax(masses))
    means = np.asarray(chains_logp["chain_mean_logp"])
    apart = np.abs(means - means[best]) > MODE_SEPARATION * chains_logp["standard_error"]
    rivals = [
        c for c in range(len(masses)) if apart[c] and masses[c] > masses[best] - MODE_NEGLIGIBLE
    ]
    start_draws = unconstrained[best]

    def initial_point(chain_seed: Any = None) -> np.ndarray:
        rng = np.random.default_rng(chain_seed)
        return np.array(start_draws[rng.integers(len(start_draws))], dtype="float64")

    record = {
        **pilot,
        **chains_logp,
        "chain_log_mass": masses,
        "chosen_chain": best,
        "multimodal": bool(rivals),
        "rival_chains": rivals,
        "chain_means": chain_means(trace["posterior"]),
    }
    return dataclasses.replace(compiled, initial_point_func=initial_point), record


def _multimodality(
    pilot_record: dict[str, Any] | None, main_record: dict[str, Any] | None
) -> list[str]:
    """Diagnostic failures for chains in separated modes (pilot or main run).

    NUTS chains do not move between separated modes, so neither a fit started
    in one mode nor a fit whose chains sit in different modes represents the
    posterior: each is reported as a failure (module docstring).
    """
    failures = []
    if pilot_record is not None and pilot_record["multimodal"]:
        failures.append(
            "multimodal posterior: pilot chains settled in separated modes of comparable "
            f"estimated mass (mean log-densities {pilot_record['chain_mean_logp']}, "
            f"standard error {pilot_record['standard_error']}, log masses "
            f"{pilot_record['chain_log_mass']}); every chain started in the heaviest "
            f"(pilot chain {pilot_record['chosen_chain']}), so the draws describe that "
            "mode only; sample such a posterior with fit(..., sampler='smc') (CLI: "
            "secdilemma fit --sampler smc), which reports the mass of each mode, or fit the "
            "'mixture' variant, which makes each state's regime a discrete choice and "
            "marginalises it"
        )
    if main_record is not None and main_record["separated"]:
        failures.append(
            "multimodal posterior: the chains' mean log-densities "
            f"{main_record['chain_mean_logp']} are separated (standard error "
            f"{main_record['standard_error']}): chains sampled different modes and did "
            "not mix between them, so the draws do not represent the posterior"
        )
    return failures


REPRODUCIBLE_FLAGS = {"numba__fastmath": False}
"""PyTensor flags every model is compiled with. PyTensor compiles its numba code
with fast-math by default (reassociation, contraction, approximate functions),
under which LLVM may round differently depending on what it inlines, so the
draws of a seed could depend on how the code was compiled rather than only on
the seed. Once, under concurrent compilation on this machine, a cold and a warm
compile cache gave different draws for one seed; controlled cold/warm runs
(fresh ``NUMBA_CACHE_DIR`` and compile folder, ``tests/test_reproducibility.py``)
did not reproduce it. Without fast-math the arithmetic is IEEE's wherever it is
inlined, at no measurable cost: one log-density and gradient of the historical
``mixture`` model took 0.72 ms against 0.68 ms, within timing noise (the belief
and action kernels never used fast-math)."""


def _compile_nutpie(model: pm.Model) -> tuple[Any, float]:
    """Compile a model with nutpie's numba backend; returns it and the seconds taken."""
    import nutpie

    start = time.perf_counter()
    logger.info("compiling the model (numba)")
    with pytensor.config.change_flags(**REPRODUCIBLE_FLAGS):
        compiled = nutpie.compile_pymc_model(model, backend="numba")
    return compiled, time.perf_counter() - start


def _run_nutpie(
    compiled: Any,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
    seed: int,
    target_accept: float,
    progress_bar: bool,
    pilot: dict[str, int] | None = None,
    adaptation: Adaptation = "low_rank",
    **sampler_kwargs: Any,
) -> tuple[xr.DataTree, float, dict[str, Any] | None]:
    """Sample a compiled model (pilot run first if ``pilot``).

    Returns the trace, the sampling seconds and the pilot record.
    """
    import nutpie

    start = time.perf_counter()
    common = {"cores": cores, "seed": seed, "target_accept": target_accept}
    common |= {"progress_bar": progress_bar, **sampler_kwargs}
    record = None
    if pilot is not None:
        logger.info("pilot run: %(chains)d chains x (%(tune)d warm-up + %(draws)d draws)", pilot)
        try:
            compiled, record = _pilot_start(compiled, chains=chains, pilot=pilot, **common)
        except FitInterrupted as err:
            raise FitInterrupted(str(err), [0] * chains, draws) from None
    common["cores"] = cores or chains
    logger.info("sampling: %d chains x (%d warm-up + %d draws)", chains, tune, draws)
    trace = nutpie.sample(
        compiled,
        draws=draws,
        tune=tune,
        chains=chains,
        save_warmup=False,
        adaptation=adaptation,
        **common,
    )
    return trace, time.perf_counter() - start, record


def _sample_nutpie(
    model: pm.Model, **kwargs: Any
) -> tuple[xr.DataTree, float, float, dict[str, Any] | None]:
    """Compile with nutpie's numba backend and sample (:func:`_run_nutpie` arguments).

    Returns the trace, compile and sampling seconds and the pilot record.
    """
    compiled, compile_s = _compile_nutpie(model)
    trace, sample_s, record = _run_nutpie(compiled, **kwargs)
    return trace, compile_s, sample_s, record


def _sample_pymc(
    model: pm.Model,
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
    seed: int,
    target_accept: float,
    progress_bar: bool,
    **sampler_kwargs: Any,
) -> tuple[xr.DataTree, float, float]:
    """PyMC's own NUTS (compilation happens inside; reported as 0 s)."""
    start = time.perf_counter()
    logger.info("sampling (PyMC): %d chains x (%d warm-up + %d draws)", chains, tune, draws)
    with model, pytensor.config.change_flags(**REPRODUCIBLE_FLAGS):
        trace = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores or min(chains, 2),
            random_seed=seed,
            nuts_sampler="pymc",
            target_accept=target_accept,
            progressbar=progress_bar,
            compute_convergence_checks=False,
            **sampler_kwargs,
        )
    return trace, 0.0, time.perf_counter() - start, None


def _assemble(
    trace: xr.DataTree, model: pm.Model, panel: xr.Dataset, group_by: str | None = None
) -> xr.DataTree:
    """Keep posterior and sample_stats, add log_likelihood, observed and constant data.

    The ``dyad`` coordinate is the panel's: a model compiled for one panel and
    refitted to another of the same shape (:class:`CompiledModel`) labels its
    draws with the dyads fitted, not those it was compiled with. With
    ``group_by``, ``constant_data`` also holds ``group[dyad]``, each dyad's
    group label (the model's ``group`` coordinate).
    """
    data = model_data(panel)
    coords = data.coords()
    posterior = trace["posterior"].to_dataset()
    if schema.DYAD in posterior.dims:
        posterior = posterior.assign_coords({schema.DYAD: coords[schema.DYAD]})
    loglik = posterior[LOGLIK_DETERMINISTIC].rename("move")
    posterior = posterior.drop_vars(LOGLIK_DETERMINISTIC)
    observed = xr.Dataset(
        {"move": (("dyad", "side", "year"), data.observed_value())},
        coords={k: coords[k] for k in ("dyad", "side", "year")},
    )
    observed["move"].attrs = {
        "long_name": "move as modelled (-1: not modelled, i.e. missing or first period)"
    }
    groups = {
        "posterior": posterior,
        "sample_stats": trace["sample_stats"].to_dataset(),
        "log_likelihood": loglik.to_dataset(),
        "observed_data": observed,
        "constant_data": data.constant_data(),
    }
    if group_by is not None:
        codes, labels = grouping(panel, group_by)
        groups["constant_data"][schema.GROUP] = (
            (schema.DYAD,),
            np.asarray(labels)[codes],
            {"long_name": f"group of the dyad (panel coordinate {group_by!r})"},
        )
    return xr.DataTree.from_dict({k: xr.DataTree(v) for k, v in groups.items()})


def _check_settings(
    *,
    draws: int,
    tune: int,
    chains: int,
    seed: int,
    target_accept: float,
    sampler: str,
    init: str,
    adaptation: str,
    sampler_kwargs: dict[str, Any] | None,
) -> int:
    """Refuse bad sampler settings before any work, naming the argument; return the seed."""
    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(value) != value or value < (1 if name != "tune" else 0):
            raise ValueError(f"{name}: must be a positive integer, got {value!r}")
    seed = check_seed(seed)
    if not 0 < target_accept < 1:
        raise ValueError(f"target_accept: must lie in (0, 1), got {target_accept!r}")
    if sampler not in ("nutpie", "pymc", "smc"):
        raise ValueError(f"sampler: expected 'nutpie', 'pymc' or 'smc', got {sampler!r}")
    if init not in ("jitter", "pilot"):
        raise ValueError(f"init: expected 'jitter' or 'pilot', got {init!r}")
    if adaptation not in ("diag", "draw_diag", "low_rank"):
        raise ValueError(
            f"adaptation: expected 'diag', 'draw_diag' or 'low_rank', got {adaptation!r}"
        )
    if "adaptation" in (sampler_kwargs or {}):
        raise ValueError("sampler_kwargs: pass the mass-matrix adaptation as `adaptation`")
    return seed


def _truncate_interrupted(
    trace: xr.DataTree, draws: int, keep_partial: bool
) -> tuple[xr.DataTree, list[int]]:
    """The trace of a complete run as it is; of an interrupted one, kept or refused.

    Returns the trace (cut to the draws every chain completed when
    ``keep_partial``) and the draws each chain completed.

    Raises
    ------
    FitInterrupted
        If a chain has fewer than ``draws`` draws and ``keep_partial`` is false,
        or no chain has any draw of the main run.
    """
    done = _draws_per_chain(trace)
    if min(done) >= draws:
        return trace, done
    message = (
        f"sampling stopped after {min(done)} of {draws} draws per chain (chains reached {done})"
        if max(done)
        else "sampling stopped during the warm-up, before the first draw"
    )
    if not keep_partial or min(done) == 0:
        raise FitInterrupted(message, done, int(draws))
    logger.warning("%s; keeping the first %d draws of every chain", message, min(done))
    kept = {
        g: xr.DataTree(trace[g].to_dataset().isel(draw=slice(0, min(done))))
        for g in ("posterior", "sample_stats")
    }
    return xr.DataTree.from_dict(kept), done


def _finish(
    trace: xr.DataTree,
    model: pm.Model,
    panel: xr.Dataset,
    variant: Variant,
    *,
    sampler: Sampler,
    used: str,
    settings: dict[str, Any],
    compile_s: float,
    sample_s: float,
    started: float,
    pilot_record: dict[str, Any] | None,
    thresholds: Thresholds | None,
    keep_partial: bool = False,
    extra: dict[str, Any] | None = None,
) -> xr.DataTree:
    """A sampled trace -> the fit: groups, diagnostics, provenance attrs, warnings.

    An interrupted run is refused or kept (:func:`_truncate_interrupted`);
    ``extra`` is added to the ``sampler`` attr (e.g. how often a compiled
    model was refitted).
    """
    seed, chains, draws = settings["seed"], settings["chains"], settings["draws"]
    trace, done = _truncate_interrupted(trace, draws, keep_partial)
    interrupted = min(done) < draws
    if interrupted:
        settings = settings | {
            "draws": min(done), "draws_requested": int(draws), "draws_per_chain": done
        }  # fmt: skip
    result = _assemble(trace, model, panel, settings.get("group_by"))
    stats = result["sample_stats"]
    logp_name = "logp" if "logp" in stats else "lp"  # nutpie / PyMC
    main_record = None
    if chains > 1:
        main_record = chain_log_densities(stats[logp_name])
        main_record["chain_means"] = chain_means(result["posterior"])
    free = [rv.name for rv in model.free_RVs]
    # DESIGN's cutpoints and delta are deterministics of the sampled centred
    # cutpoints and intent spread (builder docstring): check them too.
    recorded = {"cutpoints", "delta", schema.RHO}
    checked = free + [d.name for d in model.deterministics if d.name in recorded]
    diagnostics = check_fit(result, var_names=checked, thresholds=thresholds)
    modes = _multimodality(pilot_record, main_record)
    stopped = [
        f"interrupted: sampling stopped after {min(done)} of {draws} draws per chain; "
        "these draws are not a complete fit"
    ]
    failures = [*modes, *(stopped if interrupted else [])]
    if failures:
        diagnostics = dataclasses.replace(diagnostics, failures=[*diagnostics.failures, *failures])
    result.attrs = provenance_attrs(
        title=f"secdilemma fit of variant {variant.name!r}",
        variant=variant,
        panel=panel,
        sampler={
            "name": used,
            "requested": sampler,
            **settings,
            "compile_seconds": round(compile_s, 3),
            "sampling_seconds": round(sample_s, 3),
            "wall_seconds": round(time.perf_counter() - started, 3),
            "pilot": pilot_record,
            "chains_logp": main_record,
            **(extra or {}),
        },
        seed=seed,
        diagnostics=diagnostics,
        free_variables=free,
    )
    rows = contraction(result, seed=seed)
    result.attrs["contraction"] = contraction_json(rows)
    if interrupted:
        result.attrs["interrupted"] = 1
    for message in modes:
        warnings.warn(
            f"fit of variant {variant.name!r}: {message}", MultimodalPosteriorWarning, stacklevel=3
        )
    warn_if_failed(diagnostics, label=f"fit of variant {variant.name!r}", stacklevel=3)
    return result


def fit(
    panel: xr.Dataset,
    variant: str | Path | Variant | dict[str, Any] = "free",
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int = 0,
    sampler: Sampler = "nutpie",
    cores: int | None = None,
    target_accept: float = 0.8,
    belief_method: Method = "op",
    progress_bar: bool = True,
    thresholds: Thresholds | SMCTolerances | None = None,
    sampler_kwargs: dict[str, Any] | None = None,
    init: Init = "pilot",
    pilot: dict[str, int] | None = None,
    adaptation: Adaptation = "low_rank",
    keep_partial: bool = False,
    group_by: str | None = None,
    beliefs: bool = True,
    modes: Any = None,
) -> xr.DataTree:
    """Fit a model variant to a panel and check the sampler's diagnostics.

    Parameters
    ----------
    panel
        Panel with ``move`` over ``(dyad, side, year)``.
    variant
        Variant name, TOML path, mapping or
        :class:`~secdilemma.model.variants.Variant`.
    draws, tune, chains
        Draws kept and warm-up draws per chain, number of chains.
    seed
        Seed of the sampler, a whole number in ``[0, 2**63)``: the same seed
        gives the same draws.
    sampler
        ``"nutpie"`` (default; numba backend) or ``"pymc"``. If nutpie cannot
        be imported or fails to compile the model, PyMC's NUTS is used with a
        :class:`SamplerFallbackWarning`. ``"smc"``: tempered sequential Monte
        Carlo (:func:`secdilemma.model.smc.fit_smc`, with ``draws`` particles
        per chain, ``chains`` independent runs, ``cores=1``), for posteriors
        with separated modes such as ``free`` on the historical panel; it
        reports the log marginal likelihood and the mass of each mode
        (``modes``); ``tune``, ``init``, ``pilot`` and ``adaptation`` do not
        apply, ``target_accept`` is its HMC kernel's, ``thresholds`` takes
        :class:`~secdilemma.model.smc.SMCTolerances` and ``sampler_kwargs``
        its settings (:data:`~secdilemma.model.smc.SMC_DEFAULTS`).
    cores
        Chains run in parallel (default: all with nutpie, at most 2 with PyMC).
    target_accept
        Target acceptance rate of the step-size adaptation, in (0, 1).
    belief_method
        ``"op"`` or ``"scan"`` (see :func:`~secdilemma.model.builder.build_model`).
    progress_bar
        Show sampling progress.
    thresholds
        Diagnostic thresholds (:class:`~secdilemma.model.diagnostics.Thresholds`).
    sampler_kwargs
        Further keyword arguments of :func:`nutpie.sample` (e.g.
        ``{"maxdepth": 12}``) or :func:`pymc.sample`; recorded with the fit.
    init
        ``"pilot"`` (default; nutpie only, PyMC's NUTS always uses
        ``"jitter"``): a short pilot run (settings ``pilot``, default
        :data:`PILOT_DEFAULTS`) from jittered starts; all chains then start at
        random draws of the pilot chain with the highest mean log-density.
        Use it where the posterior has a dominant mode that jittered chains
        can miss (the ``free`` variant on the historical panel: module
        docstring); the pilot's chain log-densities are recorded
        with the fit, and a :class:`MultimodalPosteriorWarning` says when
        they were separated (the fit then describes the best mode only).
        ``"jitter"``: every chain starts at the prior's support point with
        U(-1, 1) jitter in the unconstrained space (chains that end in
        different modes then fail R-hat).
    pilot
        ``{"chains", "tune", "draws"}`` of the pilot run.
    adaptation
        nutpie's mass-matrix adaptation for the main run (the pilot always
        uses ``"diag"``, :data:`PILOT_ADAPTATION`): ``"low_rank"`` (default)
        adds to the diagonal the leading eigenvectors of the posterior
        covariance, which follow the linear ridges a diagonal cannot (on the
        historical panel ``log delta`` against ``mu_w``, correlation -0.83);
        ``"diag"`` is nutpie's own default. Ignored by PyMC's sampler.
    keep_partial
        If sampling is interrupted, return the draws every chain completed
        (flagged ``interrupted``, a diagnostic failure) instead of raising
        :class:`FitInterrupted` (module docstring).
    group_by
        A categorical dyad coordinate of the panel (e.g. ``"region"``): the
        shares ``pi`` and ``rho`` vary by its groups, hierarchically
        (:func:`~secdilemma.model.builder.build_model`).
    beliefs
        Record the belief paths per draw (``posterior.belief``); pass
        ``False`` for large panels (the paths are recomputed from the
        parameters by :mod:`secdilemma.analysis` when needed).
    modes
        SMC only: ``{name: expression or callable}``, ``"auto"`` or ``None``
        (the variant's known split, else a data-driven one;
        :mod:`secdilemma.model.modes`).

    Returns
    -------
    xarray.DataTree
        The fit (groups and attrs in the module docstring).

    Warns
    -----
    FitDiagnosticsWarning
        If any diagnostic fails; the fit's ``diagnostics_ok`` attr is then 0.
    SamplerFallbackWarning
        If nutpie was requested but PyMC's sampler was used.
    MultimodalPosteriorWarning
        If ``init="pilot"`` and the pilot chains settled in separated modes,
        or if the chains of the main run have separated mean log-densities
        (:func:`chain_log_densities`; stored as ``chains_logp`` in the
        ``sampler`` attr).

    Raises
    ------
    ValueError
        If an argument is out of range (the message names it), before any
        model is built.
    FitInterrupted
        If sampling was interrupted and ``keep_partial`` is false, or nothing
        of the main run was sampled.
    """
    seed = _check_settings(
        draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
        sampler=sampler, init=init, adaptation=adaptation, sampler_kwargs=sampler_kwargs,
    )  # fmt: skip
    if sampler == "smc":
        if group_by is not None or keep_partial or not beliefs:
            raise ValueError(
                "group_by, keep_partial and beliefs=False apply to the NUTS samplers "
                "(nutpie, pymc), not to sampler='smc'"
            )
        from secdilemma.model.smc import fit_smc

        return fit_smc(
            panel, variant, draws=draws, chains=chains, seed=seed, cores=cores,
            target_accept=target_accept, belief_method=belief_method, progress_bar=progress_bar,
            tolerances=thresholds, sampler_kwargs=sampler_kwargs, modes=modes,
        )  # fmt: skip
    if modes is not None:
        raise ValueError("modes: only an SMC fit (sampler='smc') reports the mass of modes")
    pilot_settings = {**PILOT_DEFAULTS, **(pilot or {})} if init == "pilot" else None
    variant = load_variant(variant)
    started = time.perf_counter()
    model = build_model(
        panel, variant, belief_method=belief_method, group_by=group_by, record_beliefs=beliefs
    )
    settings = _settings_record(
        draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
        target_accept=target_accept, belief_method=belief_method, progress_bar=progress_bar,
        sampler_kwargs=sampler_kwargs, init=init, adaptation=adaptation, group_by=group_by,
        beliefs=beliefs,
    )  # fmt: skip
    kwargs = _sampler_arguments(settings)
    used = sampler
    pilot_record = None
    if sampler == "nutpie":
        try:
            trace, compile_s, sample_s, pilot_record = _sample_nutpie(
                model, **kwargs, pilot=pilot_settings, adaptation=adaptation
            )
        except (ImportError, NotImplementedError) as err:
            warnings.warn(
                f"sampler: nutpie unavailable for this model ({err!r}); using PyMC's NUTS",
                SamplerFallbackWarning,
                stacklevel=2,
            )
            used = "pymc"
    if used == "pymc":
        settings["init"] = "jitter"  # the pilot start is implemented for nutpie only
        settings["adaptation"] = "pymc"  # PyMC's own (diagonal) adaptation
        trace, compile_s, sample_s, _ = _sample_pymc(model, **kwargs)
    return _finish(
        trace, model, panel, variant, sampler=sampler, used=used, settings=settings,
        compile_s=compile_s, sample_s=sample_s, started=started, pilot_record=pilot_record,
        thresholds=thresholds, keep_partial=keep_partial,
    )  # fmt: skip


def _settings_record(
    *,
    draws: int,
    tune: int,
    chains: int,
    cores: int | None,
    seed: int,
    target_accept: float,
    belief_method: Method,
    progress_bar: bool,
    sampler_kwargs: dict[str, Any] | None,
    init: Init,
    adaptation: Adaptation,
    group_by: str | None = None,
    beliefs: bool = True,
) -> dict[str, Any]:
    """The sampler settings as recorded in a fit's ``sampler`` attr."""
    return {
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "cores": cores,
        "seed": int(seed),
        "target_accept": float(target_accept),
        "belief_method": belief_method,
        "progress_bar": bool(progress_bar),
        "sampler_kwargs": dict(sampler_kwargs or {}),
        "init": init,
        "adaptation": adaptation,
        "group_by": group_by,
        "beliefs": bool(beliefs),
    }


def _sampler_arguments(settings: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :func:`_run_nutpie` / :func:`_sample_pymc` from the settings."""
    kwargs = {k: settings[k] for k in ("draws", "tune", "chains", "cores", "seed")}
    kwargs |= {"target_accept": settings["target_accept"]}
    kwargs |= {"progress_bar": settings["progress_bar"], **settings["sampler_kwargs"]}
    return kwargs


class CompiledModel:
    """A variant's model compiled once, refitted to any panel of the same shape.

    Compiling the model with nutpie's numba backend takes most of a short fit
    (about a minute cold); the moves and masks are :func:`pymc.Data`
    containers (:data:`secdilemma.model.builder.DATA_NAMES`), so the compiled
    model is refitted to another panel by swapping them
    (``compiled.with_data``), in seconds. Simulation-based calibration
    (:mod:`secdilemma.calibration`) fits hundreds of simulated panels this way.

    :meth:`fit` is :func:`fit` without the compilation: the same sampling
    (pilot, adaptation), post-processing, diagnostics and provenance, and for
    the same panel, settings and seed the same draws, bit for bit, whichever
    panel the model was compiled with. nutpie only (the PyMC sampler has no
    such swap).

    Parameters
    ----------
    panel
        A panel of the shape to be fitted (its moves are the initial data).
    variant
        Variant name, TOML path, mapping or
        :class:`~secdilemma.model.variants.Variant`.

    Attributes
    ----------
    variant, model
        The variant and its :class:`pymc.Model`.
    compiled
        The nutpie compiled model.
    compile_seconds
        Time the compilation took.
    n_fits
        Fits made so far.
    """

    def __init__(
        self,
        panel: xr.Dataset,
        variant: str | Path | Variant | dict[str, Any] = "free",
        *,
        group_by: str | None = None,
        beliefs: bool = True,
    ) -> None:
        self.variant = load_variant(variant)
        self.group_by, self.beliefs = group_by, bool(beliefs)
        self.model = build_model(
            panel, self.variant, belief_method="op", group_by=group_by, record_beliefs=beliefs
        )
        self.data = model_data(panel)
        self._shape = self.data.move.shape
        self.compiled, self.compile_seconds = _compile_nutpie(self.model)
        self.n_fits = 0

    def fit(
        self,
        panel: xr.Dataset,
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        seed: int = 0,
        cores: int | None = None,
        target_accept: float = 0.8,
        progress_bar: bool = True,
        thresholds: Thresholds | None = None,
        sampler_kwargs: dict[str, Any] | None = None,
        init: Init = "pilot",
        pilot: dict[str, int] | None = None,
        adaptation: Adaptation = "low_rank",
        keep_partial: bool = False,
    ) -> xr.DataTree:
        """Fit the compiled model to ``panel`` (arguments and result as :func:`fit`).

        The ``sampler`` attr records ``compile_seconds`` (the compilation's
        time for the first fit, 0 for later ones) and ``refit`` (how many fits
        this compiled model made before).

        Raises
        ------
        ValueError
            If the panel's left-aligned shape ``(dyad, side, year)`` differs
            from the compiled one, or a setting is bad.
        """
        seed = _check_settings(
            draws=draws, tune=tune, chains=chains, seed=seed, target_accept=target_accept,
            sampler="nutpie", init=init, adaptation=adaptation, sampler_kwargs=sampler_kwargs,
        )  # fmt: skip
        started = time.perf_counter()
        data = model_data(panel)
        self._check_shape(data)
        settings = _settings_record(
            draws=draws, tune=tune, chains=chains, cores=cores, seed=seed,
            target_accept=target_accept, belief_method="op", progress_bar=progress_bar,
            sampler_kwargs=sampler_kwargs, init=init, adaptation=adaptation,
            group_by=self.group_by, beliefs=self.beliefs,
        )  # fmt: skip
        pilot_settings = {**PILOT_DEFAULTS, **(pilot or {})} if init == "pilot" else None
        compiled = self.compiled.with_data(**data.data_values())
        trace, sample_s, pilot_record = _run_nutpie(
            compiled, **_sampler_arguments(settings), pilot=pilot_settings, adaptation=adaptation
        )
        compile_s = self.compile_seconds if self.n_fits == 0 else 0.0
        refit = self.n_fits
        self.n_fits += 1
        return _finish(
            trace, self.model, panel, self.variant, sampler="nutpie", used="nutpie",
            settings=settings, compile_s=compile_s, sample_s=sample_s, started=started,
            pilot_record=pilot_record, thresholds=thresholds, keep_partial=keep_partial,
            extra={"refit": refit},
        )  # fmt: skip

    def _check_shape(self, data: ModelData) -> None:
        if data.move.shape != self._shape:
            raise ValueError(
                f"panel: shape (dyad, side, year) {data.move.shape} differs from the compiled "
                f"model's {self._shape}; compile a CompiledModel for this panel"
            )

    def sample(
        self,
        data: ModelData,
        *,
        draws: int,
        tune: int,
        chains: int,
        seed: int,
        cores: int | None = None,
        target_accept: float = 0.8,
        adaptation: Adaptation = "low_rank",
        starts: np.ndarray | None = None,
        progress_bar: bool = False,
        sampler_kwargs: dict[str, Any] | None = None,
    ) -> xr.DataTree:
        """Sample the compiled model on other data of its shape, bare: nutpie's trace only.

        No pilot, post-processing, diagnostics or provenance. What a K-fold
        refit needs (:mod:`secdilemma.model.kfold`): the data with a dyad
        masked, chains started in the full fit's typical set. Use :meth:`fit`
        for a fit in the package's format.

        Parameters
        ----------
        data
            Moves and masks (:func:`~secdilemma.model.builder.model_data`, or a
            masked copy), of the compiled shape.
        draws, tune, chains, seed, cores, target_accept, adaptation, progress_bar
            As for :func:`fit`.
        starts
            Optional ``(n, n_dim)`` unconstrained points (:meth:`unconstrained`):
            each chain starts at one of them, chosen by its chain seed; default
            nutpie's jittered start.
        sampler_kwargs
            Further keyword arguments of :func:`nutpie.sample`.

        Returns
        -------
        xarray.DataTree
            nutpie's trace: ``posterior`` (free variables and deterministics,
            ``loglik_move`` included) and ``sample_stats``.
        """
        import nutpie

        self._check_shape(data)
        model = self.compiled.with_data(**data.data_values())
        if starts is not None:
            points = np.asarray(starts, dtype="float64")

            def initial_point(chain_seed: Any = None) -> np.ndarray:
                rng = np.random.default_rng(chain_seed)
                return np.array(points[rng.integers(len(points))])

            model = dataclasses.replace(model, initial_point_func=initial_point)
        return nutpie.sample(
            model,
            draws=draws,
            tune=tune,
            chains=chains,
            cores=cores or chains,
            seed=seed,
            save_warmup=False,
            progress_bar=progress_bar,
            target_accept=target_accept,
            adaptation=adaptation,
            **(sampler_kwargs or {}),
        )

    def unconstrained(self, posterior: xr.Dataset, points: list[tuple[int, int]]) -> np.ndarray:
        """Posterior draws as points of the sampler's unconstrained space.

        Parameters
        ----------
        posterior
            A posterior of this model (every free variable, by name).
        points
            ``(chain position, draw position)`` of each draw.

        Returns
        -------
        numpy.ndarray
            ``(len(points), n_dim)``: each draw's free variables, transformed
            and flattened in nutpie's order.
        """
        import pytensor.tensor as pt
        from pymc.initial_point import make_initial_point_expression

        rvs = self.model.free_RVs
        given = {rv: pt.tensor(dtype=rv.dtype, shape=(None,) * rv.ndim) for rv in rvs}
        expressions = make_initial_point_expression(
            free_rvs=rvs,
            rvs_to_transforms=self.model.rvs_to_transforms,
            initval_strategies=given,
            return_transformed=True,
        )
        transform = pytensor.function(list(given.values()), expressions, on_unused_input="ignore")
        names = [self.model.rvs_to_values[rv].name for rv in rvs]
        out = []
        for chain, draw in points:
            values = [posterior[rv.name].isel(chain=chain, draw=draw).values for rv in rvs]
            by_name = dict(zip(names, transform(*values), strict=True))
            order = [n for n in self.compiled.shape_info[0] if n in by_name]
            out.append(np.concatenate([np.ravel(by_name[n]) for n in order]))
        return np.asarray(out, dtype="float64")
