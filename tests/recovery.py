"""Shared checks of parameter and intent recovery (the small and the slow fit tests)."""

import numpy as np
import xarray as xr

from secdilemma.core.parameters import ActionParams


def check_recovery(
    posterior: xr.DataTree,
    panel: xr.Dataset,
    truth: ActionParams,
    *,
    tail: float,
    min_right: int,
    min_auc: float,
) -> None:
    """Assert the truth is recovered; each caller's thresholds are justified at the call.

    ``beta, gamma, delta``: the true value lies in the central ``1 - 2 * tail``
    posterior interval. Intents: at least ``min_right`` states have posterior
    mean P(malign) on the right side of 0.5, and P(a malign state ranks above a
    benign one) (AUC) is at least ``min_auc``.
    """
    for name in ("beta", "gamma", "delta"):
        lo, hi = np.quantile(posterior[name].values, [tail, 1 - tail])
        assert lo < getattr(truth, name) < hi, (name, lo, hi)
    p_malign = posterior["p_malign"].mean(("chain", "draw")).values
    intent = panel["intent"].values == 1
    right = (p_malign > 0.5) == intent
    assert right.sum() >= min_right, p_malign.round(2)
    auc = np.mean(p_malign[intent][:, None] > p_malign[~intent][None, :])
    assert auc >= min_auc, (auc, p_malign.round(2))
