"""Simulation-based calibration: ranks, uniformity tests, the Dask run, failures and resume.

The unit tests use no sampler. The run tests share one small SBC (20
simulations of 2 dyads x 10 years, ``sensible``, 2 chains x (50 + 50), no
pilot) on a 2-worker ``LocalCluster``, during which the test kills a worker;
then it deletes and corrupts some results and resumes.
"""

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from secdilemma.calibration.ranks import (
    Quantity,
    posterior_draws,
    quantities,
    rank_all,
    rank_of,
    thin_indices,
    true_values,
)
from secdilemma.calibration.simulation import simulate, simulation_seed, streams
from secdilemma.calibration.uniformity import chi_square, reading, uniformity_table
from secdilemma.model.variants import load_variant

SMALL = {
    "n_sims": 20, "dyads": 2, "years": 10, "draws": 50, "tune": 50, "chains": 2,
    "init": "jitter", "rank_draws": 19, "seed": 3,
}  # fmt: skip
COMPILEDIR = Path.home() / ".pytensor" / "secdilemma-test-workers"
"""The tests' worker compile folders (kept warm between runs, apart from real runs')."""


# --- ranks -----------------------------------------------------------------------------------


def test_ranks_of_a_binary_latent_are_uniform_with_random_tie_breaking(rng):
    # truth ~ Bernoulli(p) and L posterior draws ~ Bernoulli(p): a calibrated
    # posterior of a 0/1 latent. Without tie-breaking the ranks would take two
    # values only; with it they are uniform on 0..L.
    n_sims, L = 4000, 19
    p = rng.uniform(0.05, 0.95, n_sims)
    truth = (rng.random(n_sims) < p).astype(float)
    ranks = [rank_of((rng.random(L) < p[k]).astype(float), truth[k], rng) for k in range(n_sims)]
    assert chi_square(np.array(ranks), L)[1] > 0.01
    assert set(ranks) == set(range(L + 1))


def test_ranks_detect_an_overconfident_posterior(rng):
    # Posterior sd half the true one: U-shaped ranks, read as too narrow.
    n_sims, L = 1000, 99
    truth = rng.normal(size=n_sims)
    ranks = np.array([rank_of(rng.normal(0, 0.5, L), t, rng) for t in truth])
    _, p = chi_square(ranks, L)
    assert p < 1e-6
    assert "too narrow" in reading((ranks + 0.5) / (L + 1))
    biased = np.array([rank_of(rng.normal(0.7, 1, L), t, rng) for t in truth])
    assert "truth below the posterior" in reading((biased + 0.5) / (L + 1))


def test_thinning_spreads_the_kept_draws_over_all_chains():
    keep = thin_indices(1000, 99)
    assert len(keep) == 99 and keep[0] == 0 and keep[-1] == 999
    assert np.all(np.diff(keep) >= 10)
    with pytest.raises(ValueError, match="rank_draws"):
        thin_indices(50, 99)


def test_quantities_of_each_bundled_variant():
    labels = {v: [q.label for q in quantities(load_variant(v))] for v in
              ("free", "mixture", "sensible", "misplaced_certainty")}  # fmt: skip
    for names in labels.values():  # DESIGN's delta and c, and what the sampler draws
        assert {"beta", "gamma", "delta", "intent_spread", "pi", "sigma_alpha"} <= set(names)
        assert {f"cutpoints[{k}]" for k in range(3)} <= set(names)
        assert {f"cutpoints_centred[{k}]" for k in range(3)} <= set(names)
        assert {"alpha[0,0]", "intent[0,0]"} <= set(names)
    assert {"mu_l0", "sigma_l0", "mu_w", "sigma_w", "mu_s", "sigma_s"} <= set(labels["free"])
    assert {"l0[0,0]", "w[0,0]", "s[0,0]"} <= set(labels["free"])
    assert {"rho", "l0_sensible", "l0_misplaced_certainty", "w_misplaced_certainty",
            "l0[0,0]", "w[0,0]", "s[0,0]"} <= set(labels["mixture"])  # fmt: skip
    # One active regime: the state's l0 is the regime's, ranked once.
    assert "l0_sensible" in labels["sensible"] and "l0[0,0]" not in labels["sensible"]
    assert "rho" not in labels["sensible"] and "w_misplaced_certainty" not in labels["sensible"]
    assert "w_misplaced_certainty" in labels["misplaced_certainty"]


