"""The analysis of fits and the figures never import PyMC (LAYOUT: they read the schema only)."""

import subprocess
import sys


def test_analysis_and_plotting_do_not_import_pymc():
    code = (
        "import sys, secdilemma as sd\n"
        "import secdilemma.analysis.predictive, secdilemma.analysis.counterfactual\n"
        "import secdilemma.analysis.likelihood, secdilemma.plotting\n"
        "import secdilemma.plotting.predictive, secdilemma.plotting.counterfactual\n"
        "import secdilemma.plotting.states, secdilemma.plotting.groups\n"
        "import secdilemma.analysis.groups\n"
        "import secdilemma.analysis.comparison, secdilemma.plotting.comparison\n"
        "assert sd.posterior_predictive and sd.ppc_table and sd.counterfactual and sd.compare\n"
        "heavy = sorted(m for m in ('pymc', 'pytensor', 'nutpie') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
