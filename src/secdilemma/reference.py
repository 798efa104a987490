"""Reference fits: the committed fits of the bundled panel, and when a saved fit may be reused.

The report (:func:`secdilemma.pipeline.report`) and the notebooks fit every
variant to the bundled historical panel. Those fits take minutes, so the ones
the report makes with its default settings are committed, compact
(:func:`secdilemma.model.io.compact_fit`, ~5 MB each), with their manifests,
as ``models/VARIANT_historical.nc`` (:func:`reference_path`), and reused
instead of refitted when their provenance matches.

The rule (:func:`mismatches`). A saved fit is reused in place of fitting
``variant`` to ``panel`` with ``settings`` only if all of these hold:

1. the **panel** is the one fitted: same :func:`~secdilemma.model.io.panel_sha256`
   (the moves, dyads, sides and years the likelihood reads);
2. the **variant specification** is the same (every prior, fixed value and
   regime: :class:`~secdilemma.model.variants.Variant` equality), not just
   the name;
3. the **sampler settings** that shape the draws are the same
   (:data:`MATCHED_SETTINGS`: draws, tune, chains, seed, target acceptance,
   initialisation, mass-matrix adaptation, belief method, extra sampler
   arguments) and the sampler used was the one asked for; progress bars,
   cores and timings do not matter;
4. the **package version** (``secdilemma``) is the same: a release may change
   the model, the sampler's pilot or the diagnostics;
5. the fit is **complete** (not an interrupted run kept with
   ``keep_partial``) and its file passes its checksum
   (:func:`~secdilemma.model.io.load_fit`);
6. the **likelihood still holds**: the fit's stored pointwise log-likelihood
   of a few draws equals the one the current code computes from those
   draws' parameters (:func:`secdilemma.analysis.likelihood.log_likelihood`,
   to :data:`LIKELIHOOD_TOLERANCE`), so a change to the model's equations
   that forgot to bump the version still forces a refit.

Library versions (PyMC, nutpie, numba, NumPy ...) are not part of the rule:
they can change the draws bit for bit, not the posterior the draws are from.
They stay recorded in every fit and manifest. Whether the diagnostics passed
is not part of it either: a flagged reference fit is reused and stays
flagged, and the report names it.

Regenerate the reference fits with ``make reference-fits`` (``secdilemma
report --refit --update-references``). Nothing here imports PyMC.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from secdilemma.model import schema
from secdilemma.model.io import fit_info, load_fit, panel_sha256
from secdilemma.model.variants import Variant, load_variant

REFERENCE_SETTINGS: dict[str, Any] = {"draws": 1000, "tune": 1000, "chains": 4, "seed": 20261201}
"""Sampler settings of the reference fits (all other :func:`secdilemma.fit` arguments at
their defaults)."""

SETTING_DEFAULTS: dict[str, Any] = {
    "target_accept": 0.8,
    "init": "pilot",
    "adaptation": "low_rank",
    "belief_method": "op",
    "sampler_kwargs": {},
    "sampler": "nutpie",
}
"""Defaults of :func:`secdilemma.fit` for the matched settings not given explicitly."""

MATCHED_SETTINGS = (
    "draws",
    "tune",
    "chains",
    "seed",
    "target_accept",
    "init",
    "adaptation",
    "belief_method",
    "sampler_kwargs",
)
"""Sampler settings (``sampler`` provenance attr) that must match for a fit to be reused."""

LIKELIHOOD_DRAWS = 8
"""Draws per chain whose log-likelihood is recomputed to check a fit against the code."""

LIKELIHOOD_TOLERANCE = 1e-6
"""Largest absolute difference (nats) between stored and recomputed log-likelihood terms."""

SUFFIX = "_historical"
"""Reference fits are ``VARIANT_historical.nc`` (their manifests ``VARIANT_historical.json``)."""


def reference_folder() -> Path:
    """The repository's ``models/`` folder (beside ``src/``), where reference fits live.

    An installed (non-editable) package has no such folder beside it: the
    path is returned all the same, and finding nothing there means fitting.
    """
    return Path(__file__).resolve().parents[2] / "models"


def reference_path(variant: str, folder: str | Path | None = None) -> Path:
    """``FOLDER/VARIANT_historical.nc`` (default folder :func:`reference_folder`)."""
    return Path(reference_folder() if folder is None else folder) / f"{variant}{SUFFIX}.nc"


def full_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with :data:`SETTING_DEFAULTS` filled in (what the fit will record)."""
    return {**SETTING_DEFAULTS, **settings}


