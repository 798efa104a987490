"""The dyad simulator: schema, reproducibility, and the theory of DESIGN §3.

The theory tests simulate 1000 dyads x 60 years with the default action
parameters and seed 20261127. Each threshold below sits many binomial standard
errors away from the rate observed at that seed (with n = 1000 dyads the SE of a
share is at most sqrt(0.25 / 1000) = 0.016), so the assertions test the theory,
not the luck of the seed: observed rates at this seed are quoted next to each.
"""

import numpy as np
import pytest

from secdilemma import (
    ActionParams,
    BeliefParams,
    belief_recursion,
    simulate_dyads,
    validate_panel,
)

N_DYADS, N_YEARS, SEED = 1000, 60, 20261127


@pytest.fixture(scope="module")
def runs():
    def run(beliefs, intent=("benign", "benign")):
        return simulate_dyads(N_DYADS, N_YEARS, beliefs=beliefs, intent=intent, seed=SEED)

    return {
        "misplaced_certainty": run("misplaced_certainty"),
        "sensible": run("sensible"),
        "insensible": run("insensible"),
        "sensible_vs_malign": run("sensible", ("benign", "malign")),
    }


def final_belief(panel):
    return panel["belief"].isel(year=-1).values  # (dyad, side)


def escalation(panel):
    return float((panel["move"] >= 2).mean())


def test_misplaced_certainty_spirals_between_benign_states(runs):
    # Observed: both beliefs > 0.95 in 100 % of dyads; escalation 0.84 vs 0.39 (sensible).
    b = final_belief(runs["misplaced_certainty"])
    assert np.mean((b > 0.95).all(axis=1)) >= 0.95
    assert escalation(runs["misplaced_certainty"]) > escalation(runs["sensible"]) + 0.3


def test_sensible_benign_states_end_trusting(runs):
    # Observed: both beliefs < 0.05 in 82 % of dyads (threshold 0.7 is 7 SEs below).
    b = final_belief(runs["sensible"])
    assert np.mean((b < 0.05).all(axis=1)) > 0.7


def test_sensible_state_detects_a_malign_one(runs):
    # Side 0 is benign and sensible, side 1 malign. Observed: side 0's belief > 0.95 in
    # 93 % of dyads (threshold 0.85 is 5 SEs below).
    b = final_belief(runs["sensible_vs_malign"])
    assert np.mean(b[:, 0] > 0.95) > 0.85


def test_insensible_unbiased_states_still_spiral(runs):
    # The prior is not the problem: neutral (l0 = 0), unbiased (w = 1) but s = 0.
    # Observed: both beliefs > 0.95 in 98.6 % of dyads, escalation 0.81.
    b = final_belief(runs["insensible"])
    assert np.mean((b > 0.95).all(axis=1)) > 0.9
    assert escalation(runs["insensible"]) > escalation(runs["sensible"]) + 0.3


