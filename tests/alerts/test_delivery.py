"""End to end: toy check failures -> alerts -> outbox -> Slack, PagerDuty, email, webhook."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from monitoring_assets.core.alerts.outbox import AlertStore
from resources.notifiers import AlertingResource
from sensors.alerts import alert_tick
from tests.alerts.conftest import FEATURES, PD_KEY, SLACK_TOKEN, Clock, toy_model


def write_policy(tmp_path: Path, slack, pagerduty, smtp_port, webhook, extra: str = "") -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(
        f"""\
ui_base_url: http://dagster.example:3000
page_window: 3650d  # the toy history is dated 2026-06: evaluate it as live
tiers:
  critical: {{channels: [pagerduty, slack]}}
  warning:
    channels: [slack, pagerduty, email, webhook]
    renotify_after: 1h
    cooldown: 10m
delivery: {{base_backoff: 10s, max_backoff: 2m}}
freshness: {{enabled: false}}
channels:
  slack: {{channel: "#ml-alerts", base_url: "{slack.url}/api/"}}
  pagerduty: {{url: "{pagerduty.url}/v2/enqueue"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, sender: dw@example.com, to: [oncall@example.com]}}
  webhook: {{url: "{webhook.url}/hook"}}
{extra}"""
    )
    return p


@pytest.fixture
def setup(tmp_path, slack, pagerduty, smtp, webhook, instance, toy, warehouse):
    box, port = smtp
    policy = write_policy(tmp_path, slack, pagerduty, port, webhook)
    alerting = AlertingResource(
        policy_file=str(policy), slack_token=SLACK_TOKEN, pagerduty_routing_key=PD_KEY
    )
    clock = Clock(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5))
    state = {"after": 0}

    def tick(**kw):
        res = alert_tick(
            instance,
            warehouse,
            kw.pop("alerting", alerting),
            [toy_model()],
            state["after"],
            now=clock,
            **kw,
        )
        state["after"] = res.after_id
        return res

    return tick, clock, box, alerting


def slack_posts(slack, thread: bool | None = None):
    bodies = [b for b in slack.ok_bodies() if isinstance(b, dict)]
    if thread is None:
        return bodies
    return [b for b in bodies if bool(b.get("thread_ts")) == thread]


def test_one_days_drift_over_7_features_is_one_message_per_channel(
    setup, toy, slack, pagerduty, webhook, warehouse
):
    tick, clock, box, _ = setup
    toy.run("2026-06-02", failing=set(FEATURES))
    res = tick()

    assert res.events == 8  # 7 feature checks + drift share (passing)
    firing = AlertStore(warehouse).list_alerts(status="firing")
    assert len(firing) == 7 and {a.tier for a in firing} == {"warning"}
    assert len(slack_posts(slack)) == 1
    assert len(slack_posts(slack)[0]["blocks"]) == 1 + 7 + 1  # header, 7 alerts, footer
    assert len(pagerduty.ok_bodies()) == 1
    assert len(box.messages) == 1
    assert len(webhook.ok_bodies()) == 1
    assert res.delivery.delivered == 4 and res.delivery.failed == 0
    assert "7 checks" in box.messages[0]["Subject"]


def test_lineage_of_an_alert(setup, toy, warehouse):
    tick, *_ = setup
    toy.run("2026-06-03", failing={"f2"})
    tick()
    (alert,) = AlertStore(warehouse).list_alerts(status="firing")
    lin = alert.lineage
    assert (alert.model, alert.model_version, alert.partition_key) == ("toy", "v3", "2026-06-03")
    assert lin["asset_key"] == "toy/data_drift" and lin["check"] == "feature_not_drifted_f2"
    assert lin["severity"] == "WARN" and lin["tier"] == "warning"
    assert lin["values"] == {"drift_score": 0.31} and lin["thresholds"] == {"threshold": 0.1}
    assert lin["materialization"]["storage_id"] > 0 and lin["materialization"]["data_version"]
    assert lin["upstream_inference_logs"]["data_version"] == "rows-2026-06-03"
    assert lin["upstream_inference_logs"]["partition"] == "2026-06-03"
    assert lin["report_path"] == "/reports/toy/2026-06-03.html"
    run_id = lin["run_id"]
    assert lin["links"]["run"] == f"http://dagster.example:3000/runs/{run_id}"
    assert lin["links"]["asset_partition"] == (
        "http://dagster.example:3000/assets/toy/data_drift?view=partitions&partition=2026-06-03"
    )
    assert lin["links"]["check"] == (
        "http://dagster.example:3000/assets/toy/data_drift?view=checks"
        "&checkDetail=feature_not_drifted_f2"
    )


def test_pass_after_failure_resolves_in_thread_and_in_pagerduty(
    setup, toy, slack, pagerduty, warehouse
):
    tick, *_ = setup
    toy.run("2026-06-02", failing={"f1", "f2"})
    tick()
    first_ts = f"{slack._ts}.000100"
    toy.run("2026-06-03", failing=set())
    res = tick()

    store = AlertStore(warehouse)
    assert store.list_alerts(status="firing") == []
    assert len(store.list_alerts(status="resolved")) == 2
    replies = slack_posts(slack, thread=True)
    assert len(replies) == 1 and replies[0]["thread_ts"] == first_ts
    assert "RESOLVED" in replies[0]["text"]
    actions = [b["event_action"] for b in pagerduty.ok_bodies()]
    assert actions == ["trigger", "resolve"]
    assert set(pagerduty.incidents.values()) == {"resolved"}
    assert res.delivery.failed == 0


def test_persisting_failure_renotifies_only_after_the_interval(setup, toy, slack, warehouse):
    tick, clock, *_ = setup
    toy.run("2026-06-02", failing={"f1"})
    tick()
    assert len(slack_posts(slack)) == 1

    toy.run("2026-06-03", failing={"f1"})  # still drifting the next day
    clock.advance(minutes=20)
    tick()
    (alert,) = AlertStore(warehouse).list_alerts(status="firing")
    assert alert.failures == 2 and alert.partition_key == "2026-06-03"
    assert len(slack_posts(slack)) == 1  # inside the 1h interval: nothing new

    clock.advance(minutes=41)  # 61 minutes after the first message
    tick()
    posts = slack_posts(slack)
    assert len(posts) == 2 and "STILL FIRING" in posts[1]["text"]
    clock.advance(minutes=5)
    tick()
    assert len(slack_posts(slack)) == 2


def test_channel_down_for_several_ticks_then_back_loses_nothing(
    setup, toy, slack, pagerduty, webhook, warehouse
):
    tick, clock, box, _ = setup
    slack.down = pagerduty.down = True
    for day, failing in (
        ("2026-06-02", {"f1"}),
        ("2026-06-03", {"f1", "f3"}),
        ("2026-06-04", {"f3"}),
    ):
        toy.run(day, failing=failing)
        res = tick()
        assert res.delivery.retrying >= 1
        clock.advance(minutes=3)  # past the 2m max backoff
    store = AlertStore(warehouse)
    planned = store.outbox()
    assert (planned.status == "pending").sum() > 0
    slack.down = pagerduty.down = False
    clock.advance(minutes=3)
    tick()
    clock.advance(minutes=3)
    tick()

    out = store.outbox()
    assert set(out.status) == {"delivered"}, out[["channel", "kind", "status", "last_error"]]
    for name, svc in (("slack", slack), ("pagerduty", pagerduty), ("webhook", webhook)):
        expected = out[out.channel == name]
        got = svc.ok_bodies()
        assert len(got) == len(expected) > 0, name
    assert len(box.messages) == len(out[out.channel == "email"])
    # the oldest message was tried on each down tick; later ones waited behind it
    assert out[out.channel == "slack"].attempts.max() == 4


def test_http_429_retry_after_is_honoured(setup, toy, slack, pagerduty, warehouse):
    tick, clock, *_ = setup
    slack.rate_limit = [1]
    pagerduty.rate_limit = [1]
    toy.run("2026-06-02", failing={"f1"})
    res = tick()
    assert res.delivery.failed == 0 and res.delivery.retrying == 0
    for svc in (slack, pagerduty):
        first, second = svc.requests[0], svc.requests[1]
        assert first["answer"] == 429 and second["answer"] in (200, 202)
        assert second["at"] - first["at"] >= 0.95  # Retry-After: 1


def test_long_retry_after_is_scheduled_not_slept(setup, toy, pagerduty, warehouse):
    tick, clock, *_ = setup
    pagerduty.rate_limit = [120]
    toy.run("2026-06-02", failing={"f1"})
    res = tick()
    assert res.delivery.retrying == 1
    row = AlertStore(warehouse).outbox()
    pd_row = row[row.channel == "pagerduty"].iloc[0]
    wait = pd_row.next_attempt_at - clock().replace(tzinfo=None)
    assert wait >= dt.timedelta(seconds=119)
    clock.advance(seconds=60)
    tick()
    assert len(pagerduty.requests) == 1  # not retried before Retry-After
    clock.advance(seconds=61)
    tick()
    assert len(pagerduty.ok_bodies()) == 1


def test_wrong_slack_token_fails_explained_while_others_deliver(
    setup, toy, slack, pagerduty, webhook, warehouse, caplog
):
    tick, clock, box, alerting = setup
    bad = alerting.model_copy(update={"slack_token": "xoxb-wrong-token-999"})
    toy.run("2026-06-02", failing={"f1"})
    with caplog.at_level(logging.DEBUG):
        res = tick(alerting=bad)
    out = AlertStore(warehouse).outbox()
    alerts = out[out.kind == "firing"]
    originals = alerts[~alerts.payload.str.contains("delivery_to_slack")]
    slack_row = originals[originals.channel == "slack"].iloc[0]
    assert slack_row.status == "failed"
    assert "invalid_auth" in slack_row.last_error and "token is invalid" in slack_row.last_error
    assert set(originals[originals.channel != "slack"].status) == {"delivered"}
    # the failure is announced once, in the same tick, to the tier's other channels
    meta = alerts[alerts.payload.str.contains("delivery_to_slack")]
    assert sorted(meta.channel) == ["console", "email", "pagerduty", "webhook"]
    assert set(meta.status) == {"delivered"} and res.delivery.meta == 4
    assert [m["Subject"] for m in box.messages][1].startswith("[DELIVERY FAILING] warning")
    assert "delivery to slack failing since" in box.messages[1].get_content()
    assert "invalid_auth" in box.messages[1].get_content()
    assert pagerduty.incidents_opened == 2 and len(webhook.ok_bodies()) == 2
    assert res.delivery.failed == 1 and res.delivery.delivered == 3 + 4
    tick(alerting=bad)  # nothing new to say: once per failure episode
    assert len(box.messages) == 2 and len(AlertStore(warehouse).outbox()) == len(out)
    # secrets appear nowhere: not in the tables, the messages or the logs
    dump = out.to_json() + json.dumps([r["raw"] for r in slack.requests + pagerduty.requests])
    dump += AlertStore(warehouse).warehouse.query("SELECT * FROM alerts").to_json()
    dump += caplog.text + "".join(m.as_string() for m in box.messages)
    for secret in ("xoxb-wrong-token-999", SLACK_TOKEN):
        assert secret not in dump
    assert all(PD_KEY not in r["raw"] for r in slack.requests)


def test_missing_secret_is_an_explained_failure(setup, toy, warehouse):
    tick, clock, box, alerting = setup
    toy.run("2026-06-02", failing={"f1"})
    tick(alerting=alerting.model_copy(update={"pagerduty_routing_key": ""}))
    out = AlertStore(warehouse).outbox()
    row = out[out.channel == "pagerduty"].iloc[0]
    assert row.status == "failed" and "DRIFTWARDEN_PAGERDUTY_ROUTING_KEY" in row.last_error
