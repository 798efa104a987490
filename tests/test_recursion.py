"""The belief recursion of DESIGN §3 (NumPy reference implementation)."""

import math

import numpy as np
import pytest

from secdilemma import belief_recursion
from secdilemma.core.ordered_logistic import log_prob, log_prob_all, sample

BETA, GAMMA, DELTA = 2.0, 0.6, 1.0
CUTPOINTS = (-1.5, 1.0, 3.0)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def naive_prob(m: int, eta: float) -> float:
    """P(m | eta) straight from the definition: a difference of sigmoids."""
    lower = 1.0 if m == 0 else sigmoid(eta - CUTPOINTS[m - 1])
    upper = 0.0 if m == 3 else sigmoid(eta - CUTPOINTS[m])
    return lower - upper


def test_three_year_dyad_matches_hand_derivation():
    # Side 0: sensible and unbiased (l0 = 0, w = 1, s = 1).
    # Side 1: pessimistic, discounting, half sensible (l0 = logit .85, w = .3, s = .5).
    # Moves: side 0 = hold, build-up, de-escalate; side 1 = build-up, militarized, hold.
    #
    # Year 1, observer 0 reads m[1,1] = 3 (militarized):
    #   x[0,0] = 1 - 1 = 0, b[1,0] = 0.85
    #   eta_read(0) = 1 * (0.6 * 0 + 2 * 0.85) = 1.7, eta_read(1) = 2.7
    #   P(3 | eta) = sigmoid(eta - 3): sigmoid(-1.3) = 0.214165017, sigmoid(-0.3) = 0.425557483
    #   e = log(0.425557483 / 0.214165017) = 0.686653209 >= 0, so l[0,1] = 0.686653209
    # Year 1, observer 1 reads m[0,1] = 2 (build-up):
    #   x[1,0] = 2 - 1 = 1, b[0,0] = 0.5
    #   eta_read(0) = 0.5 * (0.6 * 1 + 2 * 0.5) = 0.8, eta_read(1) = 1.8
    #   P(2 | 0.8) = sigmoid(-0.2) - sigmoid(-2.2) = 0.450166003 - 0.099750489 = 0.350415514
    #   P(2 | 1.8) = sigmoid(0.8) - sigmoid(-1.2) = 0.689974481 - 0.231475216 = 0.458499265
    #   e = log(0.458499265 / 0.350415514) = 0.268839056 >= 0
    #   l[1,1] = logit(0.85) + 0.268839056 = 1.734601055 + 0.268839056 = 2.003440111
    # Year 2, observer 0 reads m[1,2] = 1 (hold):
    #   x[0,1] = 1, b[1,1] = sigmoid(2.003440111) = 0.881157795
    #   eta_read(0) = 0.6 + 2 * 0.881157795 = 2.362315589, eta_read(1) = 3.362315589
    #   P(1 | eta) = sigmoid(eta + 1.5) - sigmoid(eta - 1): 0.183277659 and 0.078418605
    #   e = log(0.078418605 / 0.183277659) = -0.848941058 < 0, w = 1
    #   l[0,2] = 0.686653209 - 0.848941058 = -0.162287849
    # Year 2, observer 1 reads m[0,2] = 0 (de-escalate):
    #   x[1,1] = 3 - 1 = 2, b[0,1] = sigmoid(0.686653209) = 0.665222003
    #   eta_read(0) = 0.5 * (0.6 * 2 + 2 * 0.665222003) = 1.265222003, eta_read(1) = 2.265222003
    #   P(0 | eta) = 1 - sigmoid(eta + 1.5): 0.059232703 and 0.022638115
    #   e = log(0.022638115 / 0.059232703) = -0.961838827 < 0, discounted by w = 0.3
    #   l[1,2] = 2.003440111 + 0.3 * -0.961838827 = 1.714888463
    move = np.array([[[1, 2, 0], [2, 3, 1]]])
    l0 = [[0.0, math.log(0.85 / 0.15)]]
    paths = belief_recursion(
        move,
        l0,
        w=[[1.0, 0.3]],
        s=[[1.0, 0.5]],
        beta=BETA,
        gamma=GAMMA,
        delta=DELTA,
        cutpoints=CUTPOINTS,
    )
    hand = np.array([[[0.0, 0.686653209, -0.162287849], [1.734601055, 2.003440111, 1.714888463]]])
    np.testing.assert_allclose(paths.log_odds, hand, atol=1e-9)  # 9 digits were written down

    # The same arithmetic carried to full precision with the naive formula.
    l_exact = [[l0[0][0]], [l0[0][1]]]
    for t, (i, j, x, s_i, w_i) in [
        (1, (0, 1, 0, 1.0, 1.0)),
        (1, (1, 0, 1, 0.5, 0.3)),
        (2, (0, 1, 1, 1.0, 1.0)),
        (2, (1, 0, 2, 0.5, 0.3)),
    ]:
        b_j = sigmoid(l_exact[j][t - 1])
        eta0 = s_i * (GAMMA * x + BETA * b_j)
        m_j = int(move[0, j, t])
        e = math.log(naive_prob(m_j, eta0 + DELTA) / naive_prob(m_j, eta0))
        l_exact[i].append(l_exact[i][t - 1] + (e if e >= 0 else w_i * e))
    np.testing.assert_allclose(paths.log_odds[0], np.array(l_exact), rtol=0, atol=1e-12)
    np.testing.assert_allclose(paths.belief, 1 / (1 + np.exp(-paths.log_odds)), atol=1e-15)
    assert paths.evidence[0, :, 0].tolist() == [0.0, 0.0]


