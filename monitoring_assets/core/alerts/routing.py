"""The alert state machine and notification planning (plain Python, no Dagster import).

An *alert* is one episode of a failing condition, identified by its fingerprint
(model, asset, check): it opens on a failed evaluation (its onset partition),
follows later failures (a persisting failure stays one alert; ``partition_key``
moves to the latest failing partition) and resolves on a passing evaluation of
the same or a later partition. Evaluations of older partitions than the newest
seen for that check do not change the current state. See
:mod:`~monitoring_assets.core.alerts.episodes` for onset, latest, count and duration.

Planning turns alerts into :class:`Notification` s: new alerts grouped by the
policy's grouping fields (one message per channel), re-notifications after the
tier's interval, and resolutions (linked to the message that announced them).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from monitoring_assets.core.alerts.episodes import (
    duration_days,
    episode_fields,
    episode_text,
    is_history,
)
from monitoring_assets.core.alerts.lineage import CheckEvent, build_lineage, stable_id, summarize
from monitoring_assets.core.alerts.policy import TIERS, AlertPolicy, tier_at_least, tier_severity
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.retraining import FailedCheck, retraining_decision, run_tags

# Channels whose own systems repeat and escalate; a re-notification would only re-trigger.
_NO_RENOTIFY = {"pagerduty"}
#: ``Alert.backfill_group`` of an episode that opened on history and awaits its summary.
BACKFILL_PENDING = "pending"


@dataclass
class Alert:
    """One alert episode; mirrors a row of the ``alerts`` table."""

    alert_id: str
    fingerprint: str
    model: str
    model_version: str
    asset_key: str
    check_name: str
    partition_key: str  # the latest failing partition
    severity: str
    tier: str
    status: str  # 'firing' | 'resolved'
    category: str
    channels: list[str]
    owners: list[str]
    muted: bool
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    trigger_event_id: int
    last_event_id: int
    failures: int = 1
    resolved_at: dt.datetime | None = None
    resolve_event_id: int | None = None
    notified_at: dt.datetime | None = None
    last_notified_at: dt.datetime | None = None
    notify_count: int = 0
    notify_group: str = ""
    resolve_notified: bool = False
    summary: str = ""
    lineage: dict[str, Any] = field(default_factory=dict)
    action: str = ""
    onset_partition: str = ""  # the first failing partition
    failing_partitions: int = 1  # distinct failing partitions (``failures`` counts evaluations)
    resolved_partition: str = ""  # the passing partition that resolved it
    # '' (paged as usual), 'pending' (history: waits for its backfill summary) or the
    # group id of the backfill summary that reported it.
    backfill_group: str = ""

    @property
    def firing(self) -> bool:
        return self.status == "firing"

    @property
    def duration_days(self) -> int | None:
        return duration_days(self)

    @property
    def episode(self) -> str:
        """Onset, latest, count and duration in words."""
        return episode_text(self)


@dataclass
class CheckState:
    """The newest evaluation seen for one fingerprint."""

    fingerprint: str
    partition_key: str
    last_event_id: int
    passed: bool


@dataclass(frozen=True)
class ActionRequest:
    """A run the sensor should request for an alert (retraining or human review)."""

    kind: str  # 'retrain' | 'review'
    model: str
    alert_id: str
    trigger_event_id: int

    @property
    def job_name(self) -> str:
        return f"retrain_{self.model}"

    @property
    def run_key(self) -> str:
        """Unique per (model, triggering event): a re-read event never starts a second run."""
        return f"{self.kind}:{self.model}:{self.trigger_event_id}"

    def tags(self) -> dict[str, str]:
        return run_tags(self.kind, str(self.trigger_event_id), self.alert_id)


@dataclass
class Changes:
    """What applying a batch of events changed."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    states: dict[str, CheckState] = field(default_factory=dict)
    actions: list[ActionRequest] = field(default_factory=list)
    ignored: int = 0


