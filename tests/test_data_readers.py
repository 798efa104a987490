"""Readers of the raw COW files: types, missing values and clear errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secdilemma.data.readers import (
    RawDataError,
    read_dyadic_mid,
    read_midb,
    read_nmc,
    read_states,
)

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
NMC6 = FIX / "cow_nmc" / "NMC-60-abridged.csv"
NMC7 = FIX / "cow_nmc" / "cow_nmc_v7.0_peacesciencer.csv"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_nmc_v6_minus_nine_is_missing():
    nmc = read_nmc(NMC6).set_index(["ccode", "year"])
    # USA 1954 milex is -9 in the fixture, milper 110
    assert np.isnan(nmc.loc[(2, 1954), "milex"])
    assert nmc.loc[(2, 1954), "milper"] == 110
    # GMY 1990 milper is -9
    assert np.isnan(nmc.loc[(255, 1990), "milper"])
    assert nmc.loc[(255, 1990), "milex"] == 600
    # exactly those two cells are missing
    assert int(nmc[["milex", "milper"]].isna().sum().sum()) == 2


def test_nmc_v7_blanks_are_missing_and_match_v6():
    v6, v7 = read_nmc(NMC6), read_nmc(NMC7)
    pd.testing.assert_frame_equal(v6, v7)
    assert np.isnan(v7.set_index(["ccode", "year"]).loc[(2, 1954), "milex"])


def test_nmc_missing_column_names_file_and_column(tmp_path):
    path = write(tmp_path, "nmc.csv", "stateabb,ccode,year,milper\nUSA,2,1950,3\n")
    with pytest.raises(RawDataError, match=r"nmc\.csv: NMC file lacks column\(s\) \['milex'\]"):
        read_nmc(path)


def test_nmc_non_numeric_milex_names_line_column_value(tmp_path):
    text = "ccode,year,milex,milper\n2,1950,400,100\n2,1951,4o0,100\n"
    path = write(tmp_path, "nmc.csv", text)
    with pytest.raises(RawDataError, match=r"nmc\.csv, line 3, column 'milex': got '4o0'"):
        read_nmc(path)


def test_nmc_negative_other_than_minus_nine_rejected(tmp_path):
    path = write(tmp_path, "nmc.csv", "ccode,year,milex,milper\n2,1950,-8,100\n")
    with pytest.raises(RawDataError, match=r"line 2, column 'milex': got '-8'.*-9 or empty"):
        read_nmc(path)


def test_nmc_fractional_year_rejected(tmp_path):
    path = write(tmp_path, "nmc.csv", "ccode,year,milex,milper\n2,1950.5,1,1\n")
    with pytest.raises(RawDataError, match=r"line 2, column 'year'.*whole number"):
        read_nmc(path)


def test_nmc_duplicate_state_year_rejected(tmp_path):
    path = write(tmp_path, "nmc.csv", "ccode,year,milex,milper\n2,1950,1,1\n2,1950,2,2\n")
    with pytest.raises(RawDataError, match=r"line 3: state-year ccode=2, year=1950 appears twice"):
        read_nmc(path)


def test_midb_types_and_quoted_abbreviations():
    midb = read_midb(FIX / "cow_mid" / "MIDB 5.0.csv")
    assert len(midb) == 13
    assert midb["stabb"].iloc[0] == "USA"  # quotes stripped by the CSV parser
    assert midb["hostlev"].dtype == np.int64


def test_midb_bad_sidea_and_hostlev(tmp_path):
    head = "dispnum,stabb,ccode,styear,endyear,sidea,hostlev\n"
    path = write(tmp_path, "midb.csv", head + "1,USA,2,1950,1950,2,3\n")
    pattern = r"line 2, column 'sidea': got 2; expected one of \[0, 1\]"
    with pytest.raises(RawDataError, match=pattern):
        read_midb(path)
    path = write(tmp_path, "midb.csv", head + "1,USA,2,1950,1950,1,-9\n")
    with pytest.raises(RawDataError, match=r"line 2, column 'hostlev'"):
        read_midb(path)
    path = write(tmp_path, "midb.csv", head + "1,USA,2,1951,1950,1,3\n")
    with pytest.raises(RawDataError, match=r"column 'endyear': 1950 is before styear 1951"):
        read_midb(path)


def test_dyadic_mid_rows_returned_as_is():
    dy = read_dyadic_mid(FIX / "cow_mid" / "dyadic_mid_4.02.csv")
    assert len(dy) == 11  # mirrored and duplicated rows are kept by the reader
    assert list(dy.columns) == ["disno", "statea", "stateb", "year", "hihosta", "hihostb"]


def test_states_spells_and_one_to_one_codes(tmp_path):
    states = read_states(FIX / "cow_states" / "states2016.csv")
    assert (states["stateabb"] == "FRN").sum() == 2
    text = "stateabb,ccode,statenme,styear,endyear\nUSA,2,A,1816,2016\nUSA,3,B,1816,2016\n"
    with pytest.raises(RawDataError, match="one to one"):
        read_states(write(tmp_path, "states.csv", text))


def test_absent_file_named(tmp_path):
    with pytest.raises(RawDataError, match=r"nope\.csv: NMC file not found"):
        read_nmc(tmp_path / "nope.csv")
