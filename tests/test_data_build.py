"""The panel builder and ``secdilemma data build``: outputs, determinism, bad input."""

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secdilemma.cli import app
from secdilemma.data.build import (
    CODEBOOK_FILE,
    PANEL_COLUMNS,
    PANEL_FILE,
    PROVENANCE_FILE,
    build_panel,
    render,
    sha256,
)
from secdilemma.data.readers import RawDataError

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
# hand-written COW-format files, not the registered raw files: builds from them pass
# verify=False (--allow-unverified-raw), since their sha256 is not in the registry
runner = CliRunner()


def run_build(*args: str, verify: bool = False):
    # the fixtures are hand-written COW-format files, not the registered raw files, so
    # every fixture build passes --allow-unverified-raw (verify=False); verification
    # itself is tested below with verify=True
    extra = [] if verify else ["--allow-unverified-raw"]
    return runner.invoke(app, ["data", "build", *args, *extra])


def copy_fixture(tmp_path: Path) -> Path:
    raw = tmp_path / "raw"
    shutil.copytree(FIX, raw)
    return raw


def test_cli_writes_panel_codebook_provenance(tmp_path):
    out = tmp_path / "out"
    res = run_build("--raw", str(FIX), "--dyads", "USA-RUS,FRN-GMY", "--out", str(out))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [CODEBOOK_FILE, PANEL_FILE, PROVENANCE_FILE]
    panel = pd.read_csv(out / PANEL_FILE)
    assert tuple(panel.columns) == PANEL_COLUMNS
    # one row per dyad-year and side: USA-RUS 1950-1954 and FRN-GMY 1955-1991, both sides
    assert len(panel) == 2 * (5 + 37)
    assert panel["dyad"].unique().tolist() == ["USA-RUS", "FRN-GMY"]
    codebook = pd.read_csv(out / CODEBOOK_FILE)
    assert codebook["column"].tolist() == list(PANEL_COLUMNS)
    assert codebook[["units", "meaning", "source"]].notna().all().all()


def test_provenance_is_relative_and_timeless(tmp_path):
    out = tmp_path / "out"
    assert run_build("--raw", str(FIX), "--dyads", "USA-RUS", "--out", str(out)).exit_code == 0
    text = (out / PROVENANCE_FILE).read_text()
    assert str(FIX) not in text and str(tmp_path) not in text
    prov = json.loads(text)
    assert [f["path"] for f in prov["raw_files"]] == [
        "cow_nmc/NMC-60-abridged.csv",
        "cow_mid/MIDB 5.0.csv",
        "cow_mid/dyadic_mid_4.02.csv",
        "cow_states/states2016.csv",
    ]
    assert prov["coding"]["build_up"] == 0.05 and prov["coding"]["min_hostility"] == 2
    assert prov["dyads"] == [
        {
            "id": "USA-RUS",
            "states": ["USA", "RUS"],
            "ccodes": [2, 365],
            "first_year": 1950,
            "last_year": 1954,
        }
    ]


def test_build_is_deterministic_and_codes_equal_names():
    a = render(build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False))
    b = render(build_panel(FIX, ["2-365", "220-255"], verify=False))
    assert a == b
    assert a[PANEL_FILE].count(b"\r") == 0


def test_start_end_bound_the_years():
    panel = build_panel(FIX, ["USA-RUS"], start=1951, end=1953, verify=False).panel
    assert sorted(panel["year"].unique()) == [1951, 1952, 1953]


def expect_failure(res, pattern: str, out: Path) -> None:
    assert res.exit_code == 2, res.output
    assert pattern in res.output
    assert not out.exists()


def test_missing_column_fails_and_writes_nothing(tmp_path):
    raw = copy_fixture(tmp_path)
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    pd.read_csv(nmc).drop(columns="milex").to_csv(nmc, index=False)
    out = tmp_path / "out"
    res = run_build("--raw", str(raw), "--dyads", "USA-RUS", "--out", str(out))
    expect_failure(res, "NMC file lacks column(s) ['milex']", out)


def test_non_numeric_milex_fails_and_writes_nothing(tmp_path):
    raw = copy_fixture(tmp_path)
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    nmc.write_bytes(nmc.read_bytes().replace(b"USA,2,1952,442,", b"USA,2,1952,n/a,"))
    out = tmp_path / "out"
    res = run_build("--raw", str(raw), "--dyads", "USA-RUS", "--out", str(out))
    # header is line 1, USA 1952 is the 4th data row
    expect_failure(res, "NMC-60-abridged.csv, line 4, column 'milex': got 'n/a'", out)


def test_unknown_state_fails_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    res = run_build("--raw", str(FIX), "--dyads", "USA-XYZ", "--out", str(out))
    expect_failure(res, "unknown state 'XYZ'", out)


def test_no_overlapping_years_fails_and_writes_nothing(tmp_path):
    # GFR exists from 1955; the fixture's USA rows end in 1954
    out = tmp_path / "out"
    res = run_build("--raw", str(FIX), "--dyads", "USA-RUS,USA-GFR", "--out", str(out))
    expect_failure(res, "dyad USA-GFR: no overlapping years in 1946-1991", out)


def test_raw_dir_without_files_fails_and_writes_nothing(tmp_path):
    raw = tmp_path / "raw"
    (raw / "cow_nmc").mkdir(parents=True)
    shutil.copy(FIX / "cow_nmc" / "NMC-60-abridged.csv", raw / "cow_nmc")
    out = tmp_path / "out"
    res = run_build("--raw", str(raw), "--out", str(out))
    expect_failure(res, "raw data directory lacks ['cow_mid/MIDB 5.0.csv'", out)
    assert "cow_states/states2016.csv" in res.output