class AlertBook:
    """Open alerts and per-check state; applies evaluations in event order."""

    def __init__(
        self,
        policy: AlertPolicy,
        models: dict[str, ModelConfig],
        open_alerts: list[Alert],
        states: list[CheckState],
    ):
        self.policy = policy
        self.models = models
        self.open: dict[str, Alert] = {a.fingerprint: a for a in open_alerts if a.firing}
        self.states: dict[str, CheckState] = {s.fingerprint: s for s in states}

    def apply(self, events: list[CheckEvent], now: dt.datetime) -> Changes:
        """Apply ``events`` (ascending event id); return the alerts and states touched."""
        changes = Changes()
        for event in events:
            if event.model not in self.models:
                changes.ignored += 1
                continue
            state = self.states.get(event.fingerprint)
            if state is not None and event.event_id and event.event_id <= state.last_event_id:
                # Already applied before a restart: the cursor lagged the warehouse.
                changes.ignored += 1
                continue
            pk = event.partition or ""
            if state is not None and pk < state.partition_key:
                changes.ignored += 1
                continue
            state = CheckState(event.fingerprint, pk, event.event_id, event.passed)
            self.states[event.fingerprint] = state
            changes.states[event.fingerprint] = state
            if event.passed:
                self._resolve(event, changes)
            else:
                self._fire(event, now, changes)
        return changes

    def _fire(self, event: CheckEvent, now: dt.datetime, changes: Changes) -> None:
        model = self.models[event.model]
        tier, channels, route_owners, muted = self.policy.route(
            event.model, event.asset, event.check, event.severity, model.alerting.tier_overrides
        )
        lineage = build_lineage(event, model.version, tier, self.policy.ui_base_url).to_dict()
        alert = self.open.get(event.fingerprint)
        if alert is not None:
            # A persisting failure: same alert, newest evidence; escalate, never de-escalate.
            alert.last_seen_at = event.timestamp
            alert.last_event_id = event.event_id
            if (event.partition or "") != alert.partition_key:
                alert.failing_partitions += 1
            alert.partition_key = event.partition or ""
            alert.failures += 1
            alert.lineage = lineage
            alert.summary = summarize(lineage)
            if tier_at_least(tier, alert.tier) and tier != alert.tier:
                alert.tier, alert.channels, alert.severity = tier, channels, event.severity
                alert.lineage["tier"] = tier
            changes.alerts[alert.alert_id] = alert
            return
        owners = list(dict.fromkeys(route_owners + model.alerting.owners + self.policy.owners))
        alert = Alert(
            alert_id=stable_id("alert", event.fingerprint, event.event_id, event.partition, n=12),
            fingerprint=event.fingerprint,
            model=event.model,
            model_version=model.version,
            asset_key=event.asset_path,
            check_name=event.check,
            partition_key=event.partition or "",
            severity=event.severity,
            tier=tier,
            status="firing",
            category=self.policy.category(event.asset, event.check) or "",
            channels=channels,
            owners=owners,
            muted=muted,
            opened_at=event.timestamp,
            last_seen_at=event.timestamp,
            trigger_event_id=event.event_id,
            last_event_id=event.event_id,
            summary=summarize(lineage),
            lineage=lineage,
            onset_partition=event.partition or "",
        )
        if not event.present and is_history(event.partition, self.policy.page_window, now):
            alert.backfill_group = BACKFILL_PENDING
        self.open[event.fingerprint] = alert
        changes.alerts[alert.alert_id] = alert
        action = self._action_for(alert, model)
        if action is not None:
            changes.actions.append(action)

    def _resolve(self, event: CheckEvent, changes: Changes) -> None:
        alert = self.open.pop(event.fingerprint, None)
        if alert is None:
            return
        alert.status = "resolved"
        alert.resolved_partition = event.partition or ""
        alert.resolved_at = event.timestamp
        alert.resolve_event_id = event.event_id
        changes.alerts[alert.alert_id] = alert

    def _action_for(self, alert: Alert, model: ModelConfig) -> ActionRequest | None:
        """The run a new alert asks for (see :func:`retraining_decision`), if any."""
        decision = retraining_decision(
            FailedCheck(alert.category, alert.tier), policy=self.policy.actions, model=model
        )
        if decision.action == "none":
            return None
        return ActionRequest(decision.action, alert.model, alert.alert_id, alert.trigger_event_id)


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Notification:
    """One message to one channel, covering a group of alerts."""

    delivery_id: str
    group_id: str
    channel: str
    kind: str  # 'firing' | 'renotify' | 'resolved' | 'digest'
    payload: dict[str, Any]


def _group_fields(policy: AlertPolicy, alert: Alert) -> tuple:
    values = {
        "model": alert.model,
        "partition": alert.partition_key,
        "tier": alert.tier,
        "asset": alert.asset_key,
        "check": alert.check_name,
    }
    return tuple((f, values[f]) for f in policy.grouping.by)


