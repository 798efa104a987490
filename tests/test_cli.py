"""The CLI as a new, slightly adversarial user meets it (issue #11).

Every user error ends in one line, ``error: ...``, naming the file, option or
value, with exit status 2 and no traceback, before any heavy work (the fit
itself is replaced by a function that fails the test if it is reached);
``--debug`` shows the traceback; no file is lost or replaced by mistake; the
CLI starts without importing PyMC.
"""

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from typer.testing import CliRunner

from secdilemma import simulate_dyads
from secdilemma.cli import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
FIXTURE_RAW = Path(__file__).resolve().parent / "fixtures" / "cow"


class SamplingReached(Exception):
    """Raised by the stand-in fit: the CLI started sampling."""


@pytest.fixture
def no_sampling(monkeypatch):
    """Replace the sampler: reaching it is a test failure unless the test expects it."""
    from secdilemma.model import sampling

    calls = {}

    def fake_fit(panel, variant, **kwargs):
        calls.update(panel=panel, variant=variant, **kwargs)
        raise SamplingReached

    monkeypatch.setattr(sampling, "fit", fake_fit)
    return calls


@pytest.fixture
def files(tmp_path):
    """A simulated panel, an earlier fit and its manifest, as a user's folder holds them."""
    panel = save_panel(simulate_dyads(3, 6, seed=1), tmp_path / "p.nc")
    fit = tmp_path / "old.nc"
    fit.write_bytes(b"an earlier fit")
    manifest = {"provenance": {"variant": {"name": "free"}}, "diagnostics_ok": True}
    (tmp_path / "old.json").write_text(json.dumps({**manifest, "shared": {}, "states": {}}))
    (tmp_path / "notes.json").write_text('{"my": "notes"}')
    (tmp_path / "folder.nc").mkdir()
    (tmp_path / "empty.nc").write_bytes(b"")
    good = panel.read_bytes()
    (tmp_path / "truncated.nc").write_bytes(good[: len(good) // 3])
    save_panel(simulate_dyads(3, 6, seed=1).drop_vars("move"), tmp_path / "nomove.nc")
    return tmp_path


def save_panel(panel, path):
    panel.to_netcdf(path, engine="h5netcdf")
    return path


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def _assert_one_line_error(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        # 3. the input panel as the output
        (["--panel", "{d}/p.nc", "--out", "{d}/p.nc"], ["p.nc", "also an input"]),
        # 4. the manifest's own path as --out; an unrelated NAME.json beside NAME.nc
        (["--panel", "{d}/p.nc", "--out", "{d}/model.json"], ["model.json", "expected a .nc"]),
        (
            ["--panel", "{d}/p.nc", "--out", "{d}/notes.nc"],
            ["notes.json", "not a secdilemma fit manifest"],
        ),
        # replacing an earlier fit needs --overwrite, naming the file
        (["--panel", "{d}/p.nc", "--out", "{d}/old.nc"], ["old.nc", "--overwrite"]),
        # 5. an existing directory, a folder that cannot be created
        (["--panel", "{d}/p.nc", "--out", "{d}/folder.nc"], ["folder.nc", "is a directory"]),
        (["--panel", "{d}/p.nc", "--out", "{d}/p.nc/fit.nc"], ["p.nc", "is not a folder"]),
        # 9. the same dyad twice
        (["--panel", "{d}/p.nc", "--dyads", "sim0001,sim0001", "--out", "{d}/x.nc"], ["sim0001"]),
        (["--dyads", "USA-RUS,USA-RUS", "--out", "{d}/x.nc"], ["USA-RUS", "more than once"]),
        # 12. panels with bad contents, empty, truncated; a dyad not in the panel
        (["--panel", "{d}/nomove.nc", "--out", "{d}/x.nc"], ["nomove.nc", "no 'move' variable"]),
        (["--panel", "{d}/empty.nc", "--out", "{d}/x.nc"], ["empty.nc", "is empty"]),
        (["--panel", "{d}/truncated.nc", "--out", "{d}/x.nc"], ["truncated.nc", "cannot be read"]),
        (["--panel", "{d}/absent.nc", "--out", "{d}/x.nc"], ["absent.nc", "no such"]),
        (["--panel", "{d}/p.nc", "--dyads", "USA-RUS", "--out", "{d}/x.nc"], ["p.nc", "USA-RUS"]),
        (["--variant", "{d}/p.nc", "--out", "{d}/x.nc"], ["p.nc"]),
        # issue 12: a grouping attribute the panel does not have
        (
            ["--panel", "rivalries", "--group-by", "continent", "--out", "{d}/x.nc"],
            ["'continent'", "region"],
        ),
    ],
)
def test_fit_refuses_before_sampling(files, no_sampling, args, fragments):
    before = _snapshot(files)
    result = runner.invoke(app, ["fit", *(a.format(d=files) for a in args)])
    _assert_one_line_error(result, *fragments)
    assert no_sampling == {}  # refused before any work
    assert _snapshot(files) == before  # nothing written, nothing replaced


def test_fit_seed_is_checked_before_the_compile(files, no_sampling):
    result = runner.invoke(app, ["fit", "--seed", "-5", "--out", str(files / "x.nc")])
    assert result.exit_code == 2 and "--seed" in result.output and "Traceback" not in result.output
    assert no_sampling == {}


def test_fit_overwrite_and_manifest_rule_reach_the_sampler(files, no_sampling):
    # With --overwrite an earlier fit (its manifest a secdilemma manifest) may be replaced.
    args = ["fit", "--panel", str(files / "p.nc"), "--out", str(files / "old.nc"), "--overwrite"]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SamplingReached), result.output
    # A NAME.json that is not a manifest is never replaced, even with --overwrite.
    args = ["fit", "--panel", str(files / "p.nc"), "--out", str(files / "notes.nc"), "--overwrite"]
    _assert_one_line_error(runner.invoke(app, args), "notes.json")


