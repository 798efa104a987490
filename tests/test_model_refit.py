"""CompiledModel: compile once, refit to another panel of the same shape by swapping data.

The refit must be the fit: for the same panel, settings and seed the same
draws, bit for bit, as :func:`secdilemma.fit`, whichever panel the model was
compiled with (so the data containers carry every datum the log-density reads).
"""

import json
import warnings

import numpy as np
import pytest

from secdilemma import simulate_dyads

SETTINGS = {
    "draws": 30, "tune": 40, "chains": 2, "seed": 5, "progress_bar": False,
    "pilot": {"chains": 2, "tune": 30, "draws": 20},
}  # fmt: skip


@pytest.fixture(scope="module")
def panels():
    a = simulate_dyads(2, 10, beliefs="sensible", intent=[[0, 1], [1, 0]], seed=1)
    b = simulate_dyads(2, 10, beliefs="misplaced_certainty", intent=[[1, 1], [0, 0]], seed=2)
    assert not np.array_equal(a["move"].values, b["move"].values)
    return a, b


def test_refit_gives_the_fit_of_the_new_panel_bit_for_bit(panels):
    from secdilemma.model.sampling import CompiledModel, fit

    a, b = panels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny fits fail their diagnostics
        compiled = CompiledModel(a, "sensible")
        first = compiled.fit(a, **SETTINGS)
        refit = compiled.fit(b, **SETTINGS)
        direct = fit(b, "sensible", **SETTINGS)
    for name in ("beta", "cutpoints", "p_malign", "belief", "l0_sensible"):
        np.testing.assert_array_equal(refit["posterior"][name].values,
                                      direct["posterior"][name].values)  # fmt: skip
    assert not np.array_equal(first["posterior"]["beta"].values, refit["posterior"]["beta"].values)
    np.testing.assert_array_equal(
        refit["observed_data"]["move"].values, direct["observed_data"]["move"].values
    )
    assert refit.attrs["panel_sha256"] == direct.attrs["panel_sha256"]
    assert refit.attrs["diagnostics"] == direct.attrs["diagnostics"]
    sampler = json.loads(refit.attrs["sampler"])
    assert sampler["refit"] == 1 and sampler["compile_seconds"] == 0.0
    assert json.loads(first.attrs["sampler"])["compile_seconds"] > 0
    assert compiled.n_fits == 2


def test_refit_refuses_a_panel_of_another_shape():
    from secdilemma.model.sampling import CompiledModel

    compiled = CompiledModel.__new__(CompiledModel)  # no compilation needed to check the shape
    compiled._shape = (2, 2, 10)
    other = simulate_dyads(3, 10, seed=3)
    with pytest.raises(ValueError, match=r"shape .* differs from the compiled model's"):
        compiled.fit(other, **SETTINGS)
