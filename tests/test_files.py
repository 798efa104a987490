"""Atomic writes: a failed or interrupted write leaves the previous file intact."""

import os

import pytest

from secdilemma.files import OutputPathError, atomic_path, check_output_path, write_text


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".secdilemma-")]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failed_write_keeps_the_old_file(tmp_path, error):
    target = tmp_path / "fit.nc"
    target.write_bytes(b"the good old fit")
    with pytest.raises(type(error)), atomic_path(target) as tmp:
        tmp.write_bytes(b"half of a new")
        raise error
    assert target.read_bytes() == b"the good old fit"
    assert _leftovers(tmp_path) == []


def test_complete_write_replaces_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "sub" / "report.md"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.suffix == ".md"
        tmp.write_text("new")
    assert target.read_text() == "new"
    write_text(target, "newer")
    assert target.read_text() == "newer"
    assert _leftovers(target.parent) == []


def test_output_path_checks(tmp_path):
    panel = tmp_path / "p.nc"
    panel.write_bytes(b"panel")
    with pytest.raises(OutputPathError, match="is a directory"):
        check_output_path(tmp_path)
    with pytest.raises(OutputPathError, match="also an input"):
        check_output_path(tmp_path / "." / "p.nc", inputs=[panel])
    with pytest.raises(OutputPathError, match="--overwrite"):
        check_output_path(panel, overwrite=False)
    assert check_output_path(tmp_path / "new" / "deeper" / "fit.nc") == (
        tmp_path / "new" / "deeper" / "fit.nc"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_unwritable_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputPathError, match="not writable"):
            check_output_path(folder / "fit.nc")
    finally:
        folder.chmod(0o755)