def test_simulated_beliefs_are_the_recursion_of_the_simulated_moves(rng):
    # Simulation and inference read moves the same way: the recursion, run on the
    # simulated moves with the simulated parameters, returns the simulated beliefs.
    n = 40
    beliefs = {
        "l0": rng.normal(0, 1.5, (n, 2)),
        "w": rng.uniform(0.1, 1, (n, 2)),
        "s": rng.uniform(0, 1, (n, 2)),
    }
    tau = rng.integers(0, 2, (n, 2))
    action = ActionParams(beta=1.5, gamma=0.4, delta=1.2, cutpoints=(-1.0, 0.5, 2.5))
    panel = simulate_dyads(n, 30, beliefs=beliefs, intent=tau, action=action, alpha=0.3, seed=5)
    paths = belief_recursion(
        panel["move"].values,
        beliefs["l0"],
        beliefs["w"],
        beliefs["s"],
        action.beta,
        action.gamma,
        action.delta,
        action.cutpoints,
    )
    np.testing.assert_allclose(paths.log_odds, panel["log_odds"].values, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(panel["intent"].values, tau)


def test_panel_schema(rng):
    panel = validate_panel(simulate_dyads(3, 7, beliefs=("sensible", "misplaced_certainty")))
    assert panel["move"].dims == ("dyad", "side", "year")
    assert panel["intent"].dims == ("dyad", "side")
    assert panel["year"].values.tolist() == list(range(7))
    assert panel.attrs["beliefs_side1"] == "misplaced_certainty"
    assert panel["l0"].values[0, 1] == pytest.approx(np.log(0.85 / 0.15))
    assert set(np.unique(panel["move"].values)) <= {0.0, 1.0, 2.0, 3.0}


def test_same_seed_same_output_byte_for_byte(tmp_path):
    a, b, c = (simulate_dyads(20, 15, beliefs="insensible", seed=s) for s in (11, 11, 12))
    assert a.identical(b)
    assert not a["move"].equals(c["move"])
    for name, ds in (("a", a), ("b", b)):
        ds.to_netcdf(tmp_path / f"{name}.nc", engine="h5netcdf")
    assert (tmp_path / "a.nc").read_bytes() == (tmp_path / "b.nc").read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beliefs": "paranoid"}, "beliefs: unknown belief regime 'paranoid'"),
        ({"beliefs": ("sensible",) * 3}, "beliefs: expected one regime or one per side"),
        ({"beliefs": {"l0": 0.0, "w": 1.0}}, r"beliefs: mapping lacks \['s'\]"),
        (
            {"beliefs": {"l0": 0.0, "w": 1.0, "s": 1.0, "sensibility": 0.5}},
            r"beliefs: unknown key\(s\) \['sensibility'\]",
        ),
        ({"seed": -5}, r"seed: expected a whole number in \[0, 2\*\*63 - 1\]"),
        ({"seed": 99999999999999999999999}, r"seed: expected a whole number in \[0"),
        ({"seed": 1.5}, "seed: expected a whole number >= 0"),
        ({"beliefs": {"l0": 0.0, "w": 1.5, "s": 0.0}}, r"w: discount must lie in \(0, 1\]"),
        ({"beliefs": {"l0": 0.0, "w": 1.0, "s": 2.0}}, r"s: sensibility must lie in \[0, 1\]"),
        ({"intent": ("benign", "evil")}, "intent: unknown intent 'evil'"),
        ({"intent": np.zeros((3, 2))}, r"intent: shape \(3, 2\) cannot be broadcast"),
        ({"alpha": np.zeros(5)}, r"alpha: shape \(5,\) cannot be broadcast"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_dyads(2, 5, **kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ActionParams(cutpoints=(0.0, 0.0, 1.0)), "cutpoints: must be strictly increasing"),
        (lambda: ActionParams(gamma=-0.1), "gamma: reactivity must be >= 0"),
        (lambda: ActionParams(beta=-1.0), "beta: fear must be > 0"),
        (lambda: ActionParams(beta=0.0), "beta: fear must be > 0"),
        (lambda: ActionParams(delta=-1.0), "delta: malign escalation must be > 0"),
        (lambda: ActionParams(delta=0.0), "delta: malign escalation must be > 0"),
        (lambda: ActionParams(delta=float("nan")), "delta: must be a finite number"),
        (lambda: BeliefParams(l0=0.0, w=0.0, s=0.5), r"w: discount must lie in \(0, 1\]"),
        (lambda: simulate_dyads(0, 5), "n_dyads: must be a positive integer"),
    ],
)
def test_bad_parameters_name_the_argument(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_intents_as_text_codes():
    # `--intent 0,1` reaches simulate_dyads as the strings "0" and "1", which the
    # error message lists as valid (issue #11).
    panel = simulate_dyads(2, 3, intent=("0", "1"))
    assert panel["intent"].values.tolist() == [[0, 1], [0, 1]]
