"""A year of history (365 days x 100k rows/day) monitored in one Dagster run.

1. ingestion (reported apart): the simulator writes ``reference_data`` and 365 days of
   ``inference_logs`` through Dagster, in one run;
2. monitoring (the timed target): ``feature_profiles``, ``data_drift``,
   ``prediction_drift``, ``data_quality`` and their per-day checks over the whole year,
   as ONE single-run range on a SQLite Dagster instance (the project's dagster.yaml);
3. Evidently's DataDriftPreset on a sample of days (same data, full rows), extrapolated
   to 365 days.

It then counts the stored check evaluations per partition to show every day has one
per check. ``--keep DIR`` reuses DIR's ingested history on a second run.

    python bench/bench_backfill.py [--days 365] [--rows 100000] [--evidently-days 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

MODEL_FILE = """
models:
  - name: churn
    version: v1
    features:
      - {{name: tenure, type: numerical}}
      - {{name: monthly_charges, type: numerical, critical: true}}
      - {{name: total_charges, type: numerical}}
      - {{name: num_services, type: numerical}}
      - {{name: contract_type, type: categorical, critical: true}}
      - {{name: payment_method, type: categorical}}
      - {{name: internet_service, type: categorical}}
    columns: {{target: churn}}
    label_delay_days: 7
    source:
      kind: simulator
      scenario:
        name: bench-year
        start_date: 2025-06-01
        days: {days}
        rows_per_day: {rows}
        seed: 11
        events:
          - {{kind: covariate_shift, day: 90, feature: tenure, magnitude: 0.6, ramp_days: 20}}
          - {{kind: new_category, day: 150, feature: payment_method, value: crypto_wallet, share: 0.05}}
          - {{kind: traffic_drop, day: 200, magnitude: 0.4, duration_days: 2}}
          - {{kind: broken_feature, day: 240, feature: total_charges, mode: unit, duration_days: 3}}
          - {{kind: sudden_shock, day: 300, magnitude: 1.35, share: 0.5}}
