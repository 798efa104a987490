"""P(misplaced certainty) by group (issue 12): the shares, the report's table, the figure.

On the session's tiny grouped ``mixture`` fit (``rho`` by ``region``, no stored
beliefs) and on an ungrouped view of it (its ``rho`` a population share), so the
numbers can be checked against the posterior they summarise.
"""

import matplotlib
import numpy as np
import pytest
import xarray as xr

from secdilemma.analysis.groups import group_shares, group_table
from secdilemma.panel import PanelError
from secdilemma.plotting import plot_misplaced_by_group, save_figure
from tests.conftest import GROUP_REGIONS

matplotlib.use("Agg")


def ungrouped(fit):
    """The fit with one population rho (the mean of its groups' shares, per draw)."""
    post = fit["posterior"].to_dataset()
    rho = post["rho_group"].mean("group")
    post = post.drop_vars(["rho_group", "rho"]).assign(rho=rho)
    constant = fit["constant_data"].to_dataset().drop_vars("group")
    tree = fit.copy()
    tree["posterior"] = xr.DataTree(post)
    tree["constant_data"] = xr.DataTree(constant)
    tree.attrs["sampler"] = "{}"
    return tree


def test_the_table_summarises_each_groups_share_and_states(small_grouped_fit, grouped_panel):
    shares = group_shares(small_grouped_fit, grouped_panel)
    assert shares.grouped and shares.attribute == "region"
    assert shares.labels == ("Americas", "Asia", "Europe")
    table = group_table(shares)
    assert list(table["group"]) == ["Americas", "Asia", "Europe"]
    assert list(table["n_dyads"]) == [GROUP_REGIONS.count(g) for g in table["group"]]
    post = small_grouped_fit["posterior"]
    p = post["p_misplaced"].mean(("chain", "draw"))
    for row in table.itertuples():
        rho = post["rho_group"].sel(group=row.group).values.ravel()
        assert row.rho_mean == pytest.approx(rho.mean())
        assert (row.rho_q05, row.rho_q95) == pytest.approx(tuple(np.quantile(rho, [0.05, 0.95])))
        dyads = grouped_panel["dyad"].values
        members = [d for d, g in zip(dyads, GROUP_REGIONS, strict=True) if g == row.group]
        assert row.p_misplaced_mean == pytest.approx(float(p.sel(dyad=members).mean()))
        assert row.states_misplaced == int((p.sel(dyad=members) >= 0.8).sum())


def test_an_ungrouped_fit_shows_the_population_share_once(small_grouped_fit, grouped_panel):
    fit = ungrouped(small_grouped_fit)
    table = group_table(group_shares(fit, grouped_panel, "region"))
    assert list(table["group"]) == ["all dyads", "Americas", "Asia", "Europe"]
    assert table["rho_mean"].iloc[0] == pytest.approx(float(fit["posterior"]["rho"].mean()))
    assert table["rho_mean"].iloc[1:].isna().all() and table["n_dyads"].iloc[0] == 6
    fig = plot_misplaced_by_group(fit, grouped_panel, group_by="region")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0] == "all dyads: rho (n = 6)"
    assert sum("rho" in label for label in labels) == 1
    assert "region: Europe (n = 3)" in labels


def test_the_figure_names_each_group_and_lists_its_dyads(
    small_grouped_fit, grouped_panel, tmp_path
):
    fig = plot_misplaced_by_group(small_grouped_fit, grouped_panel)
    ax = fig.axes[0]
    labels = [t.get_text().strip() for t in ax.get_yticklabels()]
    # Top to bottom: each group's share, then its dyads.
    assert labels[:2] == ["region: Americas, rho (n = 1)", "sim0004a-sim0004b (sim0004)"]
    for group in ("Americas", "Asia", "Europe"):
        assert sum(label.startswith(f"region: {group}, rho") for label in labels) == 1
    assert len(labels) == 3 + 6
    assert ax.get_xlim() == (0, 1) and "P(misplaced certainty)" in ax.get_xlabel()
    written = save_figure(fig, tmp_path / "by_group")
    assert [p.suffix for p in written] == [".png", ".pdf"] and all(
        p.stat().st_size for p in written
    )


def test_bad_grouping_is_named(small_grouped_fit, small_fit, grouped_panel):
    fit = ungrouped(small_grouped_fit)
    with pytest.raises(PanelError, match=r"'continent'.*available: \['region'\]"):
        plot_misplaced_by_group(fit, grouped_panel, group_by="continent")
    with pytest.raises(ValueError, match=r"group_by: .*available: \['region'\]"):
        plot_misplaced_by_group(fit, grouped_panel)
    with pytest.raises(ValueError, match="grouped by 'region'"):
        plot_misplaced_by_group(small_grouped_fit, grouped_panel, group_by="rivalry_type")
    with pytest.raises(ValueError, match="panel: needed"):
        plot_misplaced_by_group(fit, group_by="region")
    with pytest.raises(ValueError, match="no 'p_misplaced'"):
        plot_misplaced_by_group(small_fit)
