"""Robustness of the headline comparison to the coding of the moves (issue 12, items 5a/5b).

``secdilemma report --robustness`` refits the report's variants under each
named coding (:data:`secdilemma.data.codings.CODINGS`: NMC and SIPRI spending,
growth thresholds 2.5, 5 and 10 %) and compares them again, so the reader sees
whether the verdict depends on how the moves were coded. One table
(``tables/robustness.csv`` and ``.md``), one row per coding:

- ``n_dyads`` and ``dyads``: a SIPRI coding keeps only the dyads both of whose
  sides SIPRI covers (:func:`secdilemma.data.codings.coded_panel`); the others
  are named;
- ``best``, ``runner_up``, ``elpd_diff`` (best minus runner-up) ± ``se`` (of
  the difference), ``weight`` (stacking weight of the best);
- ``verdict``: the best model's name where the difference exceeds
  :data:`secdilemma.reporting.SE_MULTIPLE` standard errors, else
  ``no verdict`` (the report's rule; always ``no verdict`` on a single dyad,
  whose difference has no standard error); ``same_verdict``: whether it is the
  verdict under the bundled coding ``nmc-5`` (computed in the same way).

To keep it affordable the comparison is PSIS-LOO only (no K-fold refits),
with the dyad as the unit; the ``nmc-5`` row uses the report's own fits (the
bundled panel is the ``nmc-5`` coding), the others are fitted with the
report's sampler settings. Codings are defined for the bundled panels only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

BUNDLED_CODING = "nmc-5"
"""The coding of the bundled panels: the baseline of ``same_verdict``."""

METHOD = "PSIS-LOO only (no K-fold refits), the dyad as the unit"
"""How each coding's comparison is made."""


@dataclass
class Robustness:
    """The robustness table and the comparison behind each row.

    Attributes
    ----------
    table
        One row per coding (module docstring).
    comparisons
        Coding -> its :class:`secdilemma.reporting.Comparison` (absent for a
        coding that keeps none of the report's dyads).
    method
        :data:`METHOD`.
    """

    table: pd.DataFrame
    comparisons: dict[str, Any] = field(default_factory=dict)
    method: str = METHOD


def robustness_panel(panel: xr.Dataset | str | Path | None) -> str:
    """The bundled panel a robustness check recodes: ``"dyads"`` or ``"rivalries"``.

    Raises
    ------
    ValueError
        If ``panel`` is a custom panel (a Dataset or a file): the codings are
        defined for the bundled panels only.
    """
    from secdilemma.pipeline import BUNDLED_PANELS

    if panel is None:
        return "dyads"
    if isinstance(panel, (str, Path)) and str(panel) in BUNDLED_PANELS and not Path(panel).exists():
        return str(panel)
    shown = "a Dataset" if isinstance(panel, xr.Dataset) else str(panel)
    raise ValueError(
        f"--robustness: the codings are defined for the bundled panels only "
        f"({', '.join(BUNDLED_PANELS)}); --panel {shown} is a custom panel (recode it with "
        "`secdilemma data build` and report on each build instead)"
    )


def check_codings(codings: str | Sequence[str] | None = None) -> list[str]:
    """Coding names, validated, in the order of ``CODINGS``, ``nmc-5`` always included.

    Parameters
    ----------
    codings
        ``None`` for all of them, or names (comma-separated or a sequence).

    Raises
    ------
    ValueError
        On an unknown coding (the message lists the known ones).
    """
    from secdilemma.data.codings import CODINGS, coding

    if codings is None:
        return [c.name for c in CODINGS]
    items = codings.split(",") if isinstance(codings, str) else list(codings)
    chosen = set()
    for item in (str(i).strip() for i in items):
        if item:
            try:
                chosen.add(coding(item).name)
            except ValueError as err:
                raise ValueError(f"--codings: {err}") from None
    chosen.add(BUNDLED_CODING)
    return [c.name for c in CODINGS if c.name in chosen]