def test_a_simulation_is_drawn_from_the_prior_through_the_package_simulator():
    variant = load_variant("mixture")
    panel, truth = simulate(variant, 3, 12, seed=simulation_seed(0, 5))
    again, _ = simulate(variant, 3, 12, seed=simulation_seed(0, 5))
    xr.testing.assert_identical(panel, again)
    assert panel.attrs["beta"] == truth["beta"]
    np.testing.assert_array_equal(panel["intent"].values, truth["intent"])
    np.testing.assert_array_equal(panel["w"].values, truth["w"])
    table = truth["regime_w"][truth["regime"]]  # each state's w is its regime's
    np.testing.assert_array_equal(panel["w"].values, table)
    values = true_values(variant, truth, lag_reference=0.2, belief_reference=0.5)
    shift = truth["alpha"].mean() + 0.5 * truth["beta"] + 0.2 * truth["gamma"]
    assert values["cutpoints_centred[1]"] == pytest.approx(truth["cutpoints"][1] - shift)
    spread = truth["delta"] * np.sqrt(truth["pi"] * (1 - truth["pi"]))
    assert values["intent_spread"] == pytest.approx(spread)
    assert values["s[0,0]"] == truth["s"][0, 0]
    assert simulation_seed(0, 5) != simulation_seed(0, 6) != simulation_seed(1, 5)
    assert len(set(vars(streams(7)).values())) == 4


def _fake_posterior(rng, p_malign, p_regime):
    chain, draw = 2, 60
    return xr.Dataset(
        {
            "beta": (("chain", "draw"), rng.normal(size=(chain, draw))),
            "p_malign": (("chain", "draw", "dyad", "side"),
                         np.full((chain, draw, 1, 2), p_malign)),
            "p_regime": (("chain", "draw", "dyad", "side", "regime"),
                         np.broadcast_to(p_regime, (chain, draw, 1, 2, 2))),
            "regime_w": (("chain", "draw", "regime"),
                         np.stack([np.ones((chain, draw)), rng.uniform(0, 1, (chain, draw))], -1)),
        }
    )  # fmt: skip


def test_latent_quantities_are_drawn_through_their_probabilities(rng):
    w = Quantity("w[0,0]", "w", (0, 0), "latent")
    intent = Quantity("intent[0,0]", "p_malign", (0, 0), "latent")
    sure = _fake_posterior(rng, 1.0, [0.0, 1.0])  # malign; misplaced regime for sure
    assert np.all(posterior_draws(sure, intent, rng) == 1.0)
    np.testing.assert_array_equal(posterior_draws(sure, w, rng), sure["regime_w"].values[..., 1])
    sensible = _fake_posterior(rng, 0.0, [1.0, 0.0])
    assert np.all(posterior_draws(sensible, w, rng) == 1.0)
    # A truth equal to every draw: the rank is uniform over the ties, 0..L.
    out = rank_all(sensible, {"w[0,0]": 1.0, "beta": 0.0}, [w, Quantity("beta", "beta")],
                   rank_draws=19, rng=rng, ess=lambda v: 1.0)  # fmt: skip
    assert out["n_ties"][0] == 19 and 0 <= out["rank"][0] <= 19


# --- uniformity table, failures, folders (no sampler) -----------------------------------------


def _fake_ranks(rng, n=200, L=99):
    uniform = rng.integers(0, L + 1, n)
    narrow = np.clip(np.where(rng.random(n) < 0.5, rng.integers(0, 8, n),
                              rng.integers(L - 7, L + 1, n)), 0, L)  # fmt: skip
    status = np.array(["fitted"] * (n - 2) + ["error", "lost"])
    ranks = np.stack([uniform, narrow], axis=1)
    ranks[-2:] = -1
    return xr.Dataset(
        {
            "rank": (("simulation", "quantity"), ranks),
            "ess_bulk": (("simulation", "quantity"), np.full((n, 2), 300.0)),
            "status": ("simulation", status),
            "diagnostics_ok": ("simulation", np.r_[np.ones(n - 12), np.zeros(10), -np.ones(2)]),
        },
        coords={"quantity": ["beta", "gamma"]},
        attrs={"rank_draws": L},
    )


