"""Figure functions on fake posteriors and small panels: no sampling needed."""

import matplotlib
import numpy as np
import pytest
import xarray as xr

from secdilemma import load_dyads, simulate_dyads
from secdilemma.plotting import plot_dyad_moves, plot_spiral
from secdilemma.plotting.beliefs import plot_belief_paths

matplotlib.use("Agg")


def fake_fit(rng, n_dyads=2, n_years=6):
    dyad = [f"D{k}" for k in range(n_dyads)]
    post = xr.Dataset(
        {
            "belief": (
                ("chain", "draw", "dyad", "side", "year"),
                rng.uniform(size=(2, 50, n_dyads, 2, n_years)),
            ),
            "p_malign": (("chain", "draw", "dyad", "side"), rng.uniform(size=(2, 50, n_dyads, 2))),
        },
        coords={"dyad": dyad, "side": [0, 1], "year": np.arange(n_years)},
    )
    move = rng.integers(0, 4, size=(n_dyads, 2, n_years)).astype(float)
    move[1, :, 4:] = np.nan  # dyad D1 is 4 years long
    constant = xr.Dataset(
        {
            "move_aligned": (("dyad", "side", "year"), move),
            "first_year": ("dyad", [1950, 1960]),
            "last_period": ("dyad", [n_years - 1, 3]),
        },
        coords={"dyad": dyad, "side": [0, 1], "year": np.arange(n_years)},
    )
    return xr.DataTree.from_dict({"posterior": post, "constant_data": constant})


def test_belief_paths_draw_each_dyad_in_calendar_years(rng):
    fig = plot_belief_paths(fake_fit(rng))
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["D0", "D1"]
    # Dyad D1 starts in 1960 and has 4 periods: its median line spans 1960..1963.
    median_line = axes[1].get_lines()[0]
    assert median_line.get_xdata().tolist() == [1960, 1961, 1962, 1963]
    assert axes[0].get_ylabel() == "P(other malign)"


def test_belief_paths_reject_unknown_dyads(rng):
    with pytest.raises(ValueError, match=r"dyads: not in the fit: \['XYZ'\]"):
        plot_belief_paths(fake_fit(rng), ["XYZ"])


def test_spiral_and_data_figures_are_labelled():
    fig = plot_spiral({"sensible": simulate_dyads(20, 8, seed=1)})
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes)
    fig = plot_dyad_moves(load_dyads(["USA-RUS", "GRC-TUR"]))
    assert [ax.get_ylabel() for ax in fig.axes] == ["USA-RUS", "GRC-TUR"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["USA", "RUS"]
    assert fig.axes[-1].get_xlabel() == "year"