def test_log_prob_matches_naive_and_normalises():
    eta = np.linspace(-6, 8, 57)
    for m in range(4):
        naive = np.log([naive_prob(m, e) for e in eta])
        np.testing.assert_allclose(log_prob(m, eta, CUTPOINTS), naive, rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_prob_all(eta, CUTPOINTS)).sum(-1), 1.0, rtol=1e-14)


def test_sampler_frequencies_match_probabilities():
    # 200 000 draws at eta = 1: each frequency is within 5 binomial SEs
    # (SE <= sqrt(.25 / 2e5) = 0.0011) of its probability 0.076 / 0.424 / 0.381 / 0.119.
    rng = np.random.default_rng(7)
    draws = sample(np.full(200_000, 1.0), CUTPOINTS, rng)
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, np.exp(log_prob_all(1.0, CUTPOINTS)), atol=5 * 0.0011)


def test_insensible_unbiased_observer_is_a_cumulative_sum(rng):
    # With s = 0 the reading ignores beliefs and lags: e[i,t] depends on m[j,t] alone,
    # e = log P(m | delta) - log P(m | 0); with w = 1, l = l0 + cumsum(e).
    move = rng.integers(0, 4, size=(25, 2, 40)).astype(float)
    move[rng.random(move.shape) < 0.1] = np.nan
    l0 = rng.normal(size=(25, 2))
    paths = belief_recursion(move, l0, 1.0, 0.0, BETA, GAMMA, DELTA, CUTPOINTS)
    m_other = move[:, ::-1, :]
    e = np.where(
        np.isnan(m_other),
        0.0,
        log_prob(np.nan_to_num(m_other), DELTA, CUTPOINTS)
        - log_prob(np.nan_to_num(m_other), 0.0, CUTPOINTS),
    )
    e[:, :, 0] = 0.0
    np.testing.assert_allclose(paths.log_odds, l0[:, :, None] + np.cumsum(e, axis=2), atol=1e-12)


def test_unbiased_update_is_symmetric(rng):
    # With w = 1 the update is symmetric: the evidence of each year enters with the same
    # weight whatever its sign, so l[t] - l[t-1] = e[t]. With w < 1 negative evidence shrinks.
    move = rng.integers(0, 4, size=(10, 2, 30))
    unbiased = belief_recursion(move, 0.0, 1.0, 0.7, BETA, GAMMA, DELTA, CUTPOINTS)
    np.testing.assert_allclose(np.diff(unbiased.log_odds, axis=2), unbiased.evidence[:, :, 1:])
    assert (unbiased.evidence < 0).any() and (unbiased.evidence > 0).any()

    # One year of evidence: observer 0 sees a militarized move (e > 0), observer 1 a hold
    # (e < 0 with s = 0). A discount w = 0.25 scales the negative step only; swapping the
    # sides swaps the observers.
    one = np.array([[[1, 1], [0, 3]]])
    up = belief_recursion(one, 0.0, 1.0, 0.0, BETA, GAMMA, DELTA, CUTPOINTS)
    down = belief_recursion(one[:, ::-1], 0.0, 1.0, 0.0, BETA, GAMMA, DELTA, CUTPOINTS)
    biased = belief_recursion(one, 0.0, 0.25, 0.0, BETA, GAMMA, DELTA, CUTPOINTS)
    assert up.evidence[0, 0, 1] > 0 > up.evidence[0, 1, 1]
    assert biased.log_odds[0, 1, 1] == pytest.approx(0.25 * up.log_odds[0, 1, 1], rel=1e-14)
    assert down.log_odds[0, 1, 1] == pytest.approx(up.log_odds[0, 0, 1], rel=1e-14)


