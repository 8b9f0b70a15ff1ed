"""``driftwarden run``: monitor a model's days without the UI or the daemon.

For each model (or ``--model``): materialize its ``reference_data`` when the instance
has none for the configured version, then ``monitor_<model>`` over the range as one run,
then tick the ``check_failure_alerts`` sensor (the daemon's own function, its cursor kept
in the Dagster instance) and run what it requested. It works on ``DRIFTWARDEN_HOME``'s
Dagster instance (``<home>/dagster``), as ``driftwarden demo`` and ``driftwarden ui``
do, so the UI opened afterwards shows these runs and the daemon goes on from the same
cursor.

Exit status: 0 when every run succeeded, 1 when one failed, 2 for bad input (an
unreadable model file, an unknown model, a bad date or a range outside the model's days).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

USAGE = "driftwarden run [--model M] [--from D1 --to D2 | --day D] [--models FILE]"


class RunInputError(ValueError):
    """Bad input for ``driftwarden run``; the message says which argument and why."""


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``run`` on an argparse subparsers object."""
    run = subparsers.add_parser(
        "run",
        help="monitor a model's days (default: from its start to yesterday), then evaluate alerts",
        description=(
            "Materialize the reference (if needed) and the days in one run per model, then "
            "evaluate alerts as the daemon's check_failure_alerts sensor does."
        ),
    )
    run.add_argument("--model", help="only this model (default: every model in the file)")
    run.add_argument("--from", dest="start", metavar="D1", help="first day, YYYY-MM-DD")
    run.add_argument("--to", dest="end", metavar="D2", help="last day, YYYY-MM-DD (inclusive)")
    run.add_argument("--day", metavar="D", help="just this day (instead of --from/--to)")
    run.add_argument("--models", help="model file (default: $DRIFTWARDEN_MODELS or the churn demo)")
    run.add_argument("--verbose", action="store_true", help="also print Dagster's run logs")
    run.set_defaults(func=cmd_run)
    return run


# --------------------------------------------------------------------------- the range


