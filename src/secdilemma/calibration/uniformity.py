"""Are the ranks uniform? The tests, and a reading of how a failing quantity fails.

With ``L`` thinned draws a rank takes the values ``0 .. L``; under a
calibrated fit each value has probability ``1 / (L + 1)``. Per quantity,
over the simulations that have ranks (status ``fitted``, whatever their
diagnostics: dropping the non-converged ones would bias SBC):

- **chi-square on 20 bins** (:data:`BINS`; Talts et al. 2018): the ``L + 1``
  rank values grouped into 20 bins of equal width (``L + 1`` a multiple of 20,
  e.g. ``L = 99``: 5 values per bin; otherwise bins hold unequal numbers of
  values and the expected counts follow), Pearson's statistic against the
  expected counts, 19 degrees of freedom. **The stated test: a quantity
  passes when its p-value is at least** :data:`LEVEL` **(1 %).** Over the ~15-20
  quantities of a variant about 0.2 false failures are expected by chance, ~0.7
  over the four bundled variants; the table also gives the p-value with a
  Bonferroni correction over the variant's quantities.
- **PIT-ECDF test** (``pot_c`` of :mod:`arviz_stats`, the test shown in the
  ECDF-difference figures, Säilynoja et al. 2022 / Tesso et al. 2026), on the
  fractional ranks (:func:`fractional_ranks`): reported, not the pass
  criterion.

Fractional ranks. The tests for continuous PIT values treat ties as
evidence against uniformity, and ``L + 1`` discrete rank values give many
ties over hundreds of simulations (``pot_c`` returned p ~ 1e-16 for
uniform ranks with ``L = 19``). Each rank is therefore spread uniformly over
its share of the unit interval, ``u = (rank + V) / (L + 1)`` with ``V ~ U(0,
1)`` (seeded): exactly uniform on (0, 1) when the ranks are uniform on ``0 ..
L``; it is ``rank / L`` (the ranks scaled by the number of draws) up to
``1 / (L + 1)``.

How a quantity fails, from the fractional ranks ``u`` (Talts et al.
2018, Fig. 4-6): a mean of ``u`` far from 1/2 is **bias** (mean above 1/2: the
truth tends to lie above the posterior, which is too low); a variance of
``u`` well above the uniform 1/12 is a U-shaped histogram, posteriors **too
narrow** (overconfident); well below, a hump, posteriors **too wide**. Each is
judged against its standard error under uniformity (``z`` beyond 3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

BINS = 20
"""Bins of the chi-square test and the rank histograms."""

LEVEL = 0.01
"""Level of the chi-square test: a quantity fails when its p-value is below it."""

Z_READING = 3.0
"""``|z|`` beyond which the mean or the variance of the fractional ranks is called off."""


def bin_edges(rank_draws: int, bins: int = BINS) -> np.ndarray:
    """Integer edges of ``bins`` bins over the rank values ``0 .. L`` (right-open)."""
    return np.round(np.linspace(0, rank_draws + 1, bins + 1)).astype(int)


def binned(ranks: np.ndarray, rank_draws: int, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Observed counts per bin and their expected counts under uniformity."""
    edges = bin_edges(rank_draws, bins)
    counts = np.histogram(ranks, bins=edges)[0]
    expected = len(ranks) * np.diff(edges) / (rank_draws + 1)
    return counts, expected


def chi_square(ranks: np.ndarray, rank_draws: int, bins: int = BINS) -> tuple[float, float]:
    """Pearson's chi-square statistic of the binned ranks and its p-value."""
    counts, expected = binned(ranks, rank_draws, bins)
    statistic = float(np.sum((counts - expected) ** 2 / expected))
    return statistic, float(stats.chi2.sf(statistic, bins - 1))


def fractional_ranks(ranks: np.ndarray, rank_draws: int, *, seed: int = 0) -> np.ndarray:
    """``(rank + V) / (L + 1)``, ``V ~ U(0, 1)`` seeded: continuous PIT values (module doc)."""
    jitter = np.random.default_rng(seed).random(len(ranks))
    return (np.asarray(ranks, dtype=float) + jitter) / (rank_draws + 1)


