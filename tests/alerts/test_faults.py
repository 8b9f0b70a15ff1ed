"""Delivery that nothing can block, driven through the real tick against misbehaving servers.

Each fake service is a real ``http.server`` on 127.0.0.1 (an ephemeral port) that can
answer garbage or missing ``Retry-After`` headers, 503 storms, hang, trickle its body,
reset the connection, send 10 MB, or not speak HTTP at all (:class:`Fault`). The
other channels' messages must go out in the same tick, the failing message must back
off with growing attempts and finally fail with its reason, one delivery meta-alert
must reach the rest of the tier, and no tick may raise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import time
from pathlib import Path

import dagster as dg
import pytest

from monitoring_assets.cli.alerts import add_cli
from monitoring_assets.core.alerts.outbox import AlertStore
from resources.notifiers import AlertingResource, PagerDutyChannel
from resources.warehouse import WarehouseResource
from sensors.alerts import alert_tick, build_alert_definitions
from tests.alerts.conftest import PD_KEY, SLACK_TOKEN, Clock, FakeService, Fault, toy_model

CHANNELS = ("slack", "pagerduty", "alertmanager", "webhook")
TIMEOUT = 0.5  # seconds per request, as set in the policy below


def write_policy(tmp_path: Path, services: dict[str, FakeService]) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(
        f"""\
freshness: {{enabled: false}}
page_window: 3650d
tiers:
  warning: {{channels: [slack, pagerduty, alertmanager, webhook]}}
delivery:
  timeout: {TIMEOUT}s
  inline_retry_after_max: 0.3s
  base_backoff: 1s
  max_backoff: 4s
  max_attempts: 3
  max_age: 10s
channels:
  slack: {{base_url: "{services["slack"].url}/api/"}}
  pagerduty: {{url: "{services["pagerduty"].url}/v2/enqueue"}}
  alertmanager: {{url: "{services["alertmanager"].url}"}}
  webhook: {{url: "{services["webhook"].url}/hook"}}
