"""Hierarchical PyMC models of DESIGN §4 and their compiled belief recursion.

- :mod:`~secdilemma.model.schema`: names of a fit's groups, dims and variables;
- :mod:`~secdilemma.model.variants`: variants as data (bundled TOML files);
- :mod:`~secdilemma.model.builder`: :func:`build_model`, panel + variant -> ``pymc.Model``;
- :mod:`~secdilemma.model.sampling`: :func:`fit`, sampling with nutpie (PyMC fallback),
  and :class:`CompiledModel`, compiled once and refitted to panels of one shape;
- :mod:`~secdilemma.model.smc`: ``fit(..., sampler="smc")``, tempered SMC, every mode
  with its mass (:func:`smc_record`, :func:`smc_summary`);
- :mod:`~secdilemma.model.modes`: mode definitions, masses, a data-driven split;
- :mod:`~secdilemma.model.diagnostics`: divergences, R-hat, ESS, E-BFMI checks;
- :mod:`~secdilemma.model.io`: :func:`save_fit` / :func:`load_fit` with provenance;
- :mod:`~secdilemma.model.belief_op`: the belief recursion as a PyTensor graph.

Names are imported on first use (PEP 562): ``import secdilemma.model.schema``
or ``secdilemma.model.variants`` does not import PyMC, nor do ``io``,
``manifest`` and ``diagnostics`` (a saved fit loads without PyMC; the CLI
starts at once). ``builder``, ``sampling`` and ``belief_op`` import PyMC.
"""

from importlib import import_module
from typing import Any

_WHERE = {
    "build_model": "builder",
    "FitDiagnosticsWarning": "diagnostics",
    "Thresholds": "diagnostics",
    "check_fit": "diagnostics",
    "FitFileError": "io",
    "IntegrityWarning": "io",
    "ProvenanceWarning": "io",
    "fit_info": "io",
    "load_fit": "io",
    "panel_sha256": "io",
    "save_fit": "io",
    "CompiledModel": "sampling",
    "FitInterrupted": "sampling",
    "MultimodalPosteriorWarning": "sampling",
    "SMCTolerances": "smc",
    "smc_record": "smc",
    "smc_summary": "smc",
    "mode_masses": "modes",
    "fit": "sampling",
    "Variant": "variants",
    "VariantError": "variants",
    "available_variants": "variants",
    "load_variant": "variants",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access."""
    if name in _WHERE:
        return getattr(import_module(f"secdilemma.model.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'secdilemma.model' has no attribute {name!r}")