"""

MONITORED = ("feature_profiles", "data_drift", "prediction_drift", "data_quality")


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Start the process's peak RSS afresh (Linux: ``5`` to ``clear_refs``), so the
    monitoring run's peak is not the ingestion's; False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--evidently-days", type=int, default=3)
    ap.add_argument("--keep", help="folder to keep (and reuse) the ingested history in")
    args = ap.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dw-backfill-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        run(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args: argparse.Namespace) -> None:
    from monitoring_assets.core.home import Home
    from monitoring_assets.instance import prepare_dagster_home

    home = Home(root / "home").ensure()
    prepare_dagster_home(home)
    models = root / "models.yaml"
    text = MODEL_FILE.format(days=args.days, rows=args.rows)
    fresh = not models.exists() or models.read_text() != text
    models.write_text(text)
    os.environ["DRIFTWARDEN_MODELS"] = str(models)

    import dagster as dg

    from monitoring_assets.core.config import load_project
    from monitoring_assets.definitions import build_definitions
    from monitoring_assets.demo import range_tags

    project = load_project(models)
    model = project.models[0]
    base = build_definitions(project, home)
    key = lambda n: dg.AssetKey([model.name, n])  # noqa: E731
    ingest = dg.define_asset_job(
        "bench_ingest",
        selection=dg.AssetSelection.assets(key("reference_data"), key("inference_logs")),
        partitions_def=dg.DailyPartitionsDefinition(
            start_date=model.first_date.isoformat(),
            end_date=model.last_date_exclusive.isoformat(),
        ),
    )
    monitor = dg.define_asset_job(
        "bench_monitor",
        selection=dg.AssetSelection.assets(*[key(n) for n in MONITORED]),
        partitions_def=ingest.partitions_def,
    )
    defs = dg.Definitions.merge(base, dg.Definitions(jobs=[ingest, monitor]))
    keys = ingest.partitions_def.get_partition_keys()
    tags = range_tags(keys)

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.get() as instance:
        ingest_s = ingest_peak = float("nan")
        if fresh or not (home.lake / model.name / "inference_logs").exists():
            t = time.perf_counter()
            res = defs.resolve_job_def("bench_ingest").execute_in_process(
                instance=instance, tags=tags, raise_on_error=True, run_config=quiet
            )
            ingest_s = time.perf_counter() - t
            ingest_peak = _peak_mb()
            assert res.success
        reset = _reset_peak()
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        res = defs.resolve_job_def("bench_monitor").execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=True,
            run_config=quiet,
        )
        monitor_s = time.perf_counter() - t
        peak = _peak_mb()
        load_after = os.getloadavg()[0]
        per_step = {}
        for ev in res.all_events:
            if ev.event_type_value == "STEP_SUCCESS":
                per_step[ev.step_key] = ev.event_specific_data.duration_ms / 1000
        evals = instance.event_log_storage.get_records_for_run(
            res.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1_000_000
        ).records
        per_day: dict[str, int] = {}
        failed = 0
        for rec in evals:
            ev = rec.event_log_entry.dagster_event.event_specific_data
            per_day[ev.partition] = per_day.get(ev.partition, 0) + 1
            failed += not ev.passed
        mats = instance.event_log_storage.get_records_for_run(
            res.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1_000_000
        ).records

    ev_s = evidently_days(home, model, keys, args.evidently_days)
    ev_year = sum(ev_s) / len(ev_s) * len(keys)
    total_rows = args.rows * len(keys)
    print(
        f"\n{len(keys)} days x {args.rows:,} rows/day ({total_rows / 1e6:.1f}M rows), "
        f"{len(model.features)} features; {os.cpu_count()} cores\n"
    )
    print(f"{'stage':<58}{'seconds':>10}")
    print(f"{'ingestion (simulator -> Parquet, one run; not monitoring)':<58}{ingest_s:>10.1f}")
    print(f"{'monitoring: profiles+drift+quality+checks, ONE run':<58}{monitor_s:>10.1f}")
    for step, s in per_step.items():
        print(f"{'  step ' + step:<58}{s:>10.1f}")
    print(
        f"{f'Evidently DataDriftPreset per day (mean of {len(ev_s)})':<58}"
        f"{sum(ev_s) / len(ev_s):>10.2f}"
    )
    print(f"{'Evidently extrapolated to ' + str(len(keys)) + ' days':<58}{ev_year:>10.0f}")
    print(f"\nspeed-up vs Evidently per day: {ev_year / monitor_s:.1f}x")
    which = "the monitoring run alone" if reset else "the whole process, ingestion included"
    print(
        f"peak RSS of {which}: {peak:.0f} MB (ingestion: {ingest_peak:.0f} MB); "
        f"load average {load_before:.1f} before the run, {load_after:.1f} after"
    )
    print(
        f"materializations {len(mats)}; check evaluations {len(evals)} over {len(per_day)} "
        f"partitions (min {min(per_day.values())}, max {max(per_day.values())} per day), "
        f"{failed} failed"
    )
    print(f"target < 120 s: {'met' if monitor_s < 120 else 'NOT met'}")


def evidently_days(home, model, keys: list[str], n: int) -> list[float]:
    """Seconds of DataDriftPreset on ``n`` evenly spaced days (full rows, data in memory)."""
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from resources.lake import Lake

    lake = Lake(home.lake)
    ref = pd.read_parquet(
        lake.partition_dir(model.name, "reference", f"version={model.version}") / "part-0.parquet"
    )[model.feature_names]
    dd = DataDefinition(numerical_columns=model.numerical, categorical_columns=model.categorical)
    step = max(len(keys) // n, 1)
    out = []
    for k in keys[::step][:n]:
        cur = lake.read_day(model.name, "inference_logs", dt.date.fromisoformat(k))[
            model.feature_names
        ]
        t = time.perf_counter()
        Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur, data_definition=dd),
            Dataset.from_pandas(ref, data_definition=dd),
        ).dict()
        out.append(time.perf_counter() - t)
    return out


if __name__ == "__main__":
    main()
