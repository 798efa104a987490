"""``secdilemma simulate`` and ``secdilemma demo`` from the command line."""

import json

import pytest
import xarray as xr
from typer.testing import CliRunner

from secdilemma.cli import app
from secdilemma.model.diagnostics import FitDiagnosticsWarning

runner = CliRunner()


def test_simulate_writes_the_requested_panel(tmp_path):
    out = tmp_path / "mc.nc"
    args = [
        "simulate",
        "--dyads",
        "6",
        "--years",
        "9",
        "--beliefs",
        "misplaced_certainty",
        "--intent",
        "benign,malign",
        "--seed",
        "4",
        "--beta",
        "1.5",
        "--cutpoints=-1,0.5,2",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    panel = xr.load_dataset(out, engine="h5netcdf")
    assert panel.sizes == {"dyad": 6, "side": 2, "year": 9}
    assert panel["intent"].values[:, 1].tolist() == [1] * 6
    assert panel.attrs["beta"] == 1.5 and list(panel.attrs["cutpoints"]) == [-1.0, 0.5, 2.0]
    again = tmp_path / "again.nc"
    assert runner.invoke(app, [*args[:-1], str(again)]).exit_code == 0
    assert out.read_bytes() == again.read_bytes()


def test_simulate_rejects_bad_options_by_name(tmp_path):
    out = tmp_path / "x.nc"
    cases = [
        (["--beliefs", "hawkish"], "unknown belief regime 'hawkish'"),
        (["--intent", "benign"], "expected two intents"),
        (["--cutpoints=1,0,2"], "cutpoints: must be strictly increasing"),
        (["--cutpoints=1,2"], "expected 3 comma-separated numbers"),
        (["--gamma", "-1"], "gamma: reactivity must be >= 0"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["simulate", "--out", str(out), "--dyads", "2", *extra])
        assert result.exit_code == 2, extra
        assert message in " ".join(result.output.split()), (extra, result.output)
    assert not out.exists()


def test_demo_writes_panels_and_figure(tmp_path):
    args = ["demo", "--out", str(tmp_path), "--dyads", "20", "--years", "12", "--no-fit"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    for name in (
        "simulated_misplaced_certainty.nc",
        "simulated_sensible.nc",
        "figures/spiral.png",
        "figures/spiral.pdf",
        "figures/historical_moves.png",
        "figures/historical_moves.pdf",
    ):
        assert (tmp_path / name).stat().st_size > 1000, name


def test_demo_fits_the_bundled_panel(tmp_path):
    # Tiny settings: this checks the wiring (fit, save, belief figure), not the posterior;
    # the diagnostics are expected to fail at 30 draws and are reported, not fatal.
    args = [
        "demo",
        "--out",
        str(tmp_path),
        "--dyads",
        "5",
        "--years",
        "5",
        "--historical",
        "USA-RUS,IND-PAK",
        "--draws",
        "30",
        "--tune",
        "30",
        "--chains",
        "1",
    ]
    with pytest.warns(FitDiagnosticsWarning, match="sampler diagnostics failed"):
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "min bulk ESS" in result.output
    fit = xr.open_datatree(tmp_path / "free_historical.nc", engine="h5netcdf")
    assert fit["posterior"]["belief"].sizes["dyad"] == 2
    assert (tmp_path / "figures" / "belief_paths.png").stat().st_size > 1000

    # The JSON manifest beside the posterior: provenance, flag, shared and per-state summaries
    # that agree with the posterior itself.
    manifest = json.loads((tmp_path / "free_historical.json").read_text())
    assert manifest["diagnostics_ok"] is False  # 30 draws of one chain cannot pass
    assert manifest["provenance"]["variant"]["name"] == "free"
    assert manifest["provenance"]["seed"] == 20261127
    assert {"beta", "gamma", "delta", "cutpoints[0]", "pi"} <= set(manifest["shared"])
    beta_mean = float(fit["posterior"]["beta"].mean())
    assert manifest["shared"]["beta"]["mean"] == pytest.approx(beta_mean, abs=1e-6)
    assert sorted(manifest["states"]) == ["IND-PAK/0", "IND-PAK/1", "USA-RUS/0", "USA-RUS/1"]
    p_usa = float(fit["posterior"]["p_malign"].sel(dyad="USA-RUS", side=0).mean())
    assert manifest["states"]["USA-RUS/0"]["p_malign"] == pytest.approx(p_usa, abs=1e-6)
