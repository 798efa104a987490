"""Historical dyads from Correlates of War data (DESIGN §6).

- :mod:`~secdilemma.data.readers`: validated readers for the raw COW files;
- :mod:`~secdilemma.data.rawfiles`: where the raw files are, and their checksums;
- :mod:`~secdilemma.data.states`: state names, codes and successions;
- :mod:`~secdilemma.data.world`: the world total (complete system, each state once);
- :mod:`~secdilemma.data.coding`: the move-coding rule;
- :mod:`~secdilemma.data.sipri`: SIPRI constant-price expenditure, an alternative source;
- :mod:`~secdilemma.data.build`: the dyad panel builder and its reproducible output;
- :mod:`~secdilemma.data.rivalries`: the rivalry lists (Thompson-Dreyer, TSS, KGD);
- :mod:`~secdilemma.data.rivalry_panel`: every rivalry of a list as a panel;
- :mod:`~secdilemma.data.load`: :func:`load_dyads`, a bundled panel as a Dataset;
- :mod:`~secdilemma.data.fetch`: checksummed downloads of the raw files.
"""

from secdilemma.data.build import DEFAULT_DYADS, build_panel, write_panel
from secdilemma.data.coding import CodingParams, CodingParamsError
from secdilemma.data.fetch import fetch_raw
from secdilemma.data.load import load_dyads
from secdilemma.data.readers import (
    RawDataError,
    read_dyadic_mid,
    read_midb,
    read_nmc,
    read_states,
)
from secdilemma.data.rivalries import RIVALRY_LISTS, read_rivalries
from secdilemma.data.rivalry_panel import build_rivalry_panel, write_rivalry_panel

__all__ = [
    "DEFAULT_DYADS",
    "RIVALRY_LISTS",
    "CodingParams",
    "CodingParamsError",
    "RawDataError",
    "build_panel",
    "build_rivalry_panel",
    "fetch_raw",
    "load_dyads",
    "read_dyadic_mid",
    "read_midb",
    "read_nmc",
    "read_rivalries",
    "read_states",
    "write_panel",
    "write_rivalry_panel",
]
