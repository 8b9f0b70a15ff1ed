"""Detection bench: false alerts on control scenarios, detection delay on the demo's events.

Every row is one whole ``driftwarden demo --models FILE`` process (the product path: the
scenario's history in one Dagster run, the alert sensor ticked over every check
evaluation), run on a fresh home with the model file's ``thresholds.mode`` set to each
mode compared (``fixed`` and ``auto``, the default, by default), side by side. The numbers are
then read from that home: alert episodes from the warehouse's ``alerts`` table, check
evaluations from the home's Dagster instance. ``auto`` is the model file's default
mode (a file without ``thresholds``): its rows are labelled "auto (default)" and are
what a model gets unless configured otherwise (``calibrated`` forces a band even from 2
validation chunks; ``auto`` needs ``calibration.min_chunks``).

- Controls (``bench/scenarios/control_*.yaml``, nothing injected): every alert episode
  is a false one. Reported: episodes per 100 monitored days (any tier, and by tier) and
  failing check-days (days on which any check failed) per 100 days.
- The demo (``monitoring_assets/models/churn.yaml``): per injected event, the delay from
  the event's day to the first day a related check newly fails (a check already failing
  on the day before the event does not count: that failure belongs to an earlier event),
  and to the first related alert episode opened on a partition from the event's day on.
  Checks that need labels count from the day the labels arrive (``label_delay_days``).

Usage (from the repository root)::

    python bench/bench_detection.py                       # everything: 18 processes, hours
    python bench/bench_detection.py --days 28 --only control_50,control_200
    python bench/bench_detection.py --only demo --modes fixed

Baseline: ``fixed`` thresholds (the configured / library-default numbers). The
default's rows (``auto``) are measured against it in the same invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitoring_assets.core.config import ScenarioEvent, load_project  # noqa: E402
from monitoring_assets.core.config_thresholds import Thresholds  # noqa: E402

SCENARIOS = ROOT / "bench" / "scenarios"
DEMO_MODELS = ROOT / "monitoring_assets" / "models" / "churn.yaml"
#: The model file's default threshold mode (what a model without ``thresholds`` gets).
DEFAULT_MODE = Thresholds().mode
MODES = ("fixed", DEFAULT_MODE)


def mode_label(mode: str) -> str:
    """The mode as the tables show it: the default one says so."""
    return f"{mode} (default)" if mode == DEFAULT_MODE else mode


# The checks that may reveal each event kind: (asset, check) with '*' for any check of
# the asset. ``labels``: the checks judge labelled data, available label_delay_days later.
RELATED: dict[str, tuple[list[tuple[str, str]], bool]] = {
    "covariate_shift": ([("data_drift", "*"), ("prediction_drift", "*")], False),
    "sudden_shock": ([("data_drift", "*"), ("prediction_drift", "*")], False),
    "new_category": ([("data_quality", "no_unseen_categories")], False),
    "traffic_drop": ([("data_quality", "row_count_stable")], False),
    "broken_feature": (
        [
            ("data_quality", "values_within_reference_range"),
            ("data_quality", "missing_share_within_limit"),
        ],
        False,
    ),
    "concept_drift": ([("model_performance", "*")], True),
}


@dataclass
class Evaluation:
    event_id: int
    asset: str  # last part of the asset key: data_drift, data_quality, ...
    check: str
    partition: dt.date
    passed: bool
    severity: str


@dataclass
class Episode:
    alert_id: str
    asset: str
    check: str
    tier: str
    opened_on: dt.date | None  # partition of the evaluation that opened it


@dataclass
class RunResult:
    name: str
    mode: str
    days: int
    wall_s: float
    status: int
    model: str
    start: dt.date
    label_delay: int
    events: list[ScenarioEvent]
    evaluations: list[Evaluation] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)
    log: Path | None = None


# --------------------------------------------------------------------------- running


def scenario_files(only: set[str] | None, demo: Path) -> dict[str, Path]:
    """Name -> model file: the controls, then the demo."""
    files = {p.stem: p for p in sorted(SCENARIOS.glob("control_*.yaml"), key=_control_order)}
    files["demo"] = demo
    if only:
        unknown = sorted(only - set(files) - {"controls"})
        if unknown:
            raise SystemExit(f"--only: unknown scenario(s) {unknown}; known: {sorted(files)}")
        keep = set(only)
        if "controls" in keep:
            keep |= {n for n in files if n.startswith("control_")}
        files = {n: p for n, p in files.items() if n in keep}
    return files


def _control_order(path: Path) -> tuple[int, str]:
    parts = path.stem.split("_")
    return int(parts[1]), path.stem


def with_mode(src: Path, mode: str, dest: Path) -> Path:
    """A copy of model file ``src`` with every model's ``thresholds.mode`` set to ``mode``."""
    doc = yaml.safe_load(src.read_text())
    for m in doc["models"]:
        th = m.get("thresholds")
        if isinstance(th, str) or th is None:
            th = {}
        m["thresholds"] = {**th, "mode": mode}
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    load_project(dest)  # fail here, with the file's name, if the result is invalid
    return dest


