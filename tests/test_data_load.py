"""``load_dyads``: the bundled panel as the DESIGN §6 Dataset, and its validation."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

from secdilemma.data.build import (
    CODEBOOK_FILE,
    PANEL_FILE,
    PROVENANCE_FILE,
    build_panel,
    write_panel,
)
from secdilemma.data.load import bundled_panel_path, load_dyads
from secdilemma.panel import MOVE_FLAG_ATTRS, PanelError, left_align, validate_panel

matplotlib.use("Agg")

FIX = Path(__file__).resolve().parent / "fixtures" / "cow"
# hand-written COW-format files, not the registered raw files: builds from them pass
# verify=False (--allow-unverified-raw), since their sha256 is not in the registry
PROCESSED = Path(__file__).resolve().parents[1] / "data" / "processed"


@pytest.fixture(scope="module")
def fixture_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("panel")
    write_panel(build_panel(FIX, ["USA-RUS", "FRN-GMY"], verify=False), [out])
    return out / PANEL_FILE


def test_bundled_panel_schema():
    ds = load_dyads()
    validate_panel(ds)
    assert ds["move"].dims == ("dyad", "side", "year")
    assert ds["move"].dtype == np.float64
    assert ds["move"].attrs == MOVE_FLAG_ATTRS
    assert ds.sizes["dyad"] >= 12 and ds["side"].values.tolist() == [0, 1]
    assert ds["year"].dtype.kind == "i" and int(ds["year"].min()) == 1946
    for var in ("milex", "milper", "hostility", "milex_share", "milex_share_growth", "ongoing_mid"):
        assert ds[var].dims == ("dyad", "side", "year")
    assert ds["state"].dims == ("dyad", "side")
    assert ds["state"].sel(dyad="FRN-GMY").values.tolist() == ["FRN", "GMY"]
    assert ds["ccode"].sel(dyad="USA-RUS").values.tolist() == [2, 365]
    # padded years of a later-starting dyad are missing; the models can left-align it
    assert np.isnan(ds["move"].sel(dyad="FRN-GMY", year=1950)).all()
    move, first = left_align(ds)
    assert move.shape[0] == ds.sizes["dyad"] and first.min() >= 0


def test_bundled_copy_equals_committed_processed():
    if not (PROCESSED / PANEL_FILE).is_file():
        pytest.skip(f"no committed panel at {PROCESSED} (installed without the checkout)")
    bundled = bundled_panel_path().parent
    for name in (PANEL_FILE, CODEBOOK_FILE, PROVENANCE_FILE):
        assert (bundled / name).read_bytes() == (PROCESSED / name).read_bytes(), name


def test_names_and_years_select(fixture_csv):
    ds = load_dyads(["RUS-USA"], years=(1951, 1953), path=fixture_csv)
    assert ds["dyad"].values.tolist() == ["USA-RUS"]  # stored orientation kept
    assert ds["year"].values.tolist() == [1951, 1952, 1953]
    # hand-coded in test_data_coding: USA hold, militarized, hold; RUS hold, de-escalate, build-up
    np.testing.assert_array_equal(ds["move"].values[0], [[1, 3, 1], [1, 0, 2]])
    assert ds["source_state"].sel(dyad="USA-RUS", side=0).values.tolist() == ["USA"] * 3


def test_union_of_years_with_padding(fixture_csv):
    ds = load_dyads(path=fixture_csv)
    assert ds["year"].values.tolist() == list(range(1950, 1992))
    assert np.isnan(ds["move"].sel(dyad="USA-RUS", year=1955)).all()
    assert np.isnan(ds["milex"].sel(dyad="FRN-GMY", year=1950)).all()


def test_unknown_name_or_empty_years(fixture_csv):
    with pytest.raises(ValueError, match="no dyad 'USA-CHN'"):
        load_dyads("USA-CHN", path=fixture_csv)
    # FRN-GMY starts in 1955: nothing in 1950-1954
    with pytest.raises(ValueError, match=r"\['FRN-GMY'\] have no years in 1950-1954"):
        load_dyads(["USA-RUS", "FRN-GMY"], years=(1950, 1954), path=fixture_csv)


def edit(fixture_csv: Path, tmp_path: Path, change) -> Path:
    df = pd.read_csv(fixture_csv, keep_default_na=False, na_values=[""])
    path = tmp_path / "bad.csv"
    change(df).to_csv(path, index=False)
    return path


def test_rejects_move_out_of_range(fixture_csv, tmp_path):
    def bump(df):
        df.loc[3, "move"] = 4
        return df

    # row index 3 is line 5 (header line 1): USA-RUS 1951 side 1
    with pytest.raises(ValueError, match=r"line 5: move 4.0 for USA-RUS 1951 side 1"):
        load_dyads(path=edit(fixture_csv, tmp_path, bump))


def test_rejects_missing_side(fixture_csv, tmp_path):
    with pytest.raises(ValueError, match=r"USA-RUS year 1951 has sides \[0\]"):
        load_dyads(path=edit(fixture_csv, tmp_path, lambda df: df.drop(index=3)))


def test_rejects_gap_in_years(fixture_csv, tmp_path):
    def gap(df):
        return df[~((df["dyad"] == "USA-RUS") & (df["year"] == 1952))]

    with pytest.raises(ValueError, match="USA-RUS years are not consecutive"):
        load_dyads(path=edit(fixture_csv, tmp_path, gap))


def test_rejects_missing_column_and_file(fixture_csv, tmp_path):
    with pytest.raises(ValueError, match=r"panel lacks column\(s\) \['move'\]"):
        load_dyads(path=edit(fixture_csv, tmp_path, lambda df: df.drop(columns="move")))
    with pytest.raises(FileNotFoundError, match="secdilemma data build"):
        load_dyads(path=tmp_path / "absent.csv")


def test_data_figure(fixture_csv, tmp_path):
    from secdilemma.plotting.data_figure import plot_dyad_moves
    from secdilemma.plotting.style import save_figure

    ds = load_dyads(path=fixture_csv)
    fig = plot_dyad_moves(ds, title="fixture")
    axes = [ax for ax in fig.axes if ax.get_ylabel()]
    assert [ax.get_ylabel() for ax in axes] == ["USA-RUS", "FRN-GMY"]
    assert fig.axes[1].get_xlabel() == "year"
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["USA", "RUS"]
    # MID years marked: USA-RUS ongoing in all five fixture years 1950-1954
    marks = axes[0].lines[0].get_xdata()
    assert list(marks) == [1950, 1951, 1952, 1953, 1954]
    written = save_figure(fig, tmp_path / "moves")
    assert [p.suffix for p in written] == [".png", ".pdf"]
    assert all(p.stat().st_size for p in written)


@pytest.mark.parametrize(
    ("years", "pattern"),
    [
        ((2000, 1990), r"years=\(2000, 1990\): the first year 2000 is after the last year 1990"),
        ((1990,), r"years=\(1990,\): expected \(first, last\)"),
        ((1990, 1995, 2000), r"expected \(first, last\)"),
        ("1990", r"years='1990': expected \(first, last\)"),
        ((1990.5, 2000), r"1990\.5 is not a whole year"),
    ],
)
def test_bad_year_selection_is_a_named_error(fixture_csv, years, pattern):
    with pytest.raises(PanelError, match=pattern):
        load_dyads(years=years, path=fixture_csv)


TD_FILES = ("td_panel.csv", "td_dyads.csv", "td_left_out.csv", "td_world.csv")


def test_bundled_rivalry_copy_equals_committed_processed():
    if not (PROCESSED / "td_panel.csv").is_file():
        pytest.skip(f"no committed rivalry panel at {PROCESSED} (installed without the checkout)")
    bundled = bundled_panel_path("rivalries").parent
    for name in (*TD_FILES, "td_codebook.csv", "td_provenance.json", "sipri_moves.csv"):
        assert (bundled / name).read_bytes() == (PROCESSED / name).read_bytes(), name


def test_bundled_rivalry_panel_is_a_second_named_panel():
    ds = load_dyads(panel="rivalries")
    validate_panel(ds)
    # 118 Thompson-Dreyer rivalries active after 1945, in 110 pairs (8 pairs have 2 spells)
    assert ds.sizes["dyad"] == 110
    assert int(ds["year"].min()) == 1946 and int(ds["year"].max()) == 2014
    assert set(ds["rivalry_type"].values) == {
        "spatial",
        "positional",
        "ideological",
        "interventionary",
    }
    assert ds["n_spells"].values.sum() == 118
    usa = ds.sel(dyad="USA-RUS")
    assert str(usa["rivalry_spells"].values) == "1945-1989+2007-2010"
    assert str(usa["region"].values) == "Global"
    # the default stays the 12 dyads
    assert load_dyads().sizes["dyad"] == 12
    with pytest.raises(PanelError, match=r"unknown panel 'wars'; the bundled panels are"):
        load_dyads(panel="wars")
    with pytest.raises(PanelError, match="not both"):
        load_dyads(panel="rivalries", path=PROCESSED / "dyads.csv")


def test_duplicate_names_are_an_error(fixture_csv):
    with pytest.raises(PanelError, match=r"dyad USA-RUS requested twice \('RUS-USA'\)"):
        load_dyads(["USA-RUS", "RUS-USA"], path=fixture_csv)


README = Path(__file__).resolve().parents[1] / "data" / "README.md"


def readme_rows(start: str, end: str) -> list[str]:
    text = README.read_text()
    block = text[text.index(start) : text.index(end)]
    return [line for line in block.splitlines() if line.startswith("| ") and "---" not in line][1:]


def test_readme_tables_match_the_bundled_panels():
    if not README.is_file():
        pytest.skip("data/README.md not present (installed without the checkout)")
    from secdilemma.data.rivalry_panel import region_summary

    panel = pd.read_csv(PROCESSED / "td_panel.csv", keep_default_na=False, na_values=[""])
    dyads = pd.read_csv(PROCESSED / "td_dyads.csv", keep_default_na=False)
    want = []
    for r in region_summary(panel, dyads).to_dict("records"):
        name = f"**{r['region']}**" if r["region"] == "all" else r["region"]
        moves = "/".join(
            str(r[k]) for k in ("de-escalate", "hold", "build-up", "militarized", "missing")
        )
        want.append(
            f"| {name} | {r['dyads']} | {r['rivalries']} | {r['dyad_years']} | {moves} | "
            f"{r['types']} |"
        )
    assert readme_rows("<!-- region summary", "<!-- end region summary") == want
    # the 12-dyad table: per side de-escalate/hold/build-up/militarized/missing
    df = pd.read_csv(PROCESSED / "dyads.csv", keep_default_na=False, na_values=[""])
    rows = readme_rows("## The bundled panel", "The MIDB-based")
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        g = df[df["dyad"] == cells[0]]
        for s, cell in ((0, cells[3]), (1, cells[4])):
            m = g[g["side"] == s]["move"]
            counts = [int((m == k).sum()) for k in range(4)] + [int(m.isna().sum())]
            assert cell == "/".join(map(str, counts)), (cells[0], s)
    assert len(rows) == 12