def test_uniformity_table_counts_every_simulation_and_reads_failures(rng):
    table = uniformity_table(_fake_ranks(rng)).set_index("quantity")
    assert table.loc["beta", "passes"] and not table.loc["gamma", "passes"]
    assert "too narrow" in table.loc["gamma", "reading"]
    assert table.loc["beta", "n_ranked"] == 198  # fitted ones, diagnostics failed or not
    assert table.loc["beta", "n_diagnostics_failed"] == 10
    assert table.loc["beta", "n_error"] == 1 and table.loc["beta", "n_lost"] == 1


class _FailingModel:
    compile_seconds = warm_seconds = 0.0

    def fit(self, panel, **kwargs):
        raise FloatingPointError("initial point has a non-finite log-density")


def test_a_failed_fit_is_recorded_not_dropped(tmp_path, monkeypatch):
    from secdilemma.calibration import run, worker

    monkeypatch.setattr(worker, "compiled_model", lambda v, p: (_FailingModel(), False))
    ranks = run.calibrate("sensible", **{**SMALL, "n_sims": 3}, out=tmp_path, only=[0, 2],
                          progress=False)  # fmt: skip
    assert list(ranks["status"].values) == ["error", "lost", "error"]
    assert "FloatingPointError: initial point" in str(ranks["error"].values[0])
    assert ranks.sizes["simulation"] == 3 and np.all(ranks["rank"].values == -1)
    assert np.isfinite(ranks["truth"].values[0]).all()  # the truth is known, the fit failed
    saved = xr.open_dataset(tmp_path / "sims" / "sim_00000.nc", engine="h5netcdf")
    assert saved.attrs["status"] == "error" and "FloatingPointError" in saved.attrs["traceback"]
    # Resuming skips a recorded failure (its seed fixes it) and runs the lost one.
    import distributed

    monkeypatch.setattr(distributed, "as_completed", iter)
    ran = []
    run.calibrate("sensible", **{**SMALL, "n_sims": 3}, out=tmp_path, resume=True,
                  progress=lambda meta, *_: ran.append(meta["index"]),
                  client=_InProcessClient())  # fmt: skip
    assert ran == [1]


class _InProcessClient:
    """Stands in for a Dask client: runs each task at once (for the no-sampler tests)."""

    def register_plugin(self, plugin):
        pass

    def map(self, func, jobs, key, pure):
        return [_Done(func(job), k) for job, k in zip(jobs, key, strict=True)]


class _Done:
    def __init__(self, value, key):
        self.value, self.key = value, key

    def result(self):
        return self.value

    def release(self):
        pass


def test_run_folders_are_checked_before_any_work(tmp_path, monkeypatch):
    from secdilemma.calibration import run, worker

    monkeypatch.setattr(worker, "compiled_model", lambda v, p: (_FailingModel(), False))
    run.calibrate("sensible", **{**SMALL, "n_sims": 2}, out=tmp_path, only=[0], progress=False)
    with pytest.raises(run.CalibrationError, match="pass --resume"):
        run.calibrate("sensible", **{**SMALL, "n_sims": 2}, out=tmp_path, progress=False)
    with pytest.raises(run.CalibrationError, match="other settings"):
        run.calibrate("sensible", **{**SMALL, "n_sims": 2, "seed": 4}, out=tmp_path, resume=True)
    with pytest.raises(run.CalibrationError, match="rank_draws"):
        run.calibrate("sensible", **{**SMALL, "rank_draws": 101}, out=tmp_path / "x")
    # An unreadable or half-written result is not a finished one.
    path = worker.result_path(tmp_path, 0)
    assert worker.read_result(path) is not None
    path.write_bytes(path.read_bytes()[:200])
    assert worker.read_result(path) is None


# --- a real SBC on a 2-worker LocalCluster: kill a worker, then resume -------------------------


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory):
    from distributed import Client

    from secdilemma.calibration import worker
    from secdilemma.calibration.run import calibrate, local_cluster

    out = tmp_path_factory.mktemp("sbc")
    cluster = local_cluster(2)
    client = Client(cluster)
    seen = []

    pids = client.run(os.getpid)  # worker address -> process id (processes this test started)
    killed = {}

    def kill_a_worker_after_five(meta, done, total):
        seen.append(meta)
        if done == 5:  # kill the worker that just finished one, mid-way into its next task
            workers = client.scheduler_info()["workers"]
            address = next(a for a, w in workers.items() if str(w["name"]) == meta["worker"])
            finished = [m["index"] for m in seen if m["worker"] == meta["worker"]]
            killed.update(address=address, mtimes={
                i: worker.result_path(out, i).stat().st_mtime_ns for i in finished})  # fmt: skip
            for nanny in cluster.workers.values():  # a lost node: it does not come back
                if nanny.worker_address == address:
                    nanny.close_gracefully(reason="test: the node is lost")
            os.kill(pids[address], signal.SIGKILL)  # as the OOM killer would

    ranks = calibrate("sensible", **SMALL, out=out, client=client, compiledir=COMPILEDIR,
                      progress=kill_a_worker_after_five)  # fmt: skip
    assert killed["address"] not in client.scheduler_info()["workers"]
    yield {"out": out, "ranks": ranks, "seen": seen, "client": client, "killed": killed}
    client.close()
    cluster.close()