def plan_notifications(
    policy: AlertPolicy,
    alerts: list[Alert],
    now: dt.datetime,
    last_notified: dict[str, dt.datetime] | None = None,
    open_groups: set[str] | None = None,
) -> tuple[list[Notification], list[Alert]]:
    """Decide which messages to send now and update the alerts' notification fields.

    ``alerts`` are the firing alerts plus resolved ones not yet announced;
    a firing alert that opened on history (``backfill_group`` set) is not announced while
    its latest failing partition is history too (older than the policy's ``page_window``):
    its backfill summary reports it;
    ``last_notified`` maps fingerprints to the time of their last message (for the
    cooldown); ``open_groups`` are notify groups that still have a firing alert (a
    group's PagerDuty incident resolves only when all its alerts have).
    Returns the notifications and the alerts whose fields changed.
    """
    last_notified = last_notified or {}
    open_groups = set(open_groups or ())
    fresh: dict[tuple, list[Alert]] = defaultdict(list)
    again: dict[tuple, list[Alert]] = defaultdict(list)
    resolved: dict[tuple, list[Alert]] = defaultdict(list)
    touched: dict[str, Alert] = {}

    for alert in alerts:
        tp = policy.tiers[alert.tier]
        quiet = policy.quiet_hours is not None and policy.quiet_hours.active(now, alert.tier)
        silent = alert.muted or not tp.immediate or not alert.channels
        if not alert.firing:
            if alert.resolve_notified:
                continue
            if alert.notified_at is None or silent:
                alert.resolve_notified = True
                touched[alert.alert_id] = alert
            elif not quiet:
                resolved[(alert.notify_group, tuple(alert.channels))].append(alert)
            continue
        if silent or quiet:
            continue
        if alert.notified_at is None:
            if alert.backfill_group and is_history(alert.partition_key, policy.page_window, now):
                continue
            if alert.opened_at + policy.grouping.wait > now:
                continue
            last = last_notified.get(alert.fingerprint)
            if last is not None and last + tp.cooldown > now:
                continue
            fresh[(_group_fields(policy, alert), tuple(alert.channels))].append(alert)
        elif tp.renotify_after is not None and alert.last_notified_at is not None:
            if alert.last_notified_at + tp.renotify_after <= now:
                again[(_group_fields(policy, alert), tuple(alert.channels))].append(alert)

    out: list[Notification] = []
    for (fields, channels), group in fresh.items():
        ids = sorted(a.alert_id for a in group)
        group_id = stable_id("firing", fields, ids)
        for a in group:
            a.notify_group = group_id
            a.notified_at = a.last_notified_at = now
            a.notify_count += 1
            touched[a.alert_id] = a
            open_groups.add(group_id)
        payload = _payload("firing", group_id, group, fields, now, group_id)
        out += _per_channel(group_id, "firing", channels, payload)
    for (fields, channels), group in again.items():
        ids = sorted(a.alert_id for a in group)
        seq = max(a.notify_count for a in group)
        group_id = stable_id("renotify", fields, ids, seq)
        for a in group:
            a.last_notified_at = now
            a.notify_count += 1
            touched[a.alert_id] = a
        payload = _payload("renotify", group_id, group, fields, now, group[0].notify_group)
        chans = tuple(c for c in channels if c not in _NO_RENOTIFY)
        out += _per_channel(group_id, "renotify", chans, payload)
    for (origin, channels), group in resolved.items():
        ids = sorted(a.alert_id for a in group)
        group_id = stable_id("resolved", origin, ids)
        for a in group:
            a.resolve_notified = True
            touched[a.alert_id] = a
        payload = _payload("resolved", group_id, group, (), now, origin)
        payload["fully_resolved"] = origin not in open_groups
        out += _per_channel(group_id, "resolved", channels, payload)
    return out, list(touched.values())


def _per_channel(group_id: str, kind: str, channels: tuple, payload: dict) -> list[Notification]:
    return [
        Notification(stable_id("delivery", group_id, c), group_id, c, kind, payload)
        for c in channels
    ]


def _payload(
    kind: str, group_id: str, group: list[Alert], fields: tuple, now: dt.datetime, origin: str
) -> dict[str, Any]:
    group = sorted(group, key=lambda a: (a.asset_key, a.check_name))
    tiers = sorted({a.tier for a in group}, key=TIERS.index)
    models = sorted({a.model for a in group})
    partitions = sorted({a.partition_key for a in group if a.partition_key})
    verb = {"firing": "FIRING", "renotify": "STILL FIRING", "resolved": "RESOLVED"}[kind]
    title = (
        f"[{verb}] {tiers[0]} · {', '.join(models)} · {_group_episode(group)}"
        + f" · {len(group)} check{'s' if len(group) != 1 else ''}"
    )
    return {
        "kind": kind,
        "group_id": group_id,
        "origin_group_id": origin,
        "title": title,
        "tier": tiers[0],
        "models": models,
        "partitions": partitions,
        "group_by": [list(f) for f in fields],
        "created_at": now.isoformat(),
        "alerts": [alert_payload(a) for a in group],
    }


