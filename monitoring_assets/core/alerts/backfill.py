"""Backfill summaries: episodes of history are recorded, reported once per model, not paged.

An evaluation of a partition older than the policy's ``page_window`` (relative to
now) is about history, e.g. a backfill or a replayed demo. An episode that opens on
such an evaluation gets ``backfill_group = 'pending'``
(:data:`~monitoring_assets.core.alerts.routing.BACKFILL_PENDING`): it is stored like
any episode but not paged while its latest failing partition stays history. Once the
alert sensor has read every evaluation (``caught_up``) and no pending episode of a
model changed for ``grouping.wait``, one summary message per model reports them all,
"backfill 2026-06-01..2026-09-28: 12 episodes, 3 still open", and the episodes carry
that summary's group id. Its ids derive from the episodes, so planning it twice
queues one message. An episode still open whose latest failing partition is within
the window is paged as usual, and the summary says so.

The summary goes to the channels of its episodes' tiers except PagerDuty and
Alertmanager (they hold live incidents, not reports); muted episodes and tiers
that are not ``immediate`` are counted but choose no channel.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.notifications import Notification, alert_payload
from monitoring_assets.core.alerts.policy import TIERS, AlertPolicy
from monitoring_assets.core.alerts.routing import BACKFILL_PENDING, Alert

# Channels that hold live incidents; a report of history does not belong there.
_NOT_FOR_REPORTS = {"pagerduty", "alertmanager"}


def plan_backfill_summaries(
    policy: AlertPolicy, alerts: list[Alert], now: dt.datetime, caught_up: bool = True
) -> tuple[list[Notification], list[Alert]]:
    """One summary message per model for its pending history episodes in ``alerts``.

    Nothing is planned before ``caught_up`` (more evaluations are waiting to be read)
    or within ``grouping.wait`` of the last change to a pending episode of that model.
    Returns the messages and the episodes it marked.
    """
    if not caught_up:
        return [], []
    by_model: dict[str, list[Alert]] = defaultdict(list)
    for a in alerts:
        if a.backfill_group == BACKFILL_PENDING:
            by_model[a.model].append(a)
    notes: list[Notification] = []
    touched: list[Alert] = []
    for model, episodes in sorted(by_model.items()):
        if max(a.last_seen_at for a in episodes) + policy.grouping.wait > now:
            continue
        ids = sorted(a.alert_id for a in episodes)
        group_id = stable_id("backfill", model, ids)
        payload = backfill_payload(policy, model, episodes, group_id, now)
        for a in episodes:
            a.backfill_group = group_id
            touched.append(a)
        channels = _channels(policy, episodes)
        notes += [
            Notification(stable_id("delivery", group_id, c), group_id, c, "backfill", payload)
            for c in channels
        ]
    return notes, touched


def _channels(policy: AlertPolicy, episodes: list[Alert]) -> list[str]:
    chosen: list[str] = []
    for a in episodes:
        if a.muted or not policy.tiers[a.tier].immediate:
            continue
        chosen += [c for c in a.channels if c not in _NOT_FOR_REPORTS]
    return list(dict.fromkeys(chosen))


def backfill_span(episodes: list[Alert]) -> tuple[str, str]:
    """The first onset and the last failing or resolving partition of ``episodes``."""
    starts = [a.onset_partition or a.partition_key for a in episodes]
    ends = [max(a.partition_key, a.resolved_partition) for a in episodes]
    return min(starts), max(ends)


def backfill_payload(
    policy: AlertPolicy, model: str, episodes: list[Alert], group_id: str, now: dt.datetime
) -> dict[str, Any]:
    """The summary message (same shape as the other messages; ``kind`` 'backfill')."""
    episodes = sorted(episodes, key=lambda a: (not a.firing, a.onset_partition, a.alert_id))
    start, end = backfill_span(episodes)
    still_open = [a for a in episodes if a.firing]
    paged = [a for a in still_open if a.notified_at is not None]
    tiers = Counter(a.tier for a in episodes)
    window = f"{policy.page_window.total_seconds() / 86400:g}d"
    headline = (
        f"backfill {start}..{end}: {len(episodes)} episode{'s' if len(episodes) != 1 else ''}, "
        f"{len(still_open)} still open"
    )
    lines = [
        headline,
        "by tier: " + ", ".join(f"{t} {tiers[t]}" for t in TIERS if tiers[t]),
        f"announced: {len(paged)} (still open with a latest failing partition within the "
        f"page window of {window}); the others are history and are not paged",
        f"`driftwarden alerts list --model {model} --all` lists every episode",
    ]
    top = min(TIERS.index(a.tier) for a in episodes)
    return {
        "kind": "backfill",
        "group_id": group_id,
        "origin_group_id": group_id,
        "title": f"[BACKFILL] {TIERS[top]} · {model} · {headline}",
        "tier": TIERS[top],
        "models": [model],
        "partitions": [start, end],
        "group_by": [["model", model]],
        "created_at": now.isoformat(),
        "summary_lines": lines,
        "backfill": {
            "model": model,
            "start": start,
            "end": end,
            "episodes": len(episodes),
            "still_open": len(still_open),
            "paged": len(paged),
        },
        "fully_resolved": True,
        "alerts": [alert_payload(a, f"{a.summary} — {a.status}") for a in episodes],
    }
