"""Interrupted fits (issue #11): never saved as a normal fit.

The unit tests replace nutpie's sampler by one that returns what nutpie
returns on Ctrl-C (the draws so far, shorter chains padded with NaN); the CLI
tests run ``secdilemma fit`` in a subprocess on a tiny panel and send it a
real SIGINT once it logs that sampling started.
"""

import numpy as np
import pytest
from arviz_base import from_dict

from secdilemma import simulate_dyads


@pytest.fixture(scope="module")
def tiny_panel():
    return simulate_dyads(2, 8, seed=3)


def _partial_trace(done, requested, n_dim=3):
    """A nutpie trace of len(done) chains that stopped after done[c] of `requested` draws."""
    width = max(done)
    logp = np.full((len(done), width), np.nan)
    for chain, n in enumerate(done):
        logp[chain, :n] = -10.0
    return from_dict(
        {
            "posterior": {"beta": np.where(np.isnan(logp), np.nan, 1.0)},
            "sample_stats": {
                "logp": logp,
                "diverging": np.zeros_like(logp, dtype=bool),
                "unconstrained_draw": np.zeros((len(done), width, n_dim)),
            },
        },
        dims={"unconstrained_draw": ["unconstrained_parameter"]},
    )


@pytest.fixture
def fake_nutpie(monkeypatch):
    """Replace compilation and sampling; `calls` records each sample() call's draws."""
    import nutpie

    calls = []
    returns = []

    def sample(compiled, *, draws, chains, **kwargs):
        calls.append(draws)
        return returns.pop(0)

    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **kwargs: object())
    monkeypatch.setattr(nutpie, "sample", sample)
    return calls, returns


def test_truncated_run_raises_fit_interrupted(tiny_panel, fake_nutpie):
    from secdilemma.model.sampling import FitInterrupted, fit

    _, returns = fake_nutpie
    returns.append(_partial_trace([30, 25], 100))
    with pytest.raises(FitInterrupted, match=r"after 25 of 100 draws per chain") as info:
        fit(tiny_panel, "sensible", draws=100, tune=10, chains=2, init="jitter", progress_bar=False)
    assert info.value.draws_per_chain == [30, 25] and info.value.draws_requested == 100
    assert isinstance(info.value, KeyboardInterrupt)


@pytest.mark.filterwarnings("ignore:Found chain dimension to be longer:UserWarning")
@pytest.mark.parametrize("keep_partial", [False, True])
def test_interrupt_in_warm_up_has_nothing_to_keep(tiny_panel, fake_nutpie, keep_partial):
    from secdilemma.model.sampling import FitInterrupted, fit

    _, returns = fake_nutpie
    returns.append(_partial_trace([0, 0], 100))
    with pytest.raises(FitInterrupted, match="during the warm-up, before the first draw"):
        fit(
            tiny_panel, "sensible", draws=100, tune=10, chains=2, init="jitter",
            progress_bar=False, keep_partial=keep_partial,
        )  # fmt: skip


def test_interrupt_in_the_pilot_stops_before_the_main_run(tiny_panel, fake_nutpie):
    # nutpie returns the partial pilot; the main run used to start from it.
    from secdilemma.model.sampling import FitInterrupted, fit

    calls, returns = fake_nutpie
    returns.append(_partial_trace([40, 0, 12, 100], 100))
    with pytest.raises(FitInterrupted, match="during the pilot run"):
        fit(tiny_panel, "sensible", draws=50, tune=10, chains=2, progress_bar=False)
    assert calls == [100]  # the pilot only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_accept": 1.5}, r"target_accept: must lie in \(0, 1\)"),
        ({"target_accept": 0.0}, r"target_accept: must lie in \(0, 1\)"),
        ({"seed": -5}, r"seed: expected a whole number in \[0, 2\*\*63 - 1\]"),
    ],
)
def test_bad_fit_arguments_fail_before_any_work(tiny_panel, fake_nutpie, kwargs, message):
    from secdilemma.model.sampling import fit

    calls, _ = fake_nutpie
    with pytest.raises(ValueError, match=message):
        fit(tiny_panel, "sensible", **kwargs)
    assert calls == []
