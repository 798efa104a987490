"""Historical dyads from Correlates of War data (DESIGN §6).

- :mod:`~secdilemma.data.readers`: validated readers for the raw COW files;
- :mod:`~secdilemma.data.states`: state names, codes and successions;
- :mod:`~secdilemma.data.coding`: the move-coding rule;
- :mod:`~secdilemma.data.build`: the panel builder and its reproducible output;
- :mod:`~secdilemma.data.load`: :func:`load_dyads`, the bundled panel as a Dataset;
- :mod:`~secdilemma.data.fetch`: checksummed downloads of the raw files.
"""

from secdilemma.data.build import DEFAULT_DYADS, build_panel, write_panel
from secdilemma.data.coding import CodingParams
from secdilemma.data.fetch import fetch_raw
from secdilemma.data.load import load_dyads
from secdilemma.data.readers import (
    RawDataError,
    read_dyadic_mid,
    read_midb,
    read_nmc,
    read_states,
)

__all__ = [
    "DEFAULT_DYADS",
    "CodingParams",
    "RawDataError",
    "build_panel",
    "fetch_raw",
    "load_dyads",
    "read_dyadic_mid",
    "read_midb",
    "read_nmc",
    "read_states",
    "write_panel",
]