def parse_day(value: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RunInputError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def plan_days(
    model_name: str,
    first: dt.date,
    available: list[str],
    start: str | None = None,
    end: str | None = None,
    day: str | None = None,
) -> list[str]:
    """The partition keys to run: ``--day``, or ``--from``..``--to`` (each defaulting to
    the model's first / last available day). ``first`` is the model's first day;
    ``available`` its partition keys that exist now (up to yesterday or the source's end)."""
    if day is not None and (start is not None or end is not None):
        raise RunInputError("give --day or --from/--to, not both")
    if day is not None:
        start = end = day
    lo = parse_day(start, "--from" if day is None else "--day") if start else first
    if not available:
        raise RunInputError(
            f"model {model_name!r} has no complete day yet: its first day {first} is not over"
        )
    last = dt.date.fromisoformat(available[-1])
    hi = parse_day(end, "--to" if day is None else "--day") if end else last
    if lo > hi:
        raise RunInputError(f"--from {lo} is after --to {hi}")
    if lo < first:
        raise RunInputError(
            f"{'--day' if day else '--from'} {lo} is before model {model_name!r}'s first day "
            f"{first} (its start_date)"
        )
    if hi > last:
        raise RunInputError(
            f"{'--day' if day else '--to'} {hi} is after model {model_name!r}'s last complete "
            f"day {last} (yesterday, or the day before its end_date)"
        )
    keys = [k for k in available if lo <= dt.date.fromisoformat(k) <= hi]
    if not keys:
        raise RunInputError(f"model {model_name!r} has no partitions in {lo}..{hi}")
    return keys


# --------------------------------------------------------------------------- the run


@dataclass
class ModelSummary:
    """What one model's range run found."""

    model: str
    days: list[str]
    succeeded: bool = True
    drifted_days: set[str] = field(default_factory=set)
    failed_checks: Counter = field(default_factory=Counter)  # severity -> count

    def line(self) -> str:
        failed = ", ".join(f"{n} {sev}" for sev, n in sorted(self.failed_checks.items())) or "none"
        state = "" if self.succeeded else " (the run FAILED)"
        return (
            f"{self.model}: {len(self.days)} day(s) {self.days[0]}..{self.days[-1]}{state}, "
            f"{len(self.drifted_days)} drifted day(s), checks failed: {failed}"
        )


def cmd_run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    # Dagster's beta/preview notices are about Dagster's API, not about the run.
    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from monitoring_assets.core.config import ConfigError, load_project

    try:
        project = load_project(args.models)
    except ConfigError as exc:
        print(f"driftwarden run: {exc}", file=sys.stderr)
        return 2
    if args.models:
        os.environ["DRIFTWARDEN_MODELS"] = str(Path(args.models).resolve())
    if args.model is not None and args.model not in {m.name for m in project.models}:
        names = ", ".join(m.name for m in project.models)
        print(
            f"driftwarden run: no model named {args.model!r} in the model file; "
            f"configured: {names}",
            file=sys.stderr,
        )
        return 2
    models = [m for m in project.models if args.model in (None, m.name)]
    # Bad dates are caught before anything runs.
    try:
        plans = [
            (m, plan_days(m.name, m.first_date, _available(m), args.start, args.end, args.day))
            for m in models
        ]
    except RunInputError as exc:
        print(f"driftwarden run: {exc}", file=sys.stderr)
        return 2
    return _execute(args, project, plans, out)


def _available(model) -> list[str]:
    from monitoring_assets.monitors.inference import partitions_for

    return partitions_for(model).get_partition_keys()


def _home(args: argparse.Namespace):
    from monitoring_assets import cli

    return cli._home(args)


def _execute(args, project, plans, out: TextIO) -> int:
    import dagster as dg

    from monitoring_assets.core.alerts.outbox import AlertStore
    from monitoring_assets.core.alerts.policy import load_policy
    from monitoring_assets.definitions import build_definitions
    from monitoring_assets.history import evaluate_alerts, launch_requested
    from monitoring_assets.instance import open_dagster_home
    from resources.warehouse import open_warehouse

    home = _home(args).ensure()
    open_dagster_home(home)  # sets DAGSTER_HOME; ends runs killed since the last start
    defs = build_definitions(project, home)
    wh = open_warehouse(home.warehouse_location)
    wh.migrate()
    store = AlertStore(wh)
    before = {a.alert_id for a in store.list_alerts(limit=100_000)}
    policy = load_policy()
    log_level = "INFO" if args.verbose else "ERROR"
    print(f"driftwarden run: home {home.root} (Dagster instance {home.dagster_home})", file=out)
    status = 0
    summaries: list[ModelSummary] = []
    with dg.DagsterInstance.get() as instance:
        for model, keys in plans:
            ok = _reference(defs, instance, model, log_level, out)
            if not ok:
                status = 1
                summaries.append(ModelSummary(model.name, keys, succeeded=False))
                continue
            summary = _range(defs, instance, model, keys, policy, log_level, out)
            summaries.append(summary)
            if not summary.succeeded:
                status = 1
        print("check_failure_alerts: reading the check evaluations…", file=out, flush=True)
        dagster_log = logging.getLogger("dagster")
        level = dagster_log.level
        if not args.verbose:  # the sensor's own tick log lines
            dagster_log.setLevel(logging.WARNING)
        try:
            requests = evaluate_alerts(defs, instance)
        finally:
            dagster_log.setLevel(level)
        for req, res in launch_requested(defs, instance, requests):
            state = "succeeded" if res.success else "FAILED"
            print(f"  requested {req.job_name} ({req.run_key}): run {res.run_id} {state}", file=out)
    after = store.list_alerts(limit=100_000)
    opened = [a for a in after if a.alert_id not in before]
    firing = sum(1 for a in after if a.status == "firing")
    by_tier = Counter(a.tier for a in opened)
    tiers = ", ".join(f"{n} {t}" for t, n in sorted(by_tier.items()))
    print("\nsummary", file=out)
    for s in summaries:
        print(f"  {s.line()}", file=out)
    print(
        f"  alerts opened: {len(opened)}{f' ({tiers})' if tiers else ''}; firing now: {firing}"
        " — see `driftwarden alerts list`",
        file=out,
    )
    return status


def _reference(defs, instance, model, log_level: str, out: TextIO) -> bool:
    """Materialize ``reference_data`` unless the instance has it for ``model.version``."""
    import dagster as dg

    key = dg.AssetKey([model.name, "reference_data"])
    event = instance.get_latest_materialization_event(key)
    mat = event.asset_materialization if event else None
    have = mat.metadata.get("model_version") if mat else None
    if have is not None and getattr(have, "value", have) == model.version:
        print(f"[{model.name}] reference_data: up to date ({model.version})", file=out)
        return True
    started = time.monotonic()
    job = defs.resolve_job_def(f"monitor_{model.name}")
    result = job.execute_in_process(
        instance=instance,
        tags={"driftwarden/trigger": "run"},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        asset_selection=[key],
        raise_on_error=False,
    )
    took = time.monotonic() - started
    if not result.success:
        print(
            f"[{model.name}] reference_data: run {result.run_id} FAILED after {took:.1f}s: "
            f"{_failure(result)}",
            file=out,
        )
        return False
    print(
        f"[{model.name}] reference_data: materialized in {took:.1f}s (run {result.run_id})",
        file=out,
        flush=True,
    )
    return True


def _range(defs, instance, model, keys, policy, log_level: str, out: TextIO) -> ModelSummary:
    import dagster as dg

    from monitoring_assets.history import materialize_history

    job = defs.resolve_job_def(f"monitor_{model.name}")
    reference = dg.AssetKey([model.name, "reference_data"])
    selection = [k for k in job.asset_layer.executable_asset_keys if k != reference]
    print(
        f"[{model.name}] {keys[0]} .. {keys[-1]}: {len(keys)} day(s) in one run…",
        file=out,
        flush=True,
    )
    started = time.monotonic()
    result = materialize_history(
        defs,
        instance,
        model.name,
        keys,
        log_level=log_level,
        trigger="run",
        asset_selection=selection,
    )
    took = time.monotonic() - started
    summary = ModelSummary(model.name, keys, succeeded=result.success)
    if not result.success:
        print(
            f"[{model.name}] run {result.run_id} FAILED after {took:.1f}s: {_failure(result)}",
            file=out,
        )
    else:
        print(f"[{model.name}] run {result.run_id} succeeded in {took:.1f}s", file=out, flush=True)
    for ev in result.get_asset_check_evaluations():
        if ev.passed:
            continue
        summary.failed_checks[ev.severity.value] += 1
        if ev.partition and policy.category(ev.asset_key.path[-1], ev.check_name) == "drift":
            summary.drifted_days.add(ev.partition)
    return summary


def _failure(result) -> str:
    failure = result.get_run_failure_event()
    steps = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if steps:
        data = steps[0].step_failure_data
        user = data.user_failure_data
        if user is not None and user.description:
            return f"{steps[0].step_key}: {user.description}"
        if data.error is not None:
            return f"{steps[0].step_key}: {data.error.message.strip()}"
    return failure.message if failure else "see the run in the UI (driftwarden ui)"
