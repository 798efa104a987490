"""P(misplaced certainty) by group: the share ``rho[g]`` and each state's ``p_misplaced``.

Issue 12 ("the whole population") asks, per group of rivalries (``region``,
``rivalry_type``, ...), how common misplaced certainty is. Two quantities
answer it (DESIGN §4):

- ``rho[g]``, the prior share of misplaced-certainty observers in group ``g``,
  of a fit with grouped shares (``fit(..., group_by=...)``:
  ``logit rho[g] = mu_rho + sigma_rho z[g]``, recorded as ``rho_group``); for a
  fit without groups the one population ``rho``;
- ``p_misplaced[d, i]``, the posterior probability that state ``i`` of dyad
  ``d`` formed its beliefs with misplaced certainty (given the draw).

:func:`group_shares` collects both, with each dyad's group, for the figure
(:func:`secdilemma.plotting.plot_misplaced_by_group`) and the report's table
(:func:`group_table`). A fit without groups is grouped for display by a dyad
attribute of the panel; its ``rho`` is then the population's, shown once.

Nothing here imports PyMC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from secdilemma.model import schema
from secdilemma.panel import grouping, grouping_attributes

RHO_GROUP = f"{schema.RHO}_group"
"""Posterior variable of a grouped fit's per-group share ``rho[g]``."""

DECIDED = 0.8
"""Posterior mean ``p_misplaced`` from which a state reads as misplaced certainty
(the report's rule, :data:`secdilemma.reporting.DECIDED`)."""


@dataclass(frozen=True)
class GroupShares:
    """``rho`` by group and ``p_misplaced`` per state, over ``(sample, ...)``.

    Attributes
    ----------
    attribute
        The dyad attribute grouped by (e.g. ``"region"``).
    labels
        The groups, in order.
    codes
        ``(D,)`` index into ``labels`` of each dyad's group.
    dyads
        The dyad ids, in the fit's order.
    states
        ``(D, 2)`` state names (``side 0``/``side 1`` without a panel naming them).
    rho
        ``(S, G)`` draws of each group's share for a grouped fit (``grouped``);
        ``(S, 1)`` draws of the population share otherwise.
    grouped
        Whether the fit's ``rho`` varies by group.
    p_misplaced
        ``(S, D, 2)`` draws of each state's ``p_misplaced``.
    """

    attribute: str
    labels: tuple[str, ...]
    codes: NDArray[np.int64]
    dyads: tuple[str, ...]
    states: tuple[tuple[str, str], ...]
    rho: NDArray[np.float64]
    grouped: bool
    p_misplaced: NDArray[np.float64]

    def members(self, group: int) -> NDArray[np.int64]:
        """Positions of the dyads in group ``group`` (index into :attr:`labels`)."""
        return np.flatnonzero(self.codes == group)


def _flat(values: xr.DataArray, *dims: str) -> NDArray[np.float64]:
    """``(chain, draw, *dims)`` -> ``(sample, *dims)``."""
    values = values.transpose(schema.CHAIN, schema.DRAW, *dims)
    array = np.asarray(values.values, dtype=float)
    return array.reshape(-1, *array.shape[2:])


def fit_group_by(fit: xr.DataTree) -> str | None:
    """The dyad attribute a fit's shares are grouped by (``None`` if not grouped)."""
    posterior = fit[schema.POSTERIOR]
    if RHO_GROUP not in posterior.data_vars:
        return None
    import json

    try:
        sampler = json.loads(fit.attrs.get("sampler", "{}"))
    except (TypeError, ValueError):
        sampler = {}
    return str(sampler.get("group_by") or schema.GROUP)


