"""Reading fits, DESIGN §5: predictive checks, statistics, counterfactuals.

- :mod:`~secdilemma.analysis.statistics`: the test statistics and mid-p values.

Nothing here imports PyMC: every computation runs on the NumPy engine of
:mod:`secdilemma.core`.
"""