@pytest.mark.parametrize("form", ["folder", "csv"])
def test_fit_reads_a_built_panel(tmp_path, no_sampling, form):
    # 12. `data build` writes a folder with dyads.csv; `fit --panel` takes either.
    built = tmp_path / "built"
    build = ["data", "build", "--raw", str(FIXTURE_RAW), "--dyads", "USA-RUS,FRN-GMY"]
    build.append("--allow-unverified-raw")  # the fixtures are extracts, not the registered files
    assert runner.invoke(app, [*build, "--out", str(built)]).exit_code == 0
    panel = built if form == "folder" else built / "dyads.csv"
    args = ["fit", "--panel", str(panel), "--dyads", "FRN-GMY", "--out", str(tmp_path / "f.nc")]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SamplingReached), result.output
    assert no_sampling["panel"]["dyad"].values.tolist() == ["FRN-GMY"]
    assert no_sampling["panel"].sizes["year"] == 37


def test_fit_takes_the_rivalry_panel_by_name_with_groups(tmp_path, no_sampling):
    args = ["fit", "--variant", "mixture", "--panel", "rivalries", "--group-by", "region"]
    result = runner.invoke(app, [*args, "--no-beliefs", "--out", str(tmp_path / "r.nc")])
    assert isinstance(result.exception, SamplingReached), result.output
    assert no_sampling["panel"].sizes["dyad"] == 110
    assert no_sampling["group_by"] == "region" and no_sampling["beliefs"] is False


def test_a_broken_panel_csv_names_the_file(tmp_path, no_sampling):
    bad = tmp_path / "dyads.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    result = runner.invoke(app, ["fit", "--panel", str(bad), "--out", str(tmp_path / "f.nc")])
    _assert_one_line_error(result, "dyads.csv")


def test_fit_reads_a_netcdf3_panel(tmp_path, no_sampling):
    # 12. a netCDF-3 panel ended in a traceback.
    path = tmp_path / "classic.nc"
    simulate_dyads(2, 4, seed=1).drop_vars("state").to_netcdf(path, engine="scipy")
    args = ["fit", "--panel", str(path), "--dyads", "sim0001", "--out", str(tmp_path / "f.nc")]
    result = runner.invoke(app, args)
    assert isinstance(result.exception, SamplingReached), result.output
    assert no_sampling["panel"]["dyad"].values.tolist() == ["sim0001"]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        # 11. out-of-range parameters
        (["--beta", "-1"], ["beta", "> 0"]),
        (["--delta", "-1"], ["delta", "> 0"]),
        (["--delta", "0"], ["delta", "> 0"]),
        # 12. unwritable --out: a directory, a folder that is a file
        (["--out", "{d}/folder.nc"], ["folder.nc", "is a directory"]),
        (["--out", "{d}/p.nc/sim.nc"], ["p.nc", "is not a folder"]),
    ],
)
def test_simulate_refuses_in_one_line(files, args, fragments):
    before = _snapshot(files)
    base = ["simulate", "--dyads", "2", "--years", "3", "--out", str(files / "s.nc")]
    result = runner.invoke(app, [*base, *(a.format(d=files) for a in args)])
    _assert_one_line_error(result, *fragments)
    assert _snapshot(files) == before


