"""Hierarchical PyMC models of DESIGN §4 and their compiled belief recursion.

- :mod:`~secdilemma.model.variants`: variants as data (bundled TOML files);
- :mod:`~secdilemma.model.builder`: :func:`build_model`, panel + variant -> ``pymc.Model``;
- :mod:`~secdilemma.model.sampling`: :func:`fit`, sampling with nutpie (PyMC fallback);
- :mod:`~secdilemma.model.diagnostics`: divergences, R-hat, ESS, E-BFMI checks;
- :mod:`~secdilemma.model.io`: :func:`save_fit` / :func:`load_fit` with provenance;
- :mod:`~secdilemma.model.belief_op`: the belief recursion as a PyTensor graph.
"""

from secdilemma.model.builder import build_model
from secdilemma.model.diagnostics import FitDiagnosticsWarning, Thresholds, check_fit
from secdilemma.model.io import ProvenanceWarning, fit_info, load_fit, panel_sha256, save_fit
from secdilemma.model.sampling import MultimodalPosteriorWarning, fit
from secdilemma.model.variants import Variant, VariantError, available_variants, load_variant

__all__ = [
    "FitDiagnosticsWarning",
    "MultimodalPosteriorWarning",
    "ProvenanceWarning",
    "Thresholds",
    "Variant",
    "VariantError",
    "available_variants",
    "build_model",
    "check_fit",
    "fit",
    "fit_info",
    "load_fit",
    "load_variant",
    "panel_sha256",
    "save_fit",
]
