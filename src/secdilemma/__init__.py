"""secdilemma: Bayesian belief-update models of the security dilemma.

Each state's belief that the other is malign is a posterior updated from the
other's observed military moves (DESIGN §3). The package simulates coupled
dyads, builds a panel of historical dyads from Correlates of War data, and fits
hierarchical PyMC models that compare misplaced certainty with sensible
beliefs.

The model functions (``fit``, ``build_model``, ``save_fit``, ``load_fit``,
``load_variant``) are imported on first use, so that simulating or loading data
does not pay for importing PyMC. The analysis of fits
(``posterior_predictive``, ``ppc_table``, ``counterfactual``, ``compare``) is
imported on first use too; it never imports PyMC (``compare`` imports the
sampler only when it refits).
"""

from importlib import import_module
from importlib.metadata import version
from typing import Any

from secdilemma.core.parameters import REGIMES, ActionParams, BeliefParams, regime
from secdilemma.core.recursion import BeliefPaths, belief_recursion
from secdilemma.core.simulate import simulate_dyads
from secdilemma.data import load_dyads
from secdilemma.panel import MOVE_LABELS, validate_panel

__version__ = version("secdilemma")

_LAZY = {
    **{
        name: "secdilemma.model"
        for name in ("build_model", "fit", "load_fit", "load_variant", "save_fit")
    },
    "posterior_predictive": "secdilemma.analysis.predictive",
    "ppc_table": "secdilemma.analysis.predictive",
    "counterfactual": "secdilemma.analysis.counterfactual",
    "compare": "secdilemma.analysis.comparison",
}

__all__ = [
    "MOVE_LABELS",
    "REGIMES",
    "ActionParams",
    "BeliefParams",
    "BeliefPaths",
    "__version__",
    "belief_recursion",
    "build_model",
    "compare",
    "counterfactual",
    "fit",
    "load_dyads",
    "load_fit",
    "load_variant",
    "posterior_predictive",
    "ppc_table",
    "regime",
    "save_fit",
    "simulate_dyads",
    "validate_panel",
]


def __getattr__(name: str) -> Any:
    """Import the model and analysis functions on first access (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'secdilemma' has no attribute {name!r}")
