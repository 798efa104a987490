"""A small, reviewable JSON manifest of a fit, written next to its netCDF file.

A historical fit is tens of MB (mostly belief paths) and is reproducible from
its variant, seed and sampler settings, so ``models/`` keeps the manifests in
git and not necessarily the posteriors. A manifest holds the fit's provenance
(:func:`secdilemma.model.io.fit_info`: variant, panel sha256, versions, sampler,
seed, diagnostics), an ArviZ summary of the shared parameters, per-state
posterior means of ``p_malign``, ``p_misplaced``, ``misplaced_certainty``, ``l0``,
``w`` and ``s``, and the posterior contraction of each shared parameter and
each state's latent traits with the quantities the data barely inform
(:mod:`secdilemma.model.contraction`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import arviz_stats as azs
import xarray as xr

from secdilemma.files import write_text
from secdilemma.model.contraction import fit_contraction, weakly_informed
from secdilemma.model.io import fit_info

STATE_SUMMARIES = ("p_malign", "p_misplaced", "misplaced_certainty", "l0", "w", "s", "alpha")
"""Per-state quantities whose posterior means the manifest lists."""


def shared_parameters(fit: xr.DataTree) -> list[str]:
    """Posterior variables without a ``dyad`` dimension (the non-centred ``z_`` excluded)."""
    post = fit["posterior"]
    return [
        str(v) for v in post.data_vars if "dyad" not in post[v].dims and not str(v).startswith("z_")
    ]


def _finite(value: float) -> float | None:
    """JSON has no NaN: missing statistics become ``null``."""
    return None if not math.isfinite(value) else round(float(value), 6)


def manifest(fit: xr.DataTree) -> dict[str, Any]:
    """The manifest of a fit as plain Python (see the module docstring).

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.fit`.

    Returns
    -------
    dict
        ``provenance``, ``diagnostics_ok``, ``shared`` (parameter -> summary
        statistics), ``states`` (``dyad/side`` -> posterior means),
        ``contraction`` (rows of :func:`~secdilemma.model.contraction.contraction`)
        and ``weakly_informed`` (labels of the quantities with contraction
        below 0.1).
    """
    table = azs.summary(fit, var_names=shared_parameters(fit), round_to="none")
    shared = {
        str(name): {str(col): _finite(val) for col, val in row.items()}
        for name, row in table.iterrows()
    }
    post = fit["posterior"].to_dataset()
    means = post[[v for v in STATE_SUMMARIES if v in post]].mean(("chain", "draw"))
    states = {
        f"{dyad}/{side}": {
            v: _finite(means[v].sel(dyad=dyad, side=side).item()) for v in means.data_vars
        }
        for dyad in means["dyad"].values
        for side in means["side"].values
    }
    rows = fit_contraction(fit)
    return {
        "provenance": fit_info(fit),
        "diagnostics_ok": bool(fit.attrs.get("diagnostics_ok", 0)),
        "shared": shared,
        "states": states,
        "contraction": rows,
        "weakly_informed": weakly_informed(rows),
    }


def write_manifest(fit: xr.DataTree, path: str | Path) -> Path:
    """Write :func:`manifest` as indented, key-sorted JSON.

    Parameters
    ----------
    fit
        A fit from :func:`secdilemma.fit`.
    path
        Output file, conventionally ``models/NAME.json`` beside ``NAME.nc``.

    Returns
    -------
    pathlib.Path
        The path written (atomically, :func:`secdilemma.files.write_text`).
    """
    return write_text(path, json.dumps(manifest(fit), indent=1, sort_keys=True) + "\n")


def is_manifest(path: str | Path) -> bool:
    """Whether ``path`` holds a manifest written by :func:`write_manifest`.

    A JSON object with the keys ``provenance`` (itself holding ``variant``),
    ``diagnostics_ok``, ``shared`` and ``states``. Used to refuse replacing a
    file that happens to sit where a fit's manifest goes.
    """
    try:
        content = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return (
        isinstance(content, dict)
        and {"provenance", "diagnostics_ok", "shared", "states"} <= set(content)
        and isinstance(content["provenance"], dict)
        and "variant" in content["provenance"]
    )
