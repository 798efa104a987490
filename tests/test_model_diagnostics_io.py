"""Diagnostics and save/load on fake posteriors: no sampling needed."""

import json
import warnings

import numpy as np
import pytest
import xarray as xr
from arviz_base import from_dict

from secdilemma import simulate_dyads
from secdilemma.model import io as fit_io
from secdilemma.model.diagnostics import (
    Diagnostics,
    FitDiagnosticsWarning,
    Thresholds,
    check_fit,
    warn_if_failed,
)
from secdilemma.model.io import (
    PROVENANCE_KEYS,
    ProvenanceWarning,
    fit_diagnostics,
    fit_info,
    fit_variant,
    load_fit,
    panel_sha256,
    save_fit,
)
from secdilemma.model.variants import load_variant

CHAINS, DRAWS = 4, 1000


def _fake_fit(rng, *, offset_chain=0.0, ar=0.0, n_divergent=0, energy_ar=0.0):
    """A posterior of iid (or AR(1)) normal draws with optional pathologies.

    - ``offset_chain`` shifts chain 0 of ``beta`` (a chain stuck elsewhere: R-hat);
    - ``ar`` makes ``z_w`` an AR(1) with that coefficient (low ESS);
    - ``n_divergent`` marks that many draws divergent;
    - ``energy_ar`` makes the energy an AR(1) (E-BFMI ~ 1 - ar for large ar).
    """
    beta = rng.normal(size=(CHAINS, DRAWS))
    beta[0] += offset_chain
    noise = rng.normal(size=(CHAINS, DRAWS, 3, 2))
    z_w = np.empty_like(noise)
    z_w[:, 0] = noise[:, 0]
    for t in range(1, DRAWS):
        z_w[:, t] = ar * z_w[:, t - 1] + np.sqrt(1 - ar**2) * noise[:, t]
    energy = np.empty((CHAINS, DRAWS))
    energy[:, 0] = 0.0
    eps = rng.normal(size=(CHAINS, DRAWS))
    for t in range(1, DRAWS):
        energy[:, t] = energy_ar * energy[:, t - 1] + eps[:, t]
    diverging = np.zeros((CHAINS, DRAWS), dtype=bool)
    diverging.flat[:n_divergent] = True
    dyads = ["USA-RUS", "IND-PAK", "GRC-TUR"]
    return from_dict(
        {
            "posterior": {
                "beta": beta,
                "z_w": z_w,
                # A deterministic that is constant (a fixed s): not checked.
                "s": np.ones((CHAINS, DRAWS, 3, 2)),
            },
            "sample_stats": {"energy": energy, "diverging": diverging},
            "log_likelihood": {"move": rng.normal(-30, 1, size=(CHAINS, DRAWS, 3, 2))},
            "observed_data": {"move": rng.integers(-1, 4, size=(3, 2, 10))},
            "constant_data": {"first_year": np.array([1946, 1947, 1974])},
        },
        dims={
            "z_w": ["dyad", "side"],
            "s": ["dyad", "side"],
            "move": ["dyad", "side", "year"],
            "first_year": ["dyad"],
        },
        coords={"dyad": dyads, "side": [0, 1], "year": np.arange(10)},
    )


FREE = ["beta", "z_w"]


def test_iid_posterior_passes_every_check(rng):
    # 4 x 1000 iid draws: R-hat is 1 +- ~0.002 and ESS ~ 4000, far from the
    # thresholds (1.01, 400); E-BFMI of white-noise energy is ~2.
    diag = check_fit(_fake_fit(rng), var_names=FREE)
    assert diag.ok, diag.failures
    assert diag.n_divergent == 0
    assert max(diag.rhat_max.values()) < 1.01
    assert min(diag.ess_bulk_min.values()) > 400
    assert len(diag.ebfmi) == CHAINS and min(diag.ebfmi) > 1.0


def test_stuck_chain_fails_rhat_naming_the_parameter(rng):
    # One chain shifted by 1 sd: R-hat ~ 1.1, well above 1.01.
    diag = check_fit(_fake_fit(rng, offset_chain=1.0), var_names=FREE)
    assert not diag.ok
    assert diag.flagged["rhat"] == ["beta"]
    assert any("R-hat" in f and "beta" in f for f in diag.failures)


