"""Alert state in the warehouse: the ``alerts`` table, the outbox and its delivery loop.

The sensor writes alert records and the messages they need into the warehouse in
one transaction, then delivers from the outbox. A message is marked delivered only
after its channel accepted it, so a crash between the two re-sends it once at
most; channels with idempotency keys (PagerDuty ``dedup_key``, Alertmanager label
sets) turn that repeat into a no-op. Retryable failures back off exponentially
(or by ``Retry-After``) and are never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd

from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.routing import ActionRequest, Alert, CheckState, Notification
from monitoring_assets.core.tables import ALERT_ACTIONS, ALERT_CHECK_STATE, ALERT_OUTBOX, ALERTS
from resources.notifiers import Channel, DeliveryError
from resources.warehouse import Warehouse

log = logging.getLogger("driftwarden.alerts")


ALERT_TABLES = (ALERTS, ALERT_CHECK_STATE, ALERT_OUTBOX, ALERT_ACTIONS)
_JSON_COLUMNS = {"channels", "owners", "lineage"}
_TS_COLUMNS = {c for c, t in ALERTS.columns.items() if t == "TIMESTAMP"}


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


def _naive(ts: dt.datetime | None) -> dt.datetime | None:
    # The warehouse stores UTC without a zone (portable TIMESTAMP).
    if ts is None:
        return None
    return ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts


def _aware(value: Any) -> dt.datetime | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).to_pydatetime().replace(tzinfo=dt.UTC)


def _clean(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list | dict | str) and pd.isna(value):
        return None
    return value


def alert_to_row(alert: Alert) -> dict[str, Any]:
    """An :class:`Alert` as an ``alerts`` row."""
    row: dict[str, Any] = {}
    for f in fields(Alert):
        value = getattr(alert, f.name)
        if f.name in _JSON_COLUMNS:
            value = json.dumps(value, default=str, sort_keys=True)
        elif f.name in _TS_COLUMNS:
            value = _naive(value)
        row[f.name] = value
    return row


def row_to_alert(row: Mapping[str, Any]) -> Alert:
    """An ``alerts`` row as an :class:`Alert`."""
    kw: dict[str, Any] = {}
    for f in fields(Alert):
        value = _clean(row.get(f.name))
        if f.name in _JSON_COLUMNS:
            value = json.loads(value) if value else ({} if f.name == "lineage" else [])
        elif f.name in _TS_COLUMNS:
            value = _aware(value)
        elif f.name in ("trigger_event_id", "last_event_id", "failures", "notify_count"):
            value = int(value or 0)
        elif f.name == "resolve_event_id":
            value = int(value) if value is not None else None
        elif f.name in ("muted", "resolve_notified"):
            value = bool(value)
        elif value is None:
            value = ""
        kw[f.name] = value
    return Alert(**kw)


@dataclass(frozen=True)
class OutboxRow:
    """One pending message."""

    delivery_id: str
    group_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int


class AlertStore:
    """Reads and writes the alert tables of one warehouse."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._migrated = False

    def migrate(self) -> None:
        if not self._migrated:
            self.warehouse.migrate(ALERT_TABLES)
            self._migrated = True

    # ------------------------------------------------------------------ alert state

    def active_alerts(self) -> list[Alert]:
        """Firing alerts and resolved ones whose resolution is not announced yet."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT * FROM alerts WHERE status = 'firing' OR NOT resolve_notified"
        )
        return [row_to_alert(r) for r in df.to_dict("records")]

    def states(self) -> list[CheckState]:
        self.migrate()
        df = self.warehouse.query("SELECT * FROM alert_check_state")
        return [
            CheckState(
                r["fingerprint"],
                r["partition_key"] or "",
                int(r["last_event_id"]),
                bool(r["passed"]),
            )
            for r in df.to_dict("records")
        ]

    def last_notified(self) -> dict[str, dt.datetime]:
        """Fingerprint -> time of its last message, across episodes (for the cooldown)."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT fingerprint, max(last_notified_at) AS t FROM alerts "
            "WHERE last_notified_at IS NOT NULL GROUP BY fingerprint"
        )
        return {r["fingerprint"]: _aware(r["t"]) for r in df.to_dict("records")}  # type: ignore[misc]

    def open_groups(self) -> set[str]:
        self.migrate()
        df = self.warehouse.query(
            "SELECT DISTINCT notify_group FROM alerts WHERE status = 'firing' AND notify_group <> ''"
        )
        return set(df.notify_group)

    def save(
        self,
        alerts: Iterable[Alert] = (),
        states: Iterable[CheckState] = (),
        notifications: Iterable[Notification] = (),
        now: dt.datetime | None = None,
    ) -> None:
        """Write alert rows, check states and new outbox messages in one transaction."""
        self.migrate()
        now_naive = _naive(now or utcnow())
        alert_rows = pd.DataFrame(
            [alert_to_row(a) for a in {a.alert_id: a for a in alerts}.values()],
            columns=list(ALERTS.columns),
        )
        state_rows = pd.DataFrame(
            [
                {
                    "fingerprint": s.fingerprint,
                    "partition_key": s.partition_key,
                    "last_event_id": s.last_event_id,
                    "passed": s.passed,
                }
                for s in {s.fingerprint: s for s in states}.values()
            ],
            columns=list(ALERT_CHECK_STATE.columns),
        )
        outbox_rows = pd.DataFrame(
            [
                {
                    "delivery_id": n.delivery_id,
                    "group_id": n.group_id,
                    "channel": n.channel,
                    "kind": n.kind,
                    "payload": json.dumps(n.payload, default=str, sort_keys=True),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now_naive,
                    "last_error": "",
                    "created_at": now_naive,
                    "delivered_at": None,
                    "external_ref": None,
                }
                for n in {n.delivery_id: n for n in notifications}.values()
            ],
            columns=list(ALERT_OUTBOX.columns),
        )
        with self.warehouse.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table, frame, key in (
                    ("alerts", alert_rows, "alert_id"),
                    ("alert_check_state", state_rows, "fingerprint"),
                ):
                    if len(frame):
                        con.register("_incoming", frame)
                        con.execute(
                            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM _incoming)"
                        )
                        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
                        con.unregister("_incoming")
                if len(outbox_rows):
                    # A message planned twice (a replayed tick) keeps its first row and state.
                    con.register("_incoming", outbox_rows)
                    con.execute(
                        "INSERT INTO alert_outbox BY NAME SELECT * FROM _incoming "
                        "WHERE delivery_id NOT IN (SELECT delivery_id FROM alert_outbox)"
                    )
                    con.unregister("_incoming")
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ actions

    def last_action(self, model: str, kind: str) -> dt.datetime | None:
        """When a run of ``kind`` was last requested for ``model``."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT max(requested_at) AS t FROM alert_actions "
            "WHERE model = ? AND kind = ? AND status = 'requested'",
            [model, kind],
        )
        return _aware(df.t.iloc[0]) if len(df) else None

    def action_recorded(self, run_key: str) -> bool:
        self.migrate()
        df = self.warehouse.query("SELECT 1 FROM alert_actions WHERE run_key = ?", [run_key])
        return len(df) > 0

    def record_action(self, action: ActionRequest, status: str, now: dt.datetime) -> None:
        self.migrate()
        self.warehouse.execute(
            "INSERT INTO alert_actions SELECT ?, ?, ?, ?, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM alert_actions WHERE run_key = ?)",
            [
                action.run_key,
                action.kind,
                action.model,
                action.alert_id,
                action.trigger_event_id,
                _naive(now),
                status,
                action.run_key,
            ],
        )
        self.warehouse.execute(
            "UPDATE alerts SET action = ? WHERE alert_id = ?",
            [f"{action.kind}:{status}:{action.run_key}", action.alert_id],
        )

    # ------------------------------------------------------------------ outbox

    def due(self, now: dt.datetime, limit: int) -> list[OutboxRow]:
        """Pending messages whose next attempt is due, oldest first."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT delivery_id, group_id, channel, kind, payload, attempts FROM alert_outbox "
            "WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY created_at, delivery_id LIMIT ?",
            [_naive(now), limit],
        )
        return [
            OutboxRow(
                r["delivery_id"],
                r["group_id"],
                r["channel"],
                r["kind"],
                json.loads(r["payload"]),
                int(r["attempts"]),
            )
            for r in df.to_dict("records")
        ]

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        self.migrate()
        df = self.warehouse.query("SELECT * FROM alert_outbox WHERE delivery_id = ?", [delivery_id])
        return df.to_dict("records")[0] if len(df) else None

    def mark_delivered(self, delivery_id: str, ref: str | None, now: dt.datetime) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET status = 'delivered', delivered_at = ?, external_ref = ?, "
            "attempts = attempts + 1, last_error = '' WHERE delivery_id = ?",
            [_naive(now), ref, delivery_id],
        )

    def mark_retry(self, delivery_id: str, error: str, next_at: dt.datetime) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE delivery_id = ?",
            [error, _naive(next_at), delivery_id],
        )

    def mark_failed(self, delivery_id: str, error: str) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET status = 'failed', attempts = attempts + 1, last_error = ? "
            "WHERE delivery_id = ?",
            [error, delivery_id],
        )

    def outbox(self, status: str | None = None) -> pd.DataFrame:
        """The outbox (optionally one status), for tests, the CLI and metrics."""
        self.migrate()
        if status:
            return self.warehouse.query(
                "SELECT * FROM alert_outbox WHERE status = ? ORDER BY created_at", [status]
            )
        return self.warehouse.query("SELECT * FROM alert_outbox ORDER BY created_at")

    # ------------------------------------------------------------------ reading

    def list_alerts(
        self, model: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[Alert]:
        """Newest alerts first, optionally filtered by model and status."""
        self.migrate()
        where, params = [], []
        if model:
            where.append("model = ?")
            params.append(model)
        if status:
            where.append("status = ?")
            params.append(status)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        df = self.warehouse.query(
            f"SELECT * FROM alerts {clause} ORDER BY opened_at DESC, alert_id LIMIT ?",
            [*params, limit],
        )
        return [row_to_alert(r) for r in df.to_dict("records")]

    def get_alert(self, alert_id: str) -> Alert | None:
        """One alert by id (a unique prefix is enough)."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT * FROM alerts WHERE alert_id LIKE ? ORDER BY alert_id LIMIT 2", [f"{alert_id}%"]
        )
        if len(df) != 1:
            return None
        return row_to_alert(df.to_dict("records")[0])

    def alerts_between(self, start: dt.datetime, end: dt.datetime) -> list[Alert]:
        """Alerts opened, still firing, or resolved within ``[start, end)``."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT * FROM alerts WHERE (opened_at >= ? AND opened_at < ?) "
            "OR (resolved_at >= ? AND resolved_at < ?) OR (status = 'firing' AND opened_at < ?) "
            "ORDER BY model, opened_at",
            [_naive(start), _naive(end), _naive(start), _naive(end), _naive(end)],
        )
        return [row_to_alert(r) for r in df.to_dict("records")]

    def deliveries_for(self, alert: Alert) -> pd.DataFrame:
        """Outbox rows that mention ``alert``."""
        self.migrate()
        return self.warehouse.query(
            "SELECT delivery_id, channel, kind, status, attempts, last_error, delivered_at "
            "FROM alert_outbox WHERE payload LIKE ? ORDER BY created_at",
            [f'%"alert_id": "{alert.alert_id}"%'],
        )

    def actions_for(self, alert: Alert) -> pd.DataFrame:
        self.migrate()
        return self.warehouse.query(
            "SELECT * FROM alert_actions WHERE alert_id = ?", [alert.alert_id]
        )