def test_other_bad_requests():
    with pytest.raises(RawDataError, match=r"'USA-RUS' and '2-365' name the same pair"):
        build_panel(FIX, ["USA-RUS", "2-365"], verify=False)
    with pytest.raises(RawDataError, match=r"MID data .* end in 1991"):
        build_panel(FIX, ["USA-RUS"], end=1995, verify=False)
    with pytest.raises(RawDataError, match="expected two COW abbreviations"):
        build_panel(FIX, ["USA"], verify=False)
    with pytest.raises(RawDataError, match="both sides are USA"):
        build_panel(FIX, ["USA-2"], verify=False)
    with pytest.raises(RawDataError, match="unknown NMC version"):
        build_panel(FIX, ["USA-RUS"], nmc_version="5.0", verify=False)


def test_cli_rejects_negative_threshold_before_reading(tmp_path):
    out = tmp_path / "out"
    res = run_build("--raw", str(tmp_path / "absent"), "--build-up", "-0.5", "--out", str(out))
    # the parameter is checked first: the message is about --build-up, not the raw folder
    expect_failure(res, "build_up (--build-up) = -0.5: expected a share growth > 0", out)


def test_cli_refuses_a_pair_in_both_orientations(tmp_path):
    out = tmp_path / "out"
    res = run_build("--raw", str(FIX), "--dyads", "USA-RUS,RUS-USA", "--out", str(out))
    expect_failure(res, "dyads 'USA-RUS' and 'RUS-USA' name the same pair of states", out)


def test_fixture_files_are_not_verified_and_say_so(tmp_path):
    # the fixture NMC file is not the registered NMC v6.0 (989920cc...): refused by default
    out = tmp_path / "out"
    res = run_build("--raw", str(FIX), "--dyads", "USA-RUS", "--out", str(out), verify=True)
    expect_failure(res, "NMC-60-abridged.csv: sha256", out)
    assert "differs from the registered 989920cc06ccb652" in res.output
    assert "--allow-unverified-raw" in res.output
    with pytest.raises(RawDataError, match="truncated, altered or another release"):
        build_panel(FIX, ["USA-RUS"])
    # with the explicit option the build runs and the provenance records the actual hashes
    prov = build_panel(FIX, ["USA-RUS"], verify=False).provenance
    assert prov["raw_verified"] is False
    nmc = prov["raw_files"][0]
    assert nmc["path"] == "cow_nmc/NMC-60-abridged.csv" and nmc["verified"] is False
    assert nmc["sha256"] == sha256(FIX / "cow_nmc" / "NMC-60-abridged.csv")


def test_member_without_nmc_row_is_an_error_naming_it(tmp_path):
    # RUS is a member 1950-1954 in the fixture state list; without its 1953 row the 1953
    # world total would be USA 442 + CAN 179 = 621 instead of 1000, moving every share
    raw = copy_fixture(tmp_path)
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    nmc.write_bytes(nmc.read_bytes().replace(b"RUS,365,1953,379,100,1,1,1,1,.1,2021\r\n", b""))
    out = tmp_path / "out"
    res = run_build("--raw", str(raw), "--dyads", "USA-RUS", "--out", str(out))
    expect_failure(res, "the world total would be built from an incomplete system", out)
    assert "system members per" in res.output and "have no NMC row: RUS (365) 1953" in res.output


def test_nmc_row_of_a_non_member_is_an_error_naming_it(tmp_path):
    # CAN is a member only 1950-1954 in the fixture state list; a 1955 row would enter the
    # 1955 world total of FRN-GMY
    raw = copy_fixture(tmp_path)
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    nmc.write_bytes(nmc.read_bytes() + b"CAN,20,1955,100,10,1,1,1,1,.1,2021\r\n")
    with pytest.raises(RawDataError, match=r"not system members that year: CAN \(20\) 1955"):
        build_panel(raw, ["FRN-GMY"], verify=False)
    # the same row outside the years FRN-GMY uses (1954-1991) is irrelevant to USA-RUS
    assert len(build_panel(raw, ["USA-RUS"], verify=False).panel) == 10


def test_missing_value_is_not_a_missing_row():
    # USA 1954 has milex -9 (a row with a missing value): the build runs; the 1954 world
    # total is the sum of the usable values, RUS 379 + CAN 179 = 558
    panel = build_panel(FIX, ["USA-RUS"], verify=False).panel
    assert panel.loc[panel["year"] == 1954, "world_milex"].tolist() == [558, 558]


def test_out_that_is_a_file_fails_before_any_work(tmp_path):
    out = tmp_path / "panel.csv"
    out.write_text("not a folder")
    # the raw folder does not exist either: the --out check comes first
    res = run_build("--raw", str(tmp_path / "absent"), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert f"--out {out}: is a file; expected a directory" in res.output
    assert out.read_text() == "not a folder"


def test_out_under_a_file_fails_before_any_work(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = blocker / "sub"
    res = run_build("--raw", str(tmp_path / "absent"), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert f"{blocker} is not a folder" in res.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into a read-only folder")
def test_unwritable_out_fails_before_any_work(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        res = run_build("--raw", str(tmp_path / "absent"), "--out", str(locked / "out"))
    finally:
        locked.chmod(0o700)
    assert res.exit_code == 2, res.output
    assert "is not writable" in res.output