def mismatches(
    fit: xr.DataTree,
    *,
    panel: xr.Dataset,
    variant: str | Path | Variant,
    settings: dict[str, Any],
    check_likelihood: bool = True,
) -> list[str]:
    """Why ``fit`` is not what fitting ``variant`` to ``panel`` with ``settings`` would make.

    Parameters
    ----------
    fit
        A loaded fit (:func:`~secdilemma.model.io.load_fit`, checksum verified).
    panel, variant
        What would be fitted.
    settings
        :func:`secdilemma.fit` keyword arguments (at least ``draws``, ``tune``,
        ``chains``, ``seed``; the others of :data:`MATCHED_SETTINGS` default
        as in :func:`secdilemma.fit`).
    check_likelihood
        Also recompute a few draws' log-likelihood (rule 6 of the module
        docstring).

    Returns
    -------
    list of str
        One reason per failed rule, in plain words; empty when the fit may be reused.
    """
    info = fit_info(fit)
    reasons = []
    given = panel_sha256(panel)
    if info["panel_sha256"] != given:
        reasons.append(
            f"made from another panel (sha256 {str(info['panel_sha256'])[:12]}..., this panel "
            f"{given[:12]}...)"
        )
    wanted = load_variant(variant)
    theirs = Variant.from_dict(info["variant"], source="fit attrs")
    if theirs != wanted:
        reasons.append(f"variant {theirs.name!r} is not the specification of {wanted.name!r}")
    sampler = info["sampler"]
    want = full_settings(settings)
    for key in MATCHED_SETTINGS:
        if sampler.get(key) != want[key]:
            reasons.append(f"{key} {sampler.get(key)!r}, not {want[key]!r}")
    if sampler.get("name") != want["sampler"]:
        reasons.append(f"sampled with {sampler.get('name')!r}, not {want['sampler']!r}")
    from secdilemma import __version__

    made_with = info["versions"].get("secdilemma")
    if made_with != __version__:
        reasons.append(f"made with secdilemma {made_with}, this is {__version__}")
    if fit.attrs.get("interrupted"):
        reasons.append("an interrupted run (kept with keep_partial)")
    if check_likelihood and not reasons:
        reasons += _likelihood_mismatch(fit)
    return reasons


def _likelihood_mismatch(fit: xr.DataTree) -> list[str]:
    """Rule 6: the stored log-likelihood of a few draws against the current code's."""
    from secdilemma.analysis.likelihood import log_likelihood

    stored = fit[schema.LOG_LIKELIHOOD][schema.LOGLIK]
    unit = "state" if schema.SIDE in stored.dims else "dyad"
    try:
        again = log_likelihood(fit, unit, max_draws=LIKELIHOOD_DRAWS, seed=0)
    except ValueError as err:
        return [f"its parameters cannot be read by this version ({err})"]
    stored = stored.sel({schema.DRAW: again[schema.DRAW]}).transpose(*again.dims)
    worst = float(np.max(np.abs(stored.values - again.values)))
    if not worst <= LIKELIHOOD_TOLERANCE:
        return [
            f"its stored log-likelihood differs from this version's by up to {worst:.3g} nats "
            "(the model changed)"
        ]
    return []


@dataclass
class Reuse:
    """The outcome of looking for a reusable fit.

    Attributes
    ----------
    path
        The file looked at.
    fit
        The fit, loaded, if it may be reused; else ``None``.
    reasons
        Why it may not (empty when reused): no file, an unreadable file, or
        :func:`mismatches`.
    """

    path: Path
    fit: xr.DataTree | None
    reasons: list[str]

    @property
    def reused(self) -> bool:
        """Whether the fit may be reused."""
        return self.fit is not None

    def describe(self) -> str:
        """One line: reused, or why not."""
        if self.reused:
            return f"reusing {self.path} (provenance matches)"
        return f"not reusing {self.path}: " + "; ".join(self.reasons)


def find_reusable(
    path: str | Path,
    *,
    panel: xr.Dataset,
    variant: str | Path | Variant,
    settings: dict[str, Any] | list[dict[str, Any]],
) -> Reuse:
    """Load the fit at ``path`` if it may be reused (module docstring), else say why not.

    Parameters
    ----------
    path
        A fit file (``models/VARIANT_historical.nc``).
    panel, variant
        What would be fitted.
    settings
        The settings that would be used, or several acceptable ones (the fit
        must match one of them).

    Returns
    -------
    Reuse
        A damaged or unreadable file is not an error here: it is a reason to refit.
    """
    path = Path(path)
    if not path.is_file():
        return Reuse(path, None, ["no such file"])
    from secdilemma.model.io import FitFileError, IntegrityWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IntegrityWarning)
            fit = load_fit(path)
    except (FitFileError, OSError) as err:
        return Reuse(path, None, [str(err)])
    candidates = settings if isinstance(settings, list) else [settings]
    best: list[str] = []
    for k, option in enumerate(candidates):
        reasons = mismatches(fit, panel=panel, variant=variant, settings=option)
        if not reasons:
            return Reuse(path, fit, [])
        if k == 0:
            best = reasons
    return Reuse(path, None, best)


