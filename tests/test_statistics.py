"""DESIGN §5 test statistics and mid-p values on a tiny hand-written panel (derivations inline)."""

import numpy as np
import pytest

from secdilemma import simulate_dyads
from secdilemma.analysis import statistics as st
from secdilemma.plotting.simulation import escalation_rate as plotted_escalation_rate

nan = np.nan
# Two dyads, 7 periods. Period 0 is the baseline: it is not counted (NaN in the
# counted moves) but it is the lag of period 1 (kept in the history).
HISTORY = np.array(
    [
        [[1, 2, 2, 3, 2, 2, 0], [0, 1, 2, nan, 0, 2, 2]],
        [[1, 1, 1, 1, 1, 1, 1], [1, nan, nan, nan, nan, nan, nan]],
    ]
)
COUNTED = HISTORY.copy()
COUNTED[:, :, 0] = nan

# Dyad 0, side 0 counts t = 1..6: moves 2 2 3 2 2 0 (n = 6).
#   escalation rate (>= 2): 5 / 6; militarized: 1 / 6; de-escalations: 1;
#   longest build-up run: t1-t2 (2), broken by the 3 at t3, t4-t5 (2) -> 2.
#   reactivity, lag = side 1 one year earlier:
#     t1 lag 0 low, 2 esc; t2 lag 1 low, 2 esc; t3 lag 2 high, 3 esc;
#     t4 lag NaN (excluded); t5 lag 0 low, 2 esc; t6 lag 2 high, 0 not.
#     P(esc | high) = 1/2, P(esc | low) = 3/3 -> -1/2.
# Dyad 0, side 1 counts t = 1, 2, 4, 5, 6: moves 1 2 0 2 2 (n = 5).
#   escalation 3 / 5; militarized 0; de-escalations 1;
#   longest build-up run: t2 (1; the NaN at t3 ends it), t5-t6 (2) -> 2.
#   reactivity, lag = side 0: t1 lag 1 low, 1 not; t2 lag 2 high, 2 esc;
#     t4 lag 3 high, 0 not; t5 lag 2 high, 2 esc; t6 lag 2 high, 2 esc.
#     P(esc | high) = 3/4, P(esc | low) = 0/1 -> 3/4.
# Dyad 1, side 0 counts six holds: every rate 0, no run, no de-escalation;
#   its lags are side 1's: known only at t1 (1, low): the high set is empty -> NaN.
# Dyad 1, side 1 counts nothing: every statistic NaN.
STATE = {
    "escalation_rate": [[5 / 6, 3 / 5], [0.0, nan]],
    "militarized_rate": [[1 / 6, 0.0], [0.0, nan]],
    "longest_build_up": [[2.0, 2.0], [0.0, nan]],
    "de_escalations": [[1.0, 1.0], [0.0, nan]],
    "reactivity": [[-1 / 2, 3 / 4], [nan, nan]],
}
# Per dyad, both sides pooled. Dyad 0: escalation (5 + 3) / (6 + 5) = 8/11, militarized
# 1/11, longest run max(2, 2) = 2, de-escalations 1 + 1 = 2; reactivity over the pooled
# cells: high = side 0 {t3 esc, t6 not} + side 1 {t2, t5, t6 esc; t4 not} -> 4/6,
# low = side 0 {t1, t2, t5 esc} + side 1 {t1 not} -> 3/4; 2/3 - 3/4 = -1/12.
# Dyad 1: side 0's values (side 1 counts nothing); reactivity NaN (no high lag).
DYAD = {
    "escalation_rate": [8 / 11, 0.0],
    "militarized_rate": [1 / 11, 0.0],
    "longest_build_up": [2.0, 0.0],
    "de_escalations": [2.0, 0.0],
    "reactivity": [-1 / 12, nan],
}


def test_state_statistics_equal_the_hand_derivation():
    got = st.state_statistics(COUNTED, HISTORY)
    assert list(got) == list(st.STATISTICS)
    for name, want in STATE.items():
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-15, err_msg=name)


def test_dyad_statistics_equal_the_hand_derivation():
    got = st.dyad_statistics(COUNTED, HISTORY)
    for name, want in DYAD.items():
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-15, err_msg=name)


def test_statistics_vectorise_over_replicates():
    # A leading axis of replicates gives each replicate's own statistics.
    other = np.where(np.isnan(COUNTED), nan, 3 - np.nan_to_num(COUNTED))
    stacked = np.stack([COUNTED, other])
    for level in ("state", "dyad"):
        compute = st.STATISTIC_FUNCTIONS[level]
        together = compute(stacked, HISTORY)
        for k, one in enumerate((COUNTED, other)):
            alone = compute(one, HISTORY)
            for name in st.STATISTICS:
                np.testing.assert_array_equal(together[name][k], alone[name])


def test_reactivity_reads_lags_from_the_history():
    # Without a history the counted moves are their own history: the baseline year is
    # then no lag, so side 0's t1 cell (lag = side 1's period 0) drops out:
    # high {t3 esc, t6 not} -> 1/2, low {t2, t5 esc} -> 1; still -1/2.
    np.testing.assert_allclose(st.reactivity(COUNTED)[0, 0], -0.5)
    # Side 1 without a history: t1's lag (side 0's baseline) drops, the rest is as before.
    np.testing.assert_allclose(st.reactivity(COUNTED)[0, 1], nan)  # low set now empty


def test_mid_p_values():
    # P(T_rep > T_obs) + 0.5 P(T_rep = T_obs).
    assert st.mid_p_value([0.1, 0.5, 0.5, 0.9], 0.5) == pytest.approx(0.25 + 0.5 * 0.5)
    assert st.mid_p_value([0.6, 0.7], 0.5) == 1.0
    assert st.mid_p_value([0.1, 0.2], 0.5) == 0.0
    # Undefined replicates are left out; an undefined observed statistic gives NaN.
    assert st.mid_p_value([nan, 1.0, 0.0], 0.5) == pytest.approx(0.5)
    assert np.isnan(st.mid_p_value([0.1, 0.2], nan))
    assert np.isnan(st.mid_p_value([nan, nan], 0.5))
    # Shares equal as fractions but computed from different counts count as equal.
    assert st.mid_p_value([2 / 6], 1 / 3) == 0.5
    # Vectorised: draws on axis 0, one p per unit.
    p = st.mid_p_value(np.array([[0, 1], [1, 1], [2, 1]]), np.array([1, 1]))
    np.testing.assert_allclose(p, [0.5, 0.5])


def test_the_spiral_figure_uses_the_same_escalation_rate():
    panel = simulate_dyads(30, 8, seed=2)
    panel["move"][0, 0, 3] = nan
    rate = plotted_escalation_rate(panel)
    move = panel["move"].values
    for t in range(8):
        cells = move[:, :, t][~np.isnan(move[:, :, t])]
        assert rate.values[t] == pytest.approx(np.mean(cells >= 2), abs=1e-15)
