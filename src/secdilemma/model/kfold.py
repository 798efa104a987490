"""Refit a fit with dyads held out: the sampling half of K-fold cross-validation (DESIGN §5).

The unit of a refit is the dyad: a state's moves enter its own likelihood and,
as lags and as evidence, its partner's, so a state cannot be held out alone. A
held-out dyad is *masked*: its ``observed_mask`` and ``modelled_mask`` cells
are set to ``False`` (:func:`mask_dyads`), so its moves enter no likelihood
term and no belief (its evidence is 0), and the model keeps its shapes. The
model is therefore compiled once per variant and panel (:func:`compiled_model`,
kept for the session) and every fold swaps the masks with ``with_data``.

With its moves masked, nothing in the likelihood depends on the held-out
dyad's own effects (``z_alpha`` and, for per-state belief parameters, ``z_l0,
z_w, z_s``): their refit posterior is their prior, so the refit's draws of
them are fresh draws from the hierarchy. The held-out log predictive density
that integrates over them is computed with the NumPy engine
(:mod:`secdilemma.analysis.comparison`); this module only samples.

Chains of a refit start at draws of the full fit (in the sampler's
unconstrained space): leaving one dyad out moves the posterior little, and a
refit that started elsewhere could settle in another mode of a multimodal
posterior (``free`` and the intent mixture on the historical panel:
``models/README.md``), and the folds would then compare modes rather than
predictions. Warm-up still adapts step size and mass matrix afresh.

:class:`RefitSettings` and :func:`mask_dyads` import no PyMC; the sampler is
imported when a :class:`DyadRefitter` first compiles.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from secdilemma.model import schema
from secdilemma.model.io import fit_variant, panel_sha256
from secdilemma.model.variants import Variant

if TYPE_CHECKING:
    from secdilemma.model.builder import ModelData
    from secdilemma.model.sampling import CompiledModel

N_STARTS = 16
"""Draws of the full fit among which each refit chain picks its start."""

_COMPILED: dict[tuple[str, str, str | None], CompiledModel] = {}
_COMPILED_LOCK = threading.Lock()


def compiled_model(
    panel: xr.Dataset, variant: Variant, *, group_by: str | None = None
) -> CompiledModel:
    """The model of a variant for a panel, compiled once per process and then reused.

    Every refit of a fit, and of any other fit of the same variant and panel
    (another comparison in the same session), samples this one compiled model
    on swapped data (:meth:`~secdilemma.model.sampling.CompiledModel.sample`).
    Belief paths are not recorded: the held-out density is computed by the
    NumPy engine, and the free variables (hence the unconstrained space the
    chains start in) are those of the full fit's model.
    """
    from secdilemma.model.sampling import CompiledModel

    key = (variant.to_json(), panel_sha256(panel), group_by)
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = CompiledModel(panel, variant, group_by=group_by, beliefs=False)
        return _COMPILED[key]


@dataclass(frozen=True)
class RefitSettings:
    """Sampler settings of a K-fold refit.

    Attributes
    ----------
    draws, tune, chains
        Per fold. The defaults (2 chains x (500 + 500)) are a quarter of a
        fit's draws. A held-out unit's elpd is a mean over the fold's draws,
        whose Monte Carlo error is reported per unit (``mc_se``,
        :func:`secdilemma.analysis.comparison.heldout_errors`, autocorrelation
        included): on the historical panel (the four bundled variants, the 14
        dyads with Pareto k > 0.7 refitted) it was 0.04-0.6 nats per dyad and
        at most 0.75 nats for a model's elpd (``free``, 7 dyads), against
        standard errors of 4-6 nats for the elpd differences. Starting in the
        full fit's typical set (module docstring) lets 500 warm-up draws
        suffice.
    seed
        Base seed; a fold's seed is derived from it and the held-out dyads, so
        the result does not depend on the order in which folds run.
    cores
        Cores for the whole K-fold run (default: all). Folds run in parallel,
        ``cores // chains`` at a time, each fold's chains in threads.
    """

    draws: int = 500
    tune: int = 500
    chains: int = 2
    seed: int = 0
    cores: int | None = None

    def __post_init__(self) -> None:
        for name in ("draws", "chains"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name}: must be a positive integer, got {value!r}")
        if int(self.tune) != self.tune or self.tune < 0:
            raise ValueError(f"tune: must be a non-negative integer, got {self.tune!r}")

    def fold_seed(self, dyads: Sequence[int]) -> int:
        """The seed of the fold holding out ``dyads`` (positions)."""
        state = np.random.SeedSequence([int(self.seed), *sorted(int(d) for d in dyads)])
        return int(state.generate_state(1)[0])


def mask_dyads(data: ModelData, dyads: Sequence[int]) -> ModelData:
    """The data with the moves of some dyads (positions) masked: no likelihood, no evidence.

    ``lag_reference`` (the centred cutpoints' constant) follows from the
    masked data, as in a fit to the other dyads.
    """
    index = np.asarray(list(dyads), dtype=int)
    observed, modelled = data.observed.copy(), data.modelled.copy()
    observed[index] = False
    modelled[index] = False
    return replace(data, observed=observed, modelled=modelled)


class DyadRefitter:
    """Refits of one fit with dyads held out; the model is compiled once, on first use.

    Parameters
    ----------
    fit
        The full fit (its variant and sampler settings are read from its attrs).
    panel
        The panel the fit was made from.
    settings
        Sampler settings of a refit.
    """

    def __init__(self, fit: xr.DataTree, panel: xr.Dataset, settings: RefitSettings) -> None:
        self.fit = fit
        self.panel = panel
        self.settings = settings
        self.variant = fit_variant(fit)
        sampler = json.loads(fit.attrs.get("sampler", "{}"))
        self.target_accept = float(sampler.get("target_accept", 0.8))
        adaptation = sampler.get("adaptation", "low_rank")
        self.adaptation = adaptation if adaptation in ("diag", "draw_diag", "low_rank") else "diag"
        self.sampler_kwargs = dict(sampler.get("sampler_kwargs") or {})
        self.group_by = sampler.get("group_by")
        self._compiled: CompiledModel | None = None
        self._starts: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def compiled(self) -> CompiledModel:
        """The compiled model and the start points (made once, thread-safe)."""
        with self._lock:
            if self._compiled is None:
                compiled = compiled_model(self.panel, self.variant, group_by=self.group_by)
                posterior = self.fit[schema.POSTERIOR].to_dataset()
                rng = np.random.default_rng(self.settings.seed)
                n_chain, n_draw = posterior.sizes[schema.CHAIN], posterior.sizes[schema.DRAW]
                points = [
                    (int(rng.integers(n_chain)), int(rng.integers(n_draw))) for _ in range(N_STARTS)
                ]
                self._starts = compiled.unconstrained(posterior, points)
                self._compiled = compiled
            return self._compiled

    def refit(self, dyads: Sequence[int]) -> tuple[xr.Dataset, dict[str, Any]]:
        """Sample the model with ``dyads`` (positions) masked.

        Returns
        -------
        posterior, record
            The refit's posterior and a record of the fold: held-out dyads,
            seed, settings, seconds, divergences and whether the chains' mean
            log-densities were separated
            (:func:`~secdilemma.model.sampling.chain_log_densities`).
        """
        from secdilemma.model.sampling import chain_log_densities

        compiled = self.compiled
        seed = self.settings.fold_seed(dyads)
        start = time.perf_counter()
        trace = compiled.sample(
            mask_dyads(compiled.data, dyads),
            draws=self.settings.draws,
            tune=self.settings.tune,
            chains=self.settings.chains,
            seed=seed,
            cores=self.settings.chains,
            target_accept=self.target_accept,
            adaptation=self.adaptation,
            starts=self._starts,
            sampler_kwargs=self.sampler_kwargs,
        )
        seconds = time.perf_counter() - start
        stats = trace[schema.SAMPLE_STATS].to_dataset()
        record: dict[str, Any] = {
            "dyads": [str(compiled.data.dyad[d]) for d in dyads],
            "seed": seed,
            "draws": self.settings.draws,
            "tune": self.settings.tune,
            "chains": self.settings.chains,
            "seconds": round(seconds, 3),
            "compile_seconds": round(compiled.compile_seconds, 3),
            "divergences": int(stats["diverging"].sum()) if "diverging" in stats else 0,
            "separated": bool(
                self.settings.chains > 1 and chain_log_densities(stats["logp"])["separated"]
            ),
        }
        return trace[schema.POSTERIOR].to_dataset(), record
