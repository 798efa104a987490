"""Move coding on the hand-written COW fixture files (tests/fixtures/cow).

Fixture NMC, USA (2), RUS (365), CAN (20), milex / milper:

    year  USA      RUS      CAN      world milex / milper
    1950  400/100  400/100  200/50   1000 / 250
    1951  420/100  380/100  200/50   1000 / 250
    1952  442/100  358/100  200/50   1000 / 250
    1953  442/100  379/100  179/50   1000 / 250
    1954   -9/110  379/100  179/40    558 / 250

The fixture state list makes this a complete system: USA, CAN and RUS are
members 1950-1954, FRN 1955-1956 and 1989-1991, GFR 1955-1956 and 1989-1990,
GMY 1990-1991 (and 1816-1945), exactly the NMC rows (data.world.check_system).

MIDB: 106 (1950) RUS side A hostlev 4 vs USA hostlev 1; 103 (1950) USA and
RUS both on side A against CAN; 104 (1951) USA side A hostlev 1 vs RUS;
101 (1952-53) USA side A hostlev 3 vs RUS hostlev 1; 102 (1954) RUS side A
hostlev 2 vs USA hostlev 1.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secdilemma.data.build import build_panel
from secdilemma.data.coding import (
    CodingParams,
    CodingParamsError,
    dyadic_mid_counts,
    growth_move,
    world_shares,
)
from secdilemma.data.readers import read_dyadic_mid

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
# hand-written COW-format files, not the registered raw files: builds from them pass
# verify=False (--allow-unverified-raw), since their sha256 is not in the registry


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False).panel


def side(panel: pd.DataFrame, dyad: str, s: int) -> pd.DataFrame:
    return panel[(panel["dyad"] == dyad) & (panel["side"] == s)].set_index("year")


def test_usa_rus_years_and_moves(panel):
    usa, rus = side(panel, "USA-RUS", 0), side(panel, "USA-RUS", 1)
    assert usa.index.tolist() == [1950, 1951, 1952, 1953, 1954]
    # USA: 1950 first year, not militarized (106: hostlev 1; 103: RUS on USA's side) -> NaN
    #      1951 share .42/.40 - 1 = +5 % exactly -> hold (MID 104 entered with hostlev 1)
    #      1952 entered MID 101 with hostlev 3 -> militarized
    #      1953 .442/.442 - 1 = 0 -> hold
    #      1954 milex -9 -> milper share 110/250 = .44 vs 100/250 = .40: +10 % -> build-up
    np.testing.assert_array_equal(usa["move"].to_numpy(), [np.nan, 1, 3, 1, 2])
    # RUS: 1950 first year but entered MID 106 with hostlev 4 -> militarized
    #      1951 .38/.40 - 1 = -5 % exactly -> hold
    #      1952 .358/.38 - 1 = -5.79 % -> de-escalate (in MID 101 but hostlev 1: did not act)
    #      1953 .379/.358 - 1 = +5.87 % -> build-up
    #      1954 entered MID 102 with hostlev 2 (the threshold) -> militarized
    np.testing.assert_array_equal(rus["move"].to_numpy(), [3, 1, 0, 2, 3])


def test_raw_values_kept_beside_move(panel):
    usa, rus = side(panel, "USA-RUS", 0), side(panel, "USA-RUS", 1)
    assert np.isnan(usa.loc[1954, "milex"]) and usa.loc[1954, "milper"] == 110
    assert usa.loc[1954, "growth_source"] == "milper"
    assert usa.loc[1953, "growth_source"] == "milex"
    assert usa.loc[1950, "growth_source"] == ""
    # world milex 1954 = RUS 379 + CAN 179 = 558 (USA missing)
    assert rus.loc[1954, "world_milex"] == 558
    # RUS 1954 share growth (379/558)/(379/1000) - 1 = 1000/558 - 1
    assert rus.loc[1954, "milex_share_growth"] == pytest.approx(1000 / 558 - 1)
    assert usa.loc[1952, "milex_share_growth"] == pytest.approx(0.442 / 0.42 - 1)
    assert usa.loc[1954, "milper_share_growth"] == pytest.approx(0.1)


def test_mid_columns_only_for_the_side_that_acted(panel):
    usa, rus = side(panel, "USA-RUS", 0), side(panel, "USA-RUS", 1)
    # 1952: both enter MID 101, USA with hostlev 3 and RUS with hostlev 1
    assert usa.loc[1952, "hostility"] == 3 and rus.loc[1952, "hostility"] == 1
    assert usa.loc[1952, "mid_onset"] == 1 and rus.loc[1952, "mid_onset"] == 1
    # 1953: MID 101 continues (ongoing) but nobody enters one
    assert usa.loc[1953, "ongoing_mid"] == 1 and usa.loc[1953, "mid_onset"] == 0
    assert np.isnan(usa.loc[1953, "hostility"])
    assert usa["ongoing_mid"].tolist() == rus["ongoing_mid"].tolist() == [1, 1, 1, 1, 1]


def test_min_hostility_is_a_parameter():
    panel = build_panel(FIX, ["USA-RUS"], params=CodingParams(min_hostility=3), verify=False).panel
    rus = side(panel, "USA-RUS", 1)
    # RUS 1954 entered with hostlev 2 < 3: coded from growth, 1000/558 - 1 = +79 % -> build-up
    assert rus.loc[1954, "move"] == 2
    assert rus.loc[1950, "move"] == 3  # hostlev 4 still militarized


def test_thresholds_are_parameters():
    # with +/-6 %: USA 1954 milper +10 % still build-up; RUS 1953 +5.87 % becomes hold
    panel = build_panel(
        FIX, ["USA-RUS"], params=CodingParams(build_up=0.06, de_escalate=0.06), verify=False
    ).panel
    rus = side(panel, "USA-RUS", 1)
    np.testing.assert_array_equal(rus["move"].to_numpy(), [3, 1, 1, 1, 3])


def test_growth_boundaries():
    params = CodingParams()
    # exactly +/-5 % is hold; float noise (0.38/0.40 - 1 = -0.050000000000000044, which
    # would be de-escalate unrounded) is rounded away
    g = np.array([0.42 / 0.40 - 1, 0.38 / 0.40 - 1, 0.0500001, -0.0500001, 0.0, np.nan])
    np.testing.assert_array_equal(growth_move(g, params), [1, 1, 2, 0, 1, np.nan])


def test_zero_milex_is_missing_for_share_not_world():
    nmc = pd.DataFrame(
        {
            "ccode": [770, 770, 750, 750],
            "year": [1947, 1948, 1947, 1948],
            "milex": [0.0, 50.0, 100.0, 150.0],
            "milper": [10.0, 10.0, 10.0, 10.0],
        }
    )
    shares = world_shares(nmc, CodingParams())
    # PAK 1947 milex 0: no share, so no 1948 growth from it
    assert np.isnan(shares.loc[(770, 1947), "milex_share"])
    assert np.isnan(shares.loc[(770, 1948), "milex_share_growth"])
    # world 1948 = 50 + 150 = 200; IND share 150/200 = .75, 1947 share 100/100 = 1 -> -25 %
    assert shares.loc[(750, 1948), "milex_share_growth"] == pytest.approx(-0.25)
    kept = world_shares(nmc, CodingParams(zero_is_missing=False))
    assert kept.loc[(770, 1947), "milex_share"] == 0.0


def test_dyadic_duplicates_do_not_double_count(panel):
    dy = read_dyadic_mid(FIX / "cow_mid" / "dyadic_mid_4.02.csv")
    counts = dyadic_mid_counts(dy, 2, 365)
    # 1952: MID 101 listed three times (both orientations + a duplicate), MID 107 twice -> 2
    assert counts.to_dict() == {1950: 1, 1951: 1, 1952: 2, 1953: 1}
    usa = side(panel, "USA-RUS", 0)
    assert usa["mid402_disputes"].tolist() == [1, 1, 2, 1, 0]


def test_gfr_stands_in_for_gmy_1955_to_1990(panel):
    frn, gmy = side(panel, "FRN-GMY", 0), side(panel, "FRN-GMY", 1)
    # years: first and last in which both exist with NMC rows (1955 GFR .. 1991 GMY)
    assert frn.index.min() == 1955 and frn.index.max() == 1991
    assert (gmy["state"] == "GMY").all() and (gmy["ccode"] == 255).all()
    assert gmy.loc[1955, "source_state"] == "GFR" and gmy.loc[1990, "source_ccode"] == 260
    assert gmy.loc[1991, "source_state"] == "GMY"
    # 1956: world 300 + 200 = 500; GFR .4 vs .25 -> +60 % build-up; FRN .6 vs .75 -> de-escalate
    assert gmy.loc[1956, "move"] == 2 and frn.loc[1956, "move"] == 0
    # 1990: GFR entered MID 105 with hostlev 3 against FRN -> militarized for the German side
    assert gmy.loc[1990, "move"] == 3 and gmy.loc[1990, "milex"] == 500
    # NMC lists both Germanies in 1990; GFR's 500 is left out of the world total because
    # GMY's row covers it (data.world.WORLD_DUPLICATES): world 1990 = FRN 500 + GMY 600
    assert frn.loc[1990, "world_milex"] == 1100
    # GFR's own 1990 share is taken of that total: 500/1100 (1989: 500/1000)
    assert gmy.loc[1990, "milex_share"] == pytest.approx(5 / 11)
    # GMY's milper 1990 is -9, so GFR's milper (10) still counts: world 10 + 10 = 20
    assert frn.loc[1990, "world_milper"] == 20
    # 1991 growth is GMY's own: (1000/1500) / (600/1100) - 1 = 22/18 - 1 = 2/9
    assert gmy.loc[1991, "milex_share_growth"] == pytest.approx(2 / 9)
    # FRN 1991: (500/1500) / (500/1100) - 1 = -4/15, de-escalate; counting Germany twice
    # (world 1990 = 1600) it would be (1/3) / (5/16) - 1 = +6.7 %, a build-up
    assert frn.loc[1991, "milex_share_growth"] == pytest.approx(-4 / 15)
    assert frn.loc[1991, "move"] == 0
    # years without a German state or without NMC rows are missing
    assert gmy.loc[1960:1988, "move"].isna().all() and frn.loc[1960:1988, "move"].isna().all()
    # first year of each series is missing (no growth, no MID entry)
    assert np.isnan(gmy.loc[1955, "move"]) and np.isnan(frn.loc[1955, "move"])


def test_nmc_v7_gives_same_panel(panel):
    v7 = build_panel(FIX, ["USA-RUS", "FRN-GMY"], nmc_version="7.0", verify=False).panel
    pd.testing.assert_frame_equal(v7, panel)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"build_up": -0.5}, r"build_up \(--build-up\) = -0\.5: expected a share growth > 0"),
        ({"build_up": 0.0}, r"build_up \(--build-up\) = 0\.0: expected"),
        ({"build_up": float("nan")}, r"build_up \(--build-up\) = nan"),
        ({"de_escalate": -0.05}, r"de_escalate \(--de-escalate\) = -0\.05: expected"),
        ({"de_escalate": 1.0}, r"de_escalate \(--de-escalate\) = 1\.0: expected < 1"),
        ({"min_hostility": 0}, r"min_hostility \(--min-hostility\) = 0: expected .* 1\.\.5"),
        ({"min_hostility": 2.5}, r"min_hostility \(--min-hostility\) = 2\.5"),
        ({"zero_is_missing": "yes"}, r"zero_is_missing = 'yes': expected True or False"),
        ({"decimals": -1}, r"decimals = -1: expected a whole number 0\.\.15"),
    ],
)
def test_coding_params_out_of_range_are_named_errors(kwargs, pattern):
    with pytest.raises(CodingParamsError, match=pattern):
        CodingParams(**kwargs)


def test_coding_params_in_range_are_accepted():
    params = CodingParams(build_up=0.025, de_escalate=0.1, min_hostility=5, decimals=0)
    assert params.as_dict()["build_up"] == 0.025


def test_world_duplicate_left_out_per_variable():
    # Yemen 1990 in NMC v6.0: YAR milex 1000000 milper 127; YEM milex -9 milper 127.
    # YAR's milper is covered by YEM's and left out; its milex stays (YEM has none).
    nmc = pd.DataFrame(
        {
            "ccode": [678, 679, 2],
            "year": [1990, 1990, 1990],
            "milex": [1000.0, np.nan, 9000.0],
            "milper": [127.0, 127.0, 746.0],
        }
    )
    shares = world_shares(nmc, CodingParams())
    assert shares.loc[(2, 1990), "world_milex"] == 10000  # 9000 + YAR's 1000
    assert shares.loc[(2, 1990), "world_milper"] == 873  # 746 + YEM's 127, not 1000
    assert shares.loc[(678, 1990), "milper_share"] == pytest.approx(127 / 873)
    # no duplicates given: the plain sum
    plain = world_shares(nmc, CodingParams(), duplicates=())
    assert plain.loc[(2, 1990), "world_milper"] == 1000
