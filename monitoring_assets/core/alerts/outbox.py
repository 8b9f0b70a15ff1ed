"""Alert state in the warehouse: the ``alerts`` table, the outbox and its delivery loop.

The sensor writes alert records and the messages they need into the warehouse in
one transaction, then delivers from the outbox. A message is marked delivered only
after its channel accepted it, so a crash between the two re-sends it once at
most. PagerDuty (``dedup_key``), Alertmanager (label sets) and the webhook
(``Idempotency-Key``) turn that repeat into a no-op; Slack, e-mail (same
Message-ID) and the console can show it twice.

Nothing a channel does can stop delivery: any exception from a send, and a send
that outlives its deadline, is one failed attempt of that message; it backs off
exponentially (or by a valid ``Retry-After``, capped at ``max_backoff``) while the
other messages go on. A message fails for good only after ``max_attempts``
attempts *and* ``max_age``; then a meta-alert "delivery to <channel> failing
since …" goes to the rest of its tier's channels and the console, once per
failure episode of that channel (``alert_channel_health``), and a recovery
message follows when the channel delivers again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from monitoring_assets.core.alerts.channels import REASON_LIMIT, Channel, DeliveryError
from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.policy import TIERS, AlertPolicy, tier_at_least
from monitoring_assets.core.alerts.routing import (
    BACKFILL_PENDING,
    ActionRequest,
    Alert,
    CheckState,
    Notification,
    plan_delivery_alert,
)
from monitoring_assets.core.alerts.scrub import scrub
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import (
    ALERT_ACTIONS,
    ALERT_CHANNEL_HEALTH,
    ALERT_CHECK_STATE,
    ALERT_OUTBOX,
    ALERTS,
)

log = logging.getLogger("driftwarden.alerts")


ALERT_TABLES = (ALERTS, ALERT_CHECK_STATE, ALERT_OUTBOX, ALERT_ACTIONS, ALERT_CHANNEL_HEALTH)
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
    row["duration_days"] = alert.duration_days
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
        elif f.name in (
            "trigger_event_id",
            "last_event_id",
            "failures",
            "notify_count",
            "failing_partitions",
        ):
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
        """Pending messages whose next attempt is due, oldest first.

        A row whose payload does not parse comes back with ``problem`` set, so the
        delivery loop fails that one message instead of every tick.
        """
        self.migrate()
        df = self.warehouse.query(
            "SELECT delivery_id, group_id, channel, kind, payload, attempts, created_at "
            "FROM alert_outbox WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY created_at, delivery_id LIMIT ?",
            [_naive(now), limit],
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
                    int(_clean(r["attempts"]) or 0),
                    _aware(r["created_at"]),
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
            [_naive(now), ref, delivery_id],
        )

    def mark_retry(self, delivery_id: str, error: str, next_at: dt.datetime) -> None:
        self.warehouse.execute(
            "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE delivery_id = ?",
            [error, _naive(next_at), delivery_id],
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
            [reason, _naive(next_at), delivery_id],
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
            [_naive(now or utcnow()), *params],
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
                failing_since=_aware(r["failing_since"]) or utcnow(),
                last_failure_at=_aware(r["last_failure_at"]) or utcnow(),
                last_error=_clean(r["last_error"]) or "",
                failures=int(_clean(r["failures"]) or 0),
                tier=r["tier"] if r["tier"] in TIERS else "warning",
                announced_group=_clean(r["announced_group"]) or "",
                recovered_at=_aware(r["recovered_at"]),
            )
        return out

    def save_channel_health(self, h: ChannelHealth) -> None:
        row = {
            "channel": h.channel,
            "status": h.status,
            "failing_since": _naive(h.failing_since),
            "last_failure_at": _naive(h.last_failure_at),
            "last_error": h.last_error,
            "failures": h.failures,
            "tier": h.tier,
            "announced_group": h.announced_group,
            "recovered_at": _naive(h.recovered_at),
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


# --------------------------------------------------------------------------- delivery


@dataclass
class DeliveryReport:
    """What one delivery pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0  # due, but left for the next tick (the tick budget was spent)
    meta: int = 0  # delivery meta-alert messages queued
    seconds: float = 0.0
    errors: list[str] | None = None

    def __post_init__(self) -> None:
        self.errors = self.errors or []


