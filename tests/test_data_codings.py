"""Named codings (nmc|sipri x 2.5|5|10 %), coded panels and the agreement table."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secdilemma.data.build import build_panel
from secdilemma.data.coding import CodingParams
from secdilemma.data.codings import (
    CODINGS,
    agreement_markdown,
    agreement_table,
    coded_panel,
    coding,
    covered_dyads,
    read_sipri_moves,
    recode,
)
from secdilemma.data.load import load_dyads
from secdilemma.panel import PanelError

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"


def test_six_named_codings():
    assert [c.name for c in CODINGS] == [
        "nmc-2.5",
        "nmc-5",
        "nmc-10",
        "sipri-2.5",
        "sipri-5",
        "sipri-10",
    ]
    assert coding("sipri-10").params == CodingParams(build_up=0.1, de_escalate=0.1)
    with pytest.raises(PanelError, match=r"unknown coding 'nmc-7'; expected one of \['nmc-2.5'"):
        coding("nmc-7")


@pytest.mark.parametrize("threshold", [0.025, 0.06, 0.10])
def test_recoding_equals_a_build_with_that_threshold(threshold):
    # fixtures, not the registered raw files: verify=False
    params = CodingParams(build_up=threshold, de_escalate=threshold)
    fresh = build_panel(FIX, ["USA-RUS", "FRN-GMY"], params=params, verify=False).panel
    default = build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False).panel
    np.testing.assert_array_equal(recode(default, "nmc", threshold), fresh["move"].to_numpy())
    sipri_fresh = build_panel(
        FIX, ["USA-RUS", "FRN-GMY"], params=params, verify=False, milex="sipri"
    ).panel
    sipri_default = build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False, milex="sipri").panel
    np.testing.assert_array_equal(
        recode(sipri_default, "sipri", threshold), sipri_fresh["move"].to_numpy()
    )


def test_recode_at_ten_percent_by_hand():
    panel = build_panel(FIX, ["USA-RUS"], verify=False).panel
    usa = panel[panel["side"] == 0]
    # USA NMC growth: 1951 +5 %, 1953 0, 1954 milper +10 % exactly: all hold at 10 %;
    # 1952 militarized stays
    np.testing.assert_array_equal(recode(usa, "nmc", 0.10), [np.nan, 1, 3, 1, 1])


def sipri_fixture_moves() -> tuple[pd.DataFrame, pd.DataFrame]:
    nmc = build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False).panel
    sipri = build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False, milex="sipri").panel
    moves = sipri[["dyad", "year", "side"]].copy()
    moves.insert(0, "panel", "fixture")
    for t, col in ((0.025, "move_2.5"), (0.05, "move_5"), (0.10, "move_10")):
        moves[col] = recode(sipri, "sipri", t)
    return nmc, moves


def test_agreement_by_hand():
    nmc, moves = sipri_fixture_moves()
    table = agreement_table(moves, {"fixture": nmc}).set_index(["dyad", "threshold"])
    row = table.loc[("USA-RUS", 0.05)]
    # NMC: USA [-, 1, 3, 1, 2], RUS [3, 1, 0, 2, 3]; SIPRI: USA [-, 2, 3, 1, 0],
    # RUS [3, 1, 0, -, 3]. Both coded: USA 1951-54 (4), RUS 1950-52 and 1954 (4) = 8;
    # identical: USA 1952, 1953 and RUS 1950, 1951, 1952, 1954 = 6 -> 0.75.
    # Spending cells (neither militarized): USA 1951, 1953, 1954 and RUS 1951, 1952 = 5,
    # identical USA 1953, RUS 1951, 1952 = 3 -> 0.6
    assert (row["n_both"], row["n_identical"]) == (8, 6) and row["agreement"] == 0.75
    assert (row["n_spending"], row["n_spending_identical"]) == (5, 3)
    assert row["spending_agreement"] == pytest.approx(0.6)
    total = table.loc[("all", 0.05)]
    assert (
        total["n_both"]
        == table.loc[("USA-RUS", 0.05), "n_both"] + table.loc[("FRN-GMY", 0.05), "n_both"]
    )
    page = agreement_markdown(agreement_table(moves, {"fixture": nmc}), {}).decode()
    assert "| USA-RUS | 8 |" in page and "0.75" in page


def test_covered_dyads_need_sipri_on_both_sides():
    sipri = build_panel(FIX, ["USA-RUS", "FRN-GMY", "CAN-RUS"], verify=False, milex="sipri")
    # CAN is not in the SIPRI extract
    assert covered_dyads(sipri.panel) == ["USA-RUS", "FRN-GMY"]


def test_nmc_5_is_the_bundled_panel_and_others_differ():
    bundled = load_dyads()
    same = coded_panel("nmc-5")
    np.testing.assert_array_equal(same["move"].values, bundled["move"].values)
    assert same.attrs["coding"] == "nmc-5"
    wide = coded_panel("nmc-10")
    observed = ~np.isnan(bundled["move"].values)
    assert (wide["move"].values[observed] != bundled["move"].values[observed]).any()
    # only the thresholds move: the militarized cells and the missing cells stay
    mil = bundled["move"].values == 3
    assert (wide["move"].values[mil] == 3).all()
    assert np.array_equal(np.isnan(wide["move"].values), ~observed)


def test_sipri_coded_panels_from_the_shipped_moves():
    ds = coded_panel("sipri-5")
    # PRK and SYR have no SIPRI constant-price series
    assert ds.attrs["sipri_left_out"] == "PRK-ROK ISR-SYR"
    assert ds.sizes["dyad"] == 10 and "PRK-ROK" not in ds["dyad"].values
    riv = coded_panel("sipri-10", "rivalries")
    assert riv.sizes["dyad"] == 15 and "rivalry_type" in riv.coords
    moves = read_sipri_moves()
    assert sorted(moves.columns) == sorted(
        ["panel", "dyad", "year", "side", "move_2.5", "move_5", "move_10"]
    )
    # moves only: no SIPRI value or growth is shipped
    assert not any("growth" in c or "milex" in c for c in moves.columns)


def test_cli_codings_checks_out_before_work(tmp_path):
    from typer.testing import CliRunner

    from secdilemma.cli import app

    out = tmp_path / "file"
    out.write_text("x")
    res = CliRunner().invoke(app, ["data", "codings", "--raw", str(tmp_path), "--out", str(out)])
    assert res.exit_code == 2 and f"--out {out}: is a file; expected a directory" in res.output
    # the fixture has none of the bundled dyads' other states: a clear error, nothing written
    res = CliRunner().invoke(
        app,
        [
            "data",
            "codings",
            "--raw",
            str(FIX),
            "--out",
            str(tmp_path / "o"),
            "--allow-unverified-raw",
        ],
    )
    assert res.exit_code == 2 and "unknown state 'IND'" in res.output
    assert not (tmp_path / "o").exists()
