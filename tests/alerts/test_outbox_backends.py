"""The delivery loop's give-up, meta-alert, recovery and requeue writes on each warehouse
backend (DuckDB, Postgres)."""

from __future__ import annotations

import datetime as dt

from monitoring_assets.core.alerts.delivery import deliver_pending
from monitoring_assets.core.alerts.notifications import Notification
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from resources.notifiers import build_channels
from tests.alerts.conftest import PD_KEY, SLACK_TOKEN, Clock, Fault


def message(group: str, channel: str, now: dt.datetime) -> Notification:
    alert = {
        "alert_id": f"a-{group}",
        "model": "toy",
        "asset_key": "toy/data_drift",
        "check": "feature_not_drifted_f1",
        "severity": "ERROR",
        "tier": "critical",
        "summary": "toy drifted",
        "opened_at": now.isoformat(),
        "partition": "2026-06-02",
        "lineage": {},
    }
    payload = {
        "kind": "firing",
        "group_id": group,
        "origin_group_id": group,
        "title": f"[FIRING] critical · toy · {group}",
        "tier": "critical",
        "alerts": [alert],
    }
    return Notification(f"{group}-{channel}", group, channel, "firing", payload)


def test_give_up_announce_recover_and_requeue(any_warehouse, slack, pagerduty):
    policy = AlertPolicy.model_validate(
        {
            "tiers": {"critical": {"channels": ["slack", "pagerduty"]}},
            "delivery": {"max_attempts": 2, "max_age": "1m", "timeout": "2s"},
            "channels": {
                "slack": {"base_url": f"{slack.url}/api/"},
                "pagerduty": {"url": f"{pagerduty.url}/v2/enqueue"},
            },
        }
    )
    channels, missing = build_channels(
        policy, slack_token=SLACK_TOKEN, pagerduty_routing_key=PD_KEY
    )
    store = AlertStore(any_warehouse)
    clock = Clock(dt.datetime.now(dt.UTC))
    store.save(
        notifications=[message("g1", c, clock()) for c in ("slack", "pagerduty")], now=clock()
    )
    slack.fault = Fault("status", 503)

    first = deliver_pending(store, channels, policy, clock, missing)
    assert (first.delivered, first.retrying, first.failed) == (1, 1, 0)
    clock.advance(minutes=2)
    second = deliver_pending(store, channels, policy, clock, missing)
    assert (second.failed, second.meta) == (1, 2)  # meta-alert to pagerduty and console
    assert second.delivered == 2
    row = store.delivery("g1-slack")
    assert row["status"] == "failed" and row["attempts"] == 2
    assert row["last_error"].startswith("gave up after 2 attempts over 2m: HTTP 503")
    health = store.channel_health()["slack"]
    assert health.status == "failing" and health.announced_group
    assert pagerduty.incidents_opened == 2

    slack.fault = None
    assert store.requeue("slack", clock()) == 1
    third = deliver_pending(store, channels, policy, clock, missing)
    assert store.delivery("g1-slack")["status"] == "delivered"
    assert third.meta == 2  # the recovery, to the same channels
    clock.advance(seconds=1)
    deliver_pending(store, channels, policy, clock, missing)
    assert store.channel_health()["slack"].status == "ok"
    assert sorted(pagerduty.incidents.values()) == ["resolved", "triggered"]
    assert set(store.outbox().status) == {"delivered"}
