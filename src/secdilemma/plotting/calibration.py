"""Figures of simulation-based calibration: rank histograms and PIT-ECDF differences.

Both read the combined ranks of :func:`secdilemma.calibration.calibrate`
(``ranks.nc``: ``rank[simulation, quantity]``, ``status``, attrs
``rank_draws`` and ``variant``), one figure per variant, one panel per ranked
quantity, over the simulations that have ranks (status ``fitted``, converged
or not).

- :func:`plot_rank_histograms`: the ranks in 20 bins (Talts et al. 2018) with
  the band a uniform histogram stays in with 99 % probability per bin
  (binomial quantiles of the expected count); a panel whose chi-square test
  fails (:mod:`secdilemma.calibration.uniformity`) is titled in vermillion with
  its p-value.
- :func:`plot_rank_ecdf`: the difference between the empirical CDF of the
  fractional ranks and the uniform CDF, with arviz-plots'
  :func:`~arviz_plots.plot_ecdf_pit` and its ``pot_c`` test (Säilynoja et al.
  2022): a curve above zero in the middle means ranks piled at the low end
  (truth below the posterior), an S shape a too-narrow or too-wide posterior.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from scipy import stats

from secdilemma.calibration.uniformity import BINS, LEVEL, binned, chi_square, fractional_ranks
from secdilemma.plotting.style import OKABE_ITO, PAGE_WIDTH, figure_style

BAND = 0.99
"""Probability of the per-bin band of a uniform rank histogram."""


def _ranked(ranks: xr.Dataset) -> tuple[list[str], dict[str, np.ndarray], int]:
    fitted = ranks["status"].values.astype(str) == "fitted"
    labels = [str(q) for q in ranks["quantity"].values]
    values = {}
    for label in labels:
        r = ranks["rank"].sel(quantity=label).values[fitted]
        values[label] = r[r >= 0]
    return labels, values, int(ranks.attrs["rank_draws"])


def plot_rank_histograms(
    ranks: xr.Dataset, *, bins: int = BINS, band: float = BAND, title: str | None = None
) -> Figure:
    """Rank histogram per quantity with the uniform band (module docstring).

    Parameters
    ----------
    ranks
        Combined ranks (``ranks.nc``).
    bins
        Histogram bins.
    band
        Per-bin probability of the grey band under uniformity.
    title
        Figure title (default: the variant and the number of simulations).

    Returns
    -------
    matplotlib.figure.Figure
    """
    labels, values, rank_draws = _ranked(ranks)
    n_cols = 5
    n_rows = int(np.ceil(len(labels) / n_cols))
    with figure_style():
        fig = Figure(figsize=(PAGE_WIDTH, 1.35 * n_rows + 0.6), layout="constrained")
        axes = fig.subplots(n_rows, n_cols, squeeze=False, sharex=True)
        for ax, label in zip(axes.flat, labels, strict=False):
            r = values[label]
            counts, expected = binned(r, rank_draws, bins)
            frac = (np.arange(bins) + 0.5) / bins
            lower = stats.binom.ppf((1 - band) / 2, len(r), expected / max(len(r), 1))
            upper = stats.binom.ppf(1 - (1 - band) / 2, len(r), expected / max(len(r), 1))
            edges = np.linspace(0, 1, bins + 1)
            ax.bar(frac, counts, width=1 / bins, color=OKABE_ITO["blue"], alpha=0.8)
            ax.fill_between(edges, np.r_[lower, lower[-1]], np.r_[upper, upper[-1]],
                            step="post", color="#999999", alpha=0.35, lw=0, zorder=3)  # fmt: skip
            ax.step(np.linspace(0, 1, bins + 1), np.r_[expected, expected[-1]], where="post",
                    color=OKABE_ITO["black"], lw=0.8, ls="--")  # fmt: skip
            p = chi_square(r, rank_draws, bins)[1] if len(r) else np.nan
            failed = np.isfinite(p) and p < LEVEL
            colour = OKABE_ITO["vermillion"] if failed else OKABE_ITO["black"]
            ax.set_title(f"{label}\np = {p:.2g}", fontsize=7, color=colour)
            ax.set_xlim(0, 1)
            ax.tick_params(labelsize=6)
        for ax in axes.flat[len(labels) :]:
            ax.set_axis_off()
        for col in range(n_cols):  # the lowest panel drawn in each column
            rows = [r for r in range(n_rows) if r * n_cols + col < len(labels)]
            if rows:
                axes[rows[-1], col].set_xlabel("rank / L", fontsize=7)
                axes[rows[-1], col].tick_params(labelbottom=True)
        for ax in axes[:, 0]:
            ax.set_ylabel("simulations", fontsize=7)
        n = max((len(v) for v in values.values()), default=0)
        fig.suptitle(
            title
            or f"SBC rank histograms, variant {ranks.attrs.get('variant', '?')!r}: "
            f"{n} simulations, L = {rank_draws}; grey: {band:.0%} band per bin of uniform ranks, "
            f"vermillion title: chi-square p < {LEVEL}",
            fontsize=8,
        )
    return fig


def plot_rank_ecdf(ranks: xr.Dataset, *, title: str | None = None) -> Figure:
    """PIT-ECDF difference per quantity (arviz-plots' ``plot_ecdf_pit``).

    The fractional ranks (:func:`~secdilemma.calibration.uniformity.fractional_ranks`,
    the ranks scaled by the number of draws and spread over their share of the
    unit interval) form the ``prior_sbc`` group that
    :func:`arviz_plots.plot_ecdf_pit` reads, over the sample dimension ``simulation``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import arviz_plots as azp  # 0.7 s to import: only when drawn

    labels, values, rank_draws = _ranked(ranks)
    data = xr.Dataset(
        {label: ("simulation", fractional_ranks(values[label], rank_draws)) for label in labels
         if len(values[label])}
    )  # fmt: skip
    tree = xr.DataTree.from_dict({"prior_sbc": data})
    with figure_style():
        collection = azp.plot_ecdf_pit(
            tree, sample_dims=["simulation"], backend="matplotlib", col_wrap=5,
            figure_kwargs={"figsize": (PAGE_WIDTH, 1.5 * np.ceil(len(labels) / 5) + 0.6)},
            visuals={"title": {"fontsize": 7}, "p_value_text": {"fontsize": 6},
                     "xlabel": {"fontsize": 7}},
        )  # fmt: skip
        fig = collection.viz["figure"].values.item()
        fig.suptitle(
            title or f"SBC PIT-ECDF difference, variant {ranks.attrs.get('variant', '?')!r}",
            fontsize=8,
        )
    return fig
