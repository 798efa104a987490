"""The generative model of DESIGN §3 in NumPy: no PyMC, no xarray beyond the panel.

- :mod:`~secdilemma.core.ordered_logistic`: log-space move probabilities and draws;
- :mod:`~secdilemma.core.parameters`: action and belief parameters, named regimes, checks;
- :mod:`~secdilemma.core.recursion`: the coupled belief recursion (the reference);
- :mod:`~secdilemma.core.simulate`: :func:`simulate_dyads`, coupled dyads run forward.
"""
