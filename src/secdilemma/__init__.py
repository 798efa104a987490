"""secdilemma: Bayesian belief-update models of the security dilemma.

Each state's belief that the other is malign is a posterior updated from the
other's observed military moves (DESIGN §3). The package simulates coupled
dyads, builds a panel of historical dyads from Correlates of War data, and fits
hierarchical PyMC models that compare misplaced certainty with sensible
beliefs.

The public names are imported from their modules on first use (PEP 562):
``import secdilemma`` costs nothing, simulating or loading data does not pay
for PyMC, and the command line starts at once. The analysis of fits
(``posterior_predictive``, ``ppc_table``, ``counterfactual``, ``compare``)
never imports PyMC (``compare`` imports the sampler only when it refits);
``calibrate`` (simulation-based calibration on Dask) imports it when run.
"""

from importlib import import_module
from importlib.metadata import version
from typing import Any

__version__ = version("secdilemma")

_LAZY = {
    "REGIMES": "secdilemma.core.parameters",
    "ActionParams": "secdilemma.core.parameters",
    "BeliefParams": "secdilemma.core.parameters",
    "regime": "secdilemma.core.parameters",
    "BeliefPaths": "secdilemma.core.recursion",
    "belief_recursion": "secdilemma.core.recursion",
    "simulate_dyads": "secdilemma.core.simulate",
    "load_dyads": "secdilemma.data.load",
    "MOVE_LABELS": "secdilemma.panel",
    "validate_panel": "secdilemma.panel",
    **{
        name: "secdilemma.model"
        for name in ("build_model", "fit", "load_fit", "load_variant", "save_fit")
    },
    "posterior_predictive": "secdilemma.analysis.predictive",
    "ppc_table": "secdilemma.analysis.predictive",
    "counterfactual": "secdilemma.analysis.counterfactual",
    "calibrate": "secdilemma.calibration.run",
    "compare": "secdilemma.analysis.comparison",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access (PEP 562)."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'secdilemma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