def test_sbc_on_two_workers_has_one_row_per_simulation_despite_a_killed_worker(cluster_run):
    from secdilemma.calibration import worker

    ranks, out = cluster_run["ranks"], cluster_run["out"]
    assert ranks.sizes["simulation"] == SMALL["n_sims"]
    assert list(ranks["status"].values) == ["fitted"] * SMALL["n_sims"]  # none lost
    assert set(np.unique(ranks["diagnostics_ok"].values)) <= {0, 1}  # recorded either way
    assert np.all((ranks["rank"].values >= 0) & (ranks["rank"].values <= SMALL["rank_draws"]))
    assert sorted(m["index"] for m in cluster_run["seen"]) == list(range(SMALL["n_sims"]))
    # What the killed worker had finished is there, untouched (not refitted).
    mtimes = cluster_run["killed"]["mtimes"]
    assert mtimes
    assert all(worker.result_path(out, i).stat().st_mtime_ns == t for i, t in mtimes.items())
    seeds = [simulation_seed(SMALL["seed"], i) for i in range(SMALL["n_sims"])]
    assert list(ranks["seed"].values) == seeds
    settings = json.loads(ranks.attrs["settings"])
    assert settings["fit"]["draws"] == 50 and settings["dyads"] == 2
    assert (out / "ranks.nc").is_file()
    assert len(list((out / "sims").glob("sim_*.nc"))) == SMALL["n_sims"]


def test_resume_refits_only_missing_or_broken_results_with_the_same_ranks(cluster_run):
    from secdilemma.calibration.run import calibrate
    from secdilemma.calibration.worker import result_path

    out, before = cluster_run["out"], cluster_run["ranks"]
    deleted, broken = [2, 11, 17], 7
    for i in deleted:
        result_path(out, i).unlink()
    path = result_path(out, broken)
    path.write_bytes(path.read_bytes()[:100])  # a truncated file
    kept = {i: result_path(out, i).stat().st_mtime_ns for i in range(SMALL["n_sims"])
            if i not in (*deleted, broken)}  # fmt: skip
    ran = []
    after = calibrate("sensible", **SMALL, out=out, client=cluster_run["client"], resume=True,
                      compiledir=COMPILEDIR,
                      progress=lambda meta, *_: ran.append(meta["index"]))  # fmt: skip
    assert sorted(ran) == sorted([*deleted, broken])
    assert all(result_path(out, i).stat().st_mtime_ns == t for i, t in kept.items())
    # The same seeds give the same ranks, on whichever worker they were refitted.
    np.testing.assert_array_equal(after["rank"].values, before["rank"].values)
    np.testing.assert_array_equal(after["truth"].values, before["truth"].values)


def test_report_writes_the_summary_table_and_figures(cluster_run, tmp_path):
    from secdilemma.calibration.report import write_report

    written = write_report(cluster_run["ranks"], tmp_path)
    names = {p.name for p in written}
    assert {"summary.csv", "summary.md", "ranks_sensible.png", "ecdf_sensible.pdf"} <= names
    assert "| beta |" in (tmp_path / "summary.md").read_text()


def test_cli_refuses_a_finished_folder_without_resume(cluster_run):
    from typer.testing import CliRunner

    from secdilemma.cli import app

    result = CliRunner().invoke(app, ["calibrate", "--variant", "sensible", "--sims", "20",
                                      "--dyads", "2", "--years", "10", "--draws", "50",
                                      "--tune", "50", "--init", "jitter", "--rank-draws", "19",
                                      "--seed", "3", "--out", str(cluster_run["out"])])  # fmt: skip
    assert result.exit_code != 0
    assert "pass --resume" in result.output
