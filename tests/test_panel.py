"""Panels on disk (issue #11): atomic saves, and reads that name the file on any failure."""

import os
import signal

import numpy as np
import pytest
import xarray as xr

from secdilemma import simulate_dyads
from secdilemma.panel import PanelFileError, read_panel, save_panel


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


def test_interrupted_or_failed_save_keeps_the_old_panel(panel, tmp_path, monkeypatch):
    path = save_panel(panel, tmp_path / "p.nc")
    before = path.read_bytes()

    def half_then_sigint(self, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(5000))
        os.kill(os.getpid(), signal.SIGINT)

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
