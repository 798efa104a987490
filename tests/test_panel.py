"""The panel schema (secdilemma.panel): what validate_panel refuses."""

import numpy as np
import pytest
import xarray as xr

from secdilemma.panel import PanelError, validate_panel


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
