"""Download the raw COW files with checksums (pooch).

The official COW pages distribute zip archives behind web pages; the exact
bytes this package was built from are the public GitHub copies listed in
``../shared/data/raw/README.md``, pinned to a commit, so those are the URLs
here. Every file is checked against the sha256 of the copy the bundled panel
was built from; a mismatch is an error, never a silent rebuild on other data.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

_GRADUATE = (
    "https://raw.githubusercontent.com/zengchencn/repo-graduate-ruc/"
    "6993526005257f3f437c45ad2bb91724a0d6aaae/IR_Theory/data/"
)
_BOOK = (
    "https://raw.githubusercontent.com/tbrown122387/r_and_python_book/"
    "a676e1c3c7419309660040bcb3ba5ec0a4c6fd13/data/"
)

REGISTRY: dict[str, tuple[str, str]] = {
    "cow_nmc/NMC-60-abridged.csv": (
        _GRADUATE + "NMC-60-abridged.csv",
        "989920cc06ccb652bf8b0c537f78220463ecfe14c41295a8876e9f263e78f323",
    ),
    "cow_mid/MIDB 5.0.csv": (
        _BOOK + quote("MIDB 5.0.csv"),
        "5189071e3b8aa32e1338f3df43fe574f4a0f2a06b2f481a3213c9e8f01211722",
    ),
    "cow_mid/dyadic_mid_4.02.dta": (
        _GRADUATE + "dyadic_mid_4.02.dta",
        "fe52ace00a4aae2896f89bd7199eaf32a6fcc9a456c12caffc4d3c3946fbe1a2",
    ),
    "cow_states/states2016.csv": (
        _GRADUATE + "states2016.csv",
        "3d78d333ea75a7791bf5772b203d2ab96b27e70ed52825f5293c474195f47888",
    ),
}
"""Raw file (path relative to the raw directory) to (URL, sha256)."""

CHECKSUMS: dict[str, str] = {
    **{rel: digest for rel, (_, digest) in REGISTRY.items()},
    # conversions and extracts that exist only in ../shared/data/raw (its README
    # states each transformation); they cannot be fetched but are verified the same way
    "cow_mid/dyadic_mid_4.02.csv": (
        "43dba9e68d007078e41a075980fbc6f5eb1818dbab25e71d516c1b5623d1ed58"
    ),
    "cow_nmc/cow_nmc_v7.0_peacesciencer.csv": (
        "81f5863d4d50bc3eea30a7ed0c69c6ad5deab0aef3caaf58b5e6f164edbccda8"
    ),
    "rivalries/td_rivalries_peacesciencer.csv": (
        "ec77f12e94d822e0213d8708b8fd13dd1fb32a4579dfaef082d3a53d4c77872e"
    ),
    "rivalries/tss_rivalries_peacesciencer.csv": (
        "7d975b0e99dabdb6a5ce72d5949066362c91615c7479a8d5c0634fb757d9294d"
    ),
    "rivalries/kgd_rivalries_kdg.csv": (
        "ac24364742127c35a1c012944981695bb029150da8786d2011151343cb9cfd2b"
    ),
    "sipri/sipri_milex_1949-2023_extract_21countries.csv": (
        "091268fdc523c39d8fb3a2a94e9541949b437b2a8656927eafb6dad8685dd0c9"
    ),
}
"""sha256 of every raw file the builders read (relative path to hex digest): the
fetchable files of :data:`REGISTRY` and the conversions kept in the shared raw
folder. ``secdilemma data build`` refuses a file whose bytes differ unless told
otherwise (:func:`secdilemma.data.rawfiles.verify_raw`)."""


def fetch_raw(dest: Path | str) -> dict[str, Path]:
    """Download the raw files the panel builder needs into ``dest``.

    Files already present with the right checksum are not downloaded again.
    pooch downloads each file into a temporary file in the target folder,
    checks its hash and only then moves it into place, so an interrupted or
    corrupt download leaves no partial file under the final name (the same
    guarantee as :func:`secdilemma.files.atomic_path`).
    The dyadic MID file comes as the original Stata ``.dta`` (the shared raw
    folder also holds a CSV conversion; the builder reads either).

    Parameters
    ----------
    dest
        Target directory; the files land in the layout
        :func:`secdilemma.data.build.build_panel` expects.

    Returns
    -------
    dict
        Relative name to local path.

    Raises
    ------
    ValueError
        If a downloaded file's sha256 does not match (raised by pooch).
    """
    import pooch  # imported here: only needed when downloading

    dest = Path(dest)
    out = {}
    for rel, (url, digest) in REGISTRY.items():
        target = dest / rel
        local = pooch.retrieve(
            url=url,
            known_hash=f"sha256:{digest}",
            fname=target.name,
            path=target.parent,
            progressbar=False,
        )
        out[rel] = Path(local)
    return out