def test_autocorrelated_draws_fail_ess_naming_elements(rng):
    # AR(1) with rho = 0.95: ESS ~ N (1 - rho) / (1 + rho) = 4000 / 39 ~ 100 < 400.
    diag = check_fit(_fake_fit(rng, ar=0.95), var_names=FREE)
    assert not diag.ok
    assert "z_w[USA-RUS, 0]" in diag.flagged["ess_bulk"]
    assert "beta" not in diag.flagged["ess_bulk"]
    assert diag.ess_bulk_min["z_w"] < 400 < diag.ess_bulk_min["beta"]


def test_divergences_and_low_ebfmi_fail(rng):
    # AR(1) energy with rho = 0.9: E-BFMI = E[(dE)^2] / Var(E) = 2 (1 - rho) = 0.2 < 0.3.
    diag = check_fit(_fake_fit(rng, n_divergent=3, energy_ar=0.9), var_names=FREE)
    assert diag.n_divergent == 3
    assert any("3 divergent" in f for f in diag.failures)
    assert any("E-BFMI" in f for f in diag.failures)
    assert max(diag.ebfmi) < 0.3


def test_thresholds_are_configurable(rng):
    fake = _fake_fit(rng, n_divergent=3)
    assert not check_fit(fake, var_names=FREE).ok
    assert check_fit(fake, var_names=FREE, thresholds=Thresholds(max_divergences=5)).ok


