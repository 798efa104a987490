"""Checks against the real raw COW files in ../shared/data/raw (skipped without them).

The committed panel must be rebuilt from the raw files byte for byte, and a few
named dyad-years are recomputed here from the raw files with the standard
library only (an implementation independent of the package's pandas code).
"""

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from secdilemma.data.build import (
    CODEBOOK_FILE,
    PANEL_FILE,
    PROVENANCE_FILE,
    build_panel,
    render,
    sha256,
)
from secdilemma.data.coding import CodingParams
from secdilemma.data.fetch import REGISTRY, fetch_raw
from secdilemma.data.readers import RawDataError, read_dyadic_mid
from secdilemma.data.rivalry_panel import build_rivalry_panel, render_rivalries, rivalry_file_names

ROOT = Path(__file__).resolve().parents[1]
RAW = Path(os.environ.get("SECDILEMMA_RAW", ROOT.parent / "shared" / "data" / "raw"))
PROCESSED = ROOT / "data" / "processed"

pytestmark = [
    pytest.mark.rawdata,
    pytest.mark.skipif(
        not (RAW / "cow_nmc").is_dir(),
        reason=f"raw COW data not found at {RAW} (set SECDILEMMA_RAW to the raw folder)",
    ),
]


@pytest.fixture(scope="module")
def rebuilt() -> dict[str, bytes]:
    return render(build_panel(RAW))


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return pd.read_csv(PROCESSED / PANEL_FILE, keep_default_na=False, na_values=[""])


def test_committed_panel_rebuilt_byte_for_byte(rebuilt):
    assert rebuilt[PANEL_FILE] == (PROCESSED / PANEL_FILE).read_bytes()
    assert rebuilt[CODEBOOK_FILE] == (PROCESSED / CODEBOOK_FILE).read_bytes()
    # provenance: identical except the package version, which moves with releases
    new = json.loads(rebuilt[PROVENANCE_FILE])
    old = json.loads((PROCESSED / PROVENANCE_FILE).read_text())
    new.pop("package_version")
    old.pop("package_version")
    assert new == old


def test_provenance_hashes_match_raw_files():
    prov = json.loads((PROCESSED / PROVENANCE_FILE).read_text())
    for entry in prov["raw_files"]:
        assert sha256(RAW / entry["path"]) == entry["sha256"], entry["path"]


