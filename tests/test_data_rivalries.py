"""Rivalry panels on the hand-written fixtures (tests/fixtures/cow, rivalries/ included).

Fixture Thompson-Dreyer list (file line: number, name, codes, years, region, types):

    2: 1 France-Prussia          220-255 1756-1955 European GPs  spatial, positional
    3: 4 Canada-France           20-220  1900-1930 North America spatial
    4: 2 Russia-United States 1  2-365   1945-1951 Global        positional, ideological
    5: 3 Russia-United States 2  2-365   1953-1954 Multiple      positional
    6: 5 Canada-Russia           20-365  1950-1954 North America ideological
    7: 6 France-West Germany     220-260 1955-1960 European GPs  positional
    8: 7 Canada-West Germany     20-260  1955-1956 North America spatial
    9: 8 Canada-Ruritania        20-999  1950-1952 North America spatial
   10: 9 Germany-West Germany    255-260 1990-1990 European GPs  ideological

With the default span (1946 to the fixture's last NMC and MID year, 1991):
rivalry 4 ended before 1946; GFR (260) stands in for GMY (255), so 6 joins 1
(FRN-GMY), 7 becomes CAN-GMY (no year in which both exist: CAN 1950-1954,
the German side 1955-1956 and 1989-1991) and 9 becomes GMY-GMY; 999 is not
a COW code; 2 and 3 are one dyad, USA-RUS. Built: FRN-GMY, USA-RUS, CAN-RUS.
The fixtures are not the registered raw files, so builds pass verify=False.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from secdilemma.cli import app
from secdilemma.data.load import load_dyads
from secdilemma.data.readers import RawDataError
from secdilemma.data.rivalries import read_rivalries, rivalry_list
from secdilemma.data.rivalry_panel import (
    RIVALRY_PANEL_COLUMNS,
    build_rivalry_panel,
    render_rivalries,
    rivalry_file_names,
    write_rivalry_panel,
)
from secdilemma.panel import PanelError, grouping, grouping_attributes

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
TD = FIX / "rivalries" / "td_rivalries_peacesciencer.csv"
runner = CliRunner()


@pytest.fixture(scope="module")
def built():
    return build_rivalry_panel(FIX, "td", verify=False)


@pytest.fixture(scope="module")
def loaded(built, tmp_path_factory):
    out = tmp_path_factory.mktemp("td")
    write_rivalry_panel(built, [out])
    return load_dyads(path=out)


def test_every_rivalry_is_in_the_panel_or_left_out_with_a_reason(built):
    assert built.dyads["dyad"].tolist() == ["FRN-GMY", "USA-RUS", "CAN-RUS"]
    in_panel = [i for ids in built.dyads["rivalry_id"] for i in ids.split("+")]
    left = built.left_out["rivalry_id"].tolist()
    assert sorted(in_panel + left, key=int) == [str(i) for i in range(1, 10)]
    reasons = dict(zip(left, built.left_out["reason"], strict=True))
    assert reasons == {
        "4": "rivalry ended in 1930, before the first year 1946",
        "7": "no year in 1946-1991 in which both CAN and GMY are system members with NMC data",
        "8": "state code(s) [999] not in the COW state list (states2016)",
        "9": "both states are 255 once stand-ins are mapped to their successor",
    }
    assert built.left_out["line"].tolist() == [3, 8, 9, 10]
    assert built.provenance["counts"] == {
        "rivalries_listed": 9,
        "rivalries_in_panel": 5,
        "rivalries_left_out": 4,
        "dyads": 3,
        "left_out_by_reason": {
            "ended before the first year": 1,
            "no year with both states members with NMC data": 1,
            "one state after successions": 1,
            "state not in the COW state list": 1,
        },
    }


def test_two_spells_and_a_stand_in_make_one_dyad(built):
    meta = built.dyads.set_index("dyad")
    frn = meta.loc["FRN-GMY"]
    # France-Prussia (220-255) and France-West Germany (220-260, GFR standing in for GMY)
    assert frn["rivalry_id"] == "1+6" and frn["n_spells"] == 2
    assert frn["rivalry_name"] == "France-Prussia; France-West Germany"
    assert frn["rivalry_spells"] == "1756-1955+1955-1960"
    assert frn["listed_pairs"] == "220-255+220-260"
    assert (frn["rivalry_start"], frn["rivalry_end"]) == (1756, 1960)
    # type1 and region of the earliest spell; flags from any spell
    assert frn["rivalry_type"] == "spatial" and frn["region"] == "European GPs"
    assert frn["type_spatial"] and frn["type_positional"] and not frn["type_ideological"]
    usa = meta.loc["USA-RUS"]
    assert usa["rivalry_spells"] == "1945-1951+1953-1954" and usa["region"] == "Global"
    assert usa["rivalry_type"] == "positional" and usa["type_ideological"]
    # side 0 is the lower COW code: CAN (20) before RUS (365)
    assert tuple(meta.loc["CAN-RUS", ["ccode0", "ccode1"]]) == (20, 365)


def test_moves_over_the_whole_span_by_the_same_rule(built):
    panel = built.panel
    can = panel[(panel["dyad"] == "CAN-RUS") & (panel["side"] == 0)].set_index("year")
    rus = panel[(panel["dyad"] == "CAN-RUS") & (panel["side"] == 1)].set_index("year")
    # CAN milex 200, 200, 200, 179, 179 of world 1000 (1950-53) and 558 (1954):
    #   1950 first year -> missing; 1951, 1952 share growth 0 -> hold;
    #   1953 .179/.200 - 1 = -10.5 % -> de-escalate; 1954 (179/558)/.179 - 1 = +79 % -> build-up
    np.testing.assert_array_equal(can["move"].to_numpy(), [np.nan, 1, 1, 0, 2])
    # RUS vs CAN: 1950 entered MID 103 with hostlev 2 against CAN (other side) -> militarized;
    #   1951 -5 % exactly -> hold; 1952 -5.79 % -> de-escalate; 1953 +5.87 % -> build-up;
    #   1954 MID 102 is against the USA, not CAN: (379/558)/(379/1000) - 1 = +79 % -> build-up
    np.testing.assert_array_equal(rus["move"].to_numpy(), [3, 1, 0, 2, 2])
    assert can.loc[1953, "milex"] == 179 and rus.loc[1950, "hostility"] == 2
    # the FRN-GMY dyad runs past the rivalry's end (1960) to the last year with both states
    frn = panel[(panel["dyad"] == "FRN-GMY") & (panel["side"] == 0)]
    assert frn["year"].min() == 1955 and frn["year"].max() == 1991
    assert tuple(panel.columns) == RIVALRY_PANEL_COLUMNS


def test_world_table_beside_the_panel(built):
    world = built.world.set_index("year")
    # 1954: RUS 379 + CAN 179 (USA -9); 1990: FRN 500 + GMY 600, GFR counted once (as GMY)
    assert world.loc[1954, "world_milex"] == 558 and world.loc[1990, "world_milex"] == 1100
    assert world.index.min() == 1950 and world.index.max() == 1991


def test_rebuild_is_byte_identical_and_has_a_codebook(built):
    again = render_rivalries(build_rivalry_panel(FIX, "td", verify=False))
    assert again == render_rivalries(built)
    names = rivalry_file_names("td")
    assert sorted(again) == sorted(names.values())
    codebook = again[names["codebook"]].decode().splitlines()
    assert codebook[0] == "file,column,units,meaning,source"
    described = {tuple(line.split(",")[:2]) for line in codebook[1:]}
    for col in RIVALRY_PANEL_COLUMNS:
        assert (names["panel"], col) in described, col
    assert (names["dyads"], "rivalry_type") in described
    prov = json.loads(again[names["provenance"]])
    assert prov["rivalry_list"]["name"] == "td" and prov["raw_verified"] is False
    assert [f["path"] for f in prov["raw_files"]][-1] == "rivalries/td_rivalries_peacesciencer.csv"


def test_loaded_rivalry_panel_carries_the_metadata_as_coords(loaded):
    assert loaded["dyad"].values.tolist() == ["FRN-GMY", "USA-RUS", "CAN-RUS"]
    for coord in ("rivalry_id", "rivalry_type", "region", "type_spatial", "rivalry_start"):
        assert loaded[coord].dims == ("dyad",), coord
    assert loaded["rivalry_type"].values.tolist() == ["spatial", "positional", "ideological"]
    assert loaded["type_ideological"].dtype == bool
    assert loaded["rivalry_id"].values.tolist() == ["1+6", "2+3", "5"]
    # state0/state1 are the state coord already
    assert "state0" not in loaded.coords
    assert loaded["state"].sel(dyad="CAN-RUS").values.tolist() == ["CAN", "RUS"]


def test_grouping_codes_and_labels(loaded):
    codes, labels = grouping(loaded, "region")
    assert labels == ("European GPs", "Global", "North America")
    assert codes.tolist() == [0, 1, 2]
    codes, labels = grouping(loaded, "type_positional")
    assert labels == ("False", "True") and codes.tolist() == [1, 1, 0]
    assert "rivalry_type" in grouping_attributes(loaded)
    assert "rivalry_id" not in grouping_attributes(loaded)


def test_grouping_by_an_unknown_attribute_names_it_and_the_available(loaded):
    with pytest.raises(PanelError, match=r"'continent' is not a categorical dyad coord") as err:
        grouping(loaded, "continent")
    assert "'region'" in str(err.value) and "'rivalry_type'" in str(err.value)
    dyads_only = load_dyads()
    with pytest.raises(PanelError, match=r"available: none"):
        grouping(dyads_only, "region")


def test_load_names_and_years_from_a_rivalry_panel(loaded, tmp_path, built):
    write_rivalry_panel(built, [tmp_path])
    sub = load_dyads(["RUS-CAN"], years=(1951, 1953), path=tmp_path / "td_panel.csv")
    assert sub["dyad"].values.tolist() == ["CAN-RUS"]
    assert sub["region"].values.tolist() == ["North America"]
    np.testing.assert_array_equal(sub["move"].values[0], [[1, 1, 0], [1, 0, 2]])


def test_metadata_must_match_the_panel(built, tmp_path):
    write_rivalry_panel(built, [tmp_path])
    dyads = tmp_path / "td_dyads.csv"
    text = dyads.read_text()
    dyads.write_text(text.replace("CAN-RUS,CAN,RUS,20,365", "CAN-RUS,RUS,CAN,365,20"))
    with pytest.raises(PanelError, match=r"dyad CAN-RUS side 0 is \('RUS', 365\) here"):
        load_dyads(path=tmp_path)
    dyads.unlink()
    with pytest.raises(FileNotFoundError, match="rivalry metadata not found"):
        load_dyads(path=tmp_path)


def test_unknown_list_and_span_outside_the_data():
    with pytest.raises(RawDataError, match=r"unknown rivalry list 'cow'; expected one of"):
        build_rivalry_panel(FIX, "cow", verify=False)
    with pytest.raises(RawDataError, match=r"--end 1995: the MID data .* end in 1991"):
        build_rivalry_panel(FIX, "td", end=1995, verify=False)
    with pytest.raises(RawDataError, match=r"--end 1900: the NMC data .* start in 1950"):
        build_rivalry_panel(FIX, "td", start=1890, end=1900, verify=False)
    with pytest.raises(RawDataError, match=r"--start 1992 is after --end 1991"):
        build_rivalry_panel(FIX, "td", start=1992, verify=False)


def test_span_bounds_which_rivalries_are_in(built):
    late = build_rivalry_panel(FIX, "td", start=1953, end=1954, verify=False)
    # rivalry 2 (1945-1951) is outside 1953-1954 but 3 (1953-1954) keeps USA-RUS in
    meta = late.dyads.set_index("dyad")
    assert meta.loc["USA-RUS", "rivalry_id"] == "3"
    assert "rivalry ended in 1951, before the first year 1953" in late.left_out["reason"].tolist()


def test_reader_errors_name_file_line_and_column(tmp_path):
    bad = tmp_path / "td.csv"
    text = TD.read_text()
    bad.write_text(text.replace("Global,positional", "Global,economic"))
    with pytest.raises(RawDataError, match=r"td\.csv, line 4, column 'type1': got 'economic'"):
        read_rivalries(bad, "td")
    bad.write_text(text.replace("2,365,1945,1951", "2,365,1955,1951"))
    with pytest.raises(RawDataError, match=r"line 4: rivalry ends in 1951, before it starts"):
        read_rivalries(bad, "td")
    bad.write_text(text.replace("Multiple,", "Atlantis,"))
    with pytest.raises(RawDataError, match=r"line 5, column 'region': got 'Atlantis'"):
        read_rivalries(bad, "td")
    bad.write_text(text.replace("\n5,Canada-Russia", "\n3,Canada-Russia"))
    with pytest.raises(RawDataError, match=r"line 6: rivalry number 3 appears twice"):
        read_rivalries(bad, "td")
    with pytest.raises(RawDataError, match="unknown rivalry list 'TDX'"):
        rivalry_list("TDX")


def test_tss_and_kgd_readers(tmp_path):
    tss = tmp_path / "tss.csv"
    tss.write_text(
        "tssr_id,rivalry,ccode1,ccode2,start,end,positional,spatial,ideological,"
        "interventionary,principal,aprin\n"
        "1,A-B,365,2,1945,1989,,1,1,,1,\n"
        "2,C-D,20,365,1950,1954,,,,,,\n"
    )
    spells = read_rivalries(tss, "tss")
    # the lower code first; the first flagged type in the source's column order
    assert spells[["ccode1", "ccode2"]].values.tolist() == [[2, 365], [20, 365]]
    assert spells["rivalry_type"].tolist() == ["spatial", "unspecified"]
    assert spells["type_ideological"].tolist() == [True, False]
    tss.write_text(tss.read_text().replace(",,1,1,,1,", ",,yes,1,,1,"))
    with pytest.raises(RawDataError, match=r"line 2, column 'spatial': got 'yes'; expected 1"):
        read_rivalries(tss, "tss")
    kgd = tmp_path / "kgd.csv"
    head = "rivnumb,rivalry,rivala,rivalb,beginr,endr,totdisp,rivtyp2,rivtypold\n"
    kgd.write_text(head + "1,2365,2,365,19460300,19891200,30,RIVALRY,ENDURING\n")
    spells = read_rivalries(kgd, "kgd")
    # day 00 = unknown day; the level in lower case
    assert spells[["start", "end", "rivalry_type"]].values.tolist() == [[1946, 1989, "enduring"]]
    kgd.write_text(head + "1,2365,2,365,19461300,19891200,30,RIVALRY,ENDURING\n")
    with pytest.raises(RawDataError, match=r"column 'beginr': got 19461300; expected a date"):
        read_rivalries(kgd, "kgd")


def test_cli_builds_a_rivalry_panel_and_refuses_bad_options(tmp_path):
    out = tmp_path / "out"
    args = ["data", "build", "--raw", str(FIX), "--out", str(out), "--allow-unverified-raw"]
    res = runner.invoke(app, [*args, "--rivalries", "td"])
    assert res.exit_code == 0, res.output
    assert "td: 9 rivalries listed, 5 in 3 dyads, 4 left out (td_left_out.csv)" in res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(rivalry_file_names("td").values())
    res = runner.invoke(app, [*args, "--rivalries", "xyz"])
    assert res.exit_code == 2 and "unknown rivalry list 'xyz'" in res.output
    res = runner.invoke(app, [*args, "--rivalries", "td", "--dyads", "USA-RUS"])
    assert res.exit_code == 2 and "--dyads and --rivalries: choose one" in res.output
    res = runner.invoke(app, [*args, "--rivalries", "td", "--start", "1950", "--bundle"])
    assert res.exit_code == 2 and "drop --start, --allow-unverified-raw" in res.output


def test_rivalry_fixture_is_a_copy_of_the_layout(tmp_path):
    # a raw folder without rivalries/ names the file it lacks
    raw = tmp_path / "raw"
    shutil.copytree(FIX, raw)
    shutil.rmtree(raw / "rivalries")
    with pytest.raises(RawDataError, match=r"lacks \['rivalries/td_rivalries_peacesciencer"):
        build_rivalry_panel(raw, "td", verify=False)