def test_warning_names_parameters_and_passes_silently_when_ok(rng):
    bad = check_fit(_fake_fit(rng, offset_chain=1.0), var_names=FREE)
    with pytest.warns(FitDiagnosticsWarning, match="beta"):
        warn_if_failed(bad, label="test")
    good = check_fit(_fake_fit(rng), var_names=FREE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_failed(good)


def test_diagnostics_json_round_trip(rng):
    diag = check_fit(_fake_fit(rng, ar=0.95, n_divergent=1), var_names=FREE)
    again = Diagnostics.from_json(diag.to_json())
    assert again == diag
    assert json.loads(diag.to_json())["ok"] is False
    assert "divergences: 1 of 4000" in diag.summary()


def _with_provenance(fit, panel):
    fit.attrs = {
        "variant": load_variant("sensible").to_json(),
        "panel_sha256": json.dumps(panel_sha256(panel)),
        "versions": json.dumps({"secdilemma": "0"}),
        "sampler": json.dumps({"name": "nutpie", "draws": DRAWS}),
        "seed": json.dumps(7),
        "diagnostics": check_fit(fit, var_names=FREE).to_json(),
        "diagnostics_ok": 1,
        "free_variables": json.dumps(FREE),
    }
    return fit


@pytest.fixture
def panel():
    return simulate_dyads(3, 10, seed=5)


def test_save_load_round_trip_is_lossless(rng, tmp_path, panel):
    fit = _with_provenance(_fake_fit(rng, n_divergent=2), panel)
    path = save_fit(fit, tmp_path / "models" / "fake.nc")
    assert path.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right panel: no provenance warning
        loaded = load_fit(path, panel)
    assert sorted(loaded.children) == sorted(fit.children)
    for group in fit.children:
        xr.testing.assert_identical(loaded[group].to_dataset(), fit[group].to_dataset())
    assert loaded.attrs == fit.attrs
    assert loaded["sample_stats"]["diverging"].dtype == bool
    assert fit_info(loaded)["seed"] == 7
    assert fit_variant(loaded) == load_variant("sensible")
    assert fit_diagnostics(loaded) == check_fit(fit, var_names=FREE)


def test_load_with_another_panel_says_so(rng, tmp_path, panel):
    fit = _with_provenance(_fake_fit(rng), panel)
    path = save_fit(fit, tmp_path / "fake.nc")
    other = panel.copy(deep=True)
    other["move"][0, 0, 3] = (other["move"][0, 0, 3] + 1) % 4  # one move changed
    with pytest.warns(ProvenanceWarning, match="not the panel"):
        load_fit(path, other)
    with pytest.raises(ValueError, match="not the panel"):
        load_fit(path, other, strict=True)


def test_panel_hash_ignores_metadata_but_not_moves(panel):
    digest = panel_sha256(panel)
    assert len(digest) == 64
    decorated = panel.assign_attrs(note="re-saved").drop_vars("belief")
    assert panel_sha256(decorated) == digest
    assert panel_sha256(panel.isel(dyad=[1, 0, 2])) != digest
    missing = panel.copy(deep=True)
    missing["move"][1, 1, 4] = np.nan
    assert panel_sha256(missing) != digest


def test_fit_without_provenance_is_refused(rng, tmp_path):
    fit = _fake_fit(rng)
    with pytest.raises(ValueError, match="provenance attr 'variant' missing"):
        save_fit(fit, tmp_path / "bare.nc")
    fit.to_netcdf(tmp_path / "bare.nc", engine="h5netcdf")
    with pytest.raises(ValueError, match=r"bare\.nc"):
        load_fit(tmp_path / "bare.nc")
    assert set(PROVENANCE_KEYS) >= {"variant", "panel_sha256", "versions", "seed"}


def _fake_pilot_trace(rng, chain_means, spreads, n_draws=100, n_dim=3):
    """A pilot trace: iid log-densities around `chain_means`; chain c's draws are
    normal around c with sd `spreads[c]` in every dimension (its region's volume)."""
    chains = len(chain_means)
    logp = np.asarray(chain_means)[:, None] + rng.normal(0, 8, size=(chains, n_draws))
    scale = np.asarray(spreads, dtype=float)[:, None, None]
    draws = np.arange(chains)[:, None, None] + scale * rng.normal(size=(chains, n_draws, n_dim))
    mu_w = np.broadcast_to(np.arange(chains, dtype=float)[:, None], (chains, n_draws))
    return from_dict(
        {
            "posterior": {"mu_w": mu_w},
            "sample_stats": {"logp": logp, "unconstrained_draw": draws},
        },
        dims={"unconstrained_draw": ["unconstrained_parameter"]},
    )


HISTORICAL = [-2277.6, -2260.4, -2275.2, -2258.8]
"""Two modes ~19 nats apart (the historical free fit): sd 8 over 100 iid draws
gives a standard error of 0.8 per chain mean, so 19 is ~24 SE."""


@pytest.mark.parametrize(
    ("chain_means", "spreads", "separated", "chosen", "multimodal"),
    [
        # Separated, equal volumes: the lower mode is e^-19 lighter, negligible.
        (HISTORICAL, [1, 1, 1, 1], True, 3, False),
        # Separated, and the lower mode is 1000x wider in each of 3 dimensions:
        # log mass -2275.2 + 3 log(1000) = -2254.5 against -2258.8: the lower
        # mode is the heavier one (the free variant's hardening mode is of this
        # kind), and the other is within a factor 100 of it: multimodal.
        (HISTORICAL, [1000, 1, 1000, 1], True, 2, True),
        # One mode: chain means within ~1 SE of each other.
        ([-1000.0, -1000.5, -999.6, -1000.9], [1, 1, 1, 1], False, None, False),
    ],
)
def test_pilot_starts_every_chain_in_the_heaviest_mode(
    rng, monkeypatch, chain_means, spreads, separated, chosen, multimodal
):
    import dataclasses

    import nutpie

    from secdilemma.model.sampling import _pilot_start

    trace = _fake_pilot_trace(rng, chain_means, spreads)
    monkeypatch.setattr(nutpie, "sample", lambda *a, **k: trace)

    @dataclasses.dataclass
    class Compiled:
        initial_point_func: object = None

    compiled, record = _pilot_start(
        Compiled(), chains=4, cores=None, seed=0, target_accept=0.8, progress_bar=False,
        pilot={"chains": 4, "tune": 300, "draws": 100},
    )  # fmt: skip
    best = record["chosen_chain"]
    assert best == int(np.argmax(record["chain_log_mass"]))
    if chosen is not None:
        assert best == chosen
    assert record["separated"] is separated
    assert record["multimodal"] is multimodal
    # What separates the modes is on record: per-chain means of scalar parameters.
    assert record["chain_means"] == {"mu_w": [0.0, 1.0, 2.0, 3.0]}
    start_draws = trace["sample_stats"]["unconstrained_draw"].values[best]
    for seed in range(5):  # every start is a draw of the chosen chain
        start = compiled.initial_point_func(seed)
        assert any(np.array_equal(start, d) for d in start_draws)


def test_chain_log_masses_recover_a_gaussian_normaliser(rng):
    from secdilemma.model.sampling import chain_log_masses

    # log p = log Z + log N(x; 0, diag(s^2)) exactly; the estimate should give
    # log Z back up to Monte Carlo error (2000 draws, 5 dims: ~0.1 nats).
    s = np.array([0.1, 1.0, 3.0, 0.5, 2.0])
    draws = rng.normal(size=(2, 2000, 5)) * s
    log_normal = -0.5 * ((draws / s) ** 2).sum(-1) - np.log(s).sum() - 2.5 * np.log(2 * np.pi)
    log_z = np.array([[-10.0], [-25.0]])
    got = chain_log_masses(draws, log_z + log_normal)
    np.testing.assert_allclose(got, log_z[:, 0], atol=0.3)


def test_chains_in_separated_modes_are_a_diagnostic_failure(rng):
    from secdilemma.model.sampling import _multimodality, chain_log_densities

    # 4 chains x 500 iid draws, sd 8: a chain mean's standard error is 0.36.
    def logp(means):
        values = np.asarray(means)[:, None] + rng.normal(0, 8, size=(len(means), 500))
        return xr.DataArray(values, dims=("chain", "draw"))

    one_mode = chain_log_densities(logp([-100.0, -100.2, -99.9, -100.1]))
    assert one_mode["separated"] is False
    assert one_mode["standard_error"] == pytest.approx(8 / np.sqrt(500), rel=0.2)
    two_modes = chain_log_densities(logp([-100.0, -118.0, -100.1, -117.5]))
    assert two_modes["separated"] is True
    assert _multimodality(None, one_mode) == []
    light = {**two_modes, "chosen_chain": 0, "multimodal": False, "chain_log_mass": []}
    assert _multimodality(light, one_mode) == []  # separated, but the other mode is negligible
    pilot = {**two_modes, "chosen_chain": 0, "multimodal": True, "chain_log_mass": []}
    (failure,) = _multimodality(pilot, one_mode)
    assert failure.startswith("multimodal posterior: pilot chains") and "mode only" in failure
    (failure,) = _multimodality(None, two_modes)
    assert "do not represent the posterior" in failure
    assert len(_multimodality(pilot, two_modes)) == 2


# Integrity of saved fits (issue #11): checksums, damaged and half-written files,
# interrupted saves.


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".secdilemma-"))


