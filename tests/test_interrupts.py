"""Interrupted fits (issue #11): never saved as a normal fit.

The unit tests replace nutpie's sampler by one that returns what nutpie
returns on Ctrl-C (the draws so far, shorter chains padded with NaN); the CLI
tests run ``secdilemma fit`` in a subprocess on a tiny panel and send it a
real SIGINT once it logs that sampling started.
"""

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from arviz_base import from_dict

from secdilemma import simulate_dyads
from secdilemma.model.io import load_fit


@pytest.fixture(scope="module")
def tiny_panel():
    return simulate_dyads(2, 8, seed=3)


def _partial_trace(done, requested, n_dim=3):
    """A nutpie trace of len(done) chains that stopped after done[c] of `requested` draws."""
    width = max(done)
    logp = np.full((len(done), width), np.nan)
    for chain, n in enumerate(done):
        logp[chain, :n] = -10.0
    return from_dict(
        {
            "posterior": {"beta": np.where(np.isnan(logp), np.nan, 1.0)},
            "sample_stats": {
                "logp": logp,
                "diverging": np.zeros_like(logp, dtype=bool),
                "unconstrained_draw": np.zeros((len(done), width, n_dim)),
            },
        },
        dims={"unconstrained_draw": ["unconstrained_parameter"]},
    )


@pytest.fixture
def fake_nutpie(monkeypatch):
    """Replace compilation and sampling; `calls` records each sample() call's draws."""
    import nutpie

    calls = []
    returns = []

    def sample(compiled, *, draws, chains, **kwargs):
        calls.append(draws)
        return returns.pop(0)

    monkeypatch.setattr(nutpie, "compile_pymc_model", lambda model, **kwargs: object())
    monkeypatch.setattr(nutpie, "sample", sample)
    return calls, returns


def test_truncated_run_raises_fit_interrupted(tiny_panel, fake_nutpie):
    from secdilemma.model.sampling import FitInterrupted, fit

    _, returns = fake_nutpie
    returns.append(_partial_trace([30, 25], 100))
    with pytest.raises(FitInterrupted, match=r"after 25 of 100 draws per chain") as info:
        fit(tiny_panel, "sensible", draws=100, tune=10, chains=2, init="jitter", progress_bar=False)
    assert info.value.draws_per_chain == [30, 25] and info.value.draws_requested == 100
    assert isinstance(info.value, KeyboardInterrupt)


@pytest.mark.filterwarnings("ignore:Found chain dimension to be longer:UserWarning")
@pytest.mark.parametrize("keep_partial", [False, True])
def test_interrupt_in_warm_up_has_nothing_to_keep(tiny_panel, fake_nutpie, keep_partial):
    from secdilemma.model.sampling import FitInterrupted, fit

    _, returns = fake_nutpie
    returns.append(_partial_trace([0, 0], 100))
    with pytest.raises(FitInterrupted, match="during the warm-up, before the first draw"):
        fit(
            tiny_panel, "sensible", draws=100, tune=10, chains=2, init="jitter",
            progress_bar=False, keep_partial=keep_partial,
        )  # fmt: skip


def test_interrupt_in_the_pilot_stops_before_the_main_run(tiny_panel, fake_nutpie):
    # nutpie returns the partial pilot; the main run used to start from it.
    from secdilemma.model.sampling import FitInterrupted, fit

    calls, returns = fake_nutpie
    returns.append(_partial_trace([40, 0, 12, 100], 100))
    with pytest.raises(FitInterrupted, match="during the pilot run"):
        fit(tiny_panel, "sensible", draws=50, tune=10, chains=2, progress_bar=False)
    assert calls == [100]  # the pilot only


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_accept": 1.5}, r"target_accept: must lie in \(0, 1\)"),
        ({"target_accept": 0.0}, r"target_accept: must lie in \(0, 1\)"),
        ({"seed": -5}, r"seed: expected a whole number in \[0, 2\*\*63 - 1\]"),
    ],
)
def test_bad_fit_arguments_fail_before_any_work(tiny_panel, fake_nutpie, kwargs, message):
    from secdilemma.model.sampling import fit

    calls, _ = fake_nutpie
    with pytest.raises(ValueError, match=message):
        fit(tiny_panel, "sensible", **kwargs)
    assert calls == []