"""
    )
    return p


@pytest.fixture
def services(slack, pagerduty, fake_alertmanager, webhook) -> dict[str, FakeService]:
    return {
        "slack": slack,
        "pagerduty": pagerduty,
        "alertmanager": fake_alertmanager,
        "webhook": webhook,
    }


@pytest.fixture
def rig(tmp_path, services, instance, toy, warehouse):
    alerting = AlertingResource(
        policy_file=str(write_policy(tmp_path, services)),
        slack_token=SLACK_TOKEN,
        pagerduty_routing_key=PD_KEY,
    )
    clock = Clock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    state = {"after": 0}

    def tick():
        started = time.monotonic()
        res = alert_tick(instance, warehouse, alerting, [toy_model()], state["after"], now=clock)
        res.wall = time.monotonic() - started  # type: ignore[attr-defined]
        state["after"] = res.after_id
        return res

    return tick, clock, AlertStore(warehouse)


def meta_messages(svc: FakeService, channel: str) -> list:
    """Delivery meta-alerts about ``channel`` that ``svc`` accepted."""
    return [b for b in svc.ok_bodies() if f"delivery to {channel} failing" in json.dumps(b)]


def originals(svc: FakeService) -> list:
    return [b for b in svc.ok_bodies() if "delivery to " not in json.dumps(b)]


TEN_MB = b"x" * (10 * 1024 * 1024)

FAULTS = {
    "garbage Retry-After": ("pagerduty", Fault("status", 503, {"Retry-After": "soon"}), "HTTP 503"),
    "zone-less date": (
        "slack",
        Fault("status", 503, {"Retry-After": "Wed, 21 Oct 2026 07:28:00"}),
        "HTTP 503",
    ),
    "Retry-After 1e400": ("webhook", Fault("status", 503, {"Retry-After": "1e400"}), "HTTP 503"),
    "429 without Retry-After": ("alertmanager", Fault("status", 429), "rate limited"),
    "503 storm": ("pagerduty", Fault("status", 503, {"Retry-After": "0"}), "HTTP 503"),
    "hang": ("webhook", Fault("hang", seconds=60), "timed out"),
    "slow body": ("slack", Fault("slow_body", 200, seconds=0.2), "still arriving"),
    "slow headers": ("webhook", Fault("slow_headers", seconds=0.1), "no result within 2.3s"),
    "connection reset": ("alertmanager", Fault("reset"), "cannot reach"),
    "10 MB body": ("pagerduty", Fault("status", 500, body=TEN_MB), "HTTP 500"),
    "not HTTP": ("webhook", Fault("garbage"), "cannot reach"),
    "HTML instead of JSON": (
        "slack",
        Fault("status", 200, body=b"<html>bad gateway</html>"),
        "non-JSON",
    ),
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_a_failing_channel_never_blocks_the_others(name, rig, services, toy):
    channel, fault, reason = FAULTS[name]
    tick, clock, store = rig
    bad = services[channel]
    bad.fault = fault
    others = [c for c in CHANNELS if c != channel]
    toy.run("2026-06-02", failing={"f1"})

    res = tick()
    assert res.delivery.delivered == 3 and res.delivery.retrying == 1
    for c in others:
        assert len(originals(services[c])) == 1, c  # in the same tick
    row = store.outbox().set_index("channel").loc[channel]
    assert row.status == "pending" and row.attempts == 1
    assert reason in row.last_error, row.last_error
    assert res.wall < 15  # one bounded attempt (at most 2.3 s here), never the 40-60 s fault
    requests_after_first = len(bad.requests)

    attempts = [int(row.attempts)]
    while True:
        clock.advance(seconds=5.5)  # past max_backoff
        res = tick()
        row = store.outbox().set_index("channel").loc[channel]
        attempts.append(int(row.attempts))
        if row.status != "pending" or len(attempts) > 6:
            break
    assert attempts == [1, 2, 3]  # one attempt per tick, then the limits (3 attempts, 10 s)
    assert len(bad.requests) > requests_after_first
    assert row.status == "failed"
    assert row.last_error.startswith("gave up after 3 attempts over 11s: ")
    assert reason in row.last_error

    # the delivery meta-alert reached every other channel (and the console), once
    assert res.delivery.meta == len(others) + 1
    for c in others:
        (meta,) = meta_messages(services[c], channel)
    assert "delivery to " + channel in json.dumps(meta)
    for _ in range(2):
        clock.advance(seconds=5.5)
        res = tick()
        assert res.delivery.meta == 0
    for c in others:
        assert len(meta_messages(services[c], channel)) == 1
    assert meta_messages(bad, channel) == []


def test_channel_recovers_and_says_so(rig, services, toy):
    tick, clock, store = rig
    slack, pagerduty = services["slack"], services["pagerduty"]
    slack.fault = Fault("status", 503)
    toy.run("2026-06-02", failing={"f1"})
    for _ in range(3):
        tick()
        clock.advance(seconds=5.5)
    assert pagerduty.incidents_opened == 2  # the alert, and "delivery to slack failing"
    slack.fault = None
    toy.run("2026-06-03", failing={"f1", "f2"})
    res = tick()
    assert res.delivery.failed == 0
    (meta,) = meta_messages(pagerduty, "slack")
    resolves = [b for b in pagerduty.ok_bodies() if b["event_action"] == "resolve"]
    assert [r["dedup_key"] for r in resolves] == [meta["dedup_key"]]
    assert set(pagerduty.incidents.values()) == {"triggered", "resolved"}
    health = store.channel_health()["slack"]
    assert health.status == "ok" and health.recovered_at is not None


def test_failed_messages_can_be_queued_again(rig, services, toy, warehouse):
    tick, clock, store = rig
    services["slack"].fault = Fault("status", 503)
    toy.run("2026-06-02", failing={"f1"})
    for _ in range(3):
        tick()
        clock.advance(seconds=5.5)
    assert store.outbox().set_index("channel").loc["slack"].status == "failed"
    services["slack"].fault = None
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["alerts", "--warehouse", str(warehouse.path), "retry", "--channel", "slack"]
    )
    out = io.StringIO()
    assert args.func(args, out) == 0
    assert out.getvalue().startswith("1 failed slack message(s) queued again")
    tick()
    row = store.outbox().set_index("channel").loc["slack"]
    assert row.status == "delivered" and row.attempts == 1
    assert len(originals(services["slack"])) == 1
    with pytest.raises(SystemExit):
        parser.parse_args(["alerts", "retry", "--channel", "teams"])


class Exploding(PagerDutyChannel):
    """A channel whose send fails with something that is not a DeliveryError."""

    def send(self, payload, origin_ref=None):
        if payload["kind"] == "firing" and "delivery to " not in json.dumps(payload):
            raise KeyError("missing_title")
        return super().send(payload, origin_ref)


def test_any_exception_is_one_failed_attempt(rig, services, toy, monkeypatch):
    tick, clock, store = rig
    import resources.notifiers as notifiers

    monkeypatch.setattr(notifiers, "PagerDutyChannel", Exploding)
    toy.run("2026-06-02", failing={"f1"})
    res = tick()
    assert res.delivery.retrying == 1 and res.delivery.delivered == 3
    row = store.outbox().set_index("channel").loc["pagerduty"]
    assert row.status == "pending" and row.last_error == "KeyError: 'missing_title'"


def test_unreadable_outbox_row_fails_alone(rig, services, toy, warehouse):
    tick, clock, store = rig
    toy.run("2026-06-02", failing={"f1"})
    tick()
    store.warehouse.execute(
        "INSERT INTO alert_outbox SELECT 'broken-1', 'g', 'slack', 'firing', '{not json', "
        "'pending', 0, TIMESTAMP '2000-01-01', '', TIMESTAMP '2000-01-01', NULL, NULL"
    )
    clock.advance(seconds=5)
    res = tick()
    row = store.delivery("broken-1")
    assert row["status"] == "failed" and "unreadable payload" in row["last_error"]
    assert res.delivery.failed == 1


def test_sensor_tick_with_a_hanging_channel_moves_its_cursor(tmp_path, services, instance, toy):
    """The Dagster sensor itself: a channel that never answers costs one timeout per tick."""
    services["webhook"].fault = Fault("hang", seconds=60)
    alerting = AlertingResource(
        policy_file=str(write_policy(tmp_path, services)),
        slack_token=SLACK_TOKEN,
        pagerduty_routing_key=PD_KEY,
    )
    (sensor,) = build_alert_definitions([toy_model()]).sensors
    resources = {
        "warehouse": WarehouseResource(path=str(tmp_path / "wh.duckdb")),
        "alerting": alerting,
    }
    cursor, walls = None, []
    for day in ("2026-06-02", "2026-06-03"):
        toy.run(day, failing={"f1", "f2"} if day == "2026-06-03" else {"f1"})
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:
            started = time.monotonic()
            result = sensor(ctx)
            walls.append(time.monotonic() - started)
        assert (
            json.loads(result.cursor)["after_id"]
            > json.loads(cursor or '{"after_id": 0}')["after_id"]
        )
        cursor = result.cursor
    assert len(originals(services["slack"])) == 2  # both days, each in its own tick
    assert max(walls) < 15  # the hang lasts 60 s
    print(f"sensor ticks with a hanging webhook: {', '.join(f'{w:.2f}s' for w in walls)}")