def test_simulate_huge_seed_keeps_the_old_panel(files):
    # 2. used to leave a 6 kB file without variables in place of a good panel.
    before = (files / "p.nc").read_bytes()
    args = ["simulate", "--seed", "99999999999999999999999", "--out", str(files / "p.nc")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--seed" in result.output, result.output
    assert (files / "p.nc").read_bytes() == before


def test_simulate_intents_as_numbers(tmp_path):
    # 12. `--intent 0,1` was refused by a message listing 0 and 1 as valid.
    out = tmp_path / "s.nc"
    result = runner.invoke(app, ["simulate", "--dyads", "2", "--intent", "0,1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert xr.load_dataset(out)["intent"].values.tolist() == [[0, 1], [0, 1]]


@pytest.mark.parametrize("failure", ["sigint", "error"])
def test_simulate_interrupted_or_failing_while_writing_keeps_the_old_panel(
    files, monkeypatch, failure, python_sigint
):
    # 2. Ctrl-C (a real SIGINT) or an error half-way through writing.
    before = (files / "p.nc").read_bytes()

    def half_written(self, path, **kwargs):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(6000))
        if failure == "sigint":
            # Sent to this thread (os.kill would send it to the process); Python's handler
            # is in place (the python_sigint fixture, tests/conftest.py).
            signal.raise_signal(signal.SIGINT)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", half_written)
    result = runner.invoke(app, ["simulate", "--dyads", "2", "--out", str(files / "p.nc")])
    assert result.exit_code == (130 if failure == "sigint" else 2), result.output
    assert ("interrupted" if failure == "sigint" else "No space left") in result.output
    assert "Traceback" not in result.output
    assert (files / "p.nc").read_bytes() == before
    assert not [p for p in files.iterdir() if p.name.startswith(".secdilemma-")]


def test_demo_checks_historical_dyads_before_writing(tmp_path):
    # 12. `demo --historical USA-XYZ` failed after writing two files.
    out = tmp_path / "build"
    result = runner.invoke(app, ["demo", "--out", str(out), "--historical", "USA-XYZ", "--no-fit"])
    _assert_one_line_error(result, "USA-XYZ")
    assert not out.exists()


@pytest.mark.parametrize("command", ["build", "figure"])
def test_data_commands_check_out_first(tmp_path, command):
    # 12. an unwritable --out in `data build` and `data figure`.
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    args = {
        "build": ["data", "build", "--raw", str(FIXTURE_RAW), "--out", str(blocker / "panel")],
        "figure": ["data", "figure", "--out", str(blocker / "moves")],
    }[command]
    _assert_one_line_error(runner.invoke(app, args), str(blocker), "is not a folder")


def test_debug_shows_the_traceback(tmp_path):
    args = ["simulate", "--beta", "-1", "--out", str(tmp_path / "s.nc")]
    result = runner.invoke(app, ["--debug", *args])
    assert isinstance(result.exception, ValueError) and "beta" in str(result.exception)
    plain = runner.invoke(app, args)
    assert plain.exit_code == 2 and plain.exception is not None
    assert isinstance(plain.exception, SystemExit)


def test_cli_starts_without_pymc():
    # 13. `secdilemma --help` took 4-8 s because the CLI imported PyMC.
    code = (
        "import sys, secdilemma.cli; "
        "print(sorted(m for m in ('pymc', 'pytensor', 'nutpie', 'numba', 'arviz_stats', "
        "'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_names_exit_statuses_and_the_overwrite_rule():
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "--debug" in top.output
    text = " ".join(runner.invoke(app, ["fit", "--help"]).output.split())
    for fragment in ("--overwrite", "--keep-partial", "NAME.json", "130"):
        assert fragment in text, fragment
