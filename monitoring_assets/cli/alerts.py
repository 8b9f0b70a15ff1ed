"""``driftwarden alerts list``, ``show ID`` (an alert with its lineage and messages) and
``retry`` (send failed messages again)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from typing import Any, TextIO, get_args

from monitoring_assets.core.alerts.episodes import episode_fields
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import ChannelName
from monitoring_assets.core.alerts.routing import BACKFILL_PENDING, Alert
from monitoring_assets.core.home import Home
from resources.warehouse import open_warehouse

# The tag Dagster puts on runs a sensor requested with a run_key.
RUN_KEY_TAG = "dagster/run_key"


def add_cli(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``alerts`` command (``list``, ``show``) on an argparse subparsers object."""
    alerts = subparsers.add_parser("alerts", help="list alerts and show one with its lineage")
    alerts.add_argument("--warehouse", help="DuckDB file (default: $DRIFTWARDEN_HOME's)")
    sub = alerts.add_subparsers(dest="alerts_command", required=True)
    ls = sub.add_parser("list", help="newest alerts first (the first 50; --all for every one)")
    ls.add_argument("--model", help="only this model's alerts")
    ls.add_argument(
        "--status",
        choices=list(STATUSES),
        help="open (= firing) or resolved",
    )
    ls.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="only episodes whose latest failing partition is on or after DATE (YYYY-MM-DD)",
    )
    ls.add_argument("--limit", type=_positive, default=50, help="show at most this many")
    ls.add_argument("--all", action="store_true", help="show every matching alert")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    ls.set_defaults(func=cmd_list)
    show = sub.add_parser("show", help="one alert with its lineage, messages and actions")
    show.add_argument("alert_id", help="alert id (a unique prefix is enough)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)
    retry = sub.add_parser(
        "retry", help="queue failed messages again (after fixing a channel), all or one channel's"
    )
    retry.add_argument("--channel", choices=list(get_args(ChannelName)))
    retry.set_defaults(func=cmd_retry)
    return alerts


#: ``--status`` values and the stored status each selects.
STATUSES = {"open": "firing", "firing": "firing", "resolved": "resolved"}


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--since {text!r}: expected a date YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"--limit {text!r}: expected a whole number >= 1")
    return n


def _store(args: argparse.Namespace) -> AlertStore:
    path = getattr(args, "warehouse", None) or Home.from_env().warehouse_location
    return AlertStore(open_warehouse(path))


def cmd_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print alerts as a table (or JSON lines)."""
    out = out or sys.stdout
    store = _store(args)
    status = STATUSES.get(args.status) if getattr(args, "status", None) else None
    since = getattr(args, "since", None)
    limit = None if getattr(args, "all", False) else args.limit
    alerts = store.list_alerts(args.model, status, limit, since)
    total = store.count_alerts(args.model, status, since) if limit is not None else len(alerts)
    if args.json:
        for a in alerts:
            out.write(json.dumps(_brief(a)) + "\n")
        # JSON lines stay data only: what was left out goes to stderr.
        if total > len(alerts):
            sys.stderr.write(_more(total - len(alerts)) + "\n")
        return 0
    if not alerts:
        out.write("no alerts\n")
        return 0
    out.write(
        f"{'ID':<13}{'TIER':<9}{'STATUS':<9}{'MODEL':<12}{'ONSET':<11}{'LATEST':<11}"
        f"{'COUNT':>6}{'DAYS':>5}  {'CHECK':<34}OPENED\n"
    )
    for a in alerts:
        days = a.duration_days
        out.write(
            f"{a.alert_id:<13}{a.tier:<9}{a.status:<9}{a.model:<12}"
            f"{(a.onset_partition or '-')[:10]:<11}{(a.partition_key or '-')[:10]:<11}"
            f"{a.failures:>6}{'-' if days is None else days:>5}  "
            f"{a.check_name[:33]:<34}{a.opened_at:%Y-%m-%d %H:%M}\n"
        )
    if total > len(alerts):
        out.write(_more(total - len(alerts)) + "\n")
    return 0


def _more(n: int) -> str:
    return f"… and {n} more; --all to show them"


def cmd_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print one alert with its lineage, its messages and any run it requested."""
    out = out or sys.stdout
    store = _store(args)
    alert = store.get_alert(args.alert_id)
    if alert is None:
        sys.stderr.write(f"no single alert matches {args.alert_id!r}\n")
        return 1
    if args.json:
        deliveries = store.deliveries_for(alert)
        actions = store.actions_for(alert)
        doc = {
            **_brief(alert),
            "lineage": alert.lineage,
            "causes": alert.causes,
            "deliveries": json.loads(deliveries.to_json(orient="records", date_format="iso")),
            "actions": json.loads(actions.to_json(orient="records", date_format="iso")),
        }
        out.write(json.dumps(doc, indent=2) + "\n")
        return 0
    out.write(render_alert(store, alert, _instance()) + "\n")
    return 0


