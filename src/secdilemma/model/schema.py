"""The contract of a fit: the names of its groups, dimensions and variables.

A fit is an ArviZ 1.x :class:`xarray.DataTree`. The builder, the sampler, the
saved files, the analysis code (predictive checks, comparison,
counterfactuals, calibration) and the figures read and write it through the
names below, so a name is spelled in one place. This module imports nothing
heavier than the standard library: plotting and analysis may use it without
PyMC.

Groups (:data:`GROUPS`)
    ``posterior``, ``sample_stats``, ``log_likelihood``, ``observed_data``,
    ``constant_data``; ``posterior_predictive`` once a predictive check has
    been added (:mod:`secdilemma.analysis`).

Dimensions
    ``chain, draw`` (ArviZ), ``dyad, side, year`` (the panel; ``year`` of a
    fit counts periods from each dyad's first observed year), ``cutpoint``
    (3), ``regime`` and ``configuration`` (observer regimes of a variant with
    a ``[regimes]`` table, DESIGN §4).

Posterior, every variant
    ``beta, gamma, delta`` (scalars), ``cutpoints[cutpoint]`` (DESIGN's ``c``),
    ``pi`` (share of malign states), ``alpha[dyad, side]``,
    ``belief[dyad, side, year]``, ``p_malign[dyad, side]`` and
    ``misplaced_certainty[dyad, side]``.

Posterior, per-state belief parameters (variants without regimes: ``free``)
    ``l0, w, s`` over ``(dyad, side)`` and their hyperparameters ``mu_*``,
    ``sigma_*``, ``z_*``.

Posterior, observer regimes (variants with a ``[regimes]`` table: ``mixture``)
    ``regime_l0, regime_w, regime_s`` over ``regime`` (each regime's
    population-level ``l0, w, s``; fixed values recorded too),
    ``regime_share[regime]`` (prior probability of each regime; with two
    regimes ``rho`` is the share of the second),
    ``configuration_weight[dyad, configuration]`` (posterior probability of
    each joint configuration ``(r0, r1)`` of the two sides, given the draw),
    ``p_regime[dyad, side, regime]`` and, where a regime is named
    ``misplaced_certainty``, ``p_misplaced[dyad, side]``. The coordinate
    ``configuration_regime[configuration, side]`` names each side's regime in
    each configuration; configurations are ordered with side 1's regime
    varying fastest (``configuration = r0 * n_regimes + r1``).

``log_likelihood``
    ``move[dyad, side]``: each observing state's whole sequence, intent
    marginalised; or ``move[dyad]`` where the sides are coupled through the
    regime configuration (a variant with more than one active regime): the
    dyad is then the PSIS-LOO unit, and a comparison that includes such a fit
    sums the other fits' terms over ``side`` (DESIGN §5).

Posterior, grouped shares (``fit(..., group_by="region")``)
    ``pi_group[group]`` and, for two-regime variants, ``rho_group[group]``
    (``logit share[g] = mu + sigma z[g]``); then ``pi`` is over ``dyad`` (each
    dyad's group's share), and so are ``rho`` and ``regime_share[dyad, regime]``.

``constant_data``
    ``move_aligned[dyad, side, year]`` (NaN where missing),
    ``first_year[dyad]`` (calendar year of period 0), ``last_period[dyad]``.

``posterior_predictive`` (:func:`secdilemma.analysis.predictive.posterior_predictive`)
    ``move_conditional`` and ``move_generative`` over ``(chain, draw, dyad,
    side, year)``: replicated moves of the conditional (one step ahead) and
    generative checks of DESIGN §5, NaN where the fitted data have no modelled
    move; ``belief_generative`` (same dims), the generative replicate's beliefs.
"""

from __future__ import annotations

from typing import Final

POSTERIOR: Final = "posterior"
SAMPLE_STATS: Final = "sample_stats"
LOG_LIKELIHOOD: Final = "log_likelihood"
OBSERVED_DATA: Final = "observed_data"
CONSTANT_DATA: Final = "constant_data"
POSTERIOR_PREDICTIVE: Final = "posterior_predictive"
GROUPS: Final = (POSTERIOR, SAMPLE_STATS, LOG_LIKELIHOOD, OBSERVED_DATA, CONSTANT_DATA)
"""Groups every fit has (``posterior_predictive`` is added by the predictive checks)."""

CHAIN: Final = "chain"
DRAW: Final = "draw"
DYAD: Final = "dyad"
SIDE: Final = "side"
YEAR: Final = "year"
CUTPOINT: Final = "cutpoint"
REGIME: Final = "regime"
CONFIGURATION: Final = "configuration"
GROUP: Final = "group"
STATE_DIMS: Final = (DYAD, SIDE)
PATH_DIMS: Final = (DYAD, SIDE, YEAR)

ACTION_PARAMETERS: Final = ("beta", "gamma", "delta", "cutpoints")
"""Shared parameters of the action model (DESIGN §3)."""
PI: Final = "pi"
ALPHA: Final = "alpha"
BELIEF_PARAMETERS: Final = ("l0", "w", "s")
"""Per-observer belief parameters (DESIGN §2)."""
BELIEF: Final = "belief"
P_MALIGN: Final = "p_malign"
MISPLACED_CERTAINTY: Final = "misplaced_certainty"

REGIME_PARAMETERS: Final = {"l0": "regime_l0", "w": "regime_w", "s": "regime_s"}
"""Belief parameter -> posterior variable holding it per regime."""
REGIME_SHARE: Final = "regime_share"
RHO: Final = "rho"
CONFIGURATION_WEIGHT: Final = "configuration_weight"
CONFIGURATION_REGIME: Final = "configuration_regime"
P_REGIME: Final = "p_regime"
P_MISPLACED: Final = "p_misplaced"
MISPLACED_REGIME: Final = "misplaced_certainty"
"""Name of the regime whose posterior probability is ``p_misplaced``."""

LOGLIK: Final = "move"
"""Variable of the ``log_likelihood`` and ``observed_data`` groups."""
MOVE_ALIGNED: Final = "move_aligned"
FIRST_YEAR: Final = "first_year"
LAST_PERIOD: Final = "last_period"
PPC_CONDITIONAL: Final = "move_conditional"
PPC_GENERATIVE: Final = "move_generative"
PPC_BELIEF_GENERATIVE: Final = "belief_generative"
NOT_MODELLED: Final = -1
"""Value of ``observed_data.move`` where a move does not enter the likelihood."""
