"""Build the hierarchical PyMC model of DESIGN §3-4 from a panel and a variant.

Two kinds of variant share one likelihood: per-state belief parameters
(``free``: ``l0, w, s`` for every observing state, hierarchical) and observer
*regimes* (``mixture``, ``sensible``, ``misplaced_certainty``: each state's
``l0, w, s`` are those of its regime, and regimes are marginalised exactly,
see "Observer regimes" below).

The model, with ``j = other(i)``, ``x = m - 1`` and periods ``t`` counted from
each dyad's first observed year (:func:`secdilemma.panel.left_align`):

**Hierarchy** (per observing state, non-centred; ``mu_alpha = 0`` because the
cutpoints carry the population level)::

    alpha[i] = sigma_alpha * z_alpha[i]
    l0[i]    = mu_l0 + sigma_l0 * z_l0[i]
    w[i]     = sigmoid(mu_w + sigma_w * z_w[i])
    s[i]     = sigmoid(mu_s + sigma_s * z_s[i])

with ``z ~ Normal(0, 1)``; a variant may fix ``l0``, ``w`` or ``s`` for every
state instead (then no ``z`` is sampled). Priors come from the variant
(:mod:`secdilemma.model.variants`).

**Beliefs**: ``l[i, t]`` from the coupled recursion
(:func:`secdilemma.model.belief_op.belief_log_odds`), ``b = sigmoid(l)``.

**Action likelihood**, for periods ``t >= 1`` with an observed move::

    eta[i,t](tau) = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau
    log p(m[i, 1:T]) = logsumexp_tau [ log pi_tau
                                       + sum_t log OrderedLogistic(m[i,t] | eta[i,t](tau), c) ]

The first observed period of a dyad is not modelled (no lag); missing moves
contribute nothing, and a missing lag reads as ``hold`` (``x = 0``).

**Centred cutpoints** (a reparametrisation; model and priors are DESIGN's and
the variant's). The sampler draws ``c_tilde`` (``cutpoints_centred``), with::

    c = c_tilde + mean_i(alpha[i]) + beta * b_ref + gamma * x_ref

recorded as the deterministic ``cutpoints``; ``b_ref`` =
:data:`BELIEF_REFERENCE` (0.5) and ``x_ref`` = :attr:`ModelData.lag_reference`
(the mean lagged move of the other over the modelled cells) are constants.
The shift is the same for the three cutpoints, so ``c`` is ordered exactly
when ``c_tilde`` is, and the map ``(c_tilde, alpha, beta, gamma) -> (c, alpha,
beta, gamma)`` is a shear with unit Jacobian (the ordered transform's
log-Jacobian depends on the cutpoint gaps only, which the shift keeps). The
variant's ``cutpoints`` prior stays the prior of DESIGN's ``c``: a potential
``cutpoints_prior`` adds ``log p(c) - log p(c_tilde)`` to the Normal prior
that ``c_tilde`` is declared with. The log-density is therefore the
uncentred model's, point for point (``tests/test_model_builder.py``), and
only the geometry changes: uncentred, the common level of ``c`` trades off
against the mean of the intercepts (posterior correlation 0.67 on the
historical panel), ``beta * mean(b)`` and ``gamma * mean(x)``, a ridge that a
diagonal mass matrix follows badly. ``build_model(..., centred_cutpoints=False)``
gives the uncentred form. A variant that fixes ``cutpoints`` fixes ``c``.

The per-intent sums ``ll[i](tau)`` are computed in the graph from the constant
moves: by the compiled :func:`~secdilemma.model.belief_op.action_log_likelihoods`
Op (``belief_method="op"``) or by the PyTensor expression
:func:`intent_log_likelihoods` (``"scan"``); the two agree to 1e-10. The
likelihood is one observed :class:`pymc.CustomDist` ``move`` whose event
(support) dimension is ``year``: each observing state's whole sequence is one
observation, and its log-density is the marginal above (:func:`sequence_logp`,
which reads the moves through ``ll`` rather than through its value, so that
the compiled Op can take them as constants). Its value is the left-aligned
move where modelled and ``-1`` where not (missing moves and each dyad's first
period), so the ``observed_data`` group shows exactly what entered the
likelihood. Elementwise log-likelihoods therefore have dims ``(dyad, side)``:
one term per observing state, the unit of PSIS-LOO (DESIGN §5). The model has
no ``random`` for ``move``: replicated moves come from the simulator and the
posterior predictive code, which need the coupled recursion anyway.

**Observer regimes** (DESIGN §4). With regimes ``r = 1..R`` (each with
population-level ``l0_r, w_r, s_r``) and shares ``P(r)``, each dyad has
``K = R^2`` joint configurations ``k = (r0, r1)``. The panel is *tiled* over
configurations (dyad-major: row ``d * K + k``), so the same compiled belief and
action Ops compute, in one call, every configuration's belief paths and
per-intent log-likelihoods ``ll[d, k, i](tau)``; then::

    log p(m[d]) = logsumexp_k [ log P(r0) + log P(r1)
                                + sum_i logsumexp_tau (log pi_tau + ll[d, k, i](tau)) ]

The configuration weights ``P(k | m[d])`` (``configuration_weight``) are the
softmax of the bracket; ``p_regime``, ``p_malign`` and ``belief`` are averages
over configurations with those weights. A regime whose share is fixed at 0 is
left out, so a variant with one active regime has ``K = 1`` and no sum. No
Python loop over configurations or dyads: tiling is an index (``pt.repeat``,
``pt.tile``). With ``K > 1`` the two sides are coupled through the
configuration, so the ``log_likelihood`` group has one term per *dyad*
(``move[dyad]``); with ``K = 1`` one per observing state, as for per-state
variants (:mod:`secdilemma.model.schema`).

**Data as** :func:`pymc.Data`. The moves and masks enter the graph as data
containers (``move_data``, ``observed_mask``, ``modelled_mask``,
``lag_reference``, ``last_period``), not constants, so a compiled model can be
refitted to another panel of the same shape without recompiling (nutpie's
``compiled.with_data``, :mod:`secdilemma.calibration`). The ``"scan"``
baseline keeps constants.

**Recorded per draw** (deterministics): ``belief[dyad, side, year]``,
``p_malign[dyad, side] = P(tau = 1 | data)``,
``misplaced_certainty[dyad, side] = b[i, T_last] - p_malign[dyad, other(i)]``
(``T_last`` = the dyad's last observed period), the per-state ``alpha, l0, w,
s`` and ``loglik_move[dyad, side]``, the per-state log-likelihood, which
:func:`secdilemma.model.sampling.fit` moves into the ``log_likelihood`` group (it is
the same number ``pymc.compute_log_likelihood`` gives, without a second
compilation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from numpy.typing import NDArray
from pymc.distributions.transforms import ordered
from pytensor.tensor.variable import TensorVariable

from secdilemma.model import schema
from secdilemma.model.belief_op import Method, action_log_likelihoods, belief_log_odds
from secdilemma.model.variants import HYPERPARAMETERS, Prior, Variant, load_variant
from secdilemma.panel import grouping, left_align, validate_panel

NOT_MODELLED = schema.NOT_MODELLED
"""Value of ``move`` in the model where a move does not enter the likelihood."""

CENTRED_CUTPOINTS = "cutpoints_centred"
"""Name of the sampled cutpoints ``c_tilde`` (``cutpoints`` is DESIGN's ``c``)."""

BELIEF_REFERENCE = 0.5
"""``b_ref`` of the centred cutpoints: the middle of the belief scale (beliefs
depend on the parameters, so no data-derived reference exists)."""

LOGLIK_DETERMINISTIC = "loglik_move"
"""Deterministic holding the log-likelihood terms, moved to the ``log_likelihood`` group."""

DATA_NAMES = {
    "move": "move_data",
    "observed": "observed_mask",
    "modelled": "modelled_mask",
    "lag_reference": "lag_reference",
    "last_period": "last_period",
}
"""Names of the :func:`pymc.Data` containers (swap them with ``compiled.with_data``)."""


@dataclass(frozen=True)
class ModelData:
    """The constant data of a model, derived from a panel.

    Attributes
    ----------
    dyad
        Dyad ids.
    move
        Left-aligned moves ``(dyad, side, year)`` as integers, 0 where missing.
    observed
        ``True`` where the move is observed.
    modelled
        ``True`` where the move enters the likelihood (observed, period >= 1).
    first_year
        Calendar year (panel ``year`` value) of each dyad's period 0.
    last_period
        Each dyad's last period with an observed move (``T_last``).
    """

    dyad: NDArray[Any]
    move: NDArray[np.int64]
    observed: NDArray[np.bool_]
    modelled: NDArray[np.bool_]
    first_year: NDArray[np.int64]
    last_period: NDArray[np.int64]

    @property
    def lag_reference(self) -> float:
        """``x_ref``: mean of the other's lagged move ``x[j, t-1]`` over modelled cells."""
        x = np.where(self.observed, self.move - 1.0, 0.0)  # a masked lag reads as hold
        lag = x[:, ::-1, :-1]
        return float(lag[self.modelled[:, :, 1:]].mean()) if self.modelled.any() else 0.0

    @property
    def n_years(self) -> int:
        """Number of periods (the longest dyad)."""
        return int(self.move.shape[2])

    def coords(self) -> dict[str, Any]:
        """Model coords: ``dyad``, ``side``, ``year`` (period) and ``cutpoint``."""
        return {
            schema.DYAD: [str(d) for d in self.dyad],
            schema.SIDE: [0, 1],
            schema.YEAR: list(range(self.n_years)),
            schema.CUTPOINT: [0, 1, 2],
        }

    def observed_value(self) -> NDArray[np.int64]:
        """Value of the observed ``move`` variable: the move, or -1 where not modelled."""
        return np.where(self.modelled, self.move, NOT_MODELLED).astype(np.int64)

    def data_values(self) -> dict[str, NDArray[Any]]:
        """Values of the :data:`DATA_NAMES` containers (for ``compiled.with_data``)."""
        return {
            DATA_NAMES["move"]: self.move,
            DATA_NAMES["observed"]: self.observed,
            DATA_NAMES["modelled"]: self.modelled,
            DATA_NAMES["lag_reference"]: np.asarray(self.lag_reference),
            DATA_NAMES["last_period"]: self.last_period,
        }

    def constant_data(self) -> xr.Dataset:
        """The ``constant_data`` group of a fit."""
        coords = self.coords()
        return xr.Dataset(
            {
                schema.MOVE_ALIGNED: (
                    schema.PATH_DIMS,
                    np.where(self.observed, self.move, np.nan),
                    {"long_name": "left-aligned move, NaN where missing"},
                ),
                schema.FIRST_YEAR: (
                    (schema.DYAD,),
                    self.first_year,
                    {"long_name": "calendar year of period 0 (the panel's year coordinate)"},
                ),
                schema.LAST_PERIOD: (
                    (schema.DYAD,),
                    self.last_period,
                    {"long_name": "last period with an observed move, T_last"},
                ),
            },
            coords={k: coords[k] for k in schema.PATH_DIMS},
        )


def model_data(panel: xr.Dataset) -> ModelData:
    """Left-align a panel and derive the model's constant data.

    Periods after the last observed move of every dyad are dropped (they carry
    no data; beliefs would stay constant there).

    Parameters
    ----------
    panel
        A panel (:func:`secdilemma.panel.validate_panel`).

    Returns
    -------
    ModelData

    Raises
    ------
    ValueError
        If a dyad has no modelled move (e.g. a single observed year: the first
        observed year is the baseline and is not modelled), naming the dyads:
        such a dyad would be "fitted" with no data behind its estimates.
    """
    panel = validate_panel(panel)
    aligned, first = left_align(panel)
    observed = ~np.isnan(aligned)
    any_obs = observed.any(axis=1)  # (dyad, period)
    last = any_obs.shape[1] - 1 - np.argmax(any_obs[:, ::-1], axis=1)
    n_years = int(last.max()) + 1
    aligned, observed = aligned[:, :, :n_years], observed[:, :, :n_years]
    move = np.where(observed, aligned, 0).astype(np.int64)
    modelled = observed.copy()
    modelled[:, :, 0] = False  # the first observed year has no lag: not modelled
    empty = ~modelled.any(axis=(1, 2))
    if empty.any():
        names = [str(d) for d in np.asarray(panel["dyad"].values)[empty]]
        raise ValueError(
            f"panel: dyad(s) {names} have no modelled move (a dyad's first observed year "
            "is its baseline and is not modelled, so at least two observed years are "
            "needed); drop them, e.g. panel.drop_sel(dyad=[...])"
        )
    years = np.asarray(panel["year"].values)
    return ModelData(
        dyad=np.asarray(panel["dyad"].values),
        move=move,
        observed=observed,
        modelled=modelled,
        first_year=years[first].astype(np.int64),
        last_period=last.astype(np.int64),
    )


@dataclass(frozen=True)
class Configurations:
    """The joint regime configurations of a dyad's two sides (DESIGN §4).

    Attributes
    ----------
    regimes
        Names of the active regimes (those with a share that may be positive).
    regime_of
        ``(K, 2)``: the regime index of side 0 and side 1 in configuration
        ``k``; side 1 varies fastest (``k = r0 * R + r1``).
    """

    regimes: tuple[str, ...]
    regime_of: NDArray[np.int64]

    @classmethod
    def of(cls, variant: Variant) -> Configurations | None:
        """The configurations of a regime variant, ``None`` for per-state beliefs."""
        if not variant.has_regimes:
            return None
        regimes = tuple(variant.active_regimes())
        n = len(regimes)
        grid = np.array([(r0, r1) for r0 in range(n) for r1 in range(n)], dtype=np.int64)
        return cls(regimes=regimes, regime_of=grid)

    @property
    def n(self) -> int:
        """Number of configurations ``K = R^2``."""
        return int(self.regime_of.shape[0])

    def labels(self) -> list[str]:
        """``"r0|r1"`` per configuration (the ``configuration`` coordinate)."""
        return [f"{self.regimes[a]}|{self.regimes[b]}" for a, b in self.regime_of]

    def indicator(self) -> NDArray[np.float64]:
        """``(K, 2, R)``: 1 where side ``i`` is in regime ``r`` in configuration ``k``."""
        out = np.zeros((self.n, 2, len(self.regimes)))
        for side in (0, 1):
            out[np.arange(self.n), side, self.regime_of[:, side]] = 1.0
        return out


def log_sigmoid(x: TensorVariable) -> TensorVariable:
    """``log sigmoid(x) = -softplus(-x)``, finite for every finite ``x``."""
    return -pt.softplus(-x)


def ordered_logistic_logp(
    move: TensorVariable, eta: TensorVariable, cutpoints: TensorVariable
) -> TensorVariable:
    """Elementwise ``log OrderedLogistic(move | eta, c)``, 0 where ``move`` is -1.

    The stable log-space form of :mod:`secdilemma.core.ordered_logistic`: for
    ``k = 1, 2``, ``log P = log_sigmoid(eta - c[k-1]) + log_sigmoid(c[k] - eta)
    + log1p(-exp(c[k-1] - c[k]))``; ``log P(0) = log_sigmoid(c[0] - eta)`` and
    ``log P(3) = log_sigmoid(eta - c[2])``. Finite for every finite ``eta``.
    Each category's term is selected by a mask of the (integer) move, so no
    infinite cutpoint enters the graph or its gradient.
    """
    c0, c1, c2 = (cutpoints[..., k, None] for k in range(3))  # broadcast against year
    by_move = (
        log_sigmoid(c0 - eta),
        log_sigmoid(eta - c0) + log_sigmoid(c1 - eta) + pt.log1p(-pt.exp(c0 - c1)),
        log_sigmoid(eta - c1) + log_sigmoid(c2 - eta) + pt.log1p(-pt.exp(c1 - c2)),
        log_sigmoid(eta - c2),
    )
    return sum(pt.switch(pt.eq(move, k), lp, 0.0) for k, lp in enumerate(by_move))


def intent_log_likelihoods(
    move: TensorVariable,
    eta_benign: TensorVariable,
    delta: TensorVariable,
    cutpoints: TensorVariable,
) -> tuple[TensorVariable, TensorVariable]:
    """``sum_t log OrderedLogistic(m[i,t] | eta[i,t](tau), c)`` for ``tau = 0, 1``.

    The PyTensor-graph version (``belief_method="scan"``). ``eta_benign`` is
    ``eta(0)`` (``eta(1) = eta(0) + delta``), ``(dyad, side, year)``; the year
    axis is summed over and entries with ``move == -1`` contribute 0.
    """
    ll_benign = ordered_logistic_logp(move, eta_benign, cutpoints).sum(axis=-1)
    ll_malign = ordered_logistic_logp(move, eta_benign + delta, cutpoints).sum(axis=-1)
    return ll_benign, ll_malign


def marginal_logp(
    ll_benign: TensorVariable, ll_malign: TensorVariable, pi: TensorVariable
) -> TensorVariable:
    """``log p(m[i, 1:T]) = logaddexp(log(1 - pi) + ll_benign, log(pi) + ll_malign)``."""
    return pt.logaddexp(pt.log1p(-pi) + ll_benign, pt.log(pi) + ll_malign)


def _prior_rv(name: str, prior: Prior, **kwargs: Any) -> TensorVariable:
    """A random variable with a variant's prior (family and arguments)."""
    args = {k: np.asarray(v, dtype="float64") for k, v in prior.args.items()}
    return getattr(pm, prior.dist)(name, **args, **kwargs)


def _shared(name: str, variant: Variant, dims: str | None = None) -> TensorVariable:
    """A shared parameter: a random variable with the variant's prior, or a constant."""
    if name in variant.fixed:
        return pt.as_tensor_variable(np.asarray(variant.fixed[name], dtype="float64"))
    extra = {"transform": ordered} if name == "cutpoints" else {}
    return _prior_rv(name, variant.priors[name], dims=dims, **extra)


def _centred_cutpoints(variant: Variant, location: TensorVariable, dims: str) -> TensorVariable:
    """DESIGN's cutpoints ``c = c_tilde + location``, ``c_tilde`` sampled (module docstring).

    ``c_tilde`` is declared with the variant's cutpoints prior, ordered; the
    potential ``cutpoints_prior`` replaces that prior density at ``c_tilde`` by
    the same density at ``c``, so the variant's prior is the prior of ``c``.
    """
    prior = variant.priors["cutpoints"]
    args = {k: np.asarray(v, dtype="float64") for k, v in prior.args.items()}
    family = getattr(pm, prior.dist)
    centred = family(CENTRED_CUTPOINTS, **args, transform=ordered, dims=dims)
    cutpoints = pm.Deterministic("cutpoints", centred + location, dims=dims)
    prior_of = family.dist(**args, shape=3)
    pm.Potential(
        "cutpoints_prior",
        pm.logp(prior_of, cutpoints).sum() - pm.logp(prior_of, centred).sum(),
    )
    return cutpoints


INTENT_SPREAD = "intent_spread"
"""Name of the sampled ``delta * sqrt(pi * (1 - pi))`` (see :func:`_intent_effect`)."""


def _intent_effect(variant: Variant, pi: TensorVariable) -> TensorVariable:
    """``delta``, sampled as the spread of the intent effect ``d = delta * sqrt(pi (1 - pi))``.

    A state's escalation level is ``alpha[i] + delta * tau[i]``: a two-point
    mixture whose spread across states, ``delta * sqrt(pi (1 - pi))``, the data
    inform much better than ``delta`` and ``pi`` apart, which trade off along a
    curved ridge (more malign states with a smaller ``delta``; posterior
    correlation of ``log delta`` and ``logit pi`` -0.66 on the historical panel,
    against 0.18 for ``log d``). The sampler therefore draws ``d`` (on the log
    scale, flat) and ``delta = d / sqrt(pi (1 - pi))`` is recorded; the
    potential ``delta_prior`` adds the variant's prior density of ``delta`` and
    the Jacobian ``|d delta / d d| = 1 / sqrt(pi (1 - pi))`` of the map
    ``(pi, d) -> (pi, delta)``, so the model is DESIGN's, point for point
    (``tests/test_model_builder.py``); only the geometry changes. A fixed
    ``delta`` is a constant.
    """
    if "delta" in variant.fixed:
        return _shared("delta", variant)
    spread = pm.HalfFlat(INTENT_SPREAD)  # log-transformed: d > 0, flat on (0, inf)
    scale = pt.sqrt(pi * (1 - pi))
    delta = pm.Deterministic("delta", spread / scale)
    prior = variant.priors["delta"]
    args = {k: np.asarray(v, dtype="float64") for k, v in prior.args.items()}
    prior_of = getattr(pm, prior.dist).dist(**args)
    pm.Potential("delta_prior", pm.logp(prior_of, delta) - pt.log(scale))
    return delta


def _per_state(name: str, variant: Variant, link: str, n_dyads: int) -> TensorVariable:
    """A per-state parameter ``link(mu + sigma * z)`` (non-centred), or a constant."""
    if name in variant.fixed:
        return pt.fill(pt.zeros((n_dyads, 2)), float(variant.fixed[name]))  # type: ignore[arg-type]
    mu_name, sigma_name = HYPERPARAMETERS[name]
    mu = _shared(mu_name, variant)
    sigma = _shared(sigma_name, variant)
    z = pm.Normal(f"z_{name}", 0.0, 1.0, dims=schema.STATE_DIMS)
    latent = mu + sigma * z
    return pt.sigmoid(latent) if link == "logit" else latent


def _regime_parameters(variant: Variant, configs: Configurations) -> dict[str, TensorVariable]:
    """Each active regime's ``l0, w, s`` (``(R,)`` each), sampled or fixed, recorded."""
    out = {}
    for param in schema.BELIEF_PARAMETERS:
        values = []
        for regime in configs.regimes:
            spec = variant.regimes[regime][param]
            if isinstance(spec, Prior):
                values.append(_prior_rv(f"{param}_{regime}", spec))
            else:
                values.append(pt.as_tensor_variable(np.float64(spec)))
        out[param] = pm.Deterministic(
            schema.REGIME_PARAMETERS[param], pt.stack(values), dims=schema.REGIME
        )
    return out


GROUP_PRIORS: dict[str, Prior] = {
    "mu": Prior("Normal", {"mu": 0.0, "sigma": 1.14}),
    "sigma": Prior("HalfNormal", {"sigma": 1.0}),
}
"""Default priors of a grouped share's ``logit share[g] = mu + sigma * z[g]``.

``Normal(0, 1.14)`` for ``mu``: 1.14 is the standard deviation of the logit
of a ``Beta(2, 2)`` variable (``sqrt(2 psi_1(2))``), the ungrouped prior of
``pi`` and ``rho``, so one group's share has about the same prior as the
ungrouped share; ``HalfNormal(1)`` for ``sigma`` lets groups differ by about
one unit on the logit scale (e.g. shares 0.3 against 0.55). A variant may set
``mu_pi``, ``sigma_pi``, ``mu_rho`` and ``sigma_rho`` in ``[priors]`` instead."""


@dataclass(frozen=True)
class Groups:
    """A grouping of the dyads by a categorical attribute (e.g. rivalry ``region``).

    Attributes
    ----------
    attribute
        The panel coordinate grouped by.
    labels
        The groups, in order.
    codes
        ``(dyad,)`` index of each dyad's group.
    """

    attribute: str
    labels: tuple[str, ...]
    codes: NDArray[np.int64]


def _grouped_share(name: str, variant: Variant, groups: Groups) -> TensorVariable:
    """``share[g] = sigmoid(mu + sigma * z[g])`` per group (non-centred), ``(group,)``."""
    parts = {}
    for part in ("mu", "sigma"):
        key = f"{part}_{name}"
        if key in variant.fixed:
            parts[part] = pt.as_tensor_variable(np.float64(variant.fixed[key]))
        else:
            parts[part] = _prior_rv(key, variant.priors.get(key, GROUP_PRIORS[part]))
    z = pm.Normal(f"z_{name}", 0.0, 1.0, dims=schema.GROUP)
    return pm.Deterministic(
        f"{name}_group", pt.sigmoid(parts["mu"] + parts["sigma"] * z), dims=schema.GROUP
    )


def _regime_log_share(
    variant: Variant, configs: Configurations, groups: Groups | None
) -> TensorVariable:
    """``log P(r)`` of the active regimes, ``(dyad or 1, R)``; the share sampled or fixed.

    With ``groups`` and two regimes, ``rho`` varies by group hierarchically
    (:func:`_grouped_share`) and ``rho``/``regime_share`` are recorded per dyad.
    """
    n_listed = len(variant.regimes)
    active = [list(variant.regimes).index(r) for r in configs.regimes]
    fixed = variant.fixed_shares()
    dims: tuple[str, ...] = (schema.REGIME,)
    if fixed is not None:
        share = pt.as_tensor_variable(np.asarray(fixed)[active])[None, :]
    elif n_listed == 2:
        if groups is None:
            rho = _shared(schema.RHO, variant)
        else:
            rho_group = _grouped_share(schema.RHO, variant, groups)
            rho = pm.Deterministic(schema.RHO, rho_group[groups.codes], dims=schema.DYAD)
            dims = (schema.DYAD, schema.REGIME)
        rho = pt.atleast_1d(rho)
        share = pt.stack([1.0 - rho, rho], axis=1)
    else:
        share = _prior_rv(schema.REGIME_SHARE, variant.priors[schema.REGIME_SHARE])[None, :]
    if fixed is None or n_listed == 2:
        recorded = share if len(dims) == 2 else share[0]
        pm.Deterministic(schema.REGIME_SHARE, recorded, dims=dims)
    return pt.log(share)


def build_model(
    panel: xr.Dataset,
    variant: str | Path | Variant | dict[str, Any] = "free",
    *,
    belief_method: Method = "op",
    centred_cutpoints: bool = True,
    intent_spread: bool = True,
    group_by: str | None = None,
    record_beliefs: bool = True,
) -> pm.Model:
    """The hierarchical model of DESIGN §3-4 for a panel, as a :class:`pymc.Model`.

    Parameters
    ----------
    panel
        Panel with ``move`` over ``(dyad, side, year)`` (simulated or
        historical). Dyads are left-aligned: the model's ``year`` coordinate is
        the period since each dyad's first observed year (the calendar year
        of period 0 is in :attr:`ModelData.first_year`).
    variant
        A bundled variant name (``mixture``, ``free``, ``sensible``,
        ``misplaced_certainty``), a path to a variant TOML file, a mapping of
        the same content or a :class:`~secdilemma.model.variants.Variant`.
    belief_method
        How the belief recursion is compiled: ``"op"`` (compiled Op with an
        analytic gradient, data in :func:`pymc.Data`) or ``"scan"``
        (:func:`pytensor.scan`, data as constants).
    centred_cutpoints
        Sample the centred cutpoints ``c_tilde`` (default) or DESIGN's ``c``
        directly; the log-density is the same (module docstring).
    intent_spread
        Sample ``delta`` through the spread of the intent effect
        ``delta * sqrt(pi (1 - pi))`` (default; :func:`_intent_effect`) or
        directly; the log-density is the same.
    group_by
        A categorical dyad coordinate of the panel (e.g. ``"region"`` or
        ``"rivalry_type"`` of the rivalry panel;
        :func:`secdilemma.panel.grouping_attributes`): the share of malign
        states ``pi`` and, for a two-regime variant with a free ``rho``, the
        share of misplaced observers vary by group, hierarchically
        (``logit share[g] = mu + sigma z[g]``, :data:`GROUP_PRIORS`). Then
        ``pi`` and ``rho`` are recorded per dyad (its group's share) and
        ``pi_group``, ``rho_group`` over ``group``.
    record_beliefs
        Record the belief paths ``belief[dyad, side, year]`` per draw (the
        largest part of a fit: 4000 draws of the 110-dyad rivalry panel are
        ~0.5 GB). Without them a fit still has ``misplaced_certainty``; the
        paths are recomputed exactly from the parameters by
        :mod:`secdilemma.analysis` when needed.

    Returns
    -------
    pymc.Model
        With coords ``dyad, side, year, cutpoint`` (and ``regime``,
        ``configuration`` for regime variants); free variables named as in
        DESIGN §4 (``beta, gamma, delta, cutpoints_centred, pi, sigma_alpha,
        z_alpha``; the ``mu_, sigma_, z_`` of every modelled per-state
        parameter, or each regime's ``l0_R, w_R, s_R`` and ``rho``); the
        observed ``move``; deterministics named in
        :mod:`secdilemma.model.schema` and ``loglik_move``. With
        ``centred_cutpoints=False`` (or fixed cutpoints) ``cutpoints`` is
        itself the free variable (or a recorded constant).

    Raises
    ------
    ValueError
        If the panel is invalid or has a dyad without a modelled move, or the
        variant specification is bad
        (:class:`~secdilemma.model.variants.VariantError`).
    """
    variant = load_variant(variant)
    data = model_data(panel)
    configs = Configurations.of(variant)
    n_dyads, n_config = len(data.dyad), (configs.n if configs else 1)
    coords = data.coords()
    groups = None
    if group_by is not None:
        codes, labels = grouping(panel, group_by)
        groups = Groups(attribute=group_by, labels=labels, codes=codes)
        coords[schema.GROUP] = list(labels)
    if configs is not None:
        coords[schema.REGIME] = list(configs.regimes)
        coords[schema.CONFIGURATION] = configs.labels()
    with pm.Model(coords=coords) as model:
        if belief_method == "op":
            values = data.data_values()
            move, observed, modelled, lag_reference, last_period = (
                pm.Data(DATA_NAMES[key], values[DATA_NAMES[key]])
                for key in ("move", "observed", "modelled", "lag_reference", "last_period")
            )
        else:  # the scan baseline precomputes its layout from constants
            move, observed, modelled = data.move, data.observed, data.modelled
            lag_reference, last_period = data.lag_reference, data.last_period

        # Shared action parameters and the share of malign states.
        beta = _shared("beta", variant)
        gamma = _shared("gamma", variant)
        if groups is not None and schema.PI not in variant.fixed:
            pi_group = _grouped_share(schema.PI, variant, groups)
            pi = pm.Deterministic(schema.PI, pi_group[groups.codes], dims=schema.DYAD)
            pi_reference = pt.sigmoid(model["mu_pi"])  # the median group's share
            pi_cell = pi[:, None, None]  # broadcast against (dyad, K, side)
        else:
            pi = pi_reference = pi_cell = _shared(schema.PI, variant)
        delta = (
            _intent_effect(variant, pi_reference) if intent_spread else _shared("delta", variant)
        )
        centre = centred_cutpoints and "cutpoints" not in variant.fixed
        if not centre:  # DESIGN's c itself: sampled, or fixed and recorded
            cutpoints = _shared("cutpoints", variant, dims=schema.CUTPOINT)
            if "cutpoints" in variant.fixed:
                cutpoints = pm.Deterministic("cutpoints", cutpoints, dims=schema.CUTPOINT)

        # Per-state action intercepts, non-centred.
        sigma_alpha = _shared("sigma_alpha", variant)
        z_alpha = pm.Normal("z_alpha", 0.0, 1.0, dims=schema.STATE_DIMS)
        alpha = pm.Deterministic(schema.ALPHA, sigma_alpha * z_alpha, dims=schema.STATE_DIMS)
        if centre:
            # c = c_tilde + mean(alpha) + beta * b_ref + gamma * x_ref (module docstring).
            location = pt.mean(alpha) + beta * BELIEF_REFERENCE + gamma * lag_reference
            cutpoints = _centred_cutpoints(variant, location, dims=schema.CUTPOINT)

        # Belief parameters of every (dyad x configuration) row, (dyad * K, 2).
        if configs is None:
            belief_params = {
                "l0": _per_state("l0", variant, "identity", n_dyads),
                "w": _per_state("w", variant, "logit", n_dyads),
                "s": _per_state("s", variant, "logit", n_dyads),
            }
            belief_params = {
                k: pm.Deterministic(k, v, dims=schema.STATE_DIMS) for k, v in belief_params.items()
            }
            tiled = dict(belief_params)
        else:
            per_regime = _regime_parameters(variant, configs)
            log_share = _regime_log_share(variant, configs, groups)  # (dyad or 1, R)
            log_prior = log_share[:, configs.regime_of].sum(axis=2)  # (dyad or 1, K)
            tiled = {  # config k of dyad d is row d * K + k
                k: pt.tile(v[configs.regime_of], (n_dyads, 1)) for k, v in per_regime.items()
            }

        def per_row(x: Any) -> Any:
            """Repeat a per-dyad array for each configuration (rows d * K + k)."""
            if n_config == 1:
                return x
            repeat = np.repeat if isinstance(x, np.ndarray) else pt.repeat
            return repeat(x, n_config, axis=0)

        # Coupled belief recursion, b[i, t] = sigmoid(l[i, t]), every configuration at once.
        log_odds = belief_log_odds(
            per_row(move), per_row(observed), tiled["l0"], tiled["w"], tiled["s"],
            beta, gamma, delta, cutpoints, method=belief_method,
        )  # fmt: skip

        # Action model, per intent, summed over modelled years t >= 1:
        # eta[i,t](tau) = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau.
        if belief_method == "op":
            ll_benign, ll_malign = action_log_likelihoods(
                per_row(move), per_row(modelled), per_row(observed), log_odds, per_row(alpha),
                beta, gamma, delta, cutpoints,
            )  # fmt: skip
        else:
            x = np.where(data.observed, data.move - 1.0, 0.0)  # a masked lag reads as hold
            x_other = per_row(x[:, ::-1, :])
            belief_scan = pt.sigmoid(log_odds)
            eta_lagged = (
                per_row(alpha)[:, :, None]
                + beta * belief_scan[:, :, :-1]
                + gamma * x_other[:, :, :-1]
            )
            eta_benign = pt.concatenate([pt.zeros((n_dyads * n_config, 2, 1)), eta_lagged], axis=2)
            value = pt.as_tensor_variable(per_row(data.observed_value()))
            ll_benign, ll_malign = intent_log_likelihoods(value, eta_benign, delta, cutpoints)

        # Intent marginalised per side and configuration, (dyad, K, side).
        ll_benign = ll_benign.reshape((n_dyads, n_config, 2))
        ll_malign = ll_malign.reshape((n_dyads, n_config, 2))
        marginal = marginal_logp(ll_benign, ll_malign, pi_cell)
        p_malign_k = pt.sigmoid(pt.log(pi_cell) + ll_malign - pt.log1p(-pi_cell) - ll_benign)
        belief_k = pt.sigmoid(log_odds).reshape((n_dyads, n_config, 2, data.n_years))
        if n_config == 1:
            loglik = marginal[:, 0]  # one term per observing state
            p_malign_dyad = p_malign_k[:, 0]
            belief_dyad = belief_k[:, 0]
            loglik_dims: tuple[str, ...] = schema.STATE_DIMS
        if configs is not None:
            joint = log_prior + marginal.sum(axis=2)  # (dyad, K)
            loglik_dyad = pt.logsumexp(joint, axis=1)
            weight = pm.Deterministic(
                schema.CONFIGURATION_WEIGHT,
                pt.exp(joint - loglik_dyad[:, None]),
                dims=(schema.DYAD, schema.CONFIGURATION),
            )
            if n_config > 1:  # one term per dyad: the sides are coupled
                loglik, loglik_dims = loglik_dyad, (schema.DYAD,)
                p_malign_dyad = (weight[:, :, None] * p_malign_k).sum(axis=1)
                belief_dyad = (weight[:, :, None, None] * belief_k).sum(axis=1)
            p_regime = pm.Deterministic(
                schema.P_REGIME,
                pt.tensordot(weight, configs.indicator(), axes=[[1], [0]]),
                dims=(*schema.STATE_DIMS, schema.REGIME),
            )
            if schema.MISPLACED_REGIME in variant.regimes:
                if schema.MISPLACED_REGIME in configs.regimes:
                    p_misplaced = p_regime[:, :, configs.regimes.index(schema.MISPLACED_REGIME)]
                else:  # listed, with its share fixed at 0
                    p_misplaced = pt.zeros((n_dyads, 2))
                pm.Deterministic(schema.P_MISPLACED, p_misplaced, dims=schema.STATE_DIMS)

        # The likelihood: one observation per state sequence (per dyad for a mixture).
        event = "(t)" if n_config == 1 else "(s,t)"
        pm.CustomDist(
            schema.LOGLIK,
            data.modelled.astype("float64"),
            loglik,
            logp=_given_logp,
            signature=f"{event},()->{event}",
            dtype="int64",
            observed=data.observed_value(),
            dims=schema.PATH_DIMS,
        )

        # Per-draw summaries: P(tau = 1 | data), belief paths, misplaced certainty.
        belief = belief_dyad
        if record_beliefs:
            belief = pm.Deterministic(schema.BELIEF, belief_dyad, dims=schema.PATH_DIMS)
        p_malign = pm.Deterministic(schema.P_MALIGN, p_malign_dyad, dims=schema.STATE_DIMS)
        final_belief = belief[pt.arange(n_dyads), :, last_period]  # (dyad, side)
        pm.Deterministic(
            schema.MISPLACED_CERTAINTY, final_belief - p_malign[:, ::-1], dims=schema.STATE_DIMS
        )
        pm.Deterministic(LOGLIK_DETERMINISTIC, loglik, dims=loglik_dims)
    return model


def _given_logp(value: TensorVariable, modelled: TensorVariable, loglik: TensorVariable) -> Any:
    """``logp`` of the observed ``move``: the log-likelihood computed in the model graph.

    The moves enter the per-intent log-likelihoods (computed from the data by
    the compiled Ops or by :func:`intent_log_likelihoods`), so ``value`` and
    ``modelled`` only fix the event shape here: ``(year,)`` per state, or
    ``(side, year)`` per dyad for regime variants.
    """
    return loglik
