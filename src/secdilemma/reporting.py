"""The report's tables and its text: what the fits say, in numbers and in plain words.

:func:`secdilemma.pipeline.report` fits (or reuses) the variants, compares
them, checks them against history and reruns history with sensible beliefs;
this module turns those results into

- tables (:class:`pandas.DataFrame`, written as CSV and Markdown):
  :func:`diagnostics_table`, :func:`states_table` (per state: the headline
  model's ``p_misplaced`` with its uncertainty and contraction),
  :func:`dyads_table` (per dyad: each model's PSIS-LOO term),
  :func:`ppc_summary` (how often each model's replicates miss history),
  :func:`counterfactual_table`, :func:`contraction_table`;
- :func:`render_report`: ``report.md``, flagged fits named at the top.

Reading rules (stated in the report itself):

- a state's beliefs read as *misplaced certainty* when the headline model's
  posterior probability of that regime (the mean of ``p_misplaced``) is at
  least :data:`DECIDED` = 0.8, as *sensible* when it is at most 0.2, and as
  *undecided* otherwise; a state whose regime the data barely inform
  (posterior contraction below 0.1, :mod:`secdilemma.model.contraction`) is
  marked so whatever its probability;
- a comparison gives *no verdict* between two models whose elpd difference
  is within :data:`SE_MULTIPLE` = 2 standard errors of the difference;
- a predictive p-value outside [0.05, 0.95] (:data:`EXTREME`) marks a
  statistic the model does not reproduce;
- a counterfactual changes escalation when the 90 % interval of the change
  excludes 0.

Nothing here imports PyMC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from secdilemma.analysis import statistics
from secdilemma.model import schema
from secdilemma.model.contraction import fit_contraction
from secdilemma.model.io import fit_diagnostics

DECIDED = 0.8
"""Posterior probability of a regime from which a state's beliefs read as that regime."""

SE_MULTIPLE = 2.0
"""An elpd difference within this many standard errors gives no verdict."""

EXTREME = (0.05, 0.95)
"""Predictive mid-p values outside this range mark a statistic not reproduced."""

BELIEF_FORMATION = {
    "mixture": "observer regimes: each state either sensible or misplaced-certain",
    "sensible": "sensible beliefs that track the other's intent",
    "misplaced_certainty": "misplaced certainty: a pessimistic prior hardening into certainty",
    "free": "the encompassing model: each state's prior, discount and sensibility free",
}
"""Variant -> the belief formation it stands for, in plain words."""