def _group_episode(group: list[Alert]) -> str:
    """The episode of a one-alert message; the span of a group's onsets and latest partitions."""
    if len(group) == 1:
        return group[0].episode
    onsets = sorted(a.onset_partition for a in group if a.onset_partition)
    latest = sorted(a.partition_key for a in group if a.partition_key)
    if not latest:
        return "unpartitioned"
    onset = f"since {onsets[0]} (earliest onset), " if onsets else ""
    return f"{onset}latest {latest[-1]}"


def alert_payload(a: Alert, summary: str | None = None) -> dict[str, Any]:
    """One alert as it appears in a message payload (every channel renders from this).

    Its ``summary`` (``summary`` or the alert's own) ends with the episode: onset,
    latest, count and duration.
    """
    return {
        "alert_id": a.alert_id,
        "fingerprint": a.fingerprint,
        "model": a.model,
        "model_version": a.model_version,
        "asset_key": a.asset_key,
        "check": a.check_name,
        "partition": a.partition_key,
        "severity": a.severity,
        "tier": a.tier,
        "status": a.status,
        "owners": a.owners,
        "summary": f"{a.summary if summary is None else summary} · {a.episode}",
        "opened_at": a.opened_at.isoformat(),
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "lineage": a.lineage,
        **episode_fields(a),
    }


# --------------------------------------------------------------------------- delivery meta-alerts

DELIVERY_ASSET = "driftwarden/alert_outbox"


def delivery_targets(policy: AlertPolicy, failing: str, tier: str) -> list[str]:
    """Where to say that ``failing`` cannot deliver: the rest of ``tier``'s channels and the
    console."""
    chans = policy.tiers[tier].channels if tier in policy.tiers else []
    return [c for c in dict.fromkeys([*chans, "console"]) if c != failing]


def plan_delivery_alert(
    policy: AlertPolicy,
    channel: str,
    tier: str,
    failing_since: dt.datetime,
    reason: str,
    now: dt.datetime,
    recovered: bool = False,
) -> list[Notification]:
    """The meta-alert "delivery to <channel> failing since …" (or its recovery), one message
    per target channel.

    Ids derive from the channel and the start of its failure episode, so planning it
    twice (a retried tick) queues nothing new, and the recovery answers the same
    PagerDuty incident, Slack thread and e-mail.
    """
    since = failing_since.astimezone(dt.UTC)
    origin = stable_id("delivery-failing", channel, since.isoformat())
    check = f"delivery_to_{channel}"
    summary = f"delivery to {channel} failing since {since:%Y-%m-%d %H:%M:%S} UTC: {reason}"
    alert = {
        "alert_id": stable_id("delivery-alert", channel, since.isoformat(), n=12),
        "fingerprint": stable_id("fp", DELIVERY_ASSET, check),
        "model": "driftwarden",
        "model_version": "",
        "asset_key": DELIVERY_ASSET,
        "check": check,
        "partition": "",
        "severity": tier_severity(tier),
        "tier": tier,
        "status": "resolved" if recovered else "firing",
        "owners": list(policy.owners),
        "summary": summary,
        "opened_at": since.isoformat(),
        "resolved_at": now.isoformat() if recovered else None,
        "lineage": {},
    }
    if recovered:
        kind, group_id = "resolved", stable_id("delivery-recovered", origin)
        title = f"[RESOLVED] {tier} · delivery to {channel} works again"
        lines = [f"delivery to {channel} failed from {since:%Y-%m-%d %H:%M:%S} UTC"]
    else:
        kind, group_id = "firing", origin
        title = f"[DELIVERY FAILING] {tier} · delivery to {channel} failing since {since:%Y-%m-%d %H:%M} UTC"
        lines = [
            summary,
            f"messages to {channel} are marked failed in alert_outbox; "
            "`driftwarden alerts show <id>` names each one and its reason",
        ]
    payload = {
        "kind": kind,
        "group_id": group_id,
        "origin_group_id": origin,
        "title": title,
        "tier": tier,
        "models": ["driftwarden"],
        "partitions": [],
        "group_by": [["channel", channel]],
        "created_at": now.isoformat(),
        "summary_lines": lines,
        "delivery_failure": {"channel": channel, "failing_since": since.isoformat()},
        "fully_resolved": True,
        "alerts": [alert],
    }
    return _per_channel(group_id, kind, tuple(delivery_targets(policy, channel, tier)), payload)
