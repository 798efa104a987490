"""Reading fits, DESIGN §5: predictive checks, statistics, counterfactuals.

- :mod:`~secdilemma.analysis.draws`: a fit as flat per-draw NumPy arrays (both
  per-state belief parameters and observer regimes);
- :mod:`~secdilemma.analysis.likelihood`: the observed moves read under every
  draw: beliefs, likelihoods, configuration and intent posteriors;
  :func:`~secdilemma.analysis.likelihood.beliefs` (also ``secdilemma.analysis.beliefs``)
  gives a fit's belief paths whether its file stores them or not;
- :mod:`~secdilemma.analysis.statistics`: the test statistics and mid-p values;
- :mod:`~secdilemma.analysis.predictive`: conditional and generative posterior
  predictive checks, their table and rootogram data;
- :mod:`~secdilemma.analysis.counterfactual`: counterfactual histories;
- :mod:`~secdilemma.analysis.comparison`: model comparison (PSIS-LOO, K-fold
  refits of held-out dyads, stacking weights), its table.

Nothing here imports PyMC at import time: every computation runs on the NumPy
engine of :mod:`secdilemma.core`; only the comparison's refits call the sampler
(:mod:`secdilemma.model.kfold`), imported when they run. Names are imported on
first use (PEP 562).
"""

from importlib import import_module
from typing import Any

_WHERE = {"beliefs": "secdilemma.analysis.likelihood"}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first access."""
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'secdilemma.analysis' has no attribute {name!r}")
