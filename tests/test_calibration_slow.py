"""The slow tier of simulation-based calibration: 200 simulations of each bundled variant.

Each test runs (or, with ``SECDILEMMA_CALIBRATION_DIR`` set to a folder of
finished runs such as ``models/calibration/runs``, resumes and verifies) the
calibration recorded in ``models/calibration/COMMAND`` for one variant: 200
simulated panels of 6 dyads x 40 years on a ``LocalCluster``. What must hold:
one row per simulation, none lost; and every quantity either passes the
stated uniformity test (chi-square on 20 bins at the 1 % level) or is reported
as failing in the committed summary (``models/calibration/<variant>/summary.csv``,
read in the README), so a change in calibration cannot go unnoticed.
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from secdilemma.calibration.run import calibrate
from secdilemma.calibration.uniformity import uniformity_table

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1] / "models" / "calibration"
SETTINGS = {"n_sims": 200, "dyads": 6, "years": 40, "draws": 300, "tune": 300, "chains": 2,
            "seed": 20261201, "rank_draws": 99, "init": "jitter"}  # fmt: skip
VARIANTS = ("sensible", "misplaced_certainty", "mixture", "free")


@pytest.mark.parametrize("variant", VARIANTS)
def test_slow_sbc_of_each_bundled_variant(variant, tmp_path):
    base = os.environ.get("SECDILEMMA_CALIBRATION_DIR")
    out = Path(base) / variant if base else tmp_path / variant
    ranks = calibrate(variant, **SETTINGS, out=out, resume=True, progress=False)
    assert ranks.sizes["simulation"] == SETTINGS["n_sims"]
    assert "lost" not in set(ranks["status"].values.astype(str))
    table = uniformity_table(ranks).set_index("quantity")
    committed = ROOT / variant / "summary.csv"
    if not committed.is_file():
        pytest.fail(f"{committed}: no committed summary to compare with")
    reported = pd.read_csv(committed).set_index("quantity")
    failing = set(table.index[~table["passes"]])
    reported_failing = set(reported.index[~reported["passes"]])
    assert failing <= reported_failing, f"{variant}: new calibration failures {failing}"
