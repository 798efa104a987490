"""Write files so that a result is never lost or half-written.

Every file the package writes (fits, manifests, panels, built CSVs, figures,
reports) goes through :func:`atomic_path`, :func:`atomic_paths`,
:func:`write_bytes` or, for a folder of results written together (the report),
:func:`staged_folder`: the content is
written to a temporary file *in the target folder* (so the final rename stays
on one file system and is atomic on POSIX), flushed to disk, and renamed over
the target only once complete. On any exception, ``KeyboardInterrupt``
included, the temporary file is removed and a previous file at the target is
left byte for byte as it was.

:func:`check_output_path` is the check run *before* any heavy work: a target
that is a directory, lies in a folder that cannot be written, or is the same
file as an input fails at once, naming the path.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TEMP_PREFIX = ".secdilemma-"
"""Prefix of the temporary files (hidden, recognisable, removed on failure)."""


class OutputPathError(ValueError):
    """An output path cannot be written; the message names it and says why."""


def check_output_path(
    path: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    overwrite: bool = True,
    option: str = "--out",
) -> Path:
    """Check, before any work, that a file can be written at ``path``.

    Parameters
    ----------
    path
        The output file.
    inputs
        Files the same run reads; writing over one of them is refused.
    overwrite
        Whether an existing file may be replaced.
    option
        Name of the option or argument, for the message.

    Returns
    -------
    pathlib.Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputPathError
        If ``path`` is an existing directory, is one of ``inputs``, exists and
        ``overwrite`` is false, or its folder exists but is not writable (or
        is not a folder). A missing folder is fine: it is created on writing.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{option} {path}: is a directory; expected a file path")
    for source in map(Path, inputs):
        same = source.resolve() == path.resolve() or (
            source.exists() and path.exists() and os.path.samefile(source, path)
        )
        if same:
            raise OutputPathError(f"{option} {path}: is also an input of this run; choose another")
    if path.exists() and not overwrite:
        raise OutputPathError(
            f"{option} {path}: exists; pass --overwrite (overwrite=True) to replace it"
        )
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputPathError(f"{option} {path}: {folder} is not a folder")
    try:  # a real probe: permissions, read-only mounts and full disks all show here
        fd, probe = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    except OSError as err:
        raise OutputPathError(
            f"{option} {path}: folder {folder} is not writable ({err.strerror})"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success.

    Use it for writers that want a file name (``to_netcdf``, ``savefig``)::

        with atomic_path("models/free.nc") as tmp:
            tree.to_netcdf(tmp, engine="h5netcdf")

    Parameters
    ----------
    path
        The final file; its folder is created if absent.

    Yields
    ------
    pathlib.Path
        A temporary file in the same folder, with the same suffix (writers
        that choose a format by suffix see the right one).
    """
    with atomic_paths(path) as (tmp,):
        yield tmp


@contextmanager
def atomic_paths(*paths: str | Path) -> Iterator[tuple[Path, ...]]:
    """:func:`atomic_path` for files that belong together (a fit and its manifest).

    Every file is written under a temporary name first; only when the block
    completes are they renamed into place, one after the other, with
    ``SIGINT`` and ``SIGTERM`` held back until the last rename (so Ctrl-C
    cannot leave a new fit beside an old manifest). On an exception none of
    the targets changes and no temporary file remains.

    Parameters
    ----------
    *paths
        The final files; their folders are created if absent.

    Yields
    ------
    tuple of pathlib.Path
        One temporary file per target, in the target's folder, with its suffix.
    """
    targets = [Path(p) for p in paths]
    temps: list[Path] = []
    try:
        for path in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=path.suffix)
            os.close(fd)
            temps.append(Path(name))
        yield tuple(temps)
        for tmp in temps:
            with open(tmp, "rb+") as handle:  # the bytes are on disk before the rename
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
        with _signals_held():
            for tmp, path in zip(temps, targets, strict=True):
                os.replace(tmp, path)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


@contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGINT and SIGTERM until the block ends, then deliver them.

    Only the main thread can set signal handlers; elsewhere the block runs
    unprotected (a single rename is atomic anyway).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}

    def hold(signum: int, frame: Any) -> None:
        caught.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not None:  # None: a handler not set from Python
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)  # handled now by the restored handler


@contextmanager
def staged_folder(folder: str | Path) -> Iterator[Path]:
    """Yield a hidden staging folder inside ``folder``; move its files into ``folder`` at the end.

    For a job that writes many files that belong together (the report, its
    tables and figures): everything is written under the staging folder, and
    only when the block completes are the files moved into place (each
    ``os.replace`` atomic, ``SIGINT`` and ``SIGTERM`` held back until the
    last). On an exception, Ctrl-C included, the staging folder is removed,
    no file in ``folder`` changes, and a ``folder`` created for the job is
    removed again.

    Parameters
    ----------
    folder
        The output folder; created (with its parents) if absent.

    Yields
    ------
    pathlib.Path
        The staging folder; write into it with the same relative paths as
        in ``folder``.
    """
    folder = Path(folder)
    created = []
    probe = folder
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=TEMP_PREFIX))
    done = False
    try:
        yield staging
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        with _signals_held():
            for source in files:
                target = folder / source.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done:
            for path in created:  # deepest first; only if still empty
                try:
                    path.rmdir()
                except OSError:
                    break


def write_bytes(path: str | Path, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (:func:`atomic_path`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
    return path


def write_files(files: Mapping[str, bytes], folders: Iterable[str | Path]) -> list[Path]:
    """Write rendered files (name -> bytes) into each folder, each atomically.

    Parameters
    ----------
    files
        File name -> content.
    folders
        Target folders (created if absent).

    Returns
    -------
    list of pathlib.Path
        The files written, folder by folder.
    """
    written = []
    for folder in map(Path, folders):
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            written.append(write_bytes(folder / name, content))
    return written


def write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (:func:`atomic_path`).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_bytes(path, text.encode("utf-8"))