def nmc_rows() -> dict[tuple[int, int], tuple[float | None, float | None]]:
    out = {}
    with (RAW / "cow_nmc" / "NMC-60-abridged.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            vals = []
            for col in ("milex", "milper"):
                v = float(row[col])
                vals.append(None if v == -9 else v)
            out[(int(row["ccode"]), int(row["year"]))] = (vals[0], vals[1])
    return out


# counted once in the world total (data/README.md, "The world total"): in 1990 NMC lists
# West Germany (GFR 260) beside unified Germany (GMY 255), whose row covers it, and North
# Yemen's milper (YAR 678) beside unified Yemen's (YEM 679); k = 0 milex, 1 milper
LEFT_OUT = {(260, 1990, 0), (260, 1990, 1), (678, 1990, 1)}


def share(rows, code: int, year: int, k: int) -> float | None:
    world = sum(
        v[k] for (c, y), v in rows.items() if y == year and v[k] and (c, y, k) not in LEFT_OUT
    )
    value = rows.get((code, year), (None, None))[k]
    return value / world if value else None


def expected_move(rows, midb, code: int, partner: int, year: int) -> float | None:
    for d in midb:
        if d["ccode"] != code or d["styear"] != year or d["hostlev"] < 2:
            continue
        for p in midb:
            if (
                p["dispnum"] == d["dispnum"]
                and p["ccode"] == partner
                and p["sidea"] != d["sidea"]
                and p["styear"] <= d["endyear"]
                and d["styear"] <= p["endyear"]
            ):
                return 3.0
    for k in (0, 1):  # milex, then milper
        now, before = share(rows, code, year, k), share(rows, code, year - 1, k)
        if now is not None and before is not None:
            g = round(now / before - 1, 10)
            return 2.0 if g > 0.05 else 0.0 if g < -0.05 else 1.0
    return None


SPOTS = [
    ("USA-RUS", 1962, (2, 365)),
    ("IND-PAK", 1971, (750, 770)),
    ("GRC-TUR", 1974, (350, 640)),
    ("ARG-BRA", 1982, (160, 140)),
    ("EGY-ISR", 1979, (651, 666)),
    ("CHN-TAW", 1996, (710, 713)),
    ("PRK-ROK", 1955, (731, 732)),
    ("FRN-GMY", 1990, (220, 260)),
    ("FRN-GMY", 1991, (220, 255)),
]


@pytest.mark.parametrize(("dyad", "year", "codes"), SPOTS)
def test_spot_checks_against_source(panel, dyad, year, codes):
    rows = nmc_rows()
    with (RAW / "cow_mid" / "MIDB 5.0.csv").open(newline="") as fh:
        midb = [
            {k: int(r[k]) for k in ("dispnum", "ccode", "styear", "endyear", "sidea", "hostlev")}
            for r in csv.DictReader(fh)
        ]
    got = panel[(panel["dyad"] == dyad) & (panel["year"] == year)].set_index("side")
    for side in (0, 1):
        code, partner = codes[side], codes[1 - side]
        milex, milper = rows[(code, year)]
        assert got.loc[side, "source_ccode"] == code
        assert pd.isna(got.loc[side, "milex"]) if milex is None else got.loc[side, "milex"] == milex
        assert (
            pd.isna(got.loc[side, "milper"])
            if milper is None
            else got.loc[side, "milper"] == milper
        )
        want = expected_move(rows, midb, code, partner, year)
        assert pd.isna(got.loc[side, "move"]) if want is None else got.loc[side, "move"] == want, (
            dyad,
            year,
            side,
        )


def test_named_spots_are_what_history_says(panel):
    # the three crises the issue names: both sides entered a MID with force displayed or used
    for dyad, year in [("USA-RUS", 1962), ("IND-PAK", 1971), ("GRC-TUR", 1974)]:
        rows = panel[(panel["dyad"] == dyad) & (panel["year"] == year)]
        assert rows["move"].tolist() == [3.0, 3.0], dyad
    # IND-PAK 1971 was a war (hostility 5) for both
    rows = panel[(panel["dyad"] == "IND-PAK") & (panel["year"] == 1971)]
    assert rows["hostility"].tolist() == [5.0, 5.0]


def test_bundled_dyads_and_spans(panel):
    spans = panel.groupby("dyad", sort=False)["year"].agg(["min", "max"])
    assert spans.index.tolist() == [
        "USA-RUS",
        "IND-PAK",
        "GRC-TUR",
        "ARG-BRA",
        "EGY-ISR",
        "FRN-GMY",
        "IND-SRI",
        "PRK-ROK",
        "CHN-TAW",
        "CHN-USA",
        "IRN-IRQ",
        "ISR-SYR",
    ]
    assert spans.loc["FRN-GMY"].tolist() == [1955, 2014]  # no German state in 1946-1954
    assert spans.loc["IND-PAK"].tolist() == [1947, 2014]
    assert (spans["max"] == 2014).all()  # MID 5.0 ends in 2014


def test_suspect_zero_milex_is_not_coded():
    rows = nmc_rows()
    assert rows[(770, 1947)][0] == 0  # PAK 1947 milex 0 in the source
    panel = build_panel(RAW, ["IND-PAK"], start=1947, end=1949).panel
    pak = panel[panel["side"] == 1].set_index("year")
    assert pak.loc[1947, "milex"] == 0 and pd.isna(pak.loc[1947, "milex_share"])
    # 1948 milex growth is undefined (1947 is 0), so 1948 is coded from milper growth
    assert pak.loc[1948, "growth_source"] == "milper"


def test_dta_and_csv_dyadic_mid_agree():
    csv_rows = read_dyadic_mid(RAW / "cow_mid" / "dyadic_mid_4.02.csv")
    dta_rows = read_dyadic_mid(RAW / "cow_mid" / "dyadic_mid_4.02.dta")
    pd.testing.assert_frame_equal(csv_rows, dta_rows)


def test_fetch_registry_checksums_match_shared_raw():
    for rel, (url, digest) in REGISTRY.items():
        assert url.startswith("https://raw.githubusercontent.com/")
        assert sha256(RAW / rel) == digest, rel


def test_fetch_raw_reuses_verified_files_offline(tmp_path):
    # pooch does not download a file that is present with the right sha256
    for rel in REGISTRY:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW / rel, tmp_path / rel)
    got = fetch_raw(tmp_path)
    assert {k: v.resolve() for k, v in got.items()} == {
        rel: (tmp_path / rel).resolve() for rel in REGISTRY
    }
    # and the fetched layout (dyadic MID as .dta) builds the same panel
    a = build_panel(RAW, ["USA-RUS"]).panel
    b = build_panel(tmp_path, ["USA-RUS"]).panel
    pd.testing.assert_frame_equal(a, b)