def group_shares(
    fit: xr.DataTree, panel: xr.Dataset | None = None, group_by: str | None = None
) -> GroupShares:
    """Each group's ``rho`` and each state's ``p_misplaced``, with the dyads' groups.

    Parameters
    ----------
    fit
        A fit of a variant with a ``misplaced_certainty`` regime (``mixture``),
        with grouped shares (``rho_group``) or without.
    panel
        The fitted panel (or a larger one holding its dyads): names the states,
        and gives the attribute ``group_by`` of a fit without groups.
    group_by
        For a fit without groups: the dyad attribute to group its states by
        (one of :func:`secdilemma.panel.grouping_attributes`; its ``rho`` is the
        population's). For a grouped fit: ``None`` or the attribute it was
        grouped by.

    Returns
    -------
    GroupShares

    Raises
    ------
    ValueError
        If the fit has no ``p_misplaced`` or no ``rho``; if a fit without groups
        is given no ``panel`` or no ``group_by``, or a grouped fit another
        ``group_by`` than its own; if the panel lacks a dyad of the fit.
    secdilemma.panel.PanelError
        If ``group_by`` is not a categorical dyad attribute of the panel (the
        message lists the available ones).
    """
    posterior = fit[schema.POSTERIOR].to_dataset()
    if schema.P_MISPLACED not in posterior:
        raise ValueError(
            f"fit: its posterior has no {schema.P_MISPLACED!r}; only a variant with a "
            f"{schema.MISPLACED_REGIME!r} regime (e.g. mixture) gives P(misplaced certainty)"
        )
    dyads = tuple(str(d) for d in posterior[schema.DYAD].values)
    if panel is not None:
        have = {str(d) for d in panel[schema.DYAD].values}
        absent = [d for d in dyads if d not in have]
        if absent:
            raise ValueError(f"panel: lacks dyad(s) {', '.join(absent[:6])} of the fit")
        panel = panel.sel({schema.DYAD: list(dyads)})
    if panel is not None and "state" in panel.coords:
        states = tuple(
            (str(panel["state"].sel(dyad=d, side=0).item()),
             str(panel["state"].sel(dyad=d, side=1).item()))
            for d in dyads
        )  # fmt: skip
    else:
        states = tuple(("side 0", "side 1") for _ in dyads)
    p = _flat(posterior[schema.P_MISPLACED], schema.DYAD, schema.SIDE)
    own = fit_group_by(fit)
    if own is not None:
        if group_by is not None and group_by != own:
            raise ValueError(
                f"group_by: the fit's shares are grouped by {own!r}; pass group_by=None or "
                f"{own!r} (refit with group_by={group_by!r} to group by that)"
            )
        labels = tuple(str(g) for g in posterior[schema.GROUP].values)
        if schema.CONSTANT_DATA in fit.children and schema.GROUP in fit[schema.CONSTANT_DATA]:
            of_dyad = [str(g) for g in fit[schema.CONSTANT_DATA][schema.GROUP].values]
        elif panel is not None and own in panel.coords:
            of_dyad = [str(g) for g in panel[own].values]
        else:
            raise ValueError("fit: grouped shares but no constant_data 'group' naming each dyad's")
        codes = np.array([labels.index(g) for g in of_dyad], dtype=np.int64)
        rho = _flat(posterior[RHO_GROUP], schema.GROUP)
        return GroupShares(own, labels, codes, dyads, states, rho, True, p)
    if panel is None:
        raise ValueError(
            "panel: needed to group a fit without grouped shares (pass the fitted panel "
            "and group_by, a dyad attribute such as 'region')"
        )
    if group_by is None:
        raise ValueError(
            "group_by: the fit's shares are not grouped; name a dyad attribute of the panel "
            f"to group its states by; available: {grouping_attributes(panel) or 'none'}"
        )
    codes, labels = grouping(panel, group_by)
    if schema.RHO in posterior and posterior[schema.RHO].dims == (schema.CHAIN, schema.DRAW):
        rho = _flat(posterior[schema.RHO])[:, None]
    elif schema.REGIME_SHARE in posterior and schema.MISPLACED_REGIME in [
        str(r) for r in posterior[schema.REGIME].values
    ]:
        share = posterior[schema.REGIME_SHARE].sel({schema.REGIME: schema.MISPLACED_REGIME})
        rho = _flat(share)[:, None]
    else:
        raise ValueError(f"fit: no population share {schema.RHO!r} in its posterior")
    return GroupShares(group_by, labels, codes, dyads, states, rho, False, p)


def group_table(shares: GroupShares) -> pd.DataFrame:
    """The report's table: per group, ``rho`` (mean, 90 % interval), dyads and ``p_misplaced``.

    Parameters
    ----------
    shares
        From :func:`group_shares`.

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``n_dyads``, ``rho_mean``, ``rho_q05``,
        ``rho_q95`` (the group's share; for a fit without groups the
        population's, in a first row ``all dyads``, and blank per group),
        ``p_misplaced_mean`` (the mean over the group's states of their
        posterior mean ``p_misplaced``) and ``states_misplaced`` (states whose
        posterior mean ``p_misplaced`` is at least :data:`DECIDED`, of
        ``2 n_dyads``).
    """
    p_mean = shares.p_misplaced.mean(axis=0)  # (D, 2)

    def row(label: str, members: NDArray[np.int64], rho: NDArray | None) -> dict[str, object]:
        q05, q95 = (np.nan, np.nan) if rho is None else np.quantile(rho, [0.05, 0.95])
        return {
            "group": label,
            "n_dyads": len(members),
            "rho_mean": np.nan if rho is None else float(rho.mean()),
            "rho_q05": float(q05),
            "rho_q95": float(q95),
            "p_misplaced_mean": float(p_mean[members].mean()),
            "states_misplaced": int((p_mean[members] >= DECIDED).sum()),
        }

    rows = []
    if not shares.grouped:
        rows.append(row("all dyads", np.arange(len(shares.dyads)), shares.rho[:, 0]))
    for g, label in enumerate(shares.labels):
        rows.append(row(label, shares.members(g), shares.rho[:, g] if shares.grouped else None))
    return pd.DataFrame(rows)


__all__ = ["GroupShares", "fit_group_by", "group_shares", "group_table"]