def test_zeroed_bytes_never_load_silently(rng, tmp_path, panel):
    # The case: 2000 zeroed bytes inside a fit loaded without error and
    # changed belief values. Now every damaged copy is refused, naming the file,
    # unless it reads back identical (bytes HDF5 does not use).
    fit = _with_provenance(_fake_fit(rng), panel)
    path = save_fit(fit, tmp_path / "good.nc")
    good = path.read_bytes()
    damaged = tmp_path / "damaged.nc"
    refused = 0
    offsets = range(0, len(good) - 2000, len(good) // 25)
    for offset in offsets:
        content = bytearray(good)
        content[offset : offset + 2000] = bytes(2000)
        damaged.write_bytes(bytes(content))
        try:
            loaded = load_fit(damaged)
        except fit_io.FitFileError as err:
            assert str(damaged) in str(err) and "\n" not in str(err)
            refused += 1
            continue
        for group in fit.children:  # loaded: then it must be the fit, value for value
            xr.testing.assert_identical(loaded[group].to_dataset(), fit[group].to_dataset())
    assert refused >= len(offsets) - 2


def test_checksum_covers_values_and_provenance(rng, tmp_path, panel):
    fit = _with_provenance(_fake_fit(rng), panel)
    digest = fit_io.data_sha256(fit)
    assert fit_io.data_sha256(fit.copy(deep=True)) == digest
    changed = fit.copy(deep=True)
    changed["posterior"]["beta"].values[0, 0] += 1e-12
    assert fit_io.data_sha256(changed) != digest
    reseeded = fit.copy(deep=True)
    reseeded.attrs["seed"] = json.dumps(8)
    assert fit_io.data_sha256(reseeded) != digest
    # A file whose stored checksum disagrees with its data is refused.
    path = save_fit(fit, tmp_path / "fit.nc")
    fit.attrs["data_sha256"] = "0" * 64
    fit.to_netcdf(tmp_path / "forged.nc", engine="h5netcdf")
    with pytest.raises(fit_io.FitFileError, match=r"forged\.nc: data do not match the checksum"):
        load_fit(tmp_path / "forged.nc")
    assert load_fit(path).attrs["data_sha256"] == digest


def test_fit_saved_without_checksum_loads_with_a_warning(rng, tmp_path, panel):
    fit = _with_provenance(_fake_fit(rng), panel)
    fit.to_netcdf(tmp_path / "old.nc", engine="h5netcdf")  # as save_fit did before
    with pytest.warns(fit_io.IntegrityWarning, match=r"old\.nc: saved without a checksum"):
        loaded = load_fit(tmp_path / "old.nc")
    xr.testing.assert_identical(loaded["posterior"].to_dataset(), fit["posterior"].to_dataset())


def test_half_written_fit_is_refused(rng, tmp_path, panel):
    # What an interrupted save used to leave: provenance attrs and a posterior
    # holding only a coordinate.
    fit = _with_provenance(_fake_fit(rng), panel)
    half = xr.DataTree.from_dict({"posterior": xr.DataTree(xr.Dataset(coords={"year": [1, 2]}))})
    half.attrs = dict(fit.attrs)
    half.to_netcdf(tmp_path / "half.nc", engine="h5netcdf")
    with (
        pytest.warns(fit_io.IntegrityWarning),
        pytest.raises(fit_io.FitFileError, match=r"half\.nc: group 'posterior' is missing"),
    ):
        load_fit(tmp_path / "half.nc")


@pytest.mark.parametrize("damage", ["empty", "truncated", "text", "directory"])
def test_unreadable_fit_files_are_refused_naming_them(rng, tmp_path, panel, damage):
    good = save_fit(_with_provenance(_fake_fit(rng), panel), tmp_path / "good.nc").read_bytes()
    path = tmp_path / "bad.nc"
    if damage == "directory":
        path.mkdir()
    else:
        content = {"empty": b"", "truncated": good[: len(good) // 2], "text": b"a,b\n1,2\n"}
        path.write_bytes(content[damage])
    with pytest.raises(fit_io.FitFileError, match=r"bad\.nc: ") as info:
        load_fit(path)
    assert "\n" not in str(info.value)
    with pytest.raises(FileNotFoundError, match=r"absent\.nc: no such fit file"):
        load_fit(tmp_path / "absent.nc")


def _interrupt_half_way(monkeypatch):
    """Make DataTree.to_netcdf write part of a file, then receive a real SIGINT."""
    import signal

    def half_then_sigint(self, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(6000))
        signal.raise_signal(signal.SIGINT)  # Python raises KeyboardInterrupt here

    monkeypatch.setattr(xr.DataTree, "to_netcdf", half_then_sigint)


def test_interrupted_save_keeps_the_previous_fit(rng, tmp_path, panel, monkeypatch, python_sigint):
    fit = _with_provenance(_fake_fit(rng), panel)
    path = save_fit(fit, tmp_path / "fit.nc")
    before = path.read_bytes()
    _interrupt_half_way(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save_fit(_with_provenance(_fake_fit(rng), panel), path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    load_fit(path)


def test_failed_save_keeps_the_previous_fit(rng, tmp_path, panel, monkeypatch):
    fit = _with_provenance(_fake_fit(rng), panel)
    path = save_fit(fit, tmp_path / "fit.nc")
    before = path.read_bytes()

    def fail(self, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x89HDF\r\n\x1a\n" + bytes(6000))
        raise OverflowError("Python int too large to convert to C long")

    monkeypatch.setattr(xr.DataTree, "to_netcdf", fail)
    with pytest.raises(OverflowError):
        save_fit(fit, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_sampler_messages_survive_the_checksum(rng, tmp_path, panel):
    # nutpie's divergence_message is an object array of None (no divergence) or
    # text; netCDF stores None as NaN or "" and the checksum must agree.
    fit = _with_provenance(_fake_fit(rng), panel)
    none = np.full((CHAINS, DRAWS), None, dtype=object)
    some = none.copy()
    some[0, 3] = "divergence at step 4"
    stats = fit["sample_stats"].to_dataset()
    stats["divergence_message"] = (("chain", "draw"), some)
    stats["no_message"] = (("chain", "draw"), none)
    fit["sample_stats"] = xr.DataTree(stats)
    loaded = load_fit(save_fit(fit, tmp_path / "fit.nc"))
    assert loaded["sample_stats"]["divergence_message"].values[0, 3] == "divergence at step 4"
