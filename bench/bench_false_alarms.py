"""False alarms of the drift checks on a no-drift simulator control: fixed (Evidently's
numbers, the baseline) vs thresholds calibrated on the reference.

The churn simulator with no events, ``--days`` days of ``--rows`` rows: every failed
drift check is a false alarm. Both monitors judge the same day profiles (profiled in
one DuckDB pass); the calibrated one reads its thresholds from a real DuckDB warehouse.
``--by-rows`` chunks the reference by rows instead of by day.
Prints, per check, the failed days (WARN / ERROR) of each, and the share of
feature-days flagged.

    python bench/bench_false_alarms.py [--days 120] [--rows 150]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402

from monitoring_assets.core.calibration import ReferenceCalibration  # noqa: E402
from monitoring_assets.core.config import ProjectConfig  # noqa: E402
from monitoring_assets.core.day_profiles import profiled_columns  # noqa: E402
from monitoring_assets.core.monitor import (  # noqa: E402
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    DriftMonitor,
)
from monitoring_assets.core.profile_build import profile_frame, profile_partitions  # noqa: E402
from monitoring_assets.core.simulator import Simulator  # noqa: E402
from resources.warehouse import Warehouse  # noqa: E402

CHECKS = (
    DRIFT_SHARE_BELOW_THRESHOLD,
    CRITICAL_FEATURES_NOT_DRIFTED,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=120)
    ap.add_argument("--rows", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--by-rows", action="store_true", help="drop the reference timestamps: chunk by rows"
    )
    args = ap.parse_args()
    from monitoring_assets.core.config import load_project

    churn = load_project().model("churn").model_dump()
    churn["source"]["scenario"].update(
        {"days": args.days, "rows_per_day": args.rows, "events": [], "seed": args.seed}
    )
    model = ProjectConfig(models=[churn]).models[0]
    sim = Simulator(model)
    kinds = profiled_columns(model)
    reference = sim.reference()
    kinds_ref = {**kinds, model.columns.target: "categorical"}
    ref_profile = profile_frame(reference[[c for c in kinds_ref if c in reference]], kinds_ref)
    dates = [model.first_date + dt.timedelta(days=i) for i in range(args.days)]
    frames = [sim.inference_day(d).assign(_day=d.isoformat()) for d in dates]
    parts = profile_partitions(
        pd.concat(frames, ignore_index=True)[[*kinds, "_day"]], kinds, partition_column="_day"
    )
    days = [parts[d.isoformat()] for d in dates]

    with tempfile.TemporaryDirectory() as tmp:
        loc = str(Path(tmp) / "reference.parquet")
        stored = reference.drop(columns=[model.columns.timestamp]) if args.by_rows else reference
        stored.to_parquet(loc, index=False)
        cal = ReferenceCalibration(Warehouse(Path(tmp) / "wh.duckdb"), model, ref_profile, loc, "x")
        monitors = {
            "fixed (Evidently)": DriftMonitor(model).fit(ref_profile),
            "calibrated": DriftMonitor(model, calibration=cal).fit(ref_profile),
        }
        print(
            f"churn simulator, no events: {args.days} days x {args.rows} rows, "
            f"reference {len(reference)} rows"
        )
        print(f"{'monitor':<20} {'check':<34} {'WARN':>5} {'ERROR':>5}   feature-days flagged")
        for name, mon in monitors.items():
            t0 = time.perf_counter()
            results = [mon.calculate(p) for p in days]
            took = time.perf_counter() - t0
            flags = [r.drifted for res in results for r in res.features.values() if r.computable]
            for check in CHECKS:
                c = Counter(
                    res.outcome(check).severity for res in results if not res.outcome(check).passed
                )
                print(f"{name:<20} {check:<34} {c['WARN']:>5} {c['ERROR']:>5}")
            src = results[0].features["tenure"].threshold_source
            print(
                f"{name:<20} {'(all features)':<34} {'':>5} {'':>5}   "
                f"{sum(flags) / len(flags):.1%} of {len(flags)}  [{took:.1f}s; tenure: {src}]"
            )


if __name__ == "__main__":
    main()