def backoff(policy: AlertPolicy, attempts: int) -> dt.timedelta:
    """Exponential backoff after ``attempts`` failed attempts, capped by the policy."""
    base = policy.delivery.base_backoff.total_seconds()
    cap = policy.delivery.max_backoff.total_seconds()
    return dt.timedelta(seconds=min(cap, base * (2 ** min(max(attempts - 1, 0), 60))))


def retry_wait(policy: AlertPolicy, attempts: int, retry_after: Any = None) -> dt.timedelta:
    """The wait before the next attempt: the backoff, or a longer valid ``Retry-After``;
    never more than ``max_backoff``."""
    cap = policy.delivery.max_backoff.total_seconds()
    seconds = backoff(policy, attempts).total_seconds()
    try:
        hint = float(retry_after) if retry_after is not None else math.nan
    except (TypeError, ValueError):
        hint = math.nan
    if math.isfinite(hint) and hint > 0:
        seconds = max(seconds, min(hint, cap))
    return dt.timedelta(seconds=min(seconds, cap))


def send_limit(policy: AlertPolicy) -> float:
    """Seconds one send may take: two requests and one inline wait, plus a margin."""
    d = policy.delivery
    return 2 * d.timeout.total_seconds() + d.inline_retry_after_max.total_seconds() + 1.0