def pot_c_pvalue(pit: np.ndarray) -> float:
    """p-value of arviz-stats' ``pot_c`` uniformity test of fractional ranks."""
    import arviz_stats  # noqa: F401  (registers the .azstats accessor)

    da = xr.DataArray(np.asarray(pit, dtype=float), dims=["simulation"])
    result = da.azstats.uniformity_test(dim="simulation")
    value = result[0] if isinstance(result, tuple) else result
    return float(np.asarray(getattr(value, "values", value)).ravel()[0])


def reading(pit: np.ndarray) -> str:
    """How the fractional ranks depart from uniform: bias and spread (module docstring)."""
    n = len(pit)
    z_mean = (np.mean(pit) - 0.5) / np.sqrt(1 / 12 / n)
    # Var(u) under U(0, 1) is 1/12; the sample variance has sd sqrt(1/180 / n) (4th moment 1/80).
    z_var = (np.var(pit) - 1 / 12) / np.sqrt((1 / 80 - 1 / 144) / n)
    words = []
    if z_mean > Z_READING:
        words.append("biased: truth above the posterior (posterior too low)")
    elif z_mean < -Z_READING:
        words.append("biased: truth below the posterior (posterior too high)")
    if z_var > Z_READING:
        words.append("too narrow (U-shaped ranks: overconfident)")
    elif z_var < -Z_READING:
        words.append("too wide (hump-shaped ranks: underconfident)")
    return "; ".join(words) or "no clear bias or spread error"


def uniformity_table(ranks: xr.Dataset, *, level: float = LEVEL) -> pd.DataFrame:
    """One row per quantity: the tests, the reading and pass/fail.

    Parameters
    ----------
    ranks
        ``ranks.nc`` of :func:`secdilemma.calibration.calibrate`.
    level
        Level of the chi-square test.

    Returns
    -------
    pandas.DataFrame
        ``quantity``, ``n_ranked`` (simulations with ranks), ``n_lost``,
        ``n_error``, ``n_diagnostics_failed``, ``chi2``, ``p_chi2``,
        ``p_chi2_bonferroni``, ``p_pot_c``, ``mean_pit``, ``var_pit_ratio``
        (variance of the fractional ranks over 1/12), ``median_ess_bulk``,
        ``reading`` and ``passes`` (``p_chi2 >= level``).
    """
    rank_draws = int(ranks.attrs["rank_draws"])
    status = ranks["status"].values.astype(str)
    fitted = status == "fitted"
    rows = []
    n_q = ranks.sizes["quantity"]
    for label in ranks["quantity"].values:
        r = ranks["rank"].sel(quantity=label).values[fitted]
        r = r[r >= 0]
        pit = fractional_ranks(r, rank_draws)
        chi2, p = chi_square(r, rank_draws) if len(r) else (np.nan, np.nan)
        ess = ranks["ess_bulk"].sel(quantity=label).values[fitted]
        rows.append(
            {
                "quantity": str(label),
                "n_ranked": len(r),
                "n_lost": int(np.sum(status == "lost")),
                "n_error": int(np.sum(status == "error")),
                "n_diagnostics_failed": int(np.sum(fitted & (ranks["diagnostics_ok"].values == 0))),
                "chi2": chi2,
                "p_chi2": p,
                "p_chi2_bonferroni": min(1.0, p * n_q) if np.isfinite(p) else np.nan,
                "p_pot_c": pot_c_pvalue(pit) if len(r) > 1 else np.nan,
                "mean_pit": float(np.mean(pit)) if len(r) else np.nan,
                "var_pit_ratio": float(np.var(pit) * 12) if len(r) else np.nan,
                "median_ess_bulk": float(np.nanmedian(ess)) if np.isfinite(ess).any() else np.nan,
                "reading": reading(pit) if len(r) > 1 else "no ranks",
                "passes": bool(np.isfinite(p) and p >= level),
            }
        )
    return pd.DataFrame(rows)