def coding_robustness(
    panel: str,
    dyads: Sequence[str],
    variants: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    codings: Sequence[str] | None = None,
    bundled: Mapping[str, xr.DataTree] | None = None,
    fit_options: Mapping[str, Any] | None = None,
    progress_bar: bool = False,
    echo: Callable[[str], None] | None = None,
) -> Robustness:
    """Refit and compare the variants under each coding (module docstring).

    Parameters
    ----------
    panel
        ``"dyads"`` or ``"rivalries"``.
    dyads
        The report's dyads (a SIPRI coding keeps those SIPRI covers).
    variants
        Name -> variant specification (:func:`secdilemma.model.variants.load_variant`).
    settings
        Sampler settings (``draws, tune, chains, seed``).
    codings
        Names (:func:`check_codings`; default all).
    bundled
        The report's fits of the bundled coding, used for its row instead of
        refitting (they must be fits of the ``nmc-5`` panel of these dyads).
    fit_options
        Further options of the fits (``group_by``, ``beliefs``).
    progress_bar, echo
        Sampler progress bars; progress messages.

    Returns
    -------
    Robustness
    """
    from secdilemma.data.codings import coded_panel, coding
    from secdilemma.pipeline import _compare, _fit_quietly
    from secdilemma.reporting import verdicts

    names = check_codings(codings)
    options = dict(fit_options or {})
    rows: list[dict[str, Any]] = []
    comparisons = {}
    for k, name in enumerate(names, start=1):
        step = f"[robustness {k}/{len(names)}] {name}"
        data = coded_panel(name, panel)
        have = {str(d) for d in data["dyad"].values}
        keep = [d for d in dyads if d in have]
        left_out = [d for d in dyads if d not in have]
        source = coding(name).source
        row: dict[str, Any] = {
            "coding": name,
            "n_dyads": len(keep),
            "dyads": (
                ("SIPRI-covered dyads only" + (f"; left out: {' '.join(left_out)}" if left_out
                                               else "; all covered"))
                if source == "sipri" else "all"
            ),
        }  # fmt: skip
        if not keep:
            if echo is not None:
                echo(f"{step}: no dyad of the report is covered; skipped")
            rows.append(row | {"verdict": "no dyads", "fits": ""})
            continue
        data = data.sel(dyad=keep)
        if name == BUNDLED_CODING and bundled is not None:
            fits = dict(bundled)
            row["fits"] = "the report's"
        else:
            fits = {}
            for variant, spec in variants.items():
                if echo is not None:
                    echo(f"{step}: fitting {variant} to {len(keep)} dyads ...")
                fits[variant] = _fit_quietly(data, spec, dict(settings), progress_bar, **options)
            row["fits"] = (
                f"fitted, {settings['chains']} x ({settings['tune']} + {settings['draws']})"
            )
        row["flagged"] = " ".join(v for v, f in fits.items() if not f.attrs.get("diagnostics_ok"))
        with warnings.catch_warnings():
            # One dyad (a SIPRI coding of a small selection): its pointwise LOO is its sum,
            # which ArviZ warns about; the table's n_dyads says so.
            warnings.filterwarnings("ignore", "The point-wise LOO is the same", UserWarning)
            comparison = _compare(
                fits,
                kfold=False,
                panel=data,
                seed=int(settings["seed"]),
                without_kfold="the robustness check does not refit them",
            )
        comparisons[name] = comparison
        table = comparison.table
        best = str(table.index[0])
        row |= {"best": best, "weight": float(table.loc[best, "weight"])}
        vs = verdicts(comparison)
        if vs:
            runner = vs[0]
            row |= {
                "runner_up": runner["other"],
                "elpd_diff": runner["difference"],
                "se": runner["se"],
                # One dyad has no standard error of a difference (se 0): no verdict.
                "verdict": best if runner["decided"] and len(keep) > 1 else "no verdict",
            }
        else:
            row["verdict"] = "one model: no comparison"
        rows.append(row)
    out = pd.DataFrame(rows)
    base = out.loc[out["coding"] == BUNDLED_CODING, "verdict"]
    baseline = base.iloc[0] if len(base) else None
    out["same_verdict"] = [
        bool(v == baseline) if c != BUNDLED_CODING else True
        for c, v in zip(out["coding"], out["verdict"], strict=True)
    ]
    columns = ["coding", "n_dyads", "dyads", "best", "runner_up", "elpd_diff", "se", "weight",
               "verdict", "same_verdict", "fits", "flagged"]  # fmt: skip
    for c in columns:
        if c not in out:
            out[c] = pd.NA
    return Robustness(table=out[columns], comparisons=comparisons)


def robustness_sentence(robust: Robustness) -> str:
    """One sentence for ``report.md``: whether the verdict survives the recodings."""
    table = robust.table
    base = table[table["coding"] == BUNDLED_CODING]
    others = table[(table["coding"] != BUNDLED_CODING) & (table["n_dyads"] > 0)]
    verdict = base["verdict"].iloc[0] if len(base) else "n/a"
    said = f"**{verdict}**" if verdict != "no verdict" else "no verdict"
    same = others[others["same_verdict"].astype(bool)]
    differ = others[~others["same_verdict"].astype(bool)]
    text = (
        f"Under the bundled coding ({BUNDLED_CODING}) the comparison gives {said}; "
        f"{len(same)} of {len(others)} other codings give the same verdict"
    )
    if len(differ):
        text += " (not: " + ", ".join(f"{r.coding}: {r.verdict}" for r in differ.itertuples()) + ")"
    return text + f". Comparisons: {robust.method}."
