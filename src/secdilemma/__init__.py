"""secdilemma: Bayesian belief-update models of the security dilemma.

Each state's belief that the other is malign is a posterior updated from the
other's observed military moves (DESIGN §3). The package simulates coupled
dyads, builds a panel of historical dyads from Correlates of War data, and fits
hierarchical PyMC models that compare misplaced certainty with sensible
beliefs.
"""

from importlib.metadata import version

from secdilemma.data import load_dyads
from secdilemma.panel import MOVE_LABELS, validate_panel
from secdilemma.parameters import REGIMES, ActionParams, BeliefParams, regime
from secdilemma.recursion import BeliefPaths, belief_recursion
from secdilemma.simulate import simulate_dyads

__version__ = version("secdilemma")

__all__ = [
    "MOVE_LABELS",
    "REGIMES",
    "ActionParams",
    "BeliefParams",
    "BeliefPaths",
    "__version__",
    "belief_recursion",
    "load_dyads",
    "regime",
    "simulate_dyads",
    "validate_panel",
]
