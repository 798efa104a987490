"""Build the hierarchical PyMC model of DESIGN §3-4 from a panel and a variant.

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

from secdilemma.model.belief_op import Method, action_log_likelihoods, belief_log_odds
from secdilemma.model.variants import HYPERPARAMETERS, Variant, load_variant
from secdilemma.panel import left_align, validate_panel

NOT_MODELLED = -1
"""Value of ``move`` in the model where a move does not enter the likelihood."""

CENTRED_CUTPOINTS = "cutpoints_centred"
"""Name of the sampled cutpoints ``c_tilde`` (``cutpoints`` is DESIGN's ``c``)."""

BELIEF_REFERENCE = 0.5
"""``b_ref`` of the centred cutpoints: the middle of the belief scale (beliefs
depend on the parameters, so no data-derived reference exists)."""


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
            "dyad": [str(d) for d in self.dyad],
            "side": [0, 1],
            "year": list(range(self.n_years)),
            "cutpoint": [0, 1, 2],
        }

    def observed_value(self) -> NDArray[np.int64]:
        """Value of the observed ``move`` variable: the move, or -1 where not modelled."""
        return np.where(self.modelled, self.move, NOT_MODELLED).astype(np.int64)

    def constant_data(self) -> xr.Dataset:
        """The ``constant_data`` group of a fit."""
        coords = self.coords()
        return xr.Dataset(
            {
                "move_aligned": (
                    ("dyad", "side", "year"),
                    np.where(self.observed, self.move, np.nan),
                    {"long_name": "left-aligned move, NaN where missing"},
                ),
                "first_year": (
                    ("dyad",),
                    self.first_year,
                    {"long_name": "calendar year of period 0 (the panel's year coordinate)"},
                ),
                "last_period": (
                    ("dyad",),
                    self.last_period,
                    {"long_name": "last period with an observed move, T_last"},
                ),
            },
            coords={k: coords[k] for k in ("dyad", "side", "year")},
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
    """
    panel = validate_panel(panel)
    aligned, first = left_align(panel)
    observed = ~np.isnan(aligned)
    any_obs = observed.any(axis=1)  # (dyad, period)
    last = np.array([np.flatnonzero(row).max() for row in any_obs], dtype=np.int64)
    n_years = int(last.max()) + 1
    aligned, observed = aligned[:, :, :n_years], observed[:, :, :n_years]
    move = np.where(observed, aligned, 0).astype(np.int64)
    modelled = observed.copy()
    modelled[:, :, 0] = False  # the first observed year has no lag: not modelled
    years = np.asarray(panel["year"].values)
    return ModelData(
        dyad=np.asarray(panel["dyad"].values),
        move=move,
        observed=observed,
        modelled=modelled,
        first_year=years[first].astype(np.int64),
        last_period=last,
    )


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


def sequence_logp(
    value: TensorVariable,
    modelled: TensorVariable,
    ll_benign: TensorVariable,
    ll_malign: TensorVariable,
    pi: TensorVariable,
) -> TensorVariable:
    """``logp`` of the observed ``move``: each state's sequence, intent marginalised.

    The moves enter the per-intent log-likelihoods ``ll_benign, ll_malign``
    (computed in the model graph from the constant moves, by the compiled Op or
    by :func:`intent_log_likelihoods`), so ``value`` and ``modelled`` only fix
    the event shape ``(year,)`` here. Shape ``(dyad, side)``.
    """
    return marginal_logp(ll_benign, ll_malign, pi)


def _shared(name: str, variant: Variant, dims: str | None = None) -> TensorVariable:
    """A shared parameter: a random variable with the variant's prior, or a constant."""
    if name in variant.fixed:
        return pt.as_tensor_variable(np.asarray(variant.fixed[name], dtype="float64"))
    prior = variant.priors[name]
    args = {k: np.asarray(v, dtype="float64") for k, v in prior.args.items()}
    extra = {"transform": ordered} if name == "cutpoints" else {}
    return getattr(pm, prior.dist)(name, **args, **extra, dims=dims)


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


def _per_state(name: str, variant: Variant, link: str, n_dyads: int) -> TensorVariable:
    """A per-state parameter ``link(mu + sigma * z)`` (non-centred), or a constant."""
    if name in variant.fixed:
        return pt.fill(pt.zeros((n_dyads, 2)), float(variant.fixed[name]))  # type: ignore[arg-type]
    mu_name, sigma_name = HYPERPARAMETERS[name]
    mu = _shared(mu_name, variant)
    sigma = _shared(sigma_name, variant)
    z = pm.Normal(f"z_{name}", 0.0, 1.0, dims=("dyad", "side"))
    latent = mu + sigma * z
    return pt.sigmoid(latent) if link == "logit" else latent


def build_model(
    panel: xr.Dataset,
    variant: str | Path | Variant | dict[str, Any] = "free",
    *,
    belief_method: Method = "op",
    centred_cutpoints: bool = True,
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
        A bundled variant name (``free``, ``sensible``,
        ``misplaced_certainty``), a path to a variant TOML file, a mapping of
        the same content or a :class:`~secdilemma.model.variants.Variant`.
    belief_method
        How the belief recursion is compiled: ``"op"`` (compiled Op with an
        analytic gradient) or ``"scan"`` (:func:`pytensor.scan`).
    centred_cutpoints
        Sample the centred cutpoints ``c_tilde`` (default) or DESIGN's ``c``
        directly; the log-density is the same (module docstring).

    Returns
    -------
    pymc.Model
        With coords ``dyad, side, year, cutpoint``; free variables named as in
        DESIGN §4 (``beta, gamma, delta, cutpoints_centred, pi, sigma_alpha,
        z_alpha`` and the ``mu_, sigma_, z_`` of every modelled per-state
        parameter); the observed ``move``; deterministics ``cutpoints``
        (DESIGN's ``c``), ``alpha, l0, w, s, belief, p_malign,
        misplaced_certainty, loglik_move``. With ``centred_cutpoints=False``
        (or fixed cutpoints) ``cutpoints`` is itself the free variable (or a
        recorded constant) and there is no ``cutpoints_centred``.

    Raises
    ------
    ValueError
        If the panel is invalid or the variant specification is bad
        (:class:`~secdilemma.model.variants.VariantError`).
    """
    variant = load_variant(variant)
    data = model_data(panel)
    n_dyads = len(data.dyad)
    state_dims = ("dyad", "side")
    path_dims = ("dyad", "side", "year")
    with pm.Model(coords=data.coords()) as model:
        # Shared action parameters and the share of malign states.
        beta = _shared("beta", variant)
        gamma = _shared("gamma", variant)
        delta = _shared("delta", variant)
        centre = centred_cutpoints and "cutpoints" not in variant.fixed
        if not centre:  # DESIGN's c itself: sampled, or fixed and recorded
            cutpoints = _shared("cutpoints", variant, dims="cutpoint")
            if "cutpoints" in variant.fixed:
                cutpoints = pm.Deterministic("cutpoints", cutpoints, dims="cutpoint")
        pi = _shared("pi", variant)

        # Per-state hierarchy, non-centred.
        sigma_alpha = _shared("sigma_alpha", variant)
        z_alpha = pm.Normal("z_alpha", 0.0, 1.0, dims=state_dims)
        alpha = pm.Deterministic("alpha", sigma_alpha * z_alpha, dims=state_dims)
        if centre:
            # c = c_tilde + mean(alpha) + beta * b_ref + gamma * x_ref (module docstring).
            location = pt.mean(alpha) + beta * BELIEF_REFERENCE + gamma * data.lag_reference
            cutpoints = _centred_cutpoints(variant, location, dims="cutpoint")
        l0 = pm.Deterministic("l0", _per_state("l0", variant, "identity", n_dyads), dims=state_dims)
        w = pm.Deterministic("w", _per_state("w", variant, "logit", n_dyads), dims=state_dims)
        s = pm.Deterministic("s", _per_state("s", variant, "logit", n_dyads), dims=state_dims)

        # Coupled belief recursion, b[i, t] = sigmoid(l[i, t]).
        log_odds = belief_log_odds(
            data.move,
            data.observed,
            l0,
            w,
            s,
            beta,
            gamma,
            delta,
            cutpoints,
            method=belief_method,
        )
        belief = pm.Deterministic("belief", pt.sigmoid(log_odds), dims=path_dims)

        # Action model, per intent, summed over modelled years t >= 1:
        # eta[i,t](tau) = alpha[i] + beta * b[i,t-1] + gamma * x[j,t-1] + delta * tau.
        if belief_method == "op":
            ll_benign, ll_malign = action_log_likelihoods(
                data.move, data.modelled, data.observed, log_odds, alpha,
                beta, gamma, delta, cutpoints,
            )  # fmt: skip
        else:
            x = np.where(data.observed, data.move - 1.0, 0.0)  # a masked lag reads as hold
            x_other = x[:, ::-1, :]
            eta_lagged = alpha[:, :, None] + beta * belief[:, :, :-1] + gamma * x_other[:, :, :-1]
            eta_benign = pt.concatenate([pt.zeros((n_dyads, 2, 1)), eta_lagged], axis=2)
            value = pt.as_tensor_variable(data.observed_value())
            ll_benign, ll_malign = intent_log_likelihoods(value, eta_benign, delta, cutpoints)

        # The likelihood: one observation per state (its sequence), intent marginalised.
        pm.CustomDist(
            "move",
            data.modelled.astype("float64"),
            ll_benign,
            ll_malign,
            pi,
            logp=sequence_logp,
            signature="(t),(),(),()->(t)",
            dtype="int64",
            observed=data.observed_value(),
            dims=path_dims,
        )

        # Per-draw summaries: P(tau = 1 | data), misplaced certainty, log-likelihood.
        log_odds_malign = pt.log(pi) + ll_malign - pt.log1p(-pi) - ll_benign
        p_malign = pm.Deterministic("p_malign", pt.sigmoid(log_odds_malign), dims=state_dims)
        final_belief = belief[np.arange(n_dyads), :, data.last_period]  # (dyad, side)
        pm.Deterministic("misplaced_certainty", final_belief - p_malign[:, ::-1], dims=state_dims)
        pm.Deterministic("loglik_move", marginal_logp(ll_benign, ll_malign, pi), dims=state_dims)
    return model
