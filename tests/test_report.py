"""The main job, ``secdilemma report`` (issue #9 items 7 and 8).

- the reuse rule of reference fits, one rule at a time, on the session's real fit;
- ``report`` on a simulated panel whose reference fit matches: nothing is sampled,
  and every figure, table and section of ``report.md`` is there;
- bad input (unknown dyad or variant, a fit from another panel, an output folder
  that cannot be written): one line naming it, nothing written, nothing sampled;
- ``secdilemma report --quick`` end to end with real fits of two variants on two
  bundled dyads (about a minute), and a second run that reuses them.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from secdilemma import load_dyads
from secdilemma.cli import app
from secdilemma.files import staged_folder
from secdilemma.model.io import load_fit, save_fit
from secdilemma.pipeline import report, save_fit_with_manifest
from secdilemma.reference import find_reusable, mismatches, reference_path
from tests.conftest import SETTINGS

runner = CliRunner()
SMALL = dict(SETTINGS)  # what the session fit was made with


class SamplingReached(Exception):
    """Raised by the stand-in fit: the job started sampling."""


@pytest.fixture
def no_sampling(monkeypatch):
    from secdilemma.model import sampling

    def fake_fit(panel, variant, **kwargs):
        raise SamplingReached(kwargs)

    monkeypatch.setattr(sampling, "fit", fake_fit)


@pytest.fixture(scope="module")
def references(small_fit, tmp_path_factory):
    """A models/ folder holding the session fit as the reference fit of `free`."""
    folder = tmp_path_factory.mktemp("models")
    save_fit_with_manifest(small_fit, reference_path("free", folder), compact=True)
    return folder


def _one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def test_the_reuse_rule_one_rule_at_a_time(small_fit, sim_panel, references):
    path = reference_path("free", references)
    assert find_reusable(path, panel=sim_panel, variant="free", settings=SMALL).reused
    fit = load_fit(path)
    assert mismatches(fit, panel=sim_panel, variant="free", settings=SMALL) == []

    def why(**change):
        return " ".join(
            mismatches(
                fit,
                panel=change.pop("panel", sim_panel),
                variant=change.pop("variant", "free"),
                settings={**SMALL, **change},
            )
        )

    other = sim_panel.copy(deep=True)
    other["move"][0, 0, 5] = (other["move"][0, 0, 5] + 1) % 4
    assert "another panel" in why(panel=other)
    assert "specification" in why(variant="sensible")
    assert "seed 17, not 18" in why(seed=18)
    assert "draws 300, not 1000" in why(draws=1000)
    assert "target_accept 0.8, not 0.9" in why(target_accept=0.9)
    # A fit made by another version of the package is refitted.
    old = fit.copy()
    versions = json.loads(old.attrs["versions"]) | {"secdilemma": "0.0.1"}
    old.attrs["versions"] = json.dumps(versions)
    assert "secdilemma 0.0.1" in " ".join(
        mismatches(old, panel=sim_panel, variant="free", settings=SMALL)
    )
    # A model whose equations changed: the stored log-likelihood no longer matches.
    changed = fit.copy(deep=True)
    changed["log_likelihood"]["move"].values[:] += 1e-3
    reasons = mismatches(changed, panel=sim_panel, variant="free", settings=SMALL)
    assert reasons and "log-likelihood differs" in reasons[0]
    # Missing or damaged files are reasons to refit, not errors.
    assert find_reusable(references / "none.nc", panel=sim_panel, variant="free", settings=SMALL)
    damaged = references / "damaged.nc"
    damaged.write_bytes(path.read_bytes()[:1000])
    found = find_reusable(damaged, panel=sim_panel, variant="free", settings=SMALL)
    assert not found.reused and "cannot be read" in found.describe()


def test_report_reuses_a_matching_reference_and_writes_everything(
    sim_panel, references, tmp_path, no_sampling
):
    out = tmp_path / "report"
    lines = []
    files = report(
        out,
        variants=["free"],
        panel=sim_panel,
        models=references,
        quick=True,
        draws_per_chain=15,
        echo=lines.append,
        **SMALL,
    )
    assert any("reusing" in line and "provenance matches" in line for line in lines), lines
    assert files[-1] == out / "report.md" and all(f.is_file() for f in files)
    text = (out / "report.md").read_text()
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Flagged fits"  # named at the top, before any result
    assert sections[1:5] == [
        "## Which belief formation the record supports",
        "## How well each model reproduces history",
        "## Counterfactual histories: each side with sensible beliefs",
        "## Diagnostics",
    ]
    assert "PSIS-LOO only (no K-fold refits), the dyad as the unit" in text
    for table in ("comparison", "states", "dyads", "ppc_summary", "counterfactuals"):
        assert (out / "tables" / f"{table}.csv").is_file()
        assert (out / "tables" / f"{table}.md").read_text().startswith("| ")
    names = ["spiral", "historical_moves", "counterfactuals", "free/belief_paths"]
    names += ["free/misplaced_certainty"]
    names += [f"free/{f}_{k}" for f in ("ppc_pvalues", "ppc_statistics", "ppc_rootograms")
              for k in ("conditional", "generative")]  # fmt: skip
    for name in names:
        for suffix in (".png", ".pdf"):
            assert (out / "figures" / f"{name}{suffix}") in files, name
    assert not (out / "figures" / "counterfactual").exists()  # quick: the summary only
    rows = (out / "tables" / "counterfactuals.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 8  # each side of each dyad with sensible beliefs
    assert not (out / "fits").exists()  # nothing was fitted
    assert not [p for p in out.rglob(".secdilemma-*")]
    # Another seed does not match the reference: the report fits (here: the stand-in).
    with pytest.raises(SamplingReached):
        report(tmp_path / "other", variants=["free"], panel=sim_panel, models=references,
               **{**SMALL, "seed": 18})  # fmt: skip
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--dyads", "USA-XYZ"], ["USA-XYZ"]),
        (["--variants", "mixture,nonsense"], ["nonsense"]),
        (["--panel", "absent.nc"], ["absent.nc"]),
        (["--fit", "absent.nc"], ["absent.nc"]),
        # issue 12: the population report's input
        (["--panel", "nonsense"], ["panel nonsense", "bundled panel (dyads, rivalries)"]),
        (
            ["--panel", "rivalries", "--group-by", "continent"],
            ["--group-by", "'continent'", "available: ['region', 'rivalry_type'"],
        ),
        (["--group-by", "region"], ["--group-by", "'region'", "available: none"]),
        (["--panel", "rivalries", "--update-references"], ["--update-references", "historical"]),
        (["--robustness", "--codings", "nmc-7"], ["--codings", "nmc-7", "sipri-10"]),
    ],
)
def test_report_refuses_bad_input_before_any_work(tmp_path, no_sampling, args, fragments):
    out = tmp_path / "build"
    _one_line_error(runner.invoke(app, ["report", "--out", str(out), *args]), *fragments)
    assert not out.exists()


def test_report_refuses_a_fit_from_another_panel(small_fit, tmp_path, no_sampling):
    path = save_fit(small_fit, tmp_path / "simulated.nc", compact=True)
    out = tmp_path / "build"
    result = runner.invoke(app, ["report", "--out", str(out), "--fit", str(path)])
    _one_line_error(result, "simulated.nc", "not the panel")
    assert not out.exists()


def test_report_refuses_an_output_folder_it_cannot_write(tmp_path, no_sampling):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for out, fragment in ((blocker, "is a file, not a folder"), (blocker / "sub", "not a folder")):
        _one_line_error(runner.invoke(app, ["report", "--out", str(out)]), str(blocker), fragment)
    assert blocker.read_text() == "not a folder"


def test_a_staged_folder_changes_nothing_unless_complete(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), staged_folder(out) as stage:
        (stage / "report.md").write_text("half")
        raise RuntimeError
    assert not (tmp_path / "a").exists()  # the folders it created are gone again
    out.mkdir(parents=True)
    (out / "report.md").write_text("old")
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as stage:
        (stage / "figures").mkdir()
        (stage / "figures" / "x.png").write_bytes(b"new")
        (stage / "report.md").write_text("new")
        raise KeyboardInterrupt
    assert [p.name for p in out.iterdir()] == ["report.md"]
    assert (out / "report.md").read_text() == "old"
    with staged_folder(out) as stage:
        (stage / "figures").mkdir()
        (stage / "figures" / "x.png").write_bytes(b"new")
        (stage / "report.md").write_text("new")
    assert (out / "report.md").read_text() == "new" and (out / "figures" / "x.png").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["figures", "report.md"]


def test_report_quick_end_to_end(tmp_path):
    # The real job: two variants fitted to two bundled dyads with small settings,
    # saved as reference fits; a second run reuses them (no sampling).
    models, out = tmp_path / "models", tmp_path / "build"
    args = ["report", "--quick", "--dyads", "USA-RUS,IND-PAK", "--variants", "mixture,sensible",
            "--draws", "100", "--tune", "100", "--chains", "2", "--draws-per-chain", "30",
            "--models", str(models), "--no-progress"]  # fmt: skip
    result = runner.invoke(app, [*args, "--out", str(out), "--update-references"])
    assert result.exit_code == 0, result.output
    assert "[fit 1/2] mixture: fitting" in result.output
    text = (out / "report.md").read_text()
    assert text.index("## Flagged fits") < text.index("## Which belief formation")
    assert "PSIS-LOO only (no K-fold refits)" in text
    assert "Quick report" in text
    flagged = [
        n for n in ("mixture", "sensible")
        if not json.loads((out / "fits" / f"{n}.json").read_text())["diagnostics_ok"]
    ]  # fmt: skip
    for name in flagged:
        assert f"- **`{name}`**" in text.split("## Which belief formation")[0]
    for name in ("mixture", "sensible"):
        fit = load_fit(out / "fits" / f"{name}.nc", load_dyads(["USA-RUS", "IND-PAK"]))
        assert "belief" not in fit["posterior"]  # saved compact
        assert (models / f"{name}_historical.nc").is_file()
        assert (models / f"{name}_historical.json").is_file()
    assert (out / "figures" / "mixture" / "ppc_statistics_generative.pdf").is_file()
    assert not (out / "figures" / "sensible" / "ppc_statistics_generative.pdf").exists()
    states = (out / "tables" / "states.csv").read_text().splitlines()
    assert states[0].startswith("dyad,side,state,p_misplaced") and len(states) == 5
    p = np.loadtxt(out / "tables" / "states.csv", delimiter=",", skiprows=1, usecols=3)
    assert ((p >= 0) & (p <= 1)).all()

    # The mixture's reference fit is reused (its dyad-level log-likelihood recomputed).
    again = [a if a != "mixture,sensible" else "mixture" for a in args]
    result = runner.invoke(app, [*again, "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    assert result.output.count("provenance matches") == 1 and "fitting" not in result.output
    assert not (tmp_path / "again" / "fits").exists()


def test_reference_paths_live_in_the_repository():
    from secdilemma.reference import reference_folder

    assert reference_folder() == Path(__file__).resolve().parents[1] / "models"


def test_robustness_refuses_a_custom_panel(sim_panel, tmp_path, no_sampling):
    # The codings are defined for the bundled panels only (issue 12).
    path = tmp_path / "custom.nc"
    sim_panel.to_netcdf(path)
    out = tmp_path / "build"
    result = runner.invoke(app, ["report", "--out", str(out), "--panel", str(path), "--robustness"])
    _one_line_error(result, "--robustness", "bundled panels only", str(path))
    assert not out.exists()


def test_report_on_the_population_by_region_end_to_end(tmp_path):
    # issue 12: `report --panel rivalries --group-by region` on three rivalries (two
    # regions), two variants, tiny settings: fits without stored beliefs, named apart
    # from the references; PSIS-LOO only, said so; the group section, table and figure.
    out, models = tmp_path / "build", tmp_path / "models"
    dyads = ["BRA-ARG", "ECU-PER", "GRC-BUL"]
    args = ["report", "--quick", "--panel", "rivalries", "--group-by", "region",
            "--dyads", ",".join(dyads), "--variants", "mixture,sensible", "--draws", "50",
            "--tune", "50", "--chains", "2", "--draws-per-chain", "15", "--no-progress",
            "--models", str(models), "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "the population; shares by region" in result.output
    assert not models.exists()  # no reference fit read or written
    panel = load_dyads(dyads, panel="rivalries")
    for name in ("mixture", "sensible"):
        fit = load_fit(out / "fits" / f"{name}_rivalries_by_region.nc", panel)
        assert "belief" not in fit["posterior"] and "pi_group" in fit["posterior"]
        assert json.loads(fit.attrs["sampler"])["beliefs"] is False
    text = (out / "report.md").read_text()
    assert "The whole population" in text
    assert "On the population the comparison is PSIS-LOO only" in text
    section = text.split("## P(misplaced certainty) by group")[1].split("\n## ")[0]
    assert "| region | n_dyads | rho_mean | rho_q05 | rho_q95 |" in section
    assert "| South America | 2 |" in section and "| Southeast Europe | 1 |" in section
    assert "figures/misplaced_by_group.png" in section
    for suffix in (".png", ".pdf"):
        assert (out / "figures" / f"misplaced_by_group{suffix}").stat().st_size > 0
    groups = (out / "tables" / "groups.csv").read_text().splitlines()
    assert groups[0].startswith("group,n_dyads,rho_mean") and len(groups) == 3
    # The comparison names the dyads with Pareto k > 0.7 (from the per-dyad table).
    import pandas as pd

    per_dyad = pd.read_csv(out / "tables" / "dyads.csv")
    high = per_dyad.loc[per_dyad["max_pareto_k"] > 0.7, "dyad"].tolist()
    if high:
        note = text.split("Pareto k > 0.7 for ")[1].split("\n")[0]
        assert all(d in note for d in high), (high, note)
        assert "pass --kfold to refit them" in note
    else:
        assert "Every Pareto k is at most 0.7." in text
    # Figures with one panel per dyad are left out for the population, and said so.
    assert not (out / "figures" / "mixture" / "belief_paths.png").exists()
    assert "Left out for the population" in text


def test_report_robustness_to_the_coding_end_to_end(tmp_path):
    # issue 12 (5a/5b): two dyads, two variants, tiny settings; the bundled coding and
    # one SIPRI coding, which keeps only the SIPRI-covered dyad (ISR-SYR is not).
    import pandas as pd

    from secdilemma.reporting import SE_MULTIPLE

    out = tmp_path / "build"
    args = ["report", "--quick", "--dyads", "USA-RUS,ISR-SYR", "--variants",
            "sensible,misplaced_certainty", "--draws", "50", "--tune", "50", "--chains", "2",
            "--draws-per-chain", "10", "--no-progress", "--models", str(tmp_path / "models"),
            "--robustness", "--codings", "sipri-5", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "tables" / "robustness.csv", keep_default_na=False)
    assert list(table["coding"]) == ["nmc-5", "sipri-5"]  # one row per coding
    assert list(table["n_dyads"]) == [2, 1]
    assert table["dyads"].iloc[1] == "SIPRI-covered dyads only; left out: ISR-SYR"
    assert (out / "tables" / "robustness.md").read_text().startswith("| coding | n_dyads |")
    # The bundled row is the report's own (PSIS-LOO under --quick) comparison.
    comparison = pd.read_csv(out / "tables" / "comparison.csv")
    best, runner_up = comparison["variant"].iloc[:2]
    bundled = table.iloc[0]
    assert (bundled["best"], bundled["runner_up"]) == (best, runner_up)
    assert float(bundled["elpd_diff"]) == pytest.approx(-comparison["elpd_diff"].iloc[1])
    assert float(bundled["se"]) == pytest.approx(comparison["dse"].iloc[1])
    assert float(bundled["weight"]) == pytest.approx(comparison["weight"].iloc[0])
    # Each verdict follows from its row's numbers; same_verdict from the verdicts.
    for row in table.itertuples():
        # (a single dyad's difference has no standard error: never decided)
        decided = float(row.elpd_diff) > SE_MULTIPLE * float(row.se) and row.n_dyads > 1
        assert row.verdict == (row.best if decided else "no verdict")
        assert str(row.same_verdict) == str(row.verdict == bundled["verdict"])
    text = (out / "report.md").read_text()
    assert "## Robustness to the coding" in text
    assert "Under the bundled coding (nmc-5) the comparison gives" in text
    assert "PSIS-LOO only (no K-fold refits)" in text.split("## Robustness to the coding")[1]
