"""A history backfill split 1, 2 and 4 ways: the runs of the model's backfill policy
(``backfill: {partitions_per_run: N}``) executed side by side, each in its own process
with Dagster's multiprocess executor (each step a subprocess), as run pods would.

1. ingestion (reported apart, not timed against): the reference and every day's logs,
   through Dagster in one run (the backfill's first phases);
2. monitoring (the timed target): for each split, the monitors' runs Dagster plans
   under ``partitions_per_run = ceil(days / ways)``, all started at once, one process
   per run; wall time of the whole split, and per run its in-process execution time and
   the peak RSS of its run process and of its largest step subprocess;
3. the same check evaluations per split: the count of evaluations per day and the
   failed ones are printed with each row (they must equal the 1-way baseline's).

Baseline: the 1-way split (the default policy: one run). The warehouse is the embedded
DuckDB file unless ``--warehouse postgresql://…`` (the production setting; side-by-side
runs then write without waiting on the file lock).

    python bench/bench_scaleout.py [--days 365] [--rows 100000] [--ways 1,2,4]
        [--warehouse URL] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
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
        name: bench-scaleout
        start_date: 2025-06-01
        days: {days}
        rows_per_day: {rows}
        seed: 11
        events:
          - {{kind: covariate_shift, day: {shift}, feature: tenure, magnitude: 0.6, ramp_days: 5}}
          - {{kind: sudden_shock, day: {shock}, magnitude: 1.35, share: 0.5}}
{backfill}"""

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def model_file(days: int, rows: int, per_run: int | None) -> str:
    backfill = f"    backfill: {{partitions_per_run: {per_run}}}\n" if per_run else ""
    return MODEL_FILE.format(
        days=days,
        rows=rows,
        shift=max(1, days // 3),
        shock=max(1, 2 * days // 3),
        backfill=backfill,
    )


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _defs():
    from monitoring_assets.core.config import load_project
    from monitoring_assets.core.home import Home
    from monitoring_assets.definitions import build_definitions

    project = load_project(Path(os.environ["DRIFTWARDEN_MODELS"]))
    return build_definitions(project, Home.from_env())


def monitor_job():
    """The job the runs execute, rebuilt in each step subprocess (multiprocess executor)."""
    return _defs().resolve_job_def("monitor_churn")


def _keys(defs) -> list[str]:
    return defs.resolve_job_def("monitor_churn").partitions_def.get_partition_keys()


# --------------------------------------------------------------------------- one run


def worker(index: int) -> None:
    """Execute the ``index``-th monitors' run of the backfill with the multiprocess
    executor; print its timings and peaks as JSON."""
    import dagster as dg

    from monitoring_assets.history import backfill_runs

    defs = _defs()
    with dg.DagsterInstance.get() as instance:
        request = backfill_runs(defs, instance, "churn", _keys(defs))[-1][index]
        t = time.perf_counter()
        result = dg.execute_job(
            dg.reconstructable(monitor_job),
            instance=instance,
            tags=dict(request.tags),
            asset_selection=list(request.asset_selection or []),
            run_config={**QUIET, "execution": {"config": {"multiprocess": {"max_concurrent": 2}}}},
        )
        seconds = time.perf_counter() - t
        evals = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=1_000_000
        ).records
    data = [r.event_log_entry.dagster_event.event_specific_data for r in evals]
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "success": result.success,
                "seconds": seconds,
                "run_peak_mb": _peak_mb(),
                "step_peak_mb": children_mb,
                "days": len({d.partition for d in data if d.partition}),
                "evaluations": len(data),
                "failed": sum(not d.passed for d in data),
            }
        )
    )


# --------------------------------------------------------------------------- the bench


def setup(root: Path, args: argparse.Namespace) -> dict[str, str]:
    from monitoring_assets.core.home import Home
    from monitoring_assets.instance import prepare_dagster_home

    home = Home(root / "home", warehouse_url=args.warehouse).ensure()
    prepare_dagster_home(home)
    if args.warehouse:
        os.environ["DRIFTWARDEN_WAREHOUSE"] = args.warehouse
    os.environ["DRIFTWARDEN_MODELS"] = str(root / "models.yaml")
    return dict(os.environ)


def ingest(root: Path, args: argparse.Namespace) -> float:
    import dagster as dg

    from monitoring_assets.history import backfill_runs

    (root / "models.yaml").write_text(model_file(args.days, args.rows, None))
    defs = _defs()
    job = defs.resolve_job_def("monitor_churn")
    t = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        for phase in backfill_runs(defs, instance, "churn", _keys(defs))[:-1]:
            for request in phase:
                result = job.execute_in_process(
                    instance=instance,
                    tags=dict(request.tags),
                    asset_selection=list(request.asset_selection or []),
                    run_config=QUIET,
                )
                assert result.success
    return time.perf_counter() - t


def split(root: Path, args: argparse.Namespace, ways: int, env: dict) -> dict:
    per_run = math.ceil(args.days / ways)
    (root / "models.yaml").write_text(model_file(args.days, args.rows, per_run))
    load = os.getloadavg()[0]
    t = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(i)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(math.ceil(args.days / per_run))
    ]
    outs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t
    runs = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    if not all(r["success"] for r in runs) or any(p.returncode for p in procs):
        raise SystemExit(f"a run of the {ways}-way split failed: {runs}")
    return {
        "ways": ways,
        "per_run": per_run,
        "wall": wall,
        "run_s": max(r["seconds"] for r in runs),
        "run_peak": max(r["run_peak_mb"] for r in runs),
        "step_peak": max(r["step_peak_mb"] for r in runs),
        "days": sum(r["days"] for r in runs),
        "evaluations": sum(r["evaluations"] for r in runs),
        "failed": sum(r["failed"] for r in runs),
        "load": (load, os.getloadavg()[0]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--ways", default="1,2,4")
    ap.add_argument("--warehouse", help="postgresql:// URL (default: the embedded DuckDB file)")
    ap.add_argument("--keep", help="folder to keep the ingested history in")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker(args.worker)
        return
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dw-scaleout-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        env = setup(root, args)
        ingest_s = ingest(root, args)
        print(
            f"{args.days} days x {args.rows:,} rows; ingestion (one run, apart): {ingest_s:.0f} s"
        )
        rows = [split(root, args, int(w), env) for w in args.ways.split(",")]
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    base = rows[0]
    print(
        f"\n| ways | days/run | wall s | vs {base['ways']}-way | slowest run s (in-process) "
        "| peak MB run process | peak MB step process | evaluations (failed) | load 1-min |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in rows:
        same = (r["evaluations"], r["failed"]) == (base["evaluations"], base["failed"])
        print(
            f"| {r['ways']} | {r['per_run']} | {r['wall']:.0f} | {base['wall'] / r['wall']:.2f}x "
            f"| {r['run_s']:.0f} | {r['run_peak']:.0f} | {r['step_peak']:.0f} "
            f"| {r['evaluations']} ({r['failed']}){'' if same else ' DIFFERS'} "
            f"| {r['load'][0]:.1f} → {r['load'][1]:.1f} |"
        )


if __name__ == "__main__":
    main()
