"""`driftwarden demo`: build a scenario's whole history through Dagster and score the monitors."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time

import dagster as dg
import pandas as pd

from monitoring_assets.core.config import ProjectConfig, load_project
from monitoring_assets.core.home import Home
from monitoring_assets.history import (  # noqa: F401  (range_tags: re-exported)
    evaluate_alerts,
    launch_requested,
    materialize_history,
    range_tags,
)
from monitoring_assets.instance import prepare_dagster_home
from monitoring_assets.scorecard import render, scorecard
from resources.warehouse import Warehouse, open_warehouse


def print_retraining(wh: Warehouse, out) -> None:
    """Each retraining run: challenger vs champion on the same holdout, and the decision."""
    runs = wh.query("SELECT * FROM retraining_runs ORDER BY finished_at")
    print(f"retraining runs: {len(runs)}", file=out)
    for r in runs.to_dict("records"):
        if pd.isna(r["challenger"]):  # nothing trained: the reason says why
            print(
                f"  {r['model']}: {r['decision']}, trigger {r['trigger']}, run {r['run_id']}",
                file=out,
            )
            print(f"    {r['reason']}", file=out)
            continue
        print(
            f"  {r['model']}: {r['challenger']} {r['decision']} — {r['metric']} "
            f"{r['champion']} {r['champion_value']:.3f} -> {r['challenger_value']:.3f} on "
            f"{r['n_holdout']} holdout rows (McNemar p={r['mcnemar_p_value']:.2g}), trained on "
            f"{pd.Timestamp(r['training_start']).date()}..{pd.Timestamp(r['training_end']).date()}, "
            f"trigger {r['trigger']}, run {r['run_id']}",
            file=out,
        )
        print(f"    {r['reason']}", file=out)
    print(file=out)


#: Episodes the demo lists, and critical ones it shows with their lineage.
SHOWN_ALERTS = 20
SHOWN_CRITICAL = 3


def print_alerts(home: Home, instance: dg.DagsterInstance, out) -> None:
    """How many episodes the replay recorded and what was paged or summarised, the first
    :data:`SHOWN_ALERTS` episodes one line each, then the first critical ones with their
    lineage; every count says what was left out."""
    from monitoring_assets.cli.alerts import render_alert
    from monitoring_assets.core.alerts.outbox import AlertStore

    store = AlertStore(open_warehouse(home.warehouse_location))
    alerts = store.list_alerts(limit=None)
    still_open = sum(1 for a in alerts if a.firing)
    history = sum(1 for a in alerts if a.backfill_group)
    print(
        f"alerts: {len(alerts)} episodes ({still_open} still open, "
        f"{len(alerts) - still_open} resolved); {history} opened on history older than the "
        "page window and are not paged",
        file=out,
    )
    outbox = store.outbox()
    kinds = outbox["kind"].value_counts().to_dict() if len(outbox) else {}
    print(
        "messages: "
        + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) if kinds else "none"),
        file=out,
    )
    for r in outbox[outbox["kind"] == "backfill"].drop_duplicates("group_id").to_dict("records"):
        print(f"  {r['channel']}: {json.loads(r['payload'])['title']}", file=out)
    for a in alerts[:SHOWN_ALERTS]:
        print(
            f"  {a.alert_id}  {a.status:<8} {a.tier:<8} {a.model}/{a.asset_key.split('/')[-1]}"
            f"  {a.check_name}  {a.episode}",
            file=out,
        )
    if len(alerts) > SHOWN_ALERTS:
        print(
            f"  … and {len(alerts) - SHOWN_ALERTS} more: driftwarden alerts list --all",
            file=out,
        )
    critical = [a for a in alerts if a.tier == "critical"]
    if critical:
        print(
            f"\ncritical episodes: {len(critical)}; the first {min(len(critical), SHOWN_CRITICAL)} "
            "with their lineage (driftwarden alerts show ID for the others)",
            file=out,
        )
    for a in critical[:SHOWN_CRITICAL]:
        print(file=out)
        print(render_alert(store, a, instance), file=out)
    print(file=out)


def first_days(project: ProjectConfig, days: int) -> ProjectConfig:
    """The project cut to each model's first ``days`` days, so its partitions and the due
    days of the freshness check end where the shortened demo stops building."""
    models = []
    for model in project.models:
        end = model.first_date + dt.timedelta(days=days)
        if model.last_date_exclusive is None or end < model.last_date_exclusive:
            model = model.model_copy(update={"end_date": end})
        models.append(model)
    return project.model_copy(update={"models": models})


def run_demo(
    home: Home | None = None,
    project: ProjectConfig | None = None,
    days: int | None = None,
    out=sys.stdout,
) -> int:
    """Materialize every model's history and print its scorecard; returns an exit code."""
    from monitoring_assets.definitions import build_definitions

    home = (home or Home.from_env()).ensure()
    prepare_dagster_home(home)
    project = project or load_project()
    if days is not None:
        project = first_days(project, days)
    defs = build_definitions(project, home)
    wh = open_warehouse(home.warehouse_location)
    wh.migrate()
    status = 0
    with dg.DagsterInstance.get() as instance:
        for model in project.models:
            pdef = defs.resolve_assets_def(
                dg.AssetKey([model.name, "inference_logs"])
            ).partitions_def
            keys = pdef.get_partition_keys()
            if days is not None:
                keys = keys[:days]
            print(
                f"driftwarden demo: {model.name} {model.version}, {len(keys)} days "
                f"({keys[0]} .. {keys[-1]}) in one run on {home.dagster_home}",
                file=out,
                flush=True,
            )
            started = time.monotonic()
            result = materialize_history(defs, instance, model.name, keys)
            took = time.monotonic() - started
            if not result.success:
                status = 1
                failure = result.get_run_failure_event()
                print(
                    f"run {result.run_id} FAILED after {took:.1f}s: "
                    f"{failure.message if failure else 'see the run in the UI'}",
                    file=out,
                )
                continue
            print(f"run {result.run_id} succeeded in {took:.1f}s\n", file=out, flush=True)
        print("check_failure_alerts: reading the check results…", file=out, flush=True)
        requests = evaluate_alerts(defs, instance)
        for req, res in launch_requested(defs, instance, requests):
            state = "succeeded" if res.success else "FAILED"
            print(f"  requested {req.job_name} ({req.run_key}): run {res.run_id} {state}", file=out)
        for model in project.models:
            pdef = defs.resolve_assets_def(
                dg.AssetKey([model.name, "inference_logs"])
            ).partitions_def
            keys = pdef.get_partition_keys()[: days or None]
            dates = [dt.date.fromisoformat(k) for k in keys]
            print(f"\nscorecard: {model.name}", file=out)
            print(render(scorecard(wh, model, dates)), file=out)
            print(file=out)
        print_retraining(wh, out)
        print_alerts(home, instance, out)
    print(
        "Open the UI on this instance:\n"
        f"  DAGSTER_HOME={home.dagster_home} DRIFTWARDEN_HOME={home.root} "
        "dagster dev -w workspace.yaml\n"
        "or simply: driftwarden ui",
        file=out,
    )
    return status
