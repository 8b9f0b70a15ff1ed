"""Alert state in the warehouse: the ``alerts`` table, check states, actions, the outbox
and channel health, read and written by :class:`AlertStore`.

The sensor writes alert records and the messages they need into the warehouse in
one transaction (:meth:`AlertStore.save`); the outbox is the queue that
:mod:`~monitoring_assets.core.alerts.delivery` sends from, and each message's
status, attempts and next attempt are kept here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monitoring_assets.core.alerts.notifications import Notification
from monitoring_assets.core.alerts.policy import TIERS
from monitoring_assets.core.alerts.routing import BACKFILL_PENDING, ActionRequest, Alert, CheckState
from monitoring_assets.core.alerts.rows import (
    alert_to_row,
    aware_utc,
    cell,
    naive_utc,
    row_to_alert,
    utcnow,
)
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import (
    ALERT_ACTIONS,
    ALERT_CHANNEL_HEALTH,
    ALERT_CHECK_STATE,
    ALERT_OUTBOX,
    ALERTS,
)

ALERT_TABLES = (ALERTS, ALERT_CHECK_STATE, ALERT_OUTBOX, ALERT_ACTIONS, ALERT_CHANNEL_HEALTH)


@dataclass(frozen=True)
class OutboxRow:
    """One pending message; ``problem`` says why its stored payload cannot be sent."""

    delivery_id: str
    group_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    created_at: dt.datetime | None = None
    problem: str = ""

    @property
    def tier(self) -> str:
        tier = self.payload.get("tier")
        return tier if tier in TIERS else "warning"


@dataclass(frozen=True)
class ChannelHealth:
    """A row of ``alert_channel_health``."""

    channel: str
    status: str
    failing_since: dt.datetime
    last_failure_at: dt.datetime
    last_error: str
    failures: int
    tier: str
    announced_group: str = ""
    recovered_at: dt.datetime | None = None


class AlertStore:
    """Reads and writes the alert tables of one warehouse."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._migrated = False

    def migrate(self) -> None:
        """Create the alert tables, and add the ``alerts`` columns an older table lacks.

        Postgres adds them in its own migrate; DuckDB only creates missing tables.
        An added episode column stays NULL on older rows (their onset was not recorded).
        """
        if not self._migrated:
            self.warehouse.migrate(ALERT_TABLES)
            have = set(self.warehouse.query("SELECT * FROM alerts LIMIT 0").columns)
            for col, typ in ALERTS.columns.items():
                if col not in have:
                    self.warehouse.execute(f"ALTER TABLE alerts ADD COLUMN {col} {typ}")
            self._migrated = True

    # ------------------------------------------------------------------ alert state

    def active_alerts(self) -> list[Alert]:
        """Firing alerts and resolved ones whose resolution is not announced yet."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT * FROM alerts WHERE status = 'firing' OR NOT resolve_notified"
        )
        return [row_to_alert(r) for r in df.to_dict("records")]

    def pending_backfill(self) -> list[Alert]:
        """Episodes that opened on history and await their backfill summary."""
        self.migrate()
        df = self.warehouse.query(
            "SELECT * FROM alerts WHERE backfill_group = ?", [BACKFILL_PENDING]
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
        return {r["fingerprint"]: aware_utc(r["t"]) for r in df.to_dict("records")}  # type: ignore[misc]

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
        now_naive = naive_utc(now or utcnow())
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
                naive_utc(now),
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
        """Pending messages whose next attempt is due, oldest first.

        A row whose payload does not parse comes back with ``problem`` set, so the
        delivery loop fails that one message instead of every tick.
        """
        self.migrate()
        df = self.warehouse.query(
            "SELECT delivery_id, group_id, channel, kind, payload, attempts, created_at "
            "FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY created_at, delivery_id LIMIT ?",
            [naive_utc(now), limit],
        )
        rows = []
        for r in df.to_dict("records"):
            problem = ""
            try:
                payload = json.loads(r["payload"])
                if not isinstance(payload, dict):
                    raise ValueError("not a JSON object")
            except (TypeError, ValueError) as exc:
                payload, problem = {}, f"unreadable payload in alert_outbox: {exc}"
            rows.append(
                OutboxRow(
                    r["delivery_id"],
                    r["group_id"],
                    r["channel"],
                    r["kind"],
                    payload,
                    int(cell(r["attempts"]) or 0),
                    aware_utc(r["created_at"]),
                    problem,
                )
            )
        return rows

    def delivery(self, delivery_id: str) -> dict[str, Any] | None:
        self.migrate()
        df = self.warehouse.query("SELECT * FROM alert_outbox WHERE delivery_id = ?", [delivery_id])
        return df.to_dict("records")[0] if len(df) else None

    def mark_delivered(self, delivery_id: str, ref: str | None, now: dt.datetime) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET status = 'delivered', delivered_at = ?, external_ref = ?, "
            "attempts = attempts + 1, last_error = '' WHERE delivery_id = ?",
            [naive_utc(now), ref, delivery_id],
        )

    def mark_retry(self, delivery_id: str, error: str, next_at: dt.datetime) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE delivery_id = ?",
            [error, naive_utc(next_at), delivery_id],
        )

    def mark_failed(self, delivery_id: str, error: str, attempted: bool = True) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET status = 'failed', attempts = attempts + ?, last_error = ? "
            "WHERE delivery_id = ?",
            [1 if attempted else 0, error, delivery_id],
        )

    def defer(self, delivery_id: str, reason: str, next_at: dt.datetime) -> None:
        """Postpone a message without counting an attempt (it waits for another one)."""
        self.warehouse.execute(
            "UPDATE alert_outbox SET last_error = ?, next_attempt_at = ? WHERE delivery_id = ?",
            [reason, naive_utc(next_at), delivery_id],
        )

    def requeue(self, channel: str | None = None, now: dt.datetime | None = None) -> int:
        """Put failed messages (of ``channel``, or all) back to pending with fresh attempts."""
        self.migrate()
        where, params = "status = 'failed'", []
        if channel:
            where += " AND channel = ?"
            params.append(channel)
        n = len(self.warehouse.query(f"SELECT delivery_id FROM alert_outbox WHERE {where}", params))
        self.warehouse.execute(
            "UPDATE alert_outbox SET status = 'pending', attempts = 0, next_attempt_at = ? "
            f"WHERE {where}",
            [naive_utc(now or utcnow()), *params],
        )
        return n

    # ------------------------------------------------------------------ channel health

    def channel_health(self) -> dict[str, ChannelHealth]:
        """Every channel's current or last failure episode, by channel."""
        self.migrate()
        df = self.warehouse.query("SELECT * FROM alert_channel_health")
        out = {}
        for r in df.to_dict("records"):
            out[r["channel"]] = ChannelHealth(
                channel=r["channel"],
                status=r["status"],
                failing_since=aware_utc(r["failing_since"]) or utcnow(),
                last_failure_at=aware_utc(r["last_failure_at"]) or utcnow(),
                last_error=cell(r["last_error"]) or "",
                failures=int(cell(r["failures"]) or 0),
                tier=r["tier"] if r["tier"] in TIERS else "warning",
                announced_group=cell(r["announced_group"]) or "",
                recovered_at=aware_utc(r["recovered_at"]),
            )
        return out

    def save_channel_health(self, h: ChannelHealth) -> None:
        row = {
            "channel": h.channel,
            "status": h.status,
            "failing_since": naive_utc(h.failing_since),
            "last_failure_at": naive_utc(h.last_failure_at),
            "last_error": h.last_error,
            "failures": h.failures,
            "tier": h.tier,
            "announced_group": h.announced_group,
            "recovered_at": naive_utc(h.recovered_at),
        }
        frame = pd.DataFrame([row], columns=list(ALERT_CHANNEL_HEALTH.columns))
        self.migrate()
        self.warehouse.replace("alert_channel_health", frame, {"channel": h.channel})

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
        self,
        model: str | None = None,
        status: str | None = None,
        limit: int | None = 50,
        since: dt.date | None = None,
    ) -> list[Alert]:
        """Newest alerts first, optionally filtered (see :meth:`count_alerts`); ``limit``
        None: all of them."""
        self.migrate()
        clause, params = _alert_filter(model, status, since)
        sql = f"SELECT * FROM alerts {clause} ORDER BY opened_at DESC, alert_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        df = self.warehouse.query(sql, params)
        return [row_to_alert(r) for r in df.to_dict("records")]

    def count_alerts(
        self, model: str | None = None, status: str | None = None, since: dt.date | None = None
    ) -> int:
        """How many alerts match: of ``model``, in ``status``, and with a latest failing
        partition on or after ``since`` (an unpartitioned alert: last failing on or after)."""
        self.migrate()
        clause, params = _alert_filter(model, status, since)
        df = self.warehouse.query(f"SELECT count(*) AS n FROM alerts {clause}", params)
        return int(df["n"].iloc[0])

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
            [naive_utc(start), naive_utc(end), naive_utc(start), naive_utc(end), naive_utc(end)],
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


def _alert_filter(
    model: str | None, status: str | None, since: dt.date | None
) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if model:
        where.append("model = ?")
        params.append(model)
    if status:
        where.append("status = ?")
        params.append(status)
    if since is not None:
        where.append(
            "(partition_key >= ? OR (coalesce(partition_key, '') = '' AND last_seen_at >= ?))"
        )
        params += [since.isoformat(), dt.datetime.combine(since, dt.time())]
    return (f"WHERE {' AND '.join(where)}" if where else ""), params