# --------------------------------------------------------------------------- delivery


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] | None = None

    def __post_init__(self) -> None:
        self.errors = self.errors or []


def backoff(policy: AlertPolicy, attempts: int) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed attempts, capped by the policy."""
    base = policy.delivery.base_backoff.total_seconds()
    cap = policy.delivery.max_backoff.total_seconds()
    return dt.timedelta(seconds=min(cap, base * (2 ** max(attempts - 1, 0))))


def deliver_pending(
    store: AlertStore,
    channels: Mapping[str, Channel],
    policy: AlertPolicy,
    now: Callable[[], dt.datetime] = utcnow,
    missing: Mapping[str, str] | None = None,
) -> DeliveryReport:
    """Send every due outbox message; record each result as soon as it is known.

    ``channels`` are the configured channels by name; ``missing`` explains why a
    named channel is unavailable (e.g. its token variable is unset) so the message
    fails with that reason instead of waiting forever.
    """
    report = DeliveryReport()
    down: set[str] = set()
    missing = missing or {}
    for row in store.due(now(), policy.delivery.batch):
        if row.channel in down:
            continue  # the channel just failed: keep order, do not hammer it this tick
        channel = channels.get(row.channel)
        if channel is None:
            reason = missing.get(row.channel, f"channel {row.channel!r} is not configured")
            store.mark_failed(row.delivery_id, reason)
            report.failed += 1
            report.errors.append(f"{row.channel}: {reason}")  # type: ignore[union-attr]
            continue
        origin_ref = None
        if row.kind in ("resolved", "renotify"):
            origin = store.delivery(
                stable_id("delivery", row.payload["origin_group_id"], row.channel)
            )
            if origin is not None:
                if origin["status"] == "pending" and row.kind == "resolved":
                    # Resolve after the message it answers, so Slack can thread it.
                    store.mark_retry(row.delivery_id, "waiting for the firing message", now())
                    continue
                origin_ref = _clean(origin.get("external_ref"))
        try:
            ref = channel.send(row.payload, origin_ref=origin_ref)
        except DeliveryError as exc:
            msg = str(exc)
            if exc.retryable:
                wait = backoff(policy, row.attempts + 1)
                if exc.retry_after is not None:
                    wait = max(wait, dt.timedelta(seconds=exc.retry_after))
                store.mark_retry(row.delivery_id, msg, now() + wait)
                report.retrying += 1
                down.add(row.channel)
            else:
                store.mark_failed(row.delivery_id, msg)
                report.failed += 1
            report.errors.append(f"{row.channel}: {msg}")  # type: ignore[union-attr]
            log.warning("alert delivery %s via %s: %s", row.delivery_id, row.channel, msg)
            continue
        store.mark_delivered(row.delivery_id, ref, now())
        report.delivered += 1
    return report


def sleep_seconds(seconds: float) -> None:
    """Indirection so tests can observe waits."""
    time.sleep(seconds)
