"""Time `secdilemma report` on the bundled panel (issue #9 item 7's performance targets).

Cases (each a fresh process, output to a temporary folder):

- ``quick``: ``secdilemma report --quick``, the committed reference fits reused;
- ``quick_refit``: ``secdilemma report --quick --refit``, every variant fitted with the
  quick settings (4 x (300 + 300)) on a warm compile cache;
- ``full``: ``secdilemma report``, reference fits reused (PSIS-LOO; the K-fold refits are
  not part of this build).

The load average before and after each case is recorded: the machine is shared.

    nice -n 10 .venv/bin/python benchmarks/bench_report.py                 # all cases
    nice -n 10 .venv/bin/python benchmarks/bench_report.py --cases quick   # one
    ... --update                                  # write report_timings.json

``make run`` on a fresh clone (install and a cold compile cache included) is measured
by hand, as README "The report" says, and recorded with ``--fresh-clone SECONDS``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "report_timings.json"
BIN = Path(sys.executable).parent
CASES = {
    "quick": ["--quick"],
    "quick_refit": ["--quick", "--refit"],
    "full": [],
}


def run(case: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        args = [str(BIN / "secdilemma"), "report", *CASES[case], "--out", tmp, "--no-progress"]
        load = os.getloadavg()[0]
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True)
        wall = time.perf_counter() - start
        steps = [line for line in done.stdout.splitlines() if line.startswith("[")]
    if done.returncode != 0:
        raise SystemExit(f"{case}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return {
        "command": " ".join(["secdilemma", "report", *CASES[case]]),
        "wall_s": round(wall, 1),
        "load_before": round(load, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "steps": steps,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--update", action="store_true", help="write report_timings.json")
    parser.add_argument("--fresh-clone", type=float, help="record make run on a fresh clone (s)")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"cases": {}}
    for case in [c for c in args.cases.split(",") if c]:
        print(f"{case} ...", flush=True)
        results["cases"][case] = run(case) | {"date": datetime.now(UTC).isoformat()}
        print(f"{case}: {results['cases'][case]['wall_s']} s", flush=True)
    if args.fresh_clone is not None:
        results["cases"]["fresh_clone_make_run"] = {
            "command": "git clone ... && make run (PYTENSOR_FLAGS=compiledir=<empty folder>)",
            "wall_s": args.fresh_clone,
            "date": datetime.now(UTC).isoformat(),
        }
    results["machine"] = {"node": os.uname().nodename, "cpus": os.cpu_count()}
    if args.update:
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