def describe_settings(settings: dict[str, Any]) -> str:
    """``4 chains x (1000 tune + 1000 draws), seed 20261201`` (and any non-default setting)."""
    text = (
        f"{settings['chains']} chains x ({settings['tune']} tune + {settings['draws']} draws), "
        f"seed {settings['seed']}"
    )
    extra = {
        k: v
        for k, v in settings.items()
        if k in SETTING_DEFAULTS and v != SETTING_DEFAULTS[k] and k != "sampler_kwargs"
    }
    if extra:
        text += ", " + ", ".join(f"{k} {v}" for k, v in extra.items())
    return text


def settings_json(settings: dict[str, Any]) -> str:
    """The matched settings as sorted JSON (for tables)."""
    return json.dumps({k: full_settings(settings)[k] for k in MATCHED_SETTINGS}, sort_keys=True)


def load_reference(
    variant: str,
    panel: xr.Dataset | None = None,
    *,
    settings: dict[str, Any] | None = None,
    folder: str | Path | None = None,
    echo: Any = print,
) -> xr.DataTree | None:
    """The reference fit of ``variant`` if its provenance matches, else ``None``; says which.

    For notebooks and scripts: ``load_reference("mixture")`` returns the
    committed fit of the bundled panel when it is what fitting would make
    (module docstring), so a reader need not wait for the sampler.

    Parameters
    ----------
    variant
        A bundled variant name.
    panel
        The panel (default the bundled historical panel).
    settings
        The sampler settings that would be used (default :data:`REFERENCE_SETTINGS`).
    folder
        Where the reference fits are (default :func:`reference_folder`).
    echo
        Where to say whether it was reused and, if not, why (``None``: silent).

    Returns
    -------
    xarray.DataTree or None
    """
    if panel is None:
        from secdilemma.data.load import load_dyads

        panel = load_dyads()
    found = find_reusable(
        reference_path(variant, folder),
        panel=panel,
        variant=variant,
        settings=dict(REFERENCE_SETTINGS if settings is None else settings),
    )
    if echo is not None:
        echo(f"{variant}: {found.describe()}")
    return found.fit


def reference_fits(
    variants: Sequence[str],
    *,
    panel: xr.Dataset | None = None,
    fallback: dict[str, Any] | None = None,
    fallback_dyads: Sequence[str] | None = None,
    fallback_variants: Sequence[str] | None = None,
    folder: str | Path | None = None,
    echo: Any = print,
) -> tuple[dict[str, xr.DataTree], xr.Dataset]:
    """The reference fits of ``variants``, or, if any does not match, fits made now.

    For notebooks: every fit describes the same panel, so that they can be
    compared. If every variant's reference fit may be reused
    (:func:`load_reference`), those are returned with the panel; otherwise
    the variants are fitted (imports PyMC), with ``fallback`` settings on the
    ``fallback_dyads`` (default :data:`REFERENCE_SETTINGS` on the whole panel).

    Parameters
    ----------
    variants
        Bundled variant names.
    panel
        The panel (default the bundled historical one).
    fallback, fallback_dyads, fallback_variants
        Settings, dyads and variants (default all) to fit with when a
        reference fit does not match (e.g. small ones under ``SECDILEMMA_SMALL``).
    folder
        Where the reference fits are.
    echo
        Where to say what was loaded or fitted (``None``: silent).

    Returns
    -------
    fits, panel
        Variant -> fit, and the panel they were made from.
    """
    from secdilemma.data.load import load_dyads

    panel = load_dyads() if panel is None else panel
    fits = {v: load_reference(v, panel, folder=folder, echo=echo) for v in variants}
    if all(fit is not None for fit in fits.values()):
        return fits, panel  # type: ignore[return-value]
    import warnings

    from secdilemma.model.diagnostics import FitDiagnosticsWarning
    from secdilemma.model.sampling import MultimodalPosteriorWarning, fit

    settings = dict(REFERENCE_SETTINGS if fallback is None else fallback)
    if fallback_dyads is not None:
        panel = panel.sel(dyad=list(fallback_dyads))
    chosen = list(variants if fallback_variants is None else fallback_variants)
    made = {}
    for v in chosen:
        if echo is not None:
            echo(f"{v}: fitting {panel.sizes['dyad']} dyads, {describe_settings(settings)}")
        with warnings.catch_warnings():  # the fit records its diagnostics; shown below
            warnings.simplefilter("ignore", FitDiagnosticsWarning)
            warnings.simplefilter("ignore", MultimodalPosteriorWarning)
            warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
            made[v] = fit(panel, v, progress_bar=False, **settings)
    return made, panel
