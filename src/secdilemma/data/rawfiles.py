"""Where the raw files live, and whether they are the bytes the package was built from.

:func:`locate_raw` finds the files a build needs in a directory laid out like
``../shared/data/raw``; :func:`verify_raw` hashes each one and compares it
with the registered sha256 (:data:`secdilemma.data.fetch.CHECKSUMS`). A
truncated or altered file (an NMC file cut mid-line loses every state after
the cut and silently changes the world total) is refused unless the caller
passes ``verify=False`` (``--allow-unverified-raw``); either way the
provenance records each file's actual hash.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from secdilemma.data.fetch import CHECKSUMS
from secdilemma.data.readers import RawDataError

NMC_FILES = {
    "6.0": "cow_nmc/NMC-60-abridged.csv",
    "7.0": "cow_nmc/cow_nmc_v7.0_peacesciencer.csv",
}
"""NMC file per version, relative to the raw directory."""

RAW_FILES = {
    "midb": ("cow_mid/MIDB 5.0.csv",),
    "dyadic": ("cow_mid/dyadic_mid_4.02.csv", "cow_mid/dyadic_mid_4.02.dta"),
    "states": ("cow_states/states2016.csv",),
}
"""Other raw files, relative to the raw directory (alternatives in order of preference)."""


def sha256(path: Path | str) -> str:
    """Hex sha256 of a file.

    Parameters
    ----------
    path
        File to hash.

    Returns
    -------
    str
        64 hex digits.
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def locate_raw(
    raw_dir: Path | str,
    nmc_version: str = "6.0",
    extra: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, Path]:
    """Paths of the raw files a build needs, checking they all exist.

    Parameters
    ----------
    raw_dir
        Directory laid out like ``../shared/data/raw`` (``cow_nmc/``,
        ``cow_mid/``, ``cow_states/``, ...).
    nmc_version
        ``"6.0"`` or ``"7.0"``.
    extra
        Further files by key (alternatives in order of preference), e.g. a
        rivalry list.

    Returns
    -------
    dict
        ``{"nmc", "midb", "dyadic", "states", *extra}`` to paths.

    Raises
    ------
    RawDataError
        If the NMC version is unknown, or the directory or any needed file is
        missing (all missing files listed).
    """
    raw_dir = Path(raw_dir)
    if nmc_version not in NMC_FILES:
        raise RawDataError(
            f"unknown NMC version {nmc_version!r}; expected one of {sorted(NMC_FILES)}"
        )
    if not raw_dir.is_dir():
        raise RawDataError(f"{raw_dir}: raw data directory not found")
    wanted = {"nmc": (NMC_FILES[nmc_version],), **RAW_FILES, **(extra or {})}
    found, missing = {}, []
    for key, options in wanted.items():
        hit = next((raw_dir / rel for rel in options if (raw_dir / rel).is_file()), None)
        if hit is None:
            missing.append(" or ".join(options))
        else:
            found[key] = hit
    if missing:
        raise RawDataError(
            f"{raw_dir}: raw data directory lacks {missing}; expected the layout of "
            "../shared/data/raw (`secdilemma data fetch DIR` downloads the files)"
        )
    return found


def verify_raw(
    raw_dir: Path | str, paths: dict[str, Path], *, verify: bool = True
) -> dict[str, dict[str, str | int | bool]]:
    """Hash each raw file and, unless told otherwise, refuse one that is not registered.

    Parameters
    ----------
    raw_dir
        The raw directory (paths are recorded relative to it).
    paths
        Output of :func:`locate_raw`.
    verify
        Compare each file's sha256 with :data:`secdilemma.data.fetch.CHECKSUMS`
        and raise on a mismatch (default). ``False`` (``--allow-unverified-raw``)
        builds from any bytes; the record then says which files matched.

    Returns
    -------
    dict
        Per key: ``path`` (relative, POSIX), ``sha256`` (actual), ``bytes`` and
        ``verified`` (whether the actual hash equals the registered one).

    Raises
    ------
    RawDataError
        With ``verify``: naming every file whose sha256 differs from the
        registered one (or that has none registered), both hashes, and the
        option that builds from it anyway.
    """
    raw_root = Path(raw_dir)
    record: dict[str, dict[str, str | int | bool]] = {}
    problems = []
    for key, path in paths.items():
        rel = path.relative_to(raw_root).as_posix()
        actual = sha256(path)
        expected = CHECKSUMS.get(rel)
        record[key] = {
            "path": rel,
            "sha256": actual,
            "bytes": path.stat().st_size,
            "verified": actual == expected,
        }
        if expected is None:
            problems.append(f"{path}: no registered sha256 for {rel!r}")
        elif actual != expected:
            problems.append(
                f"{path}: sha256 {actual} ({path.stat().st_size} bytes) differs from the "
                f"registered {expected}; the file is truncated, altered or another release"
            )
    if verify and problems:
        raise RawDataError(
            "; ".join(problems) + ". Expected the exact bytes described in "
            "../shared/data/raw/README.md (`secdilemma data fetch DIR` downloads them); "
            "to build from these files anyway pass --allow-unverified-raw "
            "(verify=False): the provenance then records their actual sha256"
        )
    return record
