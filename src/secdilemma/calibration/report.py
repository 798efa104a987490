"""The outputs of a calibration run beside its ranks: summary table and figures.

:func:`write_report` writes, into the run's folder,

- ``summary.csv`` and ``summary.md``: :func:`~secdilemma.calibration.uniformity.uniformity_table`
  (one row per quantity: the chi-square test on 20 bins, the PIT-ECDF test,
  the reading of a failure) and the run's counts (fitted, failed
  diagnostics, errors, lost) and throughput;
- ``figures/ranks_<variant>.{png,pdf}`` (rank histograms) and
  ``figures/ecdf_<variant>.{png,pdf}`` (PIT-ECDF differences),
  :mod:`secdilemma.plotting.calibration`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.calibration.uniformity import LEVEL, uniformity_table
from secdilemma.files import write_text


def run_counts(ranks: xr.Dataset) -> dict[str, float]:
    """Simulations by status, failed diagnostics, and the fits' mean wall time."""
    status = ranks["status"].values.astype(str)
    fitted = status == "fitted"
    wall = ranks["wall_seconds"].values[fitted]
    refits = fitted & (ranks["compile_seconds"].values == 0)
    return {
        "simulations": len(status),
        "fitted": int(fitted.sum()),
        "diagnostics_failed": int((fitted & (ranks["diagnostics_ok"].values == 0)).sum()),
        "error": int((status == "error").sum()),
        "lost": int((status == "lost").sum()),
        "mean_fit_seconds": float(np.mean(wall)) if len(wall) else float("nan"),
        "mean_refit_seconds": float(np.mean(ranks["wall_seconds"].values[refits]))
        if refits.any()
        else float("nan"),
        "driver_seconds": float(ranks.attrs.get("driver_seconds", float("nan"))),
    }


def summary_markdown(ranks: xr.Dataset, table: pd.DataFrame) -> str:
    """The summary table as Markdown, headed by the run's counts."""
    counts = run_counts(ranks)
    lines = [
        f"# SBC of variant `{ranks.attrs.get('variant', '?')}`",
        "",
        f"{counts['simulations']} simulations: {counts['fitted']} fitted "
        f"({counts['diagnostics_failed']} of them failed a sampler diagnostic; their ranks are "
        f"kept), {counts['error']} errors, {counts['lost']} lost. L = "
        f"{int(ranks.attrs['rank_draws'])} thinned draws per rank. Test: chi-square on 20 bins, "
        f"a quantity passes when p >= {LEVEL}.",
        "",
        "| quantity | ranked | chi2 p | Bonferroni p | pot_c p | mean PIT | var ratio | "
        "median ESS | passes | reading |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in table.itertuples():
        lines.append(
            f"| {row.quantity} | {row.n_ranked} | {row.p_chi2:.3g} | {row.p_chi2_bonferroni:.3g} "
            f"| {row.p_pot_c:.3g} | {row.mean_pit:.3f} | {row.var_pit_ratio:.2f} "
            f"| {row.median_ess_bulk:.0f} | {'yes' if row.passes else '**no**'} | {row.reading} |"
        )
    return "\n".join(lines) + "\n"


def write_report(ranks: xr.Dataset, out: str | Path, *, figures: bool = True) -> list[Path]:
    """Write the summary table and (optionally) the figures of a run; returns the paths."""
    out = Path(out)
    variant = str(ranks.attrs.get("variant", "variant"))
    table = uniformity_table(ranks)
    written = [write_text(out / "summary.csv", table.to_csv(index=False))]
    written.append(write_text(out / "summary.md", summary_markdown(ranks, table)))
    if figures:
        from secdilemma.plotting.calibration import plot_rank_ecdf, plot_rank_histograms
        from secdilemma.plotting.style import save_figure

        written += save_figure(plot_rank_histograms(ranks), out / "figures" / f"ranks_{variant}")
        written += save_figure(plot_rank_ecdf(ranks), out / "figures" / f"ecdf_{variant}")
    return written