def raw_copy(tmp_path: Path) -> Path:
    """The raw files a dyad build reads, copied into tmp_path (same layout)."""
    for rel in (
        "cow_nmc/NMC-60-abridged.csv",
        "cow_mid/MIDB 5.0.csv",
        "cow_mid/dyadic_mid_4.02.csv",
        "cow_states/states2016.csv",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(RAW / rel, tmp_path / rel)
    return tmp_path


def test_truncated_nmc_is_refused(tmp_path):
    raw = raw_copy(tmp_path / "raw")
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    data = nmc.read_bytes()
    cut = data[:756_000]
    # the cut falls mid-line (OMA 698, 2010) and every state with code >= 700 is gone
    assert not cut.endswith(b"\n") and cut.rsplit(b"\n", 1)[1].startswith(b"OMA,698,2010")
    assert b"\nAFG,700," in data and b"\nAFG,700," not in cut
    nmc.write_bytes(cut)
    with pytest.raises(RawDataError, match=r"NMC-60-abridged\.csv: sha256 [0-9a-f]{64} \(756000 "):
        build_panel(raw, ["USA-RUS"])


def test_deleted_state_year_is_named_not_absorbed(tmp_path):
    # without the USA 1995 row the 1995 world total loses the USA and RUS 1995 would flip
    # from de-escalate to build-up; instead the build refuses, naming the row
    raw = raw_copy(tmp_path / "raw")
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    lines = nmc.read_bytes().split(b"\n")
    kept = [ln for ln in lines if not ln.startswith(b"USA,2,1995,")]
    assert len(kept) == len(lines) - 1
    nmc.write_bytes(b"\n".join(kept))
    with pytest.raises(RawDataError, match=r"have no NMC row: USA \(2\) 1995"):
        build_panel(raw, ["USA-RUS"], verify=False)


def test_truncated_nmc_unverified_still_refused_as_incomplete(tmp_path):
    # with --allow-unverified-raw the truncated file parses, but every state from 700 on
    # (and OMA after 2010) is missing from the system: AFG (700) is a member from 1919
    raw = raw_copy(tmp_path / "raw")
    nmc = raw / "cow_nmc" / "NMC-60-abridged.csv"
    nmc.write_bytes(nmc.read_bytes()[:756_000])
    with pytest.raises(RawDataError, match=r"have no NMC row: AFG \(700\) 1945, CHN \(710\) 1945"):
        build_panel(raw, ["USA-RUS"], verify=False)


def test_world_duplicates_are_the_only_unification_repeats():
    # scan NMC for a spell start (a state's first year after a gap or at entry) whose
    # milex or milper equals that of a spell ending the same year: exactly GMY/GFR and
    # YEM/YAR in 1990, the two pairs in data.world.WORLD_DUPLICATES
    rows = nmc_rows()
    years_of: dict[int, set[int]] = {}
    for c, y in rows:
        years_of.setdefault(c, set()).add(y)
    starts = [(c, y) for c, ys in years_of.items() for y in ys if y - 1 not in ys]
    ends = [(c, y) for c, ys in years_of.items() for y in ys if y + 1 not in ys]
    hits = set()
    for c, y in starts:
        for e, z in ends:
            if e != c and z == y:
                same = [k for k in (0, 1) if rows[(c, y)][k] and rows[(c, y)][k] == rows[(e, z)][k]]
                if same:
                    hits.add((c, e, y))
    assert hits == {(255, 260, 1990), (679, 678, 1990)}
    # Germany: GFR and GMY both have milex and milper in 1990 (both left out for GFR);
    # Yemen: YEM has no milex in 1990, so only YAR's milper is left out
    assert rows[(260, 1990)] == (35610000.0, 545.0) and rows[(255, 1990)] == (37200000.0, 545.0)
    assert rows[(679, 1990)] == (None, 127.0) and rows[(678, 1990)] == (1000000.0, 127.0)


def test_1990_world_total_counts_germany_once(panel):
    rows = nmc_rows()
    raw_sum = sum(v[0] for (c, y), v in rows.items() if y == 1990 and v[0])
    got = panel.loc[panel["year"] == 1990, "world_milex"].unique().tolist()
    assert got == [raw_sum - 35610000.0]  # GFR's 35.61 bn once, not twice


# --- the Thompson-Dreyer rivalry panel (data/processed/td_*) --------------------------


@pytest.fixture(scope="module")
def td_rebuilt() -> dict[str, bytes]:
    return render_rivalries(build_rivalry_panel(RAW, "td"))


@pytest.fixture(scope="module")
def td_panel() -> pd.DataFrame:
    return pd.read_csv(PROCESSED / "td_panel.csv", keep_default_na=False, na_values=[""])


def test_committed_rivalry_panel_rebuilt_byte_for_byte(td_rebuilt):
    names = rivalry_file_names("td")
    for key in ("panel", "dyads", "left_out", "world", "codebook"):
        assert td_rebuilt[names[key]] == (PROCESSED / names[key]).read_bytes(), key
    new = json.loads(td_rebuilt[names["provenance"]])
    old = json.loads((PROCESSED / names["provenance"]).read_text())
    new.pop("package_version")
    old.pop("package_version")
    assert new == old


def test_every_td_rivalry_is_in_the_panel_or_left_out():
    with (RAW / "rivalries" / "td_rivalries_peacesciencer.csv").open(newline="") as fh:
        listed = {r["rivalryno"]: r for r in csv.DictReader(fh)}
    dyads = pd.read_csv(PROCESSED / "td_dyads.csv", dtype={"rivalry_id": str})
    left = pd.read_csv(PROCESSED / "td_left_out.csv", dtype={"rivalry_id": str})
    in_panel = [i for ids in dyads["rivalry_id"] for i in ids.split("+")]
    assert sorted(in_panel + left["rivalry_id"].tolist()) == sorted(listed)
    assert len(in_panel) == len(set(in_panel)) == 118  # active after 1945
    # every left-out rivalry ended before 1946 (none lacks a state or NMC data)
    assert all(int(listed[i]["endyear"]) < 1946 for i in left["rivalry_id"])
    assert len(dyads) == len(set(dyads["dyad"])) == 110  # 8 pairs have two spells


# War years of rivalries outside the bundled 12, from the raw files (file lines quoted):
# NMC v6.0 (stateabb, ccode, year, milex, milper, ...) and MIDB 5.0 (dispnum, ccode,
# styear, sidea, hostlev). In each, both states entered a MID against the other that
# year on opposite sides with hostlev >= 2, so both moves are militarized (3).
WAR_YEARS = [
    # Ogaden war. NMC: SOM,520,1977,31771,53 / ETH,530,1977,135265,225.
    # MIDB 2069: SOM sidea 1 hostlev 5, ETH sidea 0 hostlev 5, both from 1977.
    ("SOM-ETH", 1977, (520, 530), (31771, 135265), (53, 225), (5, 5)),
    # Sino-Indian war. NMC: CHN,710,1962,9329700,2300 / IND,750,1962,909968,800.
    # MIDB 1466: CHN sidea 0 hostlev 2, IND sidea 1 hostlev 4, 1962.
    ("CHN-IND", 1962, (710, 750), (9329700, 909968), (2300, 800), (2, 4)),
    # Invasion of Kuwait. NMC: IRQ,645,1990,8610000,1390 / KUW,690,1990,13100000,7.
    # MIDB 3957: IRQ sidea 1 hostlev 5, KUW sidea 0 hostlev 4, from 1990.
    ("IRQ-KUW", 1990, (645, 690), (8610000, 13100000), (1390, 7), (5, 4)),
    # Eritrean-Ethiopian war. NMC: ETH,530,1998,387000,200 / ERI,531,1998,297000,100.
    # MIDB 4258: ETH sidea 0 hostlev 5, ERI sidea 1 hostlev 5, from 1998.
    ("ETH-ERI", 1998, (530, 531), (387000, 297000), (200, 100), (5, 5)),
]


@pytest.mark.parametrize(("dyad", "year", "codes", "milex", "milper", "hostility"), WAR_YEARS)
def test_rivalry_war_years_by_hand(td_panel, dyad, year, codes, milex, milper, hostility):
    got = td_panel[(td_panel["dyad"] == dyad) & (td_panel["year"] == year)].set_index("side")
    assert got["ccode"].tolist() == list(codes)
    assert got["move"].tolist() == [3.0, 3.0]
    assert got["milex"].tolist() == list(milex)
    assert got["milper"].tolist() == list(milper)
    assert got["hostility"].tolist() == list(hostility)


# the stdlib recomputation (expected_move above) for rivalry dyad-years, war or not
TD_SPOTS = [
    ("SOM-ETH", 1976, (520, 530)),
    ("SOM-ETH", 1979, (520, 530)),
    ("CHN-IND", 1963, (710, 750)),
    ("IRQ-KUW", 1989, (645, 690)),
    ("ETH-ERI", 2005, (530, 531)),
    ("ARM-AZE", 1993, (371, 373)),
    ("ARG-UKG", 1982, (160, 200)),
    ("GMY-GDR", 1990, (260, 265)),
]


@pytest.mark.parametrize(("dyad", "year", "codes"), TD_SPOTS)
def test_rivalry_spots_against_source(td_panel, dyad, year, codes):
    rows = nmc_rows()
    with (RAW / "cow_mid" / "MIDB 5.0.csv").open(newline="") as fh:
        midb = [
            {k: int(r[k]) for k in ("dispnum", "ccode", "styear", "endyear", "sidea", "hostlev")}
            for r in csv.DictReader(fh)
        ]
    got = td_panel[(td_panel["dyad"] == dyad) & (td_panel["year"] == year)].set_index("side")
    for side in (0, 1):
        code, partner = codes[side], codes[1 - side]
        assert got.loc[side, "source_ccode"] == code
        want = expected_move(rows, midb, code, partner, year)
        move = got.loc[side, "move"]
        assert pd.isna(move) if want is None else move == want, (dyad, year, side)


# --- SIPRI codings and their agreement with NMC (data/processed/sipri_moves.csv ...) ---


def test_committed_sipri_moves_and_agreement_rebuilt_byte_for_byte():
    from secdilemma.data.codings import render_codings, sipri_moves

    files = render_codings(sipri_moves(RAW))
    for name, content in files.items():
        assert content == (PROCESSED / name).read_bytes(), name
    bundled = Path(__file__).resolve().parents[1] / "src" / "secdilemma" / "data" / "bundled"
    assert (bundled / "sipri_moves.csv").read_bytes() == files["sipri_moves.csv"]


def test_sipri_moves_by_hand():
    # SIPRI extract lines 2, 3, 7, 8 (US$ m, constant 2022): USA 1949 168952.465883,
    # 1950 181574.741364, 1954 486158.967242, 1955 460192.782863. No MID onset of the
    # USA against RUS in 1950 or 1955 (the NMC-coded panel has mid_onset 0).
    #   1950: 181574.741364 / 168952.465883 - 1 = +7.47 %: build-up at 2.5 and 5 %, hold at 10 %
    #   1955: 460192.782863 / 486158.967242 - 1 = -5.34 %: de-escalate at 2.5 and 5 %, hold at 10 %
    # NMC codes USA 1950 as build-up too: share growth +11.99 % (14559000 of 44600042 against
    # 13503000 of the 1949 world)
    moves = pd.read_csv(PROCESSED / "sipri_moves.csv", keep_default_na=False, na_values=[""])
    usa = moves[(moves["panel"] == "dyads") & (moves["dyad"] == "USA-RUS") & (moves["side"] == 0)]
    usa = usa.set_index("year")
    assert usa.loc[1950, ["move_2.5", "move_5", "move_10"]].tolist() == [2, 2, 1]
    assert usa.loc[1955, ["move_2.5", "move_5", "move_10"]].tolist() == [0, 0, 1]


def test_recoded_thresholds_equal_fresh_builds(panel):
    from secdilemma.data.codings import recode

    fresh = build_panel(RAW, params=CodingParams(build_up=0.025, de_escalate=0.025)).panel
    np.testing.assert_array_equal(recode(panel, "nmc", 0.025), fresh["move"].to_numpy())
