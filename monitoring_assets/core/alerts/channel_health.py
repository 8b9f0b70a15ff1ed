"""Channel health: one failure episode per channel, its meta-alert and its recovery.

Every failed attempt notes the channel's failure (``alert_channel_health``). When a
message of a channel fails for good, the meta-alert "delivery to <channel> failing
since …" goes to the rest of its tier's channels and the console, once per failure
episode of that channel; a recovery message follows when the channel delivers again.
Until announced, an episode escalates to the most urgent tier that failed in it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from monitoring_assets.core.alerts.lineage import stable_id
from monitoring_assets.core.alerts.notifications import Notification, per_channel
from monitoring_assets.core.alerts.outbox import AlertStore, ChannelHealth
from monitoring_assets.core.alerts.policy import AlertPolicy, tier_at_least, tier_severity

log = logging.getLogger("driftwarden.alerts")

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
    return per_channel(group_id, kind, tuple(delivery_targets(policy, channel, tier)), payload)


class ChannelHealthBook:
    """The channels' failure episodes during one delivery pass; saved as they change."""

    def __init__(self, store: AlertStore, policy: AlertPolicy):
        self.store = store
        self.policy = policy
        self.health = store.channel_health()

    def note_failure(self, channel: str, reason: str, tier: str, t: dt.datetime) -> None:
        """Open ``channel``'s failure episode, or count one more failure in it."""
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

    def announce(self, channel: str, t: dt.datetime) -> int:
        """Queue the meta-alert for ``channel``'s failure episode, once; the messages queued."""
        h = self.health[channel]
        if h.announced_group:
            return 0
        notes = plan_delivery_alert(self.policy, channel, h.tier, h.failing_since, h.last_error, t)
        # Ids are deterministic: a crash between these two writes re-plans the same rows.
        self.store.save(notifications=notes, now=t)
        h = replace(h, announced_group=notes[0].group_id if notes else "-")
        self.health[channel] = h
        self.store.save_channel_health(h)
        log.error(
            "delivery to %s failing since %s: %s",
            channel,
            h.failing_since.isoformat(),
            h.last_error,
        )
        return len(notes)

    def recovered(self, channel: str, t: dt.datetime) -> int:
        """Close ``channel``'s failure episode after a delivery; the recovery messages queued."""
        h = self.health.get(channel)
        if h is None or h.status != "failing":
            return 0
        queued = 0
        if h.announced_group not in ("", "-"):
            notes = plan_delivery_alert(
                self.policy, channel, h.tier, h.failing_since, h.last_error, t, recovered=True
            )
            self.store.save(notifications=notes, now=t)
            queued = len(notes)
        h = replace(h, status="ok", recovered_at=t)
        self.health[channel] = h
        self.store.save_channel_health(h)
        return queued
