"""Research figures drawn from a saved and reloaded fit: they contain what they claim."""

import matplotlib
import matplotlib.pyplot as plt
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.image import AxesImage

from secdilemma.analysis.counterfactual import counterfactual
from secdilemma.analysis.predictive import posterior_predictive, ppc_table
from secdilemma.files import OutputPathError
from secdilemma.model.io import load_fit, save_fit
from secdilemma.plotting import (
    plot_belief_paths,
    plot_counterfactual,
    plot_misplaced_certainty,
    plot_ppc_pvalues,
    plot_ppc_rootograms,
    plot_ppc_statistics,
    save_figure,
)
from secdilemma.plotting.style import PAGE_WIDTH

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def saved(small_fit, sim_panel, tmp_path_factory):
    """The session fit with its predictive checks, saved to netCDF and loaded back."""
    checked = posterior_predictive(small_fit, max_draws=60, seed=4, panel=sim_panel)
    path = save_fit(checked, tmp_path_factory.mktemp("models") / "small_checked.nc")
    return load_fit(path, sim_panel)


def bands_of(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_belief_paths_label_each_dyad_by_its_states(saved, sim_panel):
    fig = plot_belief_paths(saved, states=sim_panel["state"])
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [str(d) for d in sim_panel["dyad"].values]
    for ax, dyad in zip(axes, sim_panel["dyad"].values, strict=True):
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        a, b = sim_panel["state"].sel(dyad=dyad).values
        assert legend == [
            f"{a}'s belief",
            f"P({b} malign | data)",
            f"{b}'s belief",
            f"P({a} malign | data)",
        ]
        assert len(bands_of(ax)) == 4  # 50 % and 90 % band of each side
        assert ax.get_ylabel() == "P(other malign)"
    assert axes[-1].get_xlabel().startswith("year")
    assert fig.get_size_inches()[0] == pytest.approx(PAGE_WIDTH)
    plain = plot_belief_paths(saved, ["sim0002"], bands=False)
    assert bands_of(plain.axes[0]) == []
    assert plain.axes[0].get_legend().get_texts()[0].get_text() == "side 0's belief"


def test_misplaced_certainty_forest_plot(saved, sim_panel):
    fig = plot_misplaced_certainty(saved, states=sim_panel["state"])
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels[0].startswith("misplaced certainty") and len(labels) == 4
    assert [lab.split()[-1] for lab in labels[1:]] == ["$l_0$", "$w$", "$s$"]
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert len(rows) == 16 and rows[0] == "sim0000a (sim0000)"
    # Per state: a 90 % line, a 50 % line and a median point.
    segments = [
        c
        for c in fig.axes[0].collections
        if len(c.get_segments() if hasattr(c, "get_segments") else []) == 16
    ]
    assert len(segments) == 2


def test_ppc_statistic_panels_per_dyad(saved):
    fig = plot_ppc_statistics(saved, "generative")
    assert len(fig.axes) == 8 * 5
    first = fig.axes[0]
    assert first.get_ylabel() == "sim0000\nshare of draws"
    assert first.get_title().startswith("escalation rate")
    for ax in fig.axes:
        texts = [t.get_text() for t in ax.texts]
        assert any(t.startswith("p = ") for t in texts) or "undefined" in texts
    with_band = [ax for ax in fig.axes if any(p.get_label() == "90 % interval" for p in ax.patches)]
    assert len(with_band) >= 35  # the 90 % interval (undefined reactivity may lack one)
    assert all(ax.get_xlabel() for ax in fig.axes[-5:])


def test_rootograms_per_dyad(saved):
    fig = plot_ppc_rootograms(saved, "conditional")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [f"sim{d:04d}" for d in range(8)]
    for ax in visible:
        assert ax.get_yscale() == "sqrt"
        assert ax.get_xlabel() == "move" and "sqrt" in ax.get_ylabel()
        assert len(ax.collections) >= 2  # replicated and observed markers


def test_p_value_heat_map(saved, sim_panel):
    table = ppc_table(saved, panel=sim_panel)
    fig = plot_ppc_pvalues(table, "conditional")
    image = next(a for a in fig.axes[0].get_children() if isinstance(a, AxesImage))
    assert image.get_array().shape == (8, 5)
    assert fig.axes[0].get_yticklabels()[0].get_text() == "sim0000"
    assert fig.axes[1].get_ylabel().startswith("mid-p value")
    states = plot_ppc_pvalues(table, "generative", level="state")
    image = next(a for a in states.axes[0].get_children() if isinstance(a, AxesImage))
    assert image.get_array().shape == (16, 5)


def test_counterfactual_figure(saved, sim_panel):
    cf = counterfactual(
        saved, "sim0001", side="sim0001a", beliefs="misplaced_certainty", max_draws=40,
        panel=sim_panel,
    )  # fmt: skip
    fig = plot_counterfactual(cf)
    assert len(fig.axes) == 3
    assert all(ax.get_xlabel() == "year" and ax.get_ylabel() for ax in fig.axes)
    assert all(bands_of(ax) for ax in fig.axes)
    assert "sim0001a" in fig.texts[0].get_text() if fig.texts else True
    change = [t.get_text() for t in fig.axes[2].texts]
    assert change and change[0].startswith("change ") and "(90 %)" in change[0]


def test_figures_are_saved_as_png_and_pdf_or_not_at_all(saved, tmp_path):
    fig = plot_ppc_statistics(saved, "conditional", ["sim0000"])
    written = save_figure(fig, tmp_path / "figures" / "ppc")
    assert [p.name for p in written] == ["ppc.png", "ppc.pdf"]
    assert all(p.stat().st_size > 1000 for p in written)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    with pytest.raises(OutputPathError, match="blocker"):
        save_figure(fig, blocker / "ppc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "figures"]


def test_figures_refuse_unknown_names(saved):
    with pytest.raises(ValueError, match=r"dyads: not in the fit: \['XYZ'\]"):
        plot_ppc_statistics(saved, "generative", ["XYZ"])
    with pytest.raises(ValueError, match="kind: expected one of"):
        plot_ppc_rootograms(saved, "prior")
    with pytest.raises(ValueError, match="statistic_names: unknown"):
        plot_ppc_statistics(saved, statistic_names=["variance"])


def test_regime_fits_show_p_misplaced_instead_of_parameters(rng):
    post = xr.Dataset(
        {
            "misplaced_certainty": (
                ("chain", "draw", "dyad", "side"),
                rng.normal(0, 0.2, (1, 30, 2, 2)),
            ),
            "p_misplaced": (("chain", "draw", "dyad", "side"), rng.uniform(size=(1, 30, 2, 2))),
            "regime_w": (("chain", "draw", "regime"), rng.uniform(size=(1, 30, 2))),
        },
        coords={
            "dyad": ["A-B", "C-D"],
            "side": [0, 1],
            "regime": ["sensible", "misplaced_certainty"],
        },
    )
    fig = plot_misplaced_certainty(xr.DataTree.from_dict({"posterior": post}))
    assert [ax.get_xlabel() for ax in fig.axes][1] == "P(misplaced-certainty regime)"
    assert len(fig.axes) == 2
    assert fig.axes[0].get_yticklabels()[0].get_text() == "A-B, side 0"


def test_belief_paths_of_a_compact_fit_are_the_stored_ones(small_fit, sim_panel, tmp_path):
    # A compact file does not store the paths: the figure recomputes them.
    from matplotlib.lines import Line2D

    path = save_fit(small_fit, tmp_path / "compact.nc", compact=True)
    compact = load_fit(path, sim_panel)
    assert "belief" not in compact["posterior"]

    def medians(fig):
        return [
            line.get_ydata()
            for ax in fig.axes
            for line in ax.get_lines()
            if isinstance(line, Line2D) and len(line.get_ydata()) > 2  # not the axhline
        ]

    a = plot_belief_paths(compact, ["sim0001"], max_draws=40, seed=2)
    b = plot_belief_paths(small_fit, ["sim0001"], max_draws=40, seed=2)
    assert len(medians(a)) == 2
    for x, y in zip(medians(a), medians(b), strict=True):
        assert max(abs(x - y)) < 1e-10
    plt.close("all")
