"""A files-source model fed from one 50k-row CSV (inference) and one label CSV, monitored
over its whole range in one Dagster run (the in-process ``monitor_shop`` job).

Prints the run's wall time and each step's time (from Dagster's step stats), so the
cost of reading the source files (``inference_logs``, ``ground_truth``) shows apart
from the monitors. Run it on two checkouts to compare (``PYTHONPATH`` picks the code):

    PYTHONPATH=<checkout> python bench/bench_files.py [--rows 50000] [--days 30] [--layout single]

``--whole-process`` also times a fresh interpreter doing the same (imports included).

Measured on 2 shared, loaded cores (seconds; baseline: the reader that re-read the file
for every day and matched labels by re-reading the inference file):

====================  ========  =====  ========  =====
50k rows over         30 days          90 days
--------------------  ---------------  ---------------
step                  baseline  now    baseline  now
====================  ========  =====  ========  =====
inference_logs        12.7      4.5    60.3      10.9
ground_truth          10.8      2.5    58.8      7.6
whole run (wall)      124.6     127.5  417.8     283.4
====================  ========  =====  ========  =====

(The 30-day wall times are within the machine's noise: a second baseline run took 165 s,
with 18.2 s and 18.1 s in the two steps.)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")


def run(root: Path, rows: int, n_days: int, layout: str) -> tuple[float, dict[str, float], bool]:
    from tests.files.data import days, make_files

    models = make_files(root / "data", n_days, rows // n_days, fmt="csv", layout=layout)
    # Set before the definitions module is imported: it loads the model file in force.
    os.environ["DRIFTWARDEN_HOME"] = str(root / "home")
    os.environ["DRIFTWARDEN_MODELS"] = str(models)
    os.environ["DRIFTWARDEN_TODAY"] = "2026-12-31"

    import dagster as dg

    from monitoring_assets.core.config import load_project
    from monitoring_assets.core.home import Home
    from monitoring_assets.definitions import build_definitions
    from monitoring_assets.demo import materialize_history

    home = Home(root / "home").ensure()
    defs = build_definitions(load_project(models), home)
    keys = [d.isoformat() for d in days(n_days)]
    with dg.instance_for_test() as instance:
        t0 = time.perf_counter()
        result = materialize_history(defs, instance, "shop", keys, log_level="ERROR")
        wall = time.perf_counter() - t0
        steps = {
            s.step_key: (s.end_time or 0) - (s.start_time or 0)
            for s in instance.get_run_step_stats(result.run_id)
        }
    return wall, steps, result.success


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--layout", choices=["single", "daily"], default="single")
    ap.add_argument("--whole-process", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wall, steps, ok = run(Path(tmp), args.rows, args.days, args.layout)
    print(f"{args.rows} rows, {args.days} days, layout {args.layout}: run success={ok}")
    print(f"{'step':<40} {'seconds':>8}")
    for key, sec in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"{key:<40} {sec:8.2f}")
    print(f"{'in-process run (wall)':<40} {wall:8.2f}")
    if args.whole_process:
        t0 = time.perf_counter()
        code = (
            "import sys,tempfile,pathlib; sys.argv=['x']; from bench.bench_files import run;"
            f"d=tempfile.mkdtemp(); run(pathlib.Path(d), {args.rows}, {args.days}, {args.layout!r})"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
        subprocess.run(
            [sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1], env=env
        )
        print(f"{'whole process (fresh interpreter)':<40} {time.perf_counter() - t0:8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
