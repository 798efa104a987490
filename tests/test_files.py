"""Atomic writes: a failed or interrupted write leaves the previous file intact."""

import os

import pytest

from secdilemma.files import (
    OutputPathError,
    atomic_path,
    atomic_paths,
    check_output_path,
    write_text,
)


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


def test_files_that_belong_together_are_replaced_together(tmp_path):
    fit, manifest = tmp_path / "fit.nc", tmp_path / "fit.json"
    fit.write_bytes(b"old fit")
    manifest.write_bytes(b"old manifest")
    with pytest.raises(RuntimeError), atomic_paths(fit, manifest) as (tmp_fit, tmp_manifest):
        tmp_fit.write_bytes(b"new fit")
        raise RuntimeError("manifest failed")  # the fit was complete: still not replaced
    assert (fit.read_bytes(), manifest.read_bytes()) == (b"old fit", b"old manifest")
    assert _leftovers(tmp_path) == []
    with atomic_paths(fit, manifest) as (tmp_fit, tmp_manifest):
        tmp_fit.write_bytes(b"new fit")
        tmp_manifest.write_bytes(b"new manifest")
    assert (fit.read_bytes(), manifest.read_bytes()) == (b"new fit", b"new manifest")


def test_a_signal_during_the_renames_waits_for_both(tmp_path, monkeypatch, python_sigint):
    import signal

    fit, manifest = tmp_path / "fit.nc", tmp_path / "fit.json"
    replace = os.replace
    calls = []

    def replace_then_sigint(src, dst):
        replace(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)  # between the two renames

    monkeypatch.setattr(os, "replace", replace_then_sigint)
    with pytest.raises(KeyboardInterrupt), atomic_paths(fit, manifest) as (tmp_fit, tmp_manifest):
        tmp_fit.write_bytes(b"new fit")
        tmp_manifest.write_bytes(b"new manifest")
    assert (fit.read_bytes(), manifest.read_bytes()) == (b"new fit", b"new manifest")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
