"""A year of history (365 days x 100k rows/day) monitored in one Dagster run, against a
named baseline (a git commit of this repository) in the same bench run.

1. ingestion (reported apart): the simulator writes ``reference_data`` and 365 days of
   ``inference_logs`` through Dagster, in one run;
2. monitoring (the timed target): ``feature_profiles``, ``data_drift``,
   ``prediction_drift``, ``data_quality`` and their per-day checks over the whole year,
   as ONE single-run range on a SQLite Dagster instance (the project's dagster.yaml), once
   with the baseline's code and once with this tree's, each in a fresh child process on
   the same copy of the warehouse. Per run: seconds per step, the peak RSS in-process (the
   run alone: the child's peak is reset after its imports) and whole-process (the
   child's ``ru_maxrss``), the peak RSS per step (sampled), and whether both runs record
   the same check evaluations;
3. Evidently's DataDriftPreset on a sample of days (same data, full rows), extrapolated
   to 365 days.

``--keep DIR`` reuses DIR's ingested history on a second run; ``--baseline none`` times
this tree alone.

    python bench/bench_backfill.py [--days 365] [--rows 100000] [--evidently-days 3]
        [--baseline 5e22eee] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

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
#: The commit the bench compares with by default: before day profiles were bounded by
#: smaller profiling passes, smaller staged writes and a capped warehouse buffer.
BASELINE = "5e22eee"
REPO = Path(__file__).resolve().parents[1]


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> bool:
    """Start the process's peak RSS afresh (Linux: ``5`` to ``clear_refs``), so the
    monitoring run's peak is not the imports'; False when the kernel refuses."""
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
    ap.add_argument("--baseline", default=BASELINE, help="git commit to compare with, or none")
    ap.add_argument("--keep", help="folder to keep (and reuse) the ingested history in")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # code tree of a monitoring child
    args = ap.parse_args()

    if args.child:
        child(Path(args.keep), args)
        return
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dw-backfill-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        run(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def _definitions(root: Path, args: argparse.Namespace):
    """(home, model, definitions with the ingest and monitor jobs, partition keys)."""
    from monitoring_assets.core.home import Home
    from monitoring_assets.instance import prepare_dagster_home

    home = Home(root / "home").ensure()
    prepare_dagster_home(home)
    models = root / "models.yaml"
    os.environ["DRIFTWARDEN_MODELS"] = str(models)

    import dagster as dg

    from monitoring_assets.core.config import load_project
    from monitoring_assets.definitions import build_definitions

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
    return home, model, defs, ingest.partitions_def.get_partition_keys()


QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run(root: Path, args: argparse.Namespace) -> None:
    models = root / "models.yaml"
    text = MODEL_FILE.format(days=args.days, rows=args.rows)
    fresh = not models.exists() or models.read_text() != text
    models.write_text(text)
    sys.path.insert(0, str(REPO))
    import dagster as dg

    from monitoring_assets.demo import range_tags

    home, model, defs, keys = _definitions(root, args)
    ingest_s = float("nan")
    saved = root / "warehouse-after-ingestion.duckdb"
    if fresh or not (home.lake / model.name / "inference_logs").exists() or not saved.exists():
        with dg.DagsterInstance.get() as instance:
            t = time.perf_counter()
            res = defs.resolve_job_def("bench_ingest").execute_in_process(
                instance=instance, tags=range_tags(keys), raise_on_error=True, run_config=QUIET
            )
            ingest_s = time.perf_counter() - t
            assert res.success
        shutil.copyfile(home.warehouse, saved)

    trees: dict[str, Path] = {}
    work = Path(tempfile.mkdtemp(prefix="dw-backfill-code-"))
    try:
        if args.baseline.lower() != "none":
            tree = work / "baseline"
            tree.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(REPO), "archive", args.baseline],
                check=True,
                capture_output=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
            trees[f"baseline {args.baseline}"] = tree
        trees["this tree"] = REPO
        results = {}
        for name, tree in trees.items():
            Path(f"{home.warehouse}.wal").unlink(missing_ok=True)
            shutil.copyfile(saved, home.warehouse)  # the same warehouse for every run
            results[name] = monitor_child(root, tree, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ev_s = evidently_days(home, model, keys, args.evidently_days) if args.evidently_days else []
    report(args, model, keys, ingest_s, results, ev_s)


def monitor_child(root: Path, tree: Path, args: argparse.Namespace) -> dict:
    """Run the monitoring job with ``tree``'s code in a fresh process; its JSON result
    plus its whole-process peak RSS (``ru_maxrss``)."""
    out = root / "child.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(tree)]
    cmd += ["--keep", str(root), "--days", str(args.days), "--rows", str(args.rows)]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.Popen(cmd, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"monitoring run with {tree} failed (status {status})")
    result = json.loads(out.read_text())
    result["whole_mb"] = usage.ru_maxrss / 1024
    return result


def child(root: Path, args: argparse.Namespace) -> None:
    """The monitoring run in this process, with the code of ``args.child``."""
    sys.path.insert(0, args.child)
    import dagster as dg

    from monitoring_assets.demo import range_tags

    home, model, defs, keys = _definitions(root, args)
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            samples.append((time.time(), _status_mb("VmRSS")))

    with dg.DagsterInstance.get() as instance:
        reset = _reset_peak()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        load_before = os.getloadavg()[0]
        t = time.perf_counter()
        res = defs.resolve_job_def("bench_monitor").execute_in_process(
            instance=instance, tags=range_tags(keys), raise_on_error=True, run_config=QUIET
        )
        seconds = time.perf_counter() - t
        peak = _status_mb("VmHWM")
        done.set()
        sampler.join()
        load_after = os.getloadavg()[0]
        starts, steps = {}, {}
        for entry in instance.all_logs(res.run_id):
            ev = entry.dagster_event
            if ev is None:
                continue
            if ev.event_type_value == "STEP_START":
                starts[ev.step_key] = entry.timestamp
            if ev.event_type_value == "STEP_SUCCESS":
                t0, t1 = starts[ev.step_key], entry.timestamp
                rss = [mb for at, mb in samples if t0 <= at <= t1]
                steps[ev.step_key] = (
                    ev.event_specific_data.duration_ms / 1000,
                    max(rss) if rss else float("nan"),
                )
        records = instance.event_log_storage.get_records_for_run(
            res.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1_000_000
        ).records
        evals = []
        for rec in records:
            ev = rec.event_log_entry.dagster_event.event_specific_data
            evals.append(
                [ev.partition, ev.check_name, bool(ev.passed), str(ev.severity), repr(ev.metadata)]
            )
    evals.sort()
    (root / "child.json").write_text(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak if reset else float("nan"),
                "steps": steps,
                "evaluations": len(evals),
                "failed": sum(not e[2] for e in evals),
                "days": len({e[0] for e in evals}),
                "digest": hashlib.sha256(json.dumps(evals).encode()).hexdigest(),
                "load": [load_before, load_after],
            }
        )
    )


def report(args, model, keys, ingest_s: float, results: dict, ev_s: list[float]) -> None:
    total_rows = args.rows * len(keys)
    print(
        f"\n{len(keys)} days x {args.rows:,} rows/day ({total_rows / 1e6:.1f}M rows), "
        f"{len(model.features)} features; {os.cpu_count()} cores; "
        f"ingestion (simulator -> Parquet, one run, not monitoring): {ingest_s:.1f} s\n"
    )
    names = list(results)
    width = 34
    print(f"{'monitoring run (one Dagster run)':<{width}}" + "".join(f"{n:>22}" for n in names))

    def row(label: str, cells: list[str]) -> None:
        print(f"{label:<{width}}" + "".join(f"{c:>22}" for c in cells))

    row("seconds", [f"{r['seconds']:.1f}" for r in results.values()])
    row("peak RSS in-process, MB", [f"{r['peak_mb']:.0f}" for r in results.values()])
    row("peak RSS whole process, MB", [f"{r['whole_mb']:.0f}" for r in results.values()])
    steps = list(dict.fromkeys(s for r in results.values() for s in r["steps"]))
    for s in steps:
        cells = []
        for r in results.values():
            sec, mb = r["steps"].get(s, (float("nan"), float("nan")))
            cells.append(f"{sec:.1f} s {mb:.0f} MB")
        row(f"  {s.removeprefix(model.name + '_')}", cells)
    row("check evaluations", [str(r["evaluations"]) for r in results.values()])
    row("  failed", [str(r["failed"]) for r in results.values()])
    row("  days with evaluations", [str(r["days"]) for r in results.values()])
    row(
        "load average before, after",
        [f"{r['load'][0]:.1f}, {r['load'][1]:.1f}" for r in results.values()],
    )
    same = len({r["digest"] for r in results.values()}) == 1
    if len(results) > 1:
        print(
            f"\nidentical check evaluations (partition, check, passed, severity, metadata): {'yes' if same else 'NO'}"
        )
    if ev_s:
        ev_year = sum(ev_s) / len(ev_s) * len(keys)
        print(
            f"Evidently DataDriftPreset: {sum(ev_s) / len(ev_s):.2f} s per day (mean of "
            f"{len(ev_s)}), {ev_year:.0f} s extrapolated to {len(keys)} days"
        )
    mine = results["this tree"]
    print(f"target < 1 GB peak (whole process): {'met' if mine['whole_mb'] < 1024 else 'NOT met'}")


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
