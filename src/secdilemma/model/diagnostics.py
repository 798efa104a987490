"""Sampler diagnostics that make a bad posterior fail loudly.

After every fit :func:`check_fit` computes, with ArviZ 1.x
(:mod:`arviz_stats`):

- divergent transitions (``sample_stats.diverging``): any is a failure;
- rank-normalised split R-hat (Vehtari et al. 2021): every sampled parameter
  element must have ``R-hat <= 1.01``;
- bulk and tail ESS: every element at least ``100 * n_chains`` (100 per
  chain, i.e. 400 for the default 4 chains, the recommendation of Vehtari et
  al. 2021 for reliable R-hat and quantile estimates);
- E-BFMI per chain (Betancourt 2016) at least 0.3.

Checks run on the sampled parameters (the model's free variables: ``beta``,
``sigma_w``, ``z_w`` ...), not on deterministics, which are functions of them
and may be constant (e.g. a fixed ``s``), making R-hat undefined. A NaN R-hat
or ESS of a sampled parameter (a stuck chain) is itself a failure.

Failures are collected in a :class:`Diagnostics` record (stored as JSON with
the fit, with ``ok`` as the flag) and announced by :func:`warn_if_failed` as a
:class:`FitDiagnosticsWarning` naming the parameters concerned.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import arviz_stats as azs
import numpy as np
import xarray as xr


class FitDiagnosticsWarning(UserWarning):
    """A fit failed a sampler diagnostic: do not trust its posterior as is."""


@dataclass(frozen=True)
class Thresholds:
    """Pass/fail thresholds of the diagnostics.

    Attributes
    ----------
    rhat_max
        Largest acceptable R-hat.
    ess_per_chain
        Smallest acceptable bulk and tail ESS per chain (times the number of
        chains gives the total).
    ebfmi_min
        Smallest acceptable E-BFMI of any chain.
    max_divergences
        Largest acceptable number of divergent transitions.
    """

    rhat_max: float = 1.01
    ess_per_chain: float = 100.0
    ebfmi_min: float = 0.3
    max_divergences: int = 0


@dataclass
class Diagnostics:
    """Outcome of :func:`check_fit`.

    Attributes
    ----------
    n_chains, n_draws
        Posterior size.
    n_divergent
        Divergent transitions after warm-up.
    rhat_max
        Worst R-hat per parameter.
    ess_bulk_min, ess_tail_min
        Smallest bulk and tail ESS per parameter.
    ebfmi
        E-BFMI per chain.
    failures
        One message per failed check, naming the parameters concerned.
    flagged
        Check name (``rhat``, ``ess_bulk``, ``ess_tail``) -> flagged parameter
        elements (e.g. ``"z_w[USA-RUS, 1]"``).
    thresholds
        The thresholds used.
    """

    n_chains: int
    n_draws: int
    n_divergent: int
    rhat_max: dict[str, float]
    ess_bulk_min: dict[str, float]
    ess_tail_min: dict[str, float]
    ebfmi: list[float]
    failures: list[str] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def ok(self) -> bool:
        """``True`` when every check passed."""
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python form (JSON-serialisable; NaN as ``None``)."""
        out = asdict(self)
        out["ok"] = self.ok
        return _nan_to_none(out)

    def to_json(self) -> str:
        """JSON form, stored in the attrs of every fit."""
        return json.dumps(self.as_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Diagnostics:
        """Inverse of :meth:`to_json`."""
        data = json.loads(text)
        data.pop("ok", None)
        data["thresholds"] = Thresholds(**data["thresholds"])
        for key in ("rhat_max", "ess_bulk_min", "ess_tail_min"):
            data[key] = {k: np.nan if v is None else v for k, v in data[key].items()}
        data["ebfmi"] = [np.nan if v is None else v for v in data["ebfmi"]]
        return cls(**data)

    def summary(self) -> str:
        """One line per check, for reports and the CLI."""
        lines = [
            f"divergences: {self.n_divergent} of {self.n_chains * self.n_draws} draws",
            "max R-hat: " + _worst(self.rhat_max, max),
            "min bulk ESS: " + _worst(self.ess_bulk_min, min),
            "min tail ESS: " + _worst(self.ess_tail_min, min),
            "E-BFMI per chain: " + ", ".join(f"{v:.2f}" for v in self.ebfmi),
        ]
        status = "all diagnostics passed" if self.ok else "FAILED: " + "; ".join(self.failures)
        return "\n".join([*lines, status])


def _worst(values: dict[str, float], pick: Any) -> str:
    finite = {k: v for k, v in values.items() if np.isfinite(v)}
    if not finite:
        return "n/a"
    name = pick(finite, key=finite.__getitem__)
    return f"{finite[name]:.3g} ({name})"


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _element_labels(da: xr.DataArray, bad: np.ndarray) -> list[str]:
    """``name[coord, coord]`` labels of the flagged elements of ``da``."""
    if da.ndim == 0:
        return [str(da.name)] if bool(bad) else []
    labels = []
    for index in np.argwhere(bad):
        coords = [str(da[dim].values[i]) for dim, i in zip(da.dims, index, strict=True)]
        labels.append(f"{da.name}[{', '.join(coords)}]")
    return labels


def _describe(labels: list[str], limit: int = 5) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def check_fit(
    fit: xr.DataTree,
    var_names: Sequence[str] | None = None,
    thresholds: Thresholds | None = None,
) -> Diagnostics:
    """Compute the sampler diagnostics of a fit and list what fails.

    Parameters
    ----------
    fit
        DataTree with ``posterior`` and ``sample_stats`` (``diverging``,
        ``energy``) groups.
    var_names
        Parameters to check for R-hat and ESS; by default those listed in the
        fit's ``free_variables`` attr (set by :func:`secdilemma.model.sampling.fit`),
        else every posterior variable.
    thresholds
        Pass/fail thresholds (defaults: :class:`Thresholds`).

    Returns
    -------
    Diagnostics
    """
    thresholds = thresholds or Thresholds()
    posterior = fit["posterior"].to_dataset()
    if var_names is None:
        listed = fit.attrs.get("free_variables")
        var_names = json.loads(listed) if listed else list(posterior.data_vars)
    var_names = [v for v in var_names if v in posterior]
    params = posterior[var_names]
    n_chains, n_draws = int(posterior.sizes["chain"]), int(posterior.sizes["draw"])
    ess_min = thresholds.ess_per_chain * n_chains

    failures: list[str] = []
    flagged: dict[str, list[str]] = {}

    stats = fit["sample_stats"].to_dataset() if "sample_stats" in fit.children else None
    n_divergent = 0
    if stats is not None and "diverging" in stats:
        n_divergent = int(stats["diverging"].sum())
    if n_divergent > thresholds.max_divergences:
        failures.append(
            f"{n_divergent} divergent transitions in {n_chains * n_draws} draws "
            "(reparametrise, tighten priors on scales or raise target_accept)"
        )
    ebfmi: list[float] = []
    if stats is not None and "energy" in stats:
        ebfmi = [float(v) for v in np.atleast_1d(azs.bfmi(stats["energy"]).values)]
        low = [c for c, v in enumerate(ebfmi) if not v >= thresholds.ebfmi_min]
        if low:
            failures.append(
                f"E-BFMI below {thresholds.ebfmi_min} in chain(s) {low}: "
                + ", ".join(f"{ebfmi[c]:.2f}" for c in low)
            )

    rhat = azs.rhat(params)
    ess_bulk = azs.ess(params, method="bulk")
    ess_tail = azs.ess(params, method="tail")
    checks = (
        ("rhat", rhat, lambda v: ~(v <= thresholds.rhat_max), f"R-hat > {thresholds.rhat_max}"),
        ("ess_bulk", ess_bulk, lambda v: ~(v >= ess_min), f"bulk ESS < {ess_min:g}"),
        ("ess_tail", ess_tail, lambda v: ~(v >= ess_min), f"tail ESS < {ess_min:g}"),
    )
    for key, values, is_bad, text in checks:
        labels: list[str] = []
        for name in var_names:
            labels += _element_labels(values[name], np.asarray(is_bad(values[name].values)))
        if labels:
            flagged[key] = labels
            failures.append(f"{text} (NaN counts as failed) for {_describe(labels)}")

    def per_param(ds: xr.Dataset, reduce: Any) -> dict[str, float]:
        return {name: float(reduce(ds[name].values)) for name in var_names}

    return Diagnostics(
        n_chains=n_chains,
        n_draws=n_draws,
        n_divergent=n_divergent,
        rhat_max=per_param(rhat, np.max),
        ess_bulk_min=per_param(ess_bulk, np.min),
        ess_tail_min=per_param(ess_tail, np.min),
        ebfmi=ebfmi,
        failures=failures,
        flagged=flagged,
        thresholds=thresholds,
    )


def warn_if_failed(diagnostics: Diagnostics, *, label: str = "fit", stacklevel: int = 2) -> None:
    """Issue a :class:`FitDiagnosticsWarning` listing every failed check.

    Parameters
    ----------
    diagnostics
        Outcome of :func:`check_fit`.
    label
        What was fitted (e.g. the variant name), for the message.
    stacklevel
        Passed to :func:`warnings.warn`.
    """
    if diagnostics.ok:
        return
    warnings.warn(
        f"{label}: sampler diagnostics failed, the posterior is not reliable as is:\n  - "
        + "\n  - ".join(diagnostics.failures),
        FitDiagnosticsWarning,
        stacklevel=stacklevel + 1,
    )