def run_one(name: str, models: Path, mode: str, days: int | None, work: Path) -> RunResult:
    """One whole ``driftwarden demo`` process on a fresh home; then read what it left."""
    run_dir = work / f"{name}-{mode}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    model_file = with_mode(models, mode, run_dir / "models.yaml")
    project = load_project(model_file)
    model = project.models[0]
    scenario = model.source.scenario
    n_days = min(days, scenario.days) if days else scenario.days
    home = run_dir / "home"
    cmd = [sys.executable, "-m", "monitoring_assets.cli", "--home", str(home), "demo"]
    cmd += ["--models", str(model_file)]
    if days:
        cmd += ["--days", str(n_days)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("DAGSTER_HOME", None)
    log = run_dir / "demo.log"
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    result = RunResult(
        name=name,
        mode=mode,
        days=n_days,
        wall_s=wall,
        status=proc.returncode,
        model=model.name,
        start=model.first_date,
        label_delay=model.label_delay_days,
        events=list(scenario.events),
        log=log,
    )
    read_home(result, home)
    return result


def read_home(result: RunResult, home: Path) -> None:
    """Check evaluations from the home's Dagster instance, alert episodes from its warehouse."""
    import dagster as dg

    from monitoring_assets.core.alerts.outbox import AlertStore
    from monitoring_assets.core.home import Home
    from monitoring_assets.instance import prepare_dagster_home
    from resources.warehouse import open_warehouse
    from sensors.check_events import check_evaluation_records

    h = Home(root=home)
    prepare_dagster_home(h)
    # Only the days that ran: with --days, the later partitions are missing, and the
    # freshness check rightly fails on them; that is the truncation, not a false alert.
    end = result.start + dt.timedelta(days=result.days)
    by_id: dict[int, Evaluation] = {}
    with dg.DagsterInstance.get() as instance:
        after = 0
        while True:
            batch = check_evaluation_records(instance, after, limit=1000)
            if not batch:
                break
            after = batch[-1].storage_id
            for rec in batch:
                ev = rec.event_log_entry.dagster_event.event_specific_data
                if not isinstance(ev, dg.AssetCheckEvaluation) or ev.partition is None:
                    continue
                if ev.asset_key.path[0] != result.model:
                    continue
                day = dt.date.fromisoformat(ev.partition)
                if not result.start <= day < end:
                    continue
                by_id[rec.storage_id] = Evaluation(
                    event_id=rec.storage_id,
                    asset=ev.asset_key.path[-1],
                    check=ev.check_name,
                    partition=day,
                    passed=bool(ev.passed),
                    severity=ev.severity.value,
                )
    result.evaluations = sorted(by_id.values(), key=lambda e: e.event_id)
    store = AlertStore(open_warehouse(h.warehouse_location))
    for a in store.list_alerts(model=result.model, limit=1_000_000):
        opened = by_id.get(a.trigger_event_id)
        if opened is None and a.partition_key and a.partition_key >= end.isoformat():
            continue  # opened on a partition that did not run (see above)
        result.episodes.append(
            Episode(
                alert_id=a.alert_id,
                asset=a.asset_key.split("/")[-1],
                check=a.check_name,
                tier=a.tier,
                opened_on=opened.partition if opened else None,
            )
        )


# --------------------------------------------------------------------------- measuring


def failing_days(result: RunResult) -> dict[tuple[str, str], set[dt.date]]:
    """(asset, check) -> partitions whose newest evaluation failed."""
    newest: dict[tuple[str, str, dt.date], Evaluation] = {}
    for e in result.evaluations:  # ascending event id: later evaluations win
        newest[(e.asset, e.check, e.partition)] = e
    out: dict[tuple[str, str], set[dt.date]] = defaultdict(set)
    for (asset, check, day), e in newest.items():
        if not e.passed:
            out[(asset, check)].add(day)
    return out


def control_row(result: RunResult) -> dict:
    tiers: dict[str, int] = defaultdict(int)
    for ep in result.episodes:
        tiers[ep.tier] += 1
    fails = failing_days(result)
    bad_days = set().union(*fails.values()) if fails else set()
    per100 = 100.0 / result.days
    return {
        "scenario": result.name,
        "mode": mode_label(result.mode),
        "days": result.days,
        "episodes": len(result.episodes),
        "episodes_per_100_days": round(len(result.episodes) * per100, 1),
        "critical": tiers.get("critical", 0),
        "warning": tiers.get("warning", 0),
        "info": tiers.get("info", 0),
        "failing_check_days_per_100": round(len(bad_days) * per100, 1),
        "checks_failing": sorted(f"{a}/{c}" for a, c in fails),
        "wall_s": round(result.wall_s, 1),
        "status": result.status,
    }


def _related(ev: ScenarioEvent, asset: str, check: str) -> bool:
    return any(a == asset and c in ("*", check) for a, c in RELATED[ev.kind][0])


def _expected(ev: ScenarioEvent, label_delay: int) -> str:
    if ev.kind == "covariate_shift" and ev.ramp_days:
        return f"< {ev.ramp_days} (within the ramp)"
    if RELATED[ev.kind][1]:
        return f"{label_delay} (labels arrive)"
    return "0 (first day)"


def _within(ev: ScenarioEvent, delay: int | None, label_delay: int) -> bool:
    if delay is None:
        return False
    if ev.kind == "covariate_shift" and ev.ramp_days:
        return delay < ev.ramp_days
    return delay <= (label_delay if RELATED[ev.kind][1] else 0)


def event_rows(result: RunResult) -> list[dict]:
    fails = failing_days(result)
    rows = []
    for ev in result.events:
        day = result.start + dt.timedelta(days=ev.day)
        labels = RELATED[ev.kind][1]
        lag = result.label_delay if labels else 0
        row = {
            "event": ev.kind + (f"({ev.feature})" if ev.feature else ""),
            "day": ev.day,
            "mode": mode_label(result.mode),
            "expected": _expected(ev, result.label_delay),
        }
        if ev.day >= result.days:
            rows.append(
                {
                    **row,
                    "check_delay": None,
                    "check": "not run",
                    "alert_delay": None,
                    "verdict": "not run",
                }
            )
            continue
        best: tuple[int, str] | None = None
        masked = []
        for (asset, check), bad in fails.items():
            if not _related(ev, asset, check):
                continue
            if day - dt.timedelta(days=1) in bad:
                masked.append(f"{asset}/{check}")
                continue
            after = sorted(d for d in bad if d >= day)
            if after:
                cand = ((after[0] - day).days + lag, f"{asset}/{check}")
                best = min(best, cand) if best else cand
        alert_delays = [
            (ep.opened_on - day).days + lag
            for ep in result.episodes
            if ep.opened_on is not None and ep.opened_on >= day and _related(ev, ep.asset, ep.check)
        ]
        check_delay = best[0] if best else None
        rows.append(
            {
                **row,
                "check_delay": check_delay,
                "check": best[1] if best else ("masked: " + ", ".join(masked) if masked else "-"),
                "alert_delay": min(alert_delays) if alert_delays else None,
                "verdict": "ok" if _within(ev, check_delay, result.label_delay) else "MISSED",
            }
        )
    return rows


# --------------------------------------------------------------------------- printing


def _md(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(t for _, t in cols) + " |"
    sep = "|" + "|".join("---" for _ in cols) + "|"
    body = [
        "| " + " | ".join("-" if r.get(k) is None else str(r.get(k)) for k, _ in cols) + " |"
        for r in rows
    ]
    return "\n".join([head, sep, *body])


CONTROL_COLS = [
    ("scenario", "control"),
    ("mode", "thresholds"),
    ("days", "days"),
    ("episodes", "false episodes"),
    ("episodes_per_100_days", "per 100 days"),
    ("critical", "critical"),
    ("warning", "warning"),
    ("info", "info"),
    ("failing_check_days_per_100", "failing check-days /100"),
    ("wall_s", "wall s"),
]
EVENT_COLS = [
    ("event", "event"),
    ("day", "day"),
    ("mode", "thresholds"),
    ("expected", "expected delay"),
    ("check_delay", "check fails after (days)"),
    ("check", "first check"),
    ("alert_delay", "alert opens after (days)"),
    ("verdict", "verdict"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, help="only the first N days of every scenario")
    ap.add_argument("--only", help="comma-separated: control_50, ..., controls, demo")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated threshold modes")
    ap.add_argument("--demo-models", type=Path, default=DEMO_MODELS, help="the demo's model file")
    ap.add_argument("--work", type=Path, help="where run homes go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the run homes")
    ap.add_argument("--json", type=Path, help="also write every row to this JSON file")
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = sorted(set(modes) - {"auto", "calibrated", "fixed"})
    if bad:
        raise SystemExit(f"--modes: unknown threshold mode(s) {bad}")
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    files = scenario_files(only, args.demo_models)
    work = args.work or Path(tempfile.mkdtemp(prefix="driftwarden-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    controls, events, runs = [], [], []
    total = time.monotonic()
    try:
        for name, path in files.items():
            for mode in modes:
                print(f"running {name} ({mode})…", file=sys.stderr, flush=True)
                r = run_one(name, path, mode, args.days, work)
                runs.append(
                    {
                        "run": name,
                        "mode": mode_label(mode),
                        "days": r.days,
                        "wall_s": round(r.wall_s, 1),
                        "status": r.status,
                        "episodes": len(r.episodes),
                        "evaluations": len(r.evaluations),
                    }
                )
                if r.status != 0:
                    print(f"  {name} ({mode}) exited {r.status}; see {r.log}", file=sys.stderr)
                if name.startswith("control_"):
                    controls.append(control_row(r))
                else:
                    events.extend(event_rows(r))
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(f"# Detection bench ({dt.date.today()}, baseline: thresholds fixed)\n")
    if controls:
        print("## False alert episodes on controls (nothing injected)\n")
        print(_md(controls, CONTROL_COLS) + "\n")
    if events:
        print("## Detection delay on the demo's events\n")
        print(_md(events, EVENT_COLS) + "\n")
    print("## Runs (whole process: `driftwarden demo --models FILE`)\n")
    print(
        _md(
            runs,
            [
                ("run", "run"),
                ("mode", "thresholds"),
                ("days", "days"),
                ("wall_s", "wall s"),
                ("status", "exit"),
                ("episodes", "episodes"),
                ("evaluations", "check evaluations"),
            ],
        )
    )
    print(f"\ntotal wall time {time.monotonic() - total:.0f}s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"controls": controls, "events": events, "runs": runs}, indent=2, default=str
            )
        )
    return 0 if all(r["status"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
