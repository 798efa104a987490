"""One simulation of an SBC run: parameters from the prior, a panel from the simulator.

The panel must come from the generative model the fitted likelihood assumes
(DESIGN §3), so both halves are the package's own code:

- the parameters: :func:`secdilemma.model.priors.draw_prior`, which draws
  every parameter of the variant with the model's parametrisation, each
  state's intent ``tau ~ Bernoulli(pi)`` and, for a regime variant, each
  state's regime (so its ``l0, w, s`` are its regime's);
- the moves: :func:`secdilemma.core.simulate.simulate_dyads` (the generative
  engine :func:`secdilemma.core.forward.forward`), with those per-state
  ``l0, w, s``, intents and intercepts: year 0 drawn with both lags at
  ``hold`` and beliefs at ``l0``, every move observed. The fit leaves year 0
  unmodelled, which is consistent: its moves enter only as lags.

Seeds. A simulation is fixed by one integer seed (:func:`simulation_seed` of
the run's seed and the simulation's index), split by
:class:`numpy.random.SeedSequence` into independent streams for the prior
draw, the simulator, the sampler and the rank randomisation
(:func:`streams`), so any one simulation can be rerun alone from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from secdilemma.core.parameters import ActionParams
from secdilemma.core.simulate import simulate_dyads
from secdilemma.model.variants import Variant


def simulation_seed(seed: int, index: int) -> int:
    """The seed of simulation ``index`` of a run with seed ``seed`` (a 32-bit integer)."""
    state = np.random.SeedSequence([int(seed), int(index)]).generate_state(1, dtype=np.uint32)
    return int(state[0])


@dataclass(frozen=True)
class Streams:
    """Independent seeds of one simulation's random steps."""

    prior: int
    simulator: int
    sampler: int
    ranks: int


def streams(seed: int) -> Streams:
    """Split a simulation's seed into the seeds of its steps (module docstring)."""
    children = np.random.SeedSequence(int(seed)).spawn(4)
    prior, simulator, sampler, ranks = (
        int(c.generate_state(1, dtype=np.uint32)[0]) for c in children
    )
    return Streams(prior=prior, simulator=simulator, sampler=sampler, ranks=ranks)


def simulate(
    variant: Variant, n_dyads: int, n_years: int, seed: int
) -> tuple[xr.Dataset, dict[str, NDArray]]:
    """Draw the parameters from the variant's prior and simulate a panel from them.

    Parameters
    ----------
    variant
        The variant.
    n_dyads, n_years
        Panel size.
    seed
        The simulation's seed (:func:`simulation_seed`).

    Returns
    -------
    panel, truth
        The simulated panel and the true parameters (one prior draw of
        :func:`~secdilemma.model.priors.draw_prior`, draw axis removed).
    """
    from secdilemma.model.priors import draw_prior

    seeds = streams(seed)
    truth = {k: v[0] for k, v in draw_prior(variant, 1, n_dyads, seed=seeds.prior).items()}
    action = ActionParams(
        beta=float(truth["beta"]),
        gamma=float(truth["gamma"]),
        delta=float(truth["delta"]),
        cutpoints=tuple(float(c) for c in truth["cutpoints"]),  # type: ignore[arg-type]
    )
    panel = simulate_dyads(
        n_dyads,
        n_years,
        beliefs={k: truth[k] for k in ("l0", "w", "s")},
        intent=truth["intent"],
        action=action,
        alpha=truth["alpha"],
        seed=seeds.simulator,
    )
    return panel, truth