@dataclass
class FitRecord:
    """One fit of the report and where it came from.

    Attributes
    ----------
    variant
        Variant name.
    fit
        The fit.
    source
        ``"reused"`` (a reference fit whose provenance matches), ``"given"``
        (passed by the user) or ``"fitted"`` (by this run).
    path
        Where the fit is stored (reference file, given file, or the report's
        ``fits/`` folder).
    note
        Why it was reused or refitted, in one line.
    settings
        The sampler settings the fit recorded (draws, tune, chains, seed).
    """

    variant: str
    fit: xr.DataTree
    source: str
    path: Path | None
    note: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every diagnostic passed (``diagnostics_ok``)."""
        return bool(self.fit.attrs.get("diagnostics_ok", 0))


@dataclass
class Comparison:
    """A model comparison for the report (:func:`secdilemma.pipeline._compare`).

    Attributes
    ----------
    table
        :func:`arviz_stats.compare` (index: variant, best first; ``elpd``, ``se``,
        ``p``, ``elpd_diff``, ``dse``, ``weight`` ...).
    pointwise
        One row per variant and dyad: ``elpd_loo`` (the dyad's LOO term: PSIS,
        or the K-fold refit's where the dyad was refitted), ``elpd_psis``,
        ``pareto_k`` (of PSIS) and ``refitted``.
    method
        What was computed, e.g. ``"PSIS-LOO"``.
    notes
        Caveats in plain words (quick mode, Pareto k > 0.7 without K-fold ...).
    """

    table: pd.DataFrame
    pointwise: pd.DataFrame
    method: str
    notes: list[str] = field(default_factory=list)


POPULATION_FIGURES_LEFT_OUT = (
    "the coded moves, the belief paths, the per-dyad predictive histograms and rootograms, "
    "and each counterfactual's history"
)
"""Figures with one panel per dyad, left out of a population report (110 panels each)."""


def markdown_table(table: pd.DataFrame, *, digits: int = 3) -> str:
    """A table as GitHub Markdown, NaN as blank.

    Floats are written to ``digits`` significant places, and with one decimal
    from ``10**digits`` on (an elpd reads -2131.5, not -2.13e+03).
    """

    def cell(value: Any) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if value is pd.NA:
            return ""
        if isinstance(value, (bool, np.bool_)):
            return "yes" if value else "no"
        if isinstance(value, (float, np.floating)):
            if abs(float(value)) >= 10**digits:
                return f"{float(value):.1f}"
            return f"{float(value):.{digits}g}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _quantiles(values: xr.DataArray) -> tuple[float, float, float]:
    """Mean, 5 % and 95 % quantiles over ``(chain, draw)``."""
    flat = np.asarray(values.values, dtype=float).ravel()
    q05, q95 = np.quantile(flat, [0.05, 0.95])
    return float(flat.mean()), float(q05), float(q95)


def _states(panel: xr.Dataset | None, dyad: str, side: int) -> str:
    if panel is None or "state" not in panel.coords:
        return f"side {side}"
    return str(panel["state"].sel(dyad=dyad, side=side).item())


def diagnostics_table(records: Sequence[FitRecord]) -> pd.DataFrame:
    """Per fit: where it came from, its settings and every diagnostic."""
    rows = []
    for r in records:
        d = fit_diagnostics(r.fit)
        finite = {k: v for k, v in d.ess_bulk_min.items() if np.isfinite(v)}
        tails = {k: v for k, v in d.ess_tail_min.items() if np.isfinite(v)}
        rhats = {k: v for k, v in d.rhat_max.items() if np.isfinite(v)}
        worst_rhat = max(rhats, key=rhats.get) if rhats else ""  # type: ignore[arg-type]
        worst_ess = min(finite, key=finite.get) if finite else ""  # type: ignore[arg-type]
        worst_tail = min(tails, key=tails.get) if tails else ""  # type: ignore[arg-type]
        rows.append(
            {
                "variant": r.variant,
                "source": r.source,
                "file": "" if r.path is None else str(r.path),
                "settings": (
                    f"{r.settings.get('chains')} x ({r.settings.get('tune')} + "
                    f"{r.settings.get('draws')}), seed {r.settings.get('seed')}"
                ),
                "diagnostics_ok": r.ok,
                "divergences": d.n_divergent,
                "max_rhat": rhats.get(worst_rhat, np.nan),
                "max_rhat_of": worst_rhat,
                "min_ess_bulk": finite.get(worst_ess, np.nan),
                "min_ess_bulk_of": worst_ess,
                "min_ess_tail": tails.get(worst_tail, np.nan),
                "min_ebfmi": min(d.ebfmi) if d.ebfmi else np.nan,
                "failures": "; ".join(d.failures),
            }
        )
    return pd.DataFrame(rows)


def _weak(fit: xr.DataTree) -> set[str]:
    """Labels ``quantity[dyad/side]`` of the fit's barely informed quantities."""
    return {
        row["quantity"] + (f"[{row['element']}]" if row["element"] else "")
        for row in fit_contraction(fit)
        if row["weak"]
    }


def _reading(p: float, weak: bool) -> str:
    if p >= DECIDED:
        word = "misplaced certainty"
    elif p <= 1 - DECIDED:
        word = "sensible"
    else:
        word = "undecided"
    return word + (" (barely informed by the data)" if weak else "")


def states_table(fit: xr.DataTree, panel: xr.Dataset | None = None) -> pd.DataFrame:
    """Per observing state: its regime (``p_misplaced``), intent and misplaced certainty.

    For a fit with observer regimes, ``p_misplaced`` is the posterior
    probability that the state formed its beliefs with misplaced certainty
    (mean over draws), with the 5 % / 95 % quantiles of its per-draw
    conditional value, whether its contraction is below 0.1 (``weak``) and
    the reading of the module docstring. For per-state variants the
    columns ``l0, w, s`` (posterior means) take its place.
    """
    post = fit[schema.POSTERIOR].to_dataset()
    weak = _weak(fit)
    rows = []
    for dyad in [str(d) for d in post[schema.DYAD].values]:
        for side in (0, 1):
            at = {schema.DYAD: dyad, schema.SIDE: side}
            row: dict[str, Any] = {"dyad": dyad, "side": side, "state": _states(panel, dyad, side)}
            if schema.P_MISPLACED in post:
                mean, q05, q95 = _quantiles(post[schema.P_MISPLACED].sel(at))
                is_weak = f"{schema.P_MISPLACED}[{dyad}/{side}]" in weak
                row |= {
                    "p_misplaced": mean,
                    "p_misplaced_q05": q05,
                    "p_misplaced_q95": q95,
                    "weak": is_weak,
                    "reading": _reading(mean, is_weak),
                }
            else:
                for name in schema.BELIEF_PARAMETERS:
                    if name in post:
                        row[name] = float(post[name].sel(at).mean())
            row["p_malign"] = float(post[schema.P_MALIGN].sel(at).mean())
            mean, q05, q95 = _quantiles(post[schema.MISPLACED_CERTAINTY].sel(at))
            row |= {
                "misplaced_certainty": mean,
                "misplaced_certainty_q05": q05,
                "misplaced_certainty_q95": q95,
            }
            rows.append(row)
    return pd.DataFrame(rows)


def dyads_table(comparison: Comparison, panel: xr.Dataset | None = None) -> pd.DataFrame:
    """Per dyad: each model's PSIS-LOO term and Pareto k, and the model it favours."""
    wide = comparison.pointwise.pivot(index="dyad", columns="variant", values="elpd_loo")
    kmax = comparison.pointwise.groupby("dyad")["pareto_k"].max()
    order = list(dict.fromkeys(comparison.pointwise["dyad"]))
    variants = [v for v in comparison.table.index if v in wide.columns]
    rows = []
    for dyad in order:
        row: dict[str, Any] = {"dyad": dyad}
        states = "-".join(_states(panel, dyad, s) for s in (0, 1))
        if panel is not None and "state" in panel.coords and states != dyad:
            row["states"] = states
        for v in variants:
            row[f"elpd_loo_{v}"] = float(wide.loc[dyad, v])
        row["favours"] = max(variants, key=lambda v: wide.loc[dyad, v]) if variants else ""
        row["max_pareto_k"] = float(kmax.loc[dyad])
        rows.append(row)
    return pd.DataFrame(rows)


def ppc_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per variant and kind of check: dyad-level statistics not reproduced (p outside 5-95 %)."""
    rows = []
    dyad_rows = table[table["level"] == "dyad"]
    for (variant, kind), part in dyad_rows.groupby(["variant", "kind"], sort=False):
        defined = part.dropna(subset=["p_value"])
        low, high = EXTREME
        extreme = defined[(defined["p_value"] < low) | (defined["p_value"] > high)]
        rows.append(
            {
                "variant": variant,
                "kind": kind,
                "statistics": len(defined),
                "not_reproduced": len(extreme),
                "share_not_reproduced": len(extreme) / len(defined) if len(defined) else np.nan,
                "which": "; ".join(
                    f"{r.dyad} {statistics.SHORT_NAMES[r.statistic][0]} (p = {r.p_value:.2f})"
                    for r in extreme.itertuples()
                ),
            }
        )
    return pd.DataFrame(rows)


def counterfactual_table(trees: Sequence[xr.DataTree]) -> pd.DataFrame:
    """One row per counterfactual: the change in escalation with its 90 % interval."""
    rows = []
    for tree in trees:
        a = tree.attrs
        gen = tree["generative"]
        lo, hi = float(a["escalation_change_q05"]), float(a["escalation_change_q95"])
        if hi < 0:
            reading = "less escalation"
        elif lo > 0:
            reading = "more escalation"
        else:
            reading = "no clear change"
        rows.append(
            {
                "dyad": a["dyad"],
                "side": int(a["side"]),
                "state": a["state"],
                "beliefs": a["beliefs"],
                "from_year": int(a["from_year"]),
                "escalation_observed": float(a["escalation_rate_observed"]),
                "escalation_fitted": float(gen["escalation_rate_baseline"].mean()),
                "escalation_counterfactual": float(gen["escalation_rate_counterfactual"].mean()),
                "change": float(a["escalation_change_mean"]),
                "change_q05": lo,
                "change_q95": hi,
                "reading": reading,
            }
        )
    return pd.DataFrame(rows)


def contraction_table(records: Sequence[FitRecord]) -> pd.DataFrame:
    """Posterior contraction of every fit's shared parameters and latent traits."""
    rows = []
    for r in records:
        for row in fit_contraction(r.fit):
            rows.append({"variant": r.variant, **row})
    return pd.DataFrame(rows)


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def verdicts(comparison: Comparison) -> list[dict[str, Any]]:
    """The best model against each other one: difference, its se, and whether it decides."""
    table = comparison.table
    best = str(table.index[0])
    out = []
    for other in table.index[1:]:
        diff = -float(table.loc[other, "elpd_diff"])
        dse = float(table.loc[other, "dse"])
        out.append(
            {
                "best": best,
                "other": str(other),
                "difference": diff,
                "se": dse,
                "decided": bool(diff > SE_MULTIPLE * dse),
            }
        )
    return out


def render_report(
    *,
    records: Sequence[FitRecord],
    headline: str,
    comparison: Comparison,
    states: pd.DataFrame,
    dyads: pd.DataFrame,
    ppc: pd.DataFrame,
    counterfactuals: pd.DataFrame,
    diagnostics: pd.DataFrame,
    panel: xr.Dataset,
    quick: bool,
    settings: Mapping[str, Any],
    files: Sequence[str],
    groups: pd.DataFrame | None = None,
    grouped: bool = False,
    group_attribute: str | None = None,
    population: bool = False,
    robustness: Any = None,
) -> str:
    """``report.md``: flagged fits first, then the verdict, per-dyad readings, checks, caveats.

    Parameters
    ----------
    records
        The fits (:class:`FitRecord`), in the report's order.
    headline
        The headline variant (``mixture`` when fitted).
    comparison
        The model comparison.
    states, dyads, ppc, counterfactuals, diagnostics
        The tables (:func:`states_table`, :func:`dyads_table`,
        :func:`ppc_summary`, :func:`counterfactual_table`, :func:`diagnostics_table`).
    panel
        The panel fitted.
    quick
        Whether this is a ``--quick`` report.
    settings
        The report's settings (``ppc_draws``, ``counterfactual_draws`` ...), shown.
    files
        Paths of the files written, relative to the report's folder.
    groups
        P(misplaced certainty) by group
        (:func:`secdilemma.analysis.groups.group_table`) of the headline model:
        the section "P(misplaced certainty) by group" (omitted if ``None``).
    grouped
        Whether the headline fit's shares vary by group (``group_by``).
    group_attribute
        The dyad attribute of ``groups``.
    population
        Whether the panel is the whole population (the rivalry panel): the
        figures with one panel per dyad were left out, and the report says so.
    robustness
        The coding robustness (:class:`secdilemma.robustness.Robustness`): the
        section "Robustness to the coding" (omitted if ``None``).

    Returns
    -------
    str
        Markdown.
    """
    by_name = {r.variant: r for r in records}
    flagged = [r for r in records if not r.ok]
    n_dyads = panel.sizes[schema.DYAD]
    years = panel["year"].values
    lines = ["# secdilemma report", ""]
    ids = [str(d) for d in panel[schema.DYAD].values]
    shown_ids = ", ".join(ids[:20]) + (f", ... ({n_dyads - 20} more)" if n_dyads > 20 else "")
    lines += [
        ("The whole population: Thompson-Dreyer strategic rivalries. " if population else "")
        + f"Panel: {n_dyads} dyads ({shown_ids}), "
        f"{int(years.min())}-{int(years.max())}. Models: "
        + ", ".join(f"`{r.variant}`" for r in records)
        + f"; headline model `{headline}`."
        + (" **Quick report** (`--quick`)." if quick else ""),
        "",
    ]

    # 1. Flagged fits, first.
    lines.append("## Flagged fits")
    lines.append("")
    if flagged:
        lines.append(
            "These fits failed a sampler diagnostic (`diagnostics_ok = 0`): their draws may not "
            "represent the posterior (for example chains in one of several separated modes). "
            "Their results are shown below all the same, and every number from them carries "
            "this caveat."
        )
        lines.append("")
        for r in flagged:
            failures = fit_diagnostics(r.fit).failures
            lines.append(
                f"- **`{r.variant}`** ({r.source}"
                + (f", `{r.path}`" if r.path is not None else "")
                + "): "
                + "; ".join(_short(f) for f in failures)
            )
    else:
        lines.append("None: every fit passed every diagnostic.")
    lines.append("")

    # 2. Which belief formation the record supports.
    lines.append("## Which belief formation the record supports")
    lines.append("")
    method_note = f"Model comparison: {comparison.method}, the dyad as the unit"
    lines.append(method_note + ". " + " ".join(comparison.notes))
    lines.append("")
    vs = verdicts(comparison)
    best = str(comparison.table.index[0])
    weight = float(comparison.table.loc[best, "weight"])
    if not vs:
        lines.append(f"Only `{best}` was fitted: no comparison.")
    else:
        runner = vs[0]
        caveat = " (a flagged fit)" if best in by_name and not by_name[best].ok else ""
        if runner["decided"]:
            lines.append(
                f"The record favours **`{best}`**{caveat} — {BELIEF_FORMATION.get(best, best)} — "
                f"over the next best, `{runner['other']}`, by {runner['difference']:.1f} "
                f"± {runner['se']:.1f} in elpd (more than {SE_MULTIPLE:g} standard errors); "
                f"stacking weight {weight:.2f}."
            )
        else:
            lines.append(
                f"**No verdict** between `{best}`{caveat} and `{runner['other']}`: the elpd "
                f"difference, {runner['difference']:.1f} ± {runner['se']:.1f}, is within "
                f"{SE_MULTIPLE:g} standard errors. Stacking weight of `{best}`: {weight:.2f}."
            )
        for v in vs[1:]:
            if v["decided"]:
                text = f"`{best}` is favoured over `{v['other']}`"
            else:
                text = f"No verdict between `{best}` and `{v['other']}` either"
            lines.append(f"{text} ({v['difference']:.1f} ± {v['se']:.1f}).")
    lines.append("")
    lines.append(markdown_table(_comparison_columns(comparison.table)))

    # Per state: the headline model's regimes.
    lines.append(f"### For which dyads (headline model `{headline}`)")
    lines.append("")
    if "p_misplaced" in states:
        head = by_name[headline].fit[schema.POSTERIOR]
        if grouped:
            lines.append(
                f"The share of misplaced-certainty observers (`rho`) varies by "
                f"{group_attribute}: see *P(misplaced certainty) by group* below."
            )
            lines.append("")
        elif schema.RHO in head:
            mean, q05, q95 = _quantiles(head[schema.RHO])
            lines.append(
                f"Share of misplaced-certainty observers in the population (`rho`): "
                f"{mean:.2f} (90 % interval {q05:.2f}-{q95:.2f})."
            )
            lines.append("")
        counts = states["reading"].str.replace(" (barely informed by the data)", "").value_counts()
        lines.append(
            f"Per state, the posterior probability that its beliefs formed with misplaced "
            f"certainty (`p_misplaced`; >= {DECIDED:g} reads as misplaced certainty, <= "
            f"{1 - DECIDED:.1g} as sensible, otherwise undecided): "
            + ", ".join(f"{n} {k}" for k, n in counts.items())
            + f" of {len(states)} states."
        )
        lines.append("")
        for label in ("misplaced certainty", "sensible", "undecided"):
            chosen = states[states["reading"].str.startswith(label)]
            if len(chosen):
                names = ", ".join(
                    f"{r.state} ({r.dyad}, {r.p_misplaced:.2f}"
                    + (", barely informed" if r.weak else "")
                    + ")"
                    for r in chosen.itertuples()
                )
                lines.append(f"- **{label}**: {names}")
        lines.append("")
    lines.append(
        markdown_table(
            states[
                [
                    c
                    for c in (
                        "dyad",
                        "state",
                        "p_misplaced",
                        "p_misplaced_q05",
                        "p_misplaced_q95",
                        "reading",
                        "l0",
                        "w",
                        "s",
                        "p_malign",
                        "misplaced_certainty",
                    )
                    if c in states
                ]
            ]
        )
    )
    lines.append(
        "`misplaced_certainty` is the state's final belief that the other is malign minus the "
        "evidence-based probability that it is (positive: more certain of malice than the "
        "evidence supports)."
    )
    lines.append("")
    if len(dyads) and "favours" in dyads:
        lines.append(
            "Per dyad, each model's PSIS-LOO term (a single dyad's difference has no standard "
            "error of its own: read it as a hint, not a verdict):"
        )
        lines.append("")
        lines.append(markdown_table(dyads))

    if groups is not None:
        lines += _groups_section(groups, headline, grouped, group_attribute)

    # 3. How well each model reproduces history.
    lines.append("## How well each model reproduces history")
    lines.append("")
    low, high = EXTREME
    lines.append(
        "Posterior predictive checks (DESIGN §5): per dyad, five statistics (escalation rate, "
        "militarized rate, longest build-up run, de-escalations, lag-1 reactivity) of the "
        "observed moves against replicates, *conditional* (each move one step ahead given the "
        "observed history) and *generative* (each dyad run forward from its first year, so "
        f"spirals must emerge). A mid-p value outside [{low:g}, {high:g}] marks a statistic the "
        f"model does not reproduce. Replicates: {settings.get('ppc_draws')} draws per chain."
    )
    lines.append("")
    for r in ppc.itertuples():
        lines.append(
            f"- `{r.variant}`, {r.kind}: {r.not_reproduced} of {r.statistics} not reproduced"
            + (f" ({r.which})" if r.which else "")
        )
    lines.append("")

    # Counterfactuals.
    if len(counterfactuals):
        lines.append("## Counterfactual histories: each side with sensible beliefs")
        lines.append("")
        lines.append(
            f"Each dyad rerun (headline model `{headline}`) from its second year with one side's "
            "beliefs swapped to sensible ones (`l0 = 0, w = 1, s = 1`), against the same draws "
            "and random numbers with the fitted beliefs: the change in the escalation rate "
            "(both sides, rerun years) with its 90 % interval; "
            f"{settings.get('counterfactual_draws')} draws per chain."
        )
        lines.append("")
        tally = counterfactuals["reading"].value_counts()
        lines.append(
            "Of "
            + f"{len(counterfactuals)} swaps: "
            + ", ".join(f"{n} {k}" for k, n in tally.items())
            + "."
        )
        lines.append("")
        lines.append(
            markdown_table(
                counterfactuals[
                    [
                        "dyad",
                        "state",
                        "escalation_observed",
                        "escalation_fitted",
                        "escalation_counterfactual",
                        "change",
                        "change_q05",
                        "change_q95",
                        "reading",
                    ]
                ]
            )
        )

    if robustness is not None:
        from secdilemma.robustness import robustness_sentence

        lines.append("## Robustness to the coding")
        lines.append("")
        lines.append(
            "The comparison refitted under each coding of the moves (NMC or SIPRI spending "
            "growth, thresholds 2.5, 5 and 10 %); a SIPRI coding keeps only the dyads whose two "
            "sides SIPRI covers (column `dyads`). To keep it affordable every comparison here "
            "is PSIS-LOO only (no K-fold refits), so the bundled row may differ from the "
            "comparison above. `verdict`: the best model where its elpd difference to the "
            f"runner-up exceeds {SE_MULTIPLE:g} standard errors, else no verdict."
        )
        lines.append("")
        lines.append(robustness_sentence(robustness))
        lines.append("")
        lines.append(markdown_table(robustness.table))

    # 4. Diagnostics.
    lines.append("## Diagnostics")
    lines.append("")
    for r in records:
        lines.append(f"- `{r.variant}`: {r.note}.")
    lines.append("")
    lines.append(
        markdown_table(
            diagnostics[
                [
                    "variant",
                    "source",
                    "settings",
                    "diagnostics_ok",
                    "divergences",
                    "max_rhat",
                    "max_rhat_of",
                    "min_ess_bulk",
                    "min_ess_bulk_of",
                    "min_ebfmi",
                ]
            ]
        )
    )

    # 5. What the data cannot say.
    lines.append("## What the data cannot say")
    lines.append("")
    lines.append(
        "Posterior contraction `1 - Var(posterior) / Var(prior)` below 0.1 marks a quantity the "
        "data barely inform: its posterior is mostly its prior. Once a state's belief saturates "
        "early, the moves that follow say little about how it got there, so its regime, prior "
        "and discount are then not identified."
    )
    lines.append("")
    for r in records:
        weak = sorted(_weak(r.fit))
        if weak:
            lines.append(f"- `{r.variant}`: {len(weak)} barely informed: {', '.join(weak)}")
        else:
            lines.append(f"- `{r.variant}`: every reported quantity contracted by 0.1 or more")
    lines.append("")

    lines.append("## Files")
    lines.append("")
    lines.append(
        "Tables as CSV and Markdown in `tables/`, figures as PNG and PDF in `figures/`, fits "
        "made by this run in `fits/` (compact netCDF with manifests). Written by this run:"
    )
    lines.append("")
    lines += [f"- `{f}`" for f in files]
    lines.append("")
    if population:
        lines.append(
            f"Left out for the population (one panel per dyad, {n_dyads} panels each): "
            f"{POPULATION_FIGURES_LEFT_OUT}. Draw them for chosen dyads with "
            "`secdilemma.plotting` (e.g. `plot_belief_paths(fit, dyads=[...])`)."
        )
        lines.append("")
    return "\n".join(lines)


def _groups_section(
    groups: pd.DataFrame, headline: str, grouped: bool, attribute: str | None
) -> list[str]:
    """The section "P(misplaced certainty) by group" of ``report.md``."""
    lines = ["## P(misplaced certainty) by group", ""]
    if grouped:
        lines.append(
            f"The headline model `{headline}` with the share of misplaced-certainty observers "
            f"varying by {attribute}, hierarchically (`logit rho[g] = mu_rho + sigma_rho z[g]`): "
            "each group's `rho` (posterior mean and 90 % interval) and, over its states, the "
            f"mean posterior probability of misplaced certainty (`p_misplaced`); "
            f"`states_misplaced` counts states with `p_misplaced` >= {DECIDED:g}."
        )
    else:
        lines.append(
            f"The headline model `{headline}` has one population share `rho` (first row); its "
            f"states are shown by {attribute} (fit with `--group-by {attribute}` to let `rho` "
            f"vary by group). `states_misplaced` counts states with `p_misplaced` >= {DECIDED:g}."
        )
    lines.append("")
    lines.append(markdown_table(groups.rename(columns={"group": attribute or "group"})))
    lines.append(
        "Figure: `figures/misplaced_by_group.png` (each group's `rho` with 50 and 90 % "
        "intervals; per dyad, both sides' `p_misplaced`)."
    )
    lines.append("")
    lines.append("![P(misplaced certainty) by group](figures/misplaced_by_group.png)")
    lines.append("")
    return lines


def _comparison_columns(table: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with its model as a column and the informative columns only."""
    # The index names the fit (the report fits each variant once, under its name).
    shown = table.drop(columns=["variant"], errors="ignore").reset_index(names="variant")
    keep = ("variant", "rank", "elpd", "se", "p", "elpd_diff", "dse", "weight", "method",
            "refitted", "mc_se", "diagnostics_ok")  # fmt: skip
    return shown[[c for c in keep if c in shown]]


def write_tables(
    tables: Mapping[str, pd.DataFrame], folder: Path, *, markdown: bool = True
) -> list[Path]:
    """Write each table as ``NAME.csv`` (and ``NAME.md``) in ``folder``, atomically."""
    from secdilemma.files import atomic_path, write_text

    written = []
    for name, table in tables.items():
        path = folder / f"{name}.csv"
        with atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        written.append(path)
        if markdown:
            written.append(write_text(folder / f"{name}.md", markdown_table(table)))
    return written