def send_within(
    channel: Channel, payload: dict[str, Any], origin_ref: str | None, limit: float
) -> str | None:
    """``channel.send`` with a hard deadline.

    Channels bound their own requests; this bounds whatever they cannot (a server
    that trickles its headers, a library that blocks). A send still running at the
    deadline is left to finish in the background and counts as a failed attempt, so
    a late success can repeat that message once.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["ref"] = channel.send(payload, origin_ref=origin_ref)
        except Exception as exc:  # reported to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name=f"alert-send-{channel.name}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        raise DeliveryError(channel.name, f"no result within {limit:g}s", True)
    if "error" in outcome:
        raise outcome["error"]
    if "ref" not in outcome:
        raise DeliveryError(channel.name, "the send ended without a result", True)
    return outcome["ref"]


class _Pass:
    """State of one delivery call (see :func:`deliver_pending`)."""

    def __init__(
        self,
        store: AlertStore,
        channels: Mapping[str, Channel],
        policy: AlertPolicy,
        now: Callable[[], dt.datetime],
        missing: Mapping[str, str],
    ):
        self.store = store
        self.channels = channels
        self.policy = policy
        self.now = now
        self.missing = missing
        self.report = DeliveryReport()
        self.down: set[str] = set()
        self.health = store.channel_health()
        self.limit = send_limit(policy)

    def deliver(self, row: OutboxRow) -> None:
        if row.problem:
            self.failed(row, row.problem, retryable=False, attempted=False)
            return
        channel = self.channels.get(row.channel)
        if channel is None:
            reason = self.missing.get(row.channel, f"channel {row.channel!r} is not configured")
            self.failed(row, reason, retryable=False, attempted=False)
            return
        origin_ref = None
        if row.kind in ("resolved", "renotify"):
            origin_id = stable_id("delivery", row.payload.get("origin_group_id"), row.channel)
            origin = self.store.delivery(origin_id)
            if origin is not None:
                if origin["status"] == "pending" and row.kind == "resolved":
                    # Resolve after the message it answers, so Slack can thread it.
                    self.store.defer(row.delivery_id, "waiting for the firing message", self.now())
                    return
                origin_ref = _clean(origin.get("external_ref"))
        try:
            ref = send_within(channel, row.payload, origin_ref, self.limit)
        except DeliveryError as exc:
            # A retryable channel error (unreachable, 5xx, 429) holds the channel this tick.
            self.failed(row, exc.reason, exc.retryable, exc.retry_after, hold=exc.retryable)
            return
        except Exception as exc:  # any other failure is this message's alone
            self.failed(row, f"{type(exc).__name__}: {exc}", retryable=True)
            return
        t = self.now()
        self.store.mark_delivered(row.delivery_id, ref, t)
        self.report.delivered += 1
        self.recovered(row.channel, t)

    def failed(
        self,
        row: OutboxRow,
        reason: str,
        retryable: bool,
        retry_after: Any = None,
        hold: bool = False,
        attempted: bool = True,
    ) -> None:
        d = self.policy.delivery
        t = self.now()
        reason = scrub(reason, limit=REASON_LIMIT)
        attempts = row.attempts + (1 if attempted else 0)
        age = t - (row.created_at or t)
        self.report.errors.append(f"{row.channel}: {reason}")  # type: ignore[union-attr]
        log.warning("alert delivery %s via %s: %s", row.delivery_id, row.channel, reason)
        self.note_failure(row.channel, reason, row.tier, t)
        if retryable and not (attempts >= d.max_attempts and age >= d.max_age):
            self.store.mark_retry(
                row.delivery_id, reason, t + retry_wait(self.policy, attempts, retry_after)
            )
            self.report.retrying += 1
            if hold:
                self.down.add(row.channel)
            return
        if retryable:
            reason = scrub(
                f"gave up after {attempts} attempts over {_span(age)}: {reason}", limit=REASON_LIMIT
            )
        self.store.mark_failed(row.delivery_id, reason, attempted)
        self.report.failed += 1
        self.announce(row.channel, t)

    def note_failure(self, channel: str, reason: str, tier: str, t: dt.datetime) -> None:
        h = self.health.get(channel)
        if h is None or h.status != "failing":
            h = ChannelHealth(channel, "failing", t, t, reason, 1, tier)
        else:
            # Escalate until announced; after that the recovery must reach the same channels.
            escalate = not h.announced_group and tier_at_least(tier, h.tier)
            urgent = tier if escalate else h.tier
            h = replace(
                h, last_failure_at=t, last_error=reason, failures=h.failures + 1, tier=urgent
            )
        self.health[channel] = h
        self.store.save_channel_health(h)

    def announce(self, channel: str, t: dt.datetime) -> None:
        """Queue the meta-alert for ``channel``'s failure episode, once."""
        h = self.health[channel]
        if h.announced_group:
            return
        notes = plan_delivery_alert(self.policy, channel, h.tier, h.failing_since, h.last_error, t)
        # Ids are deterministic: a crash between these two writes re-plans the same rows.
        self.store.save(notifications=notes, now=t)
        h = replace(h, announced_group=notes[0].group_id if notes else "-")
        self.health[channel] = h
        self.store.save_channel_health(h)
        self.report.meta += len(notes)
        log.error(
            "delivery to %s failing since %s: %s",
            channel,
            h.failing_since.isoformat(),
            h.last_error,
        )

    def recovered(self, channel: str, t: dt.datetime) -> None:
        h = self.health.get(channel)
        if h is None or h.status != "failing":
            return
        if h.announced_group not in ("", "-"):
            notes = plan_delivery_alert(
                self.policy, channel, h.tier, h.failing_since, h.last_error, t, recovered=True
            )
            self.store.save(notifications=notes, now=t)
            self.report.meta += len(notes)
        h = replace(h, status="ok", recovered_at=t)
        self.health[channel] = h
        self.store.save_channel_health(h)


def deliver_pending(
    store: AlertStore,
    channels: Mapping[str, Channel],
    policy: AlertPolicy,
    now: Callable[[], dt.datetime] = utcnow,
    missing: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryReport:
    """Send every due outbox message; record each result as soon as it is known.

    ``channels`` are the configured channels by name; ``missing`` explains why a
    named channel is unavailable (e.g. its token variable is unset) so the message
    fails with that reason instead of waiting forever. No send starts after the
    policy's ``tick_budget``; due messages left over wait for the next call. A
    second pass delivers the meta-alerts the first one queued.
    """
    run = _Pass(store, channels, policy, now, missing or {})
    started = clock()
    budget = policy.delivery.tick_budget.total_seconds()
    seen: set[str] = set()
    for _ in range(2):
        queued = run.report.meta
        for row in store.due(now(), policy.delivery.batch):
            if row.delivery_id in seen:
                continue
            seen.add(row.delivery_id)
            if row.channel in run.down:
                continue  # the channel just failed: keep order, do not hammer it this tick
            if clock() - started >= budget:
                run.report.deferred += 1
                continue
            run.deliver(row)
        if run.report.meta == queued:
            break
    run.report.seconds = clock() - started
    return run.report


def _span(delta: dt.timedelta) -> str:
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"
