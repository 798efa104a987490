"""The generative model of DESIGN §3 in NumPy: no PyMC, no xarray beyond the panel.

- :mod:`~secdilemma.core.ordered_logistic`: log-space move probabilities and draws;
- :mod:`~secdilemma.core.parameters`: action and belief parameters, named regimes, checks;
- :mod:`~secdilemma.core.recursion`: the coupled belief recursion (the reference) and
  its one-year update, shared with the forward run;
- :mod:`~secdilemma.core.action`: the action model: eta, per-intent sequence
  log-likelihoods, the intent and configuration marginals, ``P(malign)``;
- :mod:`~secdilemma.core.forward`: one generative year of the coupled dyad and the
  forward run over draws x dyads x sides (the generative engine);
- :mod:`~secdilemma.core.simulate`: :func:`simulate_dyads`, a thin wrapper over the engine.

Every function is vectorised over leading axes of posterior draws (and
configurations of observer regimes): one implementation serves the
simulator, the predictive checks, the counterfactuals and held-out
likelihoods.
"""