# The CLI under a real Ctrl-C (issue #11, case 1).

SECDILEMMA = Path(sys.executable).parent / "secdilemma"


def _interrupt(args, *, after_line, delay, timeout=120):
    """Run the CLI; send SIGINT `delay` s after a stderr line containing `after_line`.

    Returns (exit status, stdout, stderr). SIGINT is reset to its default in
    the child (a shell that starts jobs in the background ignores it).
    """
    proc = subprocess.Popen(
        [str(SECDILEMMA), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stderr] + [lines.put(None)]).start()
    err = []
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(deadline - time.monotonic(), 1))
        if line is None:
            break
        err.append(line)
        if after_line in line:
            time.sleep(delay)
            proc.send_signal(signal.SIGINT)
            break
    out = proc.stdout.read()
    proc.wait(timeout=timeout)
    while (line := lines.get(timeout=timeout)) is not None:
        err.append(line)
    return proc.returncode, out, "".join(err)


@pytest.fixture
def earlier_fit(tmp_path, tiny_panel):
    """A panel file and an earlier fit with its manifest (bytes we can compare)."""
    tiny_panel.to_netcdf(tmp_path / "panel.nc", engine="h5netcdf")
    (tmp_path / "fit.nc").write_bytes(b"the earlier fit")
    manifest = {"provenance": {"variant": {}}, "diagnostics_ok": True, "shared": {}, "states": {}}
    (tmp_path / "fit.json").write_text(json.dumps(manifest))
    return tmp_path


def _fit_args(folder, draws, tune, *extra):
    return [
        "fit", "--panel", str(folder / "panel.nc"), "--variant", "sensible", "--chains", "1",
        "--init", "jitter", "--no-progress", "--draws", str(draws), "--tune", str(tune),
        "--out", str(folder / "fit.nc"), "--overwrite", *extra,
    ]  # fmt: skip


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_ctrl_c_while_sampling_writes_nothing(earlier_fit):
    # One chain of 400 000 draws, interrupted about 2 s into sampling: it used to
    # save a truncated fit over the earlier one, attrs claiming every draw, exit 3.
    before = _files(earlier_fit)
    status, out, err = _interrupt(
        _fit_args(earlier_fit, 400_000, 20), after_line="sampling:", delay=2.0
    )
    assert status == 130, err
    (message,) = [line for line in err.splitlines() if line.startswith("interrupted")]
    assert "of 400000 draws per chain" in message and "nothing was written" in message
    assert "Traceback" not in err and "wrote" not in out
    assert _files(earlier_fit) == before  # the earlier fit and manifest, byte for byte


def test_ctrl_c_in_warm_up_writes_nothing(earlier_fit):
    # It used to write a 0-draw fit over the earlier one, then crash on the manifest.
    before = _files(earlier_fit)
    status, _, err = _interrupt(
        _fit_args(earlier_fit, 50, 4_000_000), after_line="sampling:", delay=0.5
    )
    assert status == 130, err
    assert "during the warm-up" in err and "nothing was written" in err
    assert "Traceback" not in err
    assert _files(earlier_fit) == before


def test_keep_partial_saves_the_true_draw_count(earlier_fit):
    status, _, err = _interrupt(
        _fit_args(earlier_fit, 400_000, 20, "--keep-partial"), after_line="sampling:", delay=2.0
    )
    assert status == 130, err
    fit = load_fit(earlier_fit / "fit.nc")
    sampler = json.loads(fit.attrs["sampler"])
    kept = fit["posterior"].sizes["draw"]
    assert 0 < kept < 400_000
    assert fit.attrs["interrupted"] == 1 and fit.attrs["diagnostics_ok"] == 0
    assert sampler["draws"] == kept and sampler["draws_requested"] == 400_000
    assert sampler["draws_per_chain"] == [kept]
    assert any(
        f.startswith("interrupted") for f in json.loads(fit.attrs["diagnostics"])["failures"]
    )
    manifest = json.loads((earlier_fit / "fit.json").read_text())
    assert manifest["provenance"]["sampler"]["draws"] == kept
    assert f"kept {kept} of 400000 draws" in err
    assert not [p for p in earlier_fit.iterdir() if p.name.startswith(".secdilemma-")]