def test_masked_years_contribute_no_evidence_and_padding_freezes_beliefs(rng):
    move = rng.integers(0, 4, size=(3, 2, 20)).astype(float)
    move[1, :, 12:] = np.nan  # dyad 1 is 12 years long, padded to 20
    move[2, 0, 5] = np.nan  # one missing move of side 0
    paths = belief_recursion(move, 0.3, 0.5, 0.8, BETA, GAMMA, DELTA, CUTPOINTS)
    assert np.all(paths.evidence[1, :, 12:] == 0)
    assert np.all(paths.log_odds[1, :, 12:] == paths.log_odds[1, :, 11:12])
    assert paths.evidence[2, 1, 5] == 0.0  # side 1 saw nothing in year 5
    # The masked lag reads as hold: side 0's reading in year 6 uses x[0,5] = 0.
    eta0 = 0.8 * (GAMMA * 0.0 + BETA * paths.belief[2, 1, 5])
    m_other = move[2, 1, 6]
    expected = log_prob(m_other, eta0 + DELTA, CUTPOINTS) - log_prob(m_other, eta0, CUTPOINTS)
    assert paths.evidence[2, 0, 6] == pytest.approx(expected, abs=1e-14)
    # Dyads do not interact: dyad 0 alone gives the same paths.
    alone = belief_recursion(move[:1], 0.3, 0.5, 0.8, BETA, GAMMA, DELTA, CUTPOINTS)
    np.testing.assert_array_equal(alone.log_odds, paths.log_odds[:1])


def test_extreme_certainty_stays_finite():
    # A belief at 1 - 1e-15 (l0 = 34.5) facing militarized moves, beta = 40: eta in the
    # hundreds; every probability is evaluated in log space, nothing is NaN or inf.
    move = np.full((2, 2, 50), 3)
    move[1] = 0
    paths = belief_recursion(move, 34.5, 0.3, 1.0, 40.0, 5.0, DELTA, CUTPOINTS)
    assert np.all(np.isfinite(paths.log_odds)) and np.all(np.isfinite(paths.evidence))
    assert paths.belief[0, :, -1].min() > 1 - 1e-14
    assert np.all(paths.belief <= 1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"move": np.full((1, 2, 3), 4)}, "move: moves must be integers 0..3"),
        ({"move": np.full((1, 2, 3), -1)}, "move: moves must be integers 0..3"),
        ({"move": np.full((1, 2, 3), 1.5)}, "move: moves must be integers 0..3"),
        ({"move": np.ones((1, 3, 3))}, r"move: expected shape \(dyad, side=2, year\)"),
        ({"l0": np.zeros(3)}, r"l0: shape \(3,\) cannot be broadcast"),
        ({"w": 0.0}, r"w: discount must lie in \(0, 1\]"),
        ({"w": 1.2}, r"w: discount must lie in \(0, 1\]"),
        ({"s": -0.1}, r"s: sensibility must lie in \[0, 1\]"),
        ({"cutpoints": (1.0, 0.0, 3.0)}, "cutpoints: must be strictly increasing"),
        ({"cutpoints": (1.0, 3.0)}, "cutpoints: expected 3 values"),
        ({"gamma": -1.0}, "gamma: reactivity must be >= 0"),
        # delta = 0 would leave every belief at its prior (issue #11).
        ({"delta": 0.0}, "delta: malign escalation must be > 0"),
        ({"beta": -1.0}, "beta: fear must be > 0"),
        ({"observed": np.ones((1, 2, 4), bool)}, "observed: shape"),
    ],
)
def test_bad_input_names_the_argument(kwargs, message):
    args = {
        "move": np.ones((1, 2, 3)),
        "l0": 0.0,
        "w": 1.0,
        "s": 1.0,
        "beta": BETA,
        "gamma": GAMMA,
        "delta": DELTA,
        "cutpoints": CUTPOINTS,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        belief_recursion(**args)
