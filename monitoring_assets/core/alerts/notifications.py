"""Notification planning: which messages to send for the alerts, and what they say.

New alerts are grouped by the policy's grouping fields (one message per channel),
firing alerts are re-notified after their tier's interval, and resolutions are
linked to the message that announced them. Every channel renders a message from
its payload (:func:`alert_payload` for each alert in it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from monitoring_assets.core.alerts.episodes import episode_fields, is_history
from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.policy import TIERS, AlertPolicy
from monitoring_assets.core.alerts.routing import Alert
from monitoring_assets.core.root_cause.causes import TOP_CAUSES

# Channels whose own systems repeat and escalate; a re-notification would only re-trigger.
_NO_RENOTIFY = {"pagerduty"}


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
        out += per_channel(group_id, "firing", channels, payload)
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
        out += per_channel(group_id, "renotify", chans, payload)
    for (origin, channels), group in resolved.items():
        ids = sorted(a.alert_id for a in group)
        group_id = stable_id("resolved", origin, ids)
        for a in group:
            a.resolve_notified = True
            touched[a.alert_id] = a
        payload = _payload("resolved", group_id, group, (), now, origin)
        payload["fully_resolved"] = origin not in open_groups
        out += per_channel(group_id, "resolved", channels, payload)
    return out, list(touched.values())


def per_channel(group_id: str, kind: str, channels: tuple, payload: dict) -> list[Notification]:
    """One :class:`Notification` of ``payload`` per channel, its id derived from the group."""
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
        "causes": a.causes[:TOP_CAUSES],
        **episode_fields(a),
    }
