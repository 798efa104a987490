"""What the data can and cannot say: posterior contraction against the prior.

For a quantity ``theta``, contraction is ``1 - Var(theta | data) / Var(theta)``
(Schad, Betancourt & Vasishth 2021): 0 when the data leave the prior as it
was, 1 when they pin ``theta`` down. It is reported for

- every sampled shared parameter and hyperparameter (``beta``, ``delta``,
  ``cutpoints[k]``, ``pi``, ``rho``, each regime's ``l0_R``, ``w_R``, ``mu_w``
  ...), against the variant's prior variance
  (:func:`secdilemma.model.priors.prior_variances`, Monte Carlo);
- each state's latent intent ``tau[i]`` and, for regime variants, its regime
  indicator ``[r[i] = misplaced_certainty]``. These are Bernoulli: with
  posterior probability ``p`` (the posterior mean of ``p_malign`` or
  ``p_misplaced``) the posterior variance is ``p (1 - p)``, and the prior
  variance is ``q (1 - q)`` with ``q`` the prior probability (the prior mean
  of ``pi`` or of the misplaced regime's share; 0.5 for the bundled
  ``Beta(2, 2)`` priors). A state with ``p_malign`` between 0.34 and 0.66
  under a ``Beta(2, 2)`` prior has contraction below 0.1.

Quantities with contraction below :data:`WEAK` are flagged as barely informed
by the data. On the historical panel this is expected for the states whose
beliefs saturate early: once a belief is at certainty, the moves that follow
say nothing about how it got there (``l0``, ``w`` and the regime are then not
identified; README, "What the data can and cannot say").
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.model import schema
from secdilemma.model.io import fit_variant
from secdilemma.model.priors import draw_prior, prior_variances

WEAK = 0.1
"""Contraction below which a quantity counts as barely informed by the data."""


def _state_rows(probability: xr.DataArray, prior_p: float, quantity: str) -> list[dict[str, Any]]:
    """Contraction rows of a Bernoulli latent per state, from its posterior probability."""
    p = probability.mean((schema.CHAIN, schema.DRAW))
    prior_var = prior_p * (1 - prior_p)
    rows = []
    for dyad in p[schema.DYAD].values:
        for side in p[schema.SIDE].values:
            value = float(p.sel(dyad=dyad, side=side))
            rows.append(
                {
                    "quantity": quantity,
                    "element": f"{dyad}/{side}",
                    "prior_variance": prior_var,
                    "posterior_variance": value * (1 - value),
                    "contraction": 1 - value * (1 - value) / prior_var if prior_var else np.nan,
                }
            )
    return rows


def contraction(fit: xr.DataTree, *, seed: int = 0) -> list[dict[str, Any]]:
    """Posterior contraction of the shared parameters and each state's latent traits.

    Parameters
    ----------
    fit
        A fit (:func:`secdilemma.fit`), with its variant in the attrs.
    seed
        Seed of the prior draws behind the prior variances.

    Returns
    -------
    list of dict
        One row per quantity element: ``quantity`` (``beta``, ``cutpoints``,
        ``p_malign``, ``p_misplaced`` ...), ``element`` (``""``, the cutpoint
        index or ``dyad/side``), ``prior_variance``, ``posterior_variance``,
        ``contraction`` and ``weak`` (contraction below :data:`WEAK`).
    """
    variant = fit_variant(fit)
    posterior = fit[schema.POSTERIOR].to_dataset()
    rows: list[dict[str, Any]] = []
    for name, prior_var in prior_variances(variant, seed=seed).items():
        if name not in posterior or schema.DYAD in posterior[name].dims:
            continue
        post_var = np.atleast_1d(posterior[name].var((schema.CHAIN, schema.DRAW), ddof=1).values)
        prior_var = np.atleast_1d(prior_var)
        for k, (pv, qv) in enumerate(zip(post_var, prior_var, strict=True)):
            rows.append(
                {
                    "quantity": name,
                    "element": str(k) if len(post_var) > 1 else "",
                    "prior_variance": float(qv),
                    "posterior_variance": float(pv),
                    "contraction": float(1 - pv / qv),
                }
            )
    prior = draw_prior(variant, 4000, 1, seed=seed)
    rows += _state_rows(posterior[schema.P_MALIGN], float(prior[schema.PI].mean()), "p_malign")
    if schema.P_MISPLACED in posterior and schema.MISPLACED_REGIME in variant.active_regimes():
        share = prior[schema.REGIME_SHARE][
            :, variant.active_regimes().index(schema.MISPLACED_REGIME)
        ]
        if np.ptp(share) > 0:  # a fixed share leaves nothing to learn
            rows += _state_rows(posterior[schema.P_MISPLACED], float(share.mean()), "p_misplaced")
    for row in rows:
        row["weak"] = bool(not row["contraction"] >= WEAK)
    return rows


def fit_contraction(fit: xr.DataTree) -> list[dict[str, Any]]:
    """The contraction rows stored with a fit (its ``contraction`` attr), else computed.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.fit` (or loaded with :func:`secdilemma.load_fit`).

    Returns
    -------
    list of dict
        As :func:`contraction`.
    """
    stored = fit.attrs.get("contraction")
    if stored:
        rows = json.loads(stored)
        for row in rows:
            row["contraction"] = np.nan if row["contraction"] is None else row["contraction"]
        return rows
    return contraction(fit)


def weakly_informed(rows: list[dict[str, Any]]) -> list[str]:
    """Labels (``beta``, ``cutpoints[1]``, ``p_malign[USA-RUS/0]``) of the flagged rows."""
    return [
        row["quantity"] + (f"[{row['element']}]" if row["element"] else "")
        for row in rows
        if row["weak"]
    ]


def contraction_summary(rows: list[dict[str, Any]], *, limit: int = 8) -> str:
    """Two lines for the terminal: the shared parameters' contraction and what is weak.

    Parameters
    ----------
    rows
        Rows of :func:`contraction` (or :func:`fit_contraction`).
    limit
        How many weakly informed quantities to name before "and N more".
    """
    shared = [r for r in rows if r["quantity"] not in ("p_malign", "p_misplaced")]
    parts = [
        r["quantity"] + (f"[{r['element']}]" if r["element"] else "") + f" {r['contraction']:.2f}"
        for r in shared
    ]
    weak = weakly_informed(rows)
    named = ", ".join(weak[:limit]) + (
        f" and {len(weak) - limit} more" if len(weak) > limit else ""
    )
    return "\n".join(
        [
            "posterior contraction (1 - posterior / prior variance): " + ", ".join(parts),
            f"weakly informed by the data (contraction < {WEAK}): " + (named or "none"),
        ]
    )


def contraction_json(rows: list[dict[str, Any]]) -> str:
    """JSON form stored in a fit's ``contraction`` attr (rounded, NaN as null)."""
    clean = [
        {
            k: (None if isinstance(v, float) and not np.isfinite(v) else
                round(v, 6) if isinstance(v, float) else v)
            for k, v in row.items()
        }
        for row in rows
    ]  # fmt: skip
    return json.dumps(clean)
