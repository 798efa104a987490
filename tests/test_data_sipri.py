"""SIPRI constant-price coding (--milex sipri) on the hand-written fixture.

Fixture SIPRI extract (US$ m, constant 2022 prices):

    USA   1950 100, 1951 110, 1952 110, 1953 104.5, 1954 99; 2022 100, 2023 200
    USSR  1950 200, 1951 190, 1952 180 (1953-54 unavailable)
    Russia 1953 100, 1954 106 (1950-52 not independent); both under COW code 365
    France 1955 100, 1956 100, 1989 100, 1990 95, 1991 90
    Germany 1955 50, 1956 60, 1970 70, 1971 80, 1989 100, 1990 100, 1991 150

Real growth g = value[t] / value[t-1] - 1 within one series; thresholds +-5 %.
The MIDs are those of the NMC fixture (test_data_coding): USA militarized 1952,
RUS 1950 and 1954, the German side (GFR) 1990.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from secdilemma.cli import app
from secdilemma.data.build import build_panel
from secdilemma.data.readers import RawDataError
from secdilemma.data.sipri import read_sipri, sipri_growth

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
SIPRI = FIX / "sipri" / "sipri_milex_1949-2023_extract_21countries.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    # the fixtures are not the registered raw files: verify=False
    return build_panel(FIX, ["USA-RUS", "FRN-GMY"], milex="sipri", verify=False).panel


def side(panel, dyad, s):
    return panel[(panel["dyad"] == dyad) & (panel["side"] == s)].set_index("year")


def test_usa_rus_moves_from_real_growth(panel):
    usa, rus = side(panel, "USA-RUS", 0), side(panel, "USA-RUS", 1)
    # USA: 1950 no 1949 value -> missing; 1951 +10 % -> build-up (NMC: hold);
    #      1952 militarized; 1953 104.5/110 - 1 = -5 % exactly -> hold;
    #      1954 99/104.5 - 1 = -5.26 % -> de-escalate (NMC: milper build-up)
    np.testing.assert_array_equal(usa["move"].to_numpy(), [np.nan, 2, 3, 1, 0])
    # RUS: 1950 militarized; 1951 190/200 - 1 = -5 % -> hold; 1952 180/190 - 1 -> de-escalate;
    #      1953 Russia's first value follows the USSR's last: two series, no growth -> missing;
    #      1954 militarized (Russia's +6 % is not needed)
    np.testing.assert_array_equal(rus["move"].to_numpy(), [3, 1, 0, np.nan, 3])
    assert usa.loc[1951, "sipri_growth"] == pytest.approx(0.1)
    assert rus.loc[1954, "sipri_growth"] == pytest.approx(0.06)
    assert usa["growth_source"].tolist() == ["", "sipri", "sipri", "sipri", "sipri"]
    # the NMC values stay beside the move, as in the NMC-coded panel
    assert usa.loc[1953, "milex"] == 442


def test_west_germany_takes_sipri_germany_and_only_member_years(panel):
    frn, gmy = side(panel, "FRN-GMY", 0), side(panel, "FRN-GMY", 1)
    # 1956: Germany 60/50 - 1 = +20 % for GFR -> build-up; France 100/100 -> hold
    assert gmy.loc[1956, "source_state"] == "GFR" and gmy.loc[1956, "move"] == 2
    assert frn.loc[1956, "move"] == 1
    # 1971: SIPRI Germany grows 80/70, but GFR is not a member in the fixture's 1971
    assert np.isnan(gmy.loc[1971, "sipri_growth"]) and np.isnan(gmy.loc[1971, "move"])
    # 1990 militarized (MID 105); 1991 unified Germany 150/100 -> build-up;
    # France 1990 -5 % exactly -> hold, 1991 90/95 - 1 = -5.26 % -> de-escalate
    assert gmy.loc[1990, "move"] == 3 and gmy.loc[1991, "move"] == 2
    assert frn.loc[1990, "move"] == 1 and frn.loc[1991, "move"] == 0


def test_current_price_column_and_series_breaks_are_not_growth():
    growth = sipri_growth(read_sipri(SIPRI))
    # 2023 is in current US$ in SIPRI's constant-price sheet: no value, so no 2023 growth
    assert (2, 2023) not in growth.index
    assert np.isnan(growth.loc[(2, 2022), "sipri_growth"])  # 2021 absent from the fixture
    assert growth.loc[(365, 1953), "sipri_country"] == "Russia"
    assert np.isnan(growth.loc[(365, 1953), "sipri_growth"])


def test_provenance_records_the_source(panel):
    prov = build_panel(FIX, ["USA-RUS"], milex="sipri", verify=False).provenance
    assert prov["milex_source"] == "sipri"
    paths = [f["path"] for f in prov["raw_files"]]
    assert paths[-1] == "sipri/sipri_milex_1949-2023_extract_21countries.csv"
    assert build_panel(FIX, ["USA-RUS"], verify=False).provenance["milex_source"] == "nmc"


@pytest.mark.parametrize(
    ("old", "new", "pattern"),
    [
        (
            "1951,110,,44",
            "1951,110,unavailable,44",
            r"line 3: milex_const2022_usd_m 110\.0 with flag",
        ),
        ("1953,,unavailable", "1953,,missing", r"line 12, column 'flag_const': got 'missing'"),
        ("Russia,365,RUS,1952,,not_independent", "Russia,365,RUS,1952,5,", r"line 16: two SIPRI"),
        ("1954,99,", "1954,-99,", r"line 6, column 'milex_const2022_usd_m': got '-99'"),
    ],
)
def test_reader_errors_name_file_and_line(tmp_path, old, new, pattern):
    bad = tmp_path / "sipri.csv"
    text = SIPRI.read_text()
    assert old in text
    bad.write_text(text.replace(old, new, 1))
    with pytest.raises(RawDataError, match=pattern):
        read_sipri(bad)


def test_cli_milex_option(tmp_path):
    args = ["data", "build", "--raw", str(FIX), "--dyads", "USA-RUS", "--allow-unverified-raw"]
    out = tmp_path / "out"
    res = runner.invoke(app, [*args, "--out", str(out), "--milex", "sipri"])
    assert res.exit_code == 0, res.output
    header = (out / "dyads.csv").read_text().splitlines()[0]
    assert header.endswith(",sipri_growth")
    assert "sipri_growth" in (out / "codebook.csv").read_text()
    res = runner.invoke(app, [*args, "--out", str(tmp_path / "x"), "--milex", "wdi"])
    assert (
        res.exit_code == 2
        and "unknown --milex 'wdi'; expected one of ['nmc', 'sipri']" in res.output
    )
    res = runner.invoke(
        app, ["data", "build", "--raw", str(FIX), "--milex", "sipri", "--bundle", "--out", str(out)]
    )
    assert res.exit_code == 2 and "drop --milex" in res.output
