"""A real (small) fit, shared by the session: structure, likelihood, reproducibility,
saving, a small parameter-recovery check and the CLI plumbing.

Compilation dominates: every test here reuses the single session fit except the
reproducibility test, which refits the identical model (a warm compile cache
makes that cheaper than the first).
"""

import warnings

import arviz_stats as azs
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from secdilemma.model.diagnostics import FitDiagnosticsWarning
from secdilemma.model.io import fit_diagnostics, fit_info, load_fit, panel_sha256, save_fit
from secdilemma.model.sampling import fit
from secdilemma.model.variants import load_variant
from tests.conftest import N_DYADS, SETTINGS, TRUE
from tests.recovery import check_recovery
from tests.test_model_builder import _reference


def test_fit_has_the_groups_and_dims_of_issue_4(small_fit):
    assert set(small_fit.children) == {
        "posterior",
        "sample_stats",
        "log_likelihood",
        "observed_data",
        "constant_data",
    }
    posterior = small_fit["posterior"]
    assert posterior["belief"].dims == ("chain", "draw", "dyad", "side", "year")
    assert posterior["p_malign"].dims == ("chain", "draw", "dyad", "side")
    assert posterior["misplaced_certainty"].dims == ("chain", "draw", "dyad", "side")
    assert posterior.sizes["chain"] == 2 and posterior.sizes["draw"] == 300
    assert "loglik_move" not in posterior
    assert small_fit["log_likelihood"]["move"].dims == ("chain", "draw", "dyad", "side")
    assert small_fit["observed_data"]["move"].dims == ("dyad", "side", "year")
    p = posterior["p_malign"].values
    assert ((p >= 0) & (p <= 1)).all()


def test_provenance_attrs(small_fit, sim_panel):
    info = fit_info(small_fit)
    assert info["variant"] == load_variant("free").as_dict()
    assert info["panel_sha256"] == panel_sha256(sim_panel)
    assert info["seed"] == SETTINGS["seed"]
    assert info["sampler"]["name"] == "nutpie"
    assert {k: info["sampler"][k] for k in ("draws", "tune", "chains")} == {
        "draws": 300,
        "tune": 300,
        "chains": 2,
    }
    assert info["versions"]["pymc"] and info["versions"]["nutpie"]
    # Default start: a pilot run whose chains' mean log-densities are recorded.
    assert info["sampler"]["init"] == "pilot"
    pilot = info["sampler"]["pilot"]
    assert len(pilot["chain_mean_logp"]) == pilot["chains"] == 4
    assert pilot["chain_log_mass"][pilot["chosen_chain"]] == max(pilot["chain_log_mass"])
    assert len(pilot["chain_means"]["beta"]) == 4
    # The main run's chains are on record too, and agree with the posterior.
    main = info["sampler"]["chains_logp"]
    np.testing.assert_allclose(
        main["chain_means"]["beta"], small_fit["posterior"]["beta"].mean("draw"), atol=1e-3
    )
    assert info["sampler"]["adaptation"] == "low_rank"
    # A separated pilot or main run is a diagnostic failure, never only a warning.
    failures = fit_diagnostics(small_fit).failures
    assert any(f.startswith("multimodal") for f in failures) == (
        pilot["multimodal"] or main["separated"]
    )
    assert "beta" in info["free_variables"] and "belief" not in info["free_variables"]


def test_diagnostics_flag_matches_warning(small_fit):
    # Whatever this small fit's diagnostics are, the flag, the stored record and
    # the warning must agree: a failed check is never silent.
    diagnostics = fit_diagnostics(small_fit)
    assert small_fit.attrs["diagnostics_ok"] == int(diagnostics.ok)
    assert small_fit.attrs["_test_warned"] == int(not diagnostics.ok)
    assert diagnostics.n_chains == 2 and diagnostics.n_draws == 300
    assert diagnostics.n_divergent == int(small_fit["sample_stats"]["diverging"].sum())