def cmd_retry(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Put failed messages back in the outbox with fresh attempts."""
    out = out or sys.stdout
    n = _store(args).requeue(args.channel)
    which = f"{args.channel} " if args.channel else ""
    out.write(f"{n} failed {which}message(s) queued again; the next sensor tick sends them\n")
    return 0


def _instance() -> Any:
    # Only an instance that already exists: the CLI must not create a DAGSTER_HOME.
    if not os.environ.get("DAGSTER_HOME"):
        return None
    import dagster as dg

    return dg.DagsterInstance.get()


def render_alert(store: AlertStore, alert: Alert, instance: Any = None) -> str:
    """An alert with its lineage, messages and actions as text (the CLI and the demo).

    With a Dagster ``instance``, each requested run is shown with its id and status.
    """
    lin = alert.lineage
    lines = [
        f"alert {alert.alert_id}  [{alert.status}]  tier {alert.tier}  severity {alert.severity}",
        f"  {alert.summary}",
        f"  model        {alert.model} {alert.model_version}",
        f"  asset        {alert.asset_key}",
        f"  check        {alert.check_name}",
        f"  episode      {alert.episode}",
        f"  opened       {alert.opened_at:%Y-%m-%d %H:%M:%S} UTC",
    ]
    if lin.get("segment"):
        lines.append(f"  segment      {lin['segment']}")
    if alert.backfill_group:
        lines.append(
            "  history      opened on a partition older than the page window: reported in a "
            "backfill summary"
            + ("" if alert.backfill_group == BACKFILL_PENDING else f" ({alert.backfill_group})")
            + ", not paged while its latest failing partition is history"
        )
    if alert.resolved_at:
        lines.append(f"  resolved     {alert.resolved_at:%Y-%m-%d %H:%M:%S} UTC")
    if alert.owners:
        lines.append(f"  owners       {', '.join(alert.owners)}")
    for i, c in enumerate(alert.causes, start=1):
        lines.append(f"  cause {i:<6} {c.get('text') or c.get('name')}")
    for k, v in (lin.get("values") or {}).items():
        lines.append(f"  value        {k} = {v:.6g}")
    for k, v in (lin.get("thresholds") or {}).items():
        lines.append(f"  threshold    {k} = {v:.6g}")
    lines.append(f"  run          {lin.get('run_id') or '-'}")
    mat = lin.get("materialization") or {}
    if mat:
        lines.append(
            f"  checked      materialization {mat.get('storage_id')} of run {mat.get('run_id')}"
            f" (data version {mat.get('data_version') or '-'})"
        )
    up = lin.get("upstream_inference_logs") or {}
    if up:
        lines.append(
            f"  upstream     {up.get('asset_key')} partition {up.get('partition')} "
            f"data version {up.get('data_version') or '-'}"
            + (" (the day's own content hash)" if up.get("data_version_source") else "")
        )
    if lin.get("report_path"):
        lines.append(f"  report       {lin['report_path']}")
    for name, url in (lin.get("links") or {}).items():
        lines.append(f"  link         {name}: {url}")
    for d in store.deliveries_for(alert).to_dict("records"):
        err = f"  ({d['last_error']})" if d.get("last_error") else ""
        lines.append(f"  message      {d['channel']} {d['kind']} {d['status']}{err}")
    for a in store.actions_for(alert).to_dict("records"):
        lines.append(f"  action       {a['kind']} {a['status']} run_key {a['run_key']}")
        for run_id, status in _runs_for(instance, a["run_key"]):
            lines.append(f"  triggered    run {run_id} {status}")
    return "\n".join(lines)


def _runs_for(instance: Any, run_key: str) -> list[tuple[str, str]]:
    if instance is None:
        return []
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=5)
    return [(r.run_id, r.status.value) for r in runs]


def _brief(a: Alert) -> dict[str, Any]:
    return {
        "alert_id": a.alert_id,
        "model": a.model,
        "tier": a.tier,
        "status": a.status,
        "severity": a.severity,
        "asset_key": a.asset_key,
        "check": a.check_name,
        "partition": a.partition_key,
        **episode_fields(a),
        "opened_at": a.opened_at.isoformat(),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "summary": a.summary,
        "action": a.action,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the alerts CLI on its own (``python -m monitoring_assets.cli.alerts``)."""
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
