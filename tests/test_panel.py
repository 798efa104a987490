"""The panel schema (secdilemma.panel): what validate_panel refuses; panels on disk
(issue #11): atomic saves, and reads that name the file on any failure."""

import signal

import numpy as np
import pytest
import xarray as xr

from secdilemma import simulate_dyads
from secdilemma.panel import PanelError, PanelFileError, read_panel, save_panel, validate_panel


def make_panel(ids, states) -> xr.Dataset:
    move = np.ones((len(ids), 2, 3))
    return xr.Dataset(
        {"move": (("dyad", "side", "year"), move)},
        coords={
            "dyad": ids,
            "side": [0, 1],
            "year": [2000, 2001, 2002],
            "state": (("dyad", "side"), np.array(states)),
        },
    )


def test_distinct_dyads_pass():
    panel = make_panel(["USA-RUS", "IND-PAK"], [["USA", "RUS"], ["IND", "PAK"]])
    assert validate_panel(panel) is not None


def test_duplicate_dyad_ids_are_refused():
    panel = make_panel(["USA-RUS", "USA-RUS"], [["USA", "RUS"], ["USA", "RUS"]])
    with pytest.raises(PanelError, match=r"dyad id\(s\) \['USA-RUS'\] appear more than once"):
        validate_panel(panel, source="p.csv")


def test_same_pair_reversed_is_refused():
    panel = make_panel(["USA-RUS", "RUS-USA"], [["USA", "RUS"], ["RUS", "USA"]])
    with pytest.raises(PanelError, match=r"'USA-RUS' and 'RUS-USA' are the same pair"):
        validate_panel(panel)


def test_duplicate_ids_without_state_coord_are_refused():
    panel = make_panel(["a", "a"], [["x", "y"], ["z", "w"]]).drop_vars("state")
    with pytest.raises(PanelError, match="appear more than once"):
        validate_panel(panel)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".secdilemma-"))


@pytest.fixture
def panel():
    return simulate_dyads(3, 6, seed=2)


def test_round_trip(panel, tmp_path):
    path = save_panel(panel, tmp_path / "sub" / "p.nc")
    xr.testing.assert_identical(read_panel(path), panel)
    assert _leftovers(path.parent) == []


def test_netcdf3_panel_is_read(panel, tmp_path):
    # A netCDF-3 file (written by other tools, or scipy) used to end in a traceback.
    path = tmp_path / "classic.nc"
    panel.drop_vars("state").to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    np.testing.assert_array_equal(read_panel(path)["move"].values, panel["move"].values)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"dyad,year,side\n", "not a netCDF file"),
        ("truncated", "cannot be read as a netCDF-4 panel"),
        ("no move", "no 'move' variable"),
        ("bad move", "move must be 0..3"),
    ],
)
def test_bad_panel_files_name_the_file_in_one_line(panel, tmp_path, content, message):
    path = tmp_path / "bad.nc"
    if content == "truncated":
        good = save_panel(panel, tmp_path / "good.nc").read_bytes()
        path.write_bytes(good[: len(good) // 3])
    elif content == "no move":
        save_panel(panel.drop_vars("move"), path)
    elif content == "bad move":
        save_panel(panel.assign(move=panel["move"] + 5), path)
    else:
        path.write_bytes(content)
    with pytest.raises(PanelFileError, match=message) as info:
        read_panel(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_interrupted_or_failed_save_keeps_the_old_panel(
    panel, tmp_path, monkeypatch, python_sigint
):
    path = save_panel(panel, tmp_path / "p.nc")
    before = path.read_bytes()

    def half_then_sigint(self, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(5000))
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_then_sigint)
    with pytest.raises(KeyboardInterrupt):
        save_panel(simulate_dyads(3, 6, seed=3), path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []

    def fail(self, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(5000))
        raise OverflowError("Python int too large to convert to C long")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail)
    with pytest.raises(OverflowError):
        save_panel(panel, path)
    assert path.read_bytes() == before and _leftovers(tmp_path) == []