def test_log_likelihood_is_the_marginal_per_state(small_fit, sim_panel):
    # Independent NumPy computation (tests/test_model_builder.py::_reference)
    # at three posterior draws.
    posterior = small_fit["posterior"]
    names = ("alpha", "l0", "w", "s", "beta", "gamma", "delta", "cutpoints", "pi")
    for chain, draw in ((0, 0), (1, 150), (1, 299)):
        out = {n: posterior[n].values[chain, draw] for n in names}
        b, marginal, p_malign, mc = _reference(sim_panel, out)
        loglik = small_fit["log_likelihood"]["move"].values[chain, draw]
        np.testing.assert_allclose(loglik, marginal, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(posterior["belief"].values[chain, draw], b, atol=1e-10)
        np.testing.assert_allclose(posterior["p_malign"].values[chain, draw], p_malign, atol=1e-9)
        np.testing.assert_allclose(
            posterior["misplaced_certainty"].values[chain, draw], mc, atol=1e-9
        )


# 16 states, 600 draws: some Pareto k above 0.64 are expected at this size.
@pytest.mark.filterwarnings("ignore:Estimated shape parameter of Pareto:UserWarning")
def test_loo_runs_with_one_term_per_state(small_fit):
    loo = azs.loo(small_fit, var_name="move")
    assert np.isfinite(loo.elpd)
    assert loo.pareto_k.shape == (N_DYADS, 2)


def test_small_recovery(small_fit, sim_panel):
    # 16 states x 39 modelled years; MEASUREMENTS.md recovered beta to +-0.25 on
    # 12 x 60, so here the intervals are about twice as wide. Three parameters
    # checked at once: with 90 % intervals a correct posterior misses at least
    # one 27 % of the time, so the small test uses central 98 % intervals (6 %);
    # the slow 12 x 60 test uses 90 % intervals as issue 4 asks.
    # Intents: alpha[i] and delta * tau[i] both shift a state's whole series, so
    # with 39 moves per state P(malign) is shrunk towards the (low) estimated
    # share of malign states and a 0.5 cut is a weak criterion. We ask for (a)
    # most states (9 of 16) on the right side of 0.5 -- calling all benign
    # scores 8 -- and (b) a ranking that separates the types: the probability
    # that a malign state has a higher P(malign) than a benign one (AUC) at
    # least 0.8 (0.5 is chance; this seed gives about 0.95).
    check_recovery(small_fit["posterior"], sim_panel, TRUE, tail=0.01, min_right=9, min_auc=0.8)


def test_same_seed_same_numbers(small_fit, sim_panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitDiagnosticsWarning)
        again = fit(sim_panel, "free", **SETTINGS, progress_bar=False)
    for name in ("beta", "z_w", "belief"):
        np.testing.assert_array_equal(
            again["posterior"][name].values, small_fit["posterior"][name].values
        )


def test_real_fit_round_trip(small_fit, sim_panel, tmp_path):
    path = save_fit(small_fit, tmp_path / "models" / "small.nc")
    loaded = load_fit(path, sim_panel)
    for group in small_fit.children:
        xr.testing.assert_identical(loaded[group].to_dataset(), small_fit[group].to_dataset())
    assert loaded.attrs == small_fit.attrs


def test_cli_fit_plumbing(small_fit, sim_panel, tmp_path, monkeypatch):
    # The CLI's own work (reading the panel, selecting dyads, saving, reporting,
    # exit status) on the session fit; the sampler itself is tested above.
    from secdilemma.cli import app
    from secdilemma.model import sampling as fit_module

    calls = {}

    def fake_fit(panel, variant, **kwargs):
        calls.update(panel=panel, variant=variant, **kwargs)
        return small_fit

    monkeypatch.setattr(fit_module, "fit", fake_fit)
    panel_file = tmp_path / "sim.nc"
    sim_panel.to_netcdf(panel_file, engine="h5netcdf")
    out = tmp_path / "models" / "cli.nc"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "fit",
            "--variant",
            "free",
            "--panel",
            str(panel_file),
            "--dyads",
            "sim0001,sim0003",
            "--draws",
            "300",
            "--tune",
            "300",
            "--chains",
            "2",
            "--seed",
            "17",
            "--adaptation",
            "diag",
            "--out",
            str(out),
        ],
    )
    expected_status = 0 if small_fit.attrs["diagnostics_ok"] else 3
    assert result.exit_code == expected_status, result.output
    assert out.is_file()
    assert calls["panel"]["dyad"].values.tolist() == ["sim0001", "sim0003"]
    assert calls["variant"].name == "free"
    assert {k: calls[k] for k in ("draws", "tune", "chains", "seed")} == SETTINGS
    assert calls["adaptation"] == "diag" and calls["init"] == "pilot"
    assert "divergences:" in result.output
    bad = runner.invoke(app, ["fit", "--adaptation", "full", "--out", str(out)])
    assert bad.exit_code == 2 and "draw_diag" in bad.output

    bad = runner.invoke(app, ["fit", "--variant", "optimistic", "--out", str(out)])
    assert bad.exit_code == 2 and "unknown variant" in bad.output
    bad = runner.invoke(
        app,
        [
            "fit",
            "--panel",
            str(panel_file),
            "--dyads",
            "USA-RUS",
            "--out",
            str(out),
        ],
    )
    assert bad.exit_code == 2 and "USA-RUS" in bad.output
