"""The same seed gives the same draws on a cold and on a warm compile cache.

Each fit runs in a fresh process with its own PyTensor compile folder and
numba cache: the first compiles everything, the second loads it from the
caches. Models are compiled without PyTensor's fast-math
(:data:`secdilemma.model.sampling.REPRODUCIBLE_FLAGS`), so the arithmetic does
not depend on what was inlined. Slow: a cold compilation.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = """
import sys, warnings, numpy as np
import secdilemma as sd
from secdilemma.model.sampling import fit
panel = sd.simulate_dyads(3, 15, beliefs="sensible", intent=np.array([[0, 1], [1, 0], [0, 0]]),
                          seed=2)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    f = fit(panel, "mixture", draws=50, tune=50, chains=1, seed=3, progress_bar=False,
            init="jitter")
np.save(sys.argv[1], f["posterior"]["beta"].values)
"""


@pytest.mark.slow
def test_cold_and_warm_compile_cache_give_the_same_draws(tmp_path):
    env = {
        **os.environ,
        "PYTENSOR_FLAGS": f"compiledir={tmp_path / 'compiledir'}",
        "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
    }
    for run in ("cold", "warm"):
        subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path / f"{run}.npy")],
            env=env, check=True, capture_output=True, timeout=900,
        )  # fmt: skip
    cold, warm = (np.load(tmp_path / f"{run}.npy") for run in ("cold", "warm"))
    np.testing.assert_array_equal(cold, warm)
