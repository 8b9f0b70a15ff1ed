"""Evaluations of history: episodes recorded, one summary per model and backfill, no pages."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy, ConfigError, load_policy
from monitoring_assets.core.alerts.record import record_events
from resources.notifiers import AlertingResource
from resources.warehouse import Warehouse
from sensors.alerts import alert_tick
from tests.alerts.conftest import toy_model

MODELS = {"toy": toy_model()}
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
POLICY = AlertPolicy.model_validate(
    {
        "tiers": {"critical": {"channels": ["pagerduty", "webhook"]}},
        "channels": {"pagerduty": {}, "webhook": {"url": "http://127.0.0.1:9/hook"}},
    }
)


def ev(i: int, check: str, pk: str, passed: bool, present: bool = False) -> CheckEvent:
    return CheckEvent(
        event_id=i,
        asset_key=("toy", "data_drift"),
        check=check,
        passed=passed,
        severity="ERROR",
        timestamp=NOW - dt.timedelta(minutes=5),
        partition=pk,
        metadata={"drift_share": 0.6, "drift_share_threshold": 0.5},
        present=present,
    )


def june_backfill() -> list[CheckEvent]:
    """2026-06-01..06-30: check a fails 06-03..06-07 (resolved 06-08), check b fails
    06-20..06-30 (still open), check c always passes."""
    events, i = [], 0
    for d in range(1, 31):
        pk = f"2026-06-{d:02d}"
        for check, failing in (("a", 3 <= d <= 7), ("b", d >= 20), ("c", False)):
            i += 1
            events.append(ev(i, check, pk, not failing))
    return events


def outbox(store: AlertStore) -> list[dict]:
    rows = store.outbox().to_dict("records")
    return [{**r, "payload": json.loads(r["payload"])} for r in rows]


def test_a_backfill_is_summarised_once_and_pages_nobody(any_warehouse):
    store = AlertStore(any_warehouse)

    out = record_events(store, POLICY, MODELS, june_backfill(), NOW)

    rows = outbox(store)
    assert [(r["kind"], r["channel"]) for r in rows] == [("backfill", "webhook")]
    p = rows[0]["payload"]
    assert "backfill 2026-06-03..2026-06-30: 2 episodes, 1 still open" in p["title"]
    assert p["backfill"] == {
        "model": "toy",
        "start": "2026-06-03",
        "end": "2026-06-30",
        "episodes": 2,
        "still_open": 1,
        "paged": 0,
    }
    by_check = {a.check_name: a for a in store.list_alerts()}
    assert set(by_check) == {"a", "b"}
    assert (by_check["a"].onset_partition, by_check["a"].partition_key) == (
        "2026-06-03",
        "2026-06-07",
    )
    assert (by_check["a"].resolved_partition, by_check["a"].duration_days) == ("2026-06-08", 5)
    assert (by_check["b"].onset_partition, by_check["b"].failures) == ("2026-06-20", 11)
    assert all(a.notified_at is None for a in by_check.values())
    assert {a.backfill_group for a in by_check.values()} == {rows[0]["group_id"]}
    assert {a.alert_id for a in out.alerts} == set(a.alert_id for a in by_check.values())

    # The sensor reads the same events again (a reset cursor): nothing new is queued.
    again = record_events(store, POLICY, MODELS, june_backfill(), NOW + dt.timedelta(minutes=1))
    assert again.notifications == [] and len(outbox(store)) == 1
    # A later planning pass does not repeat it either.
    record_events(store, POLICY, MODELS, [], NOW + dt.timedelta(hours=5))
    assert len(outbox(store)) == 1


def test_a_fresh_failure_still_pages_and_revives_an_open_history_episode(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    record_events(store, POLICY, MODELS, june_backfill(), NOW)

    # The live run of yesterday: b still fails, d fails for the first time.
    live = [ev(1000, "b", "2026-11-29", False), ev(1001, "d", "2026-11-29", False)]
    out = record_events(store, POLICY, MODELS, live, NOW + dt.timedelta(minutes=1))

    fired = [n for n in out.notifications if n.kind == "firing"]
    assert sorted(n.channel for n in fired) == ["pagerduty", "webhook"]
    alerts = {a["check"]: a for a in fired[0].payload["alerts"]}
    assert set(alerts) == {"b", "d"}
    assert alerts["b"]["episode"] == (
        "since 2026-06-20 (onset), latest 2026-11-29, 12 failing days, duration 162 days"
    )
    assert alerts["d"]["onset_partition"] == "2026-11-29"
    assert [r["kind"] for r in outbox(store)].count("backfill") == 1


def test_a_present_evaluation_of_an_old_partition_pages(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    old_but_missing_now = ev(1, "inference_partition_on_time", "2026-11-20", False, present=True)

    out = record_events(store, POLICY, MODELS, [old_but_missing_now], NOW)

    assert sorted(n.kind for n in out.notifications) == ["firing", "firing"]


def test_the_summary_waits_until_the_sensor_caught_up(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    events = june_backfill()

    record_events(store, POLICY, MODELS, events[:40], NOW, caught_up=False)
    assert outbox(store) == []
    record_events(store, POLICY, MODELS, events[40:], NOW, caught_up=True)

    (row,) = outbox(store)
    assert row["payload"]["backfill"]["episodes"] == 2  # one summary covers both ticks


@pytest.mark.parametrize(
    ("text", "error"),
    [("page_window: 0s\n", "must be longer than 0s"), ("page_window: soon\n", "duration")],
)
def test_page_window_is_validated_with_file_line_and_key(tmp_path, text, error):
    f = tmp_path / "alert_policy.yaml"
    f.write_text("freshness: {enabled: false}\n" + text)
    with pytest.raises(ConfigError) as exc:
        load_policy(f)
    msg = str(exc.value)
    assert f"{f}:2: page_window" in msg and error in msg


def test_the_sensor_summarises_a_replayed_history_once_across_ticks(
    tmp_path, instance, toy, warehouse, webhook
):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "freshness: {enabled: false}\n"
        "tiers: {warning: {channels: [webhook, pagerduty]}, critical: {channels: [pagerduty]}}\n"
        f"channels: {{webhook: {{url: '{webhook.url}/hook'}}, pagerduty: {{}}}}\n"
    )
    alerting = AlertingResource(policy_file=str(policy))
    for pk, failing in (("2026-06-02", {"f1", "f2"}), ("2026-06-03", {"f1"})):
        toy.run(pk, failing=failing)  # June 2026: history for the sensor's clock

    after, ticks = 0, 0
    while True:  # 16 evaluations, 5 a tick, as the daemon would read them
        res = alert_tick(instance, warehouse, alerting, [toy_model()], after, batch=5)
        ticks += 1
        if res.after_id == after:
            break
        after = res.after_id
    assert ticks == 5
    bodies = webhook.ok_bodies()
    assert len(bodies) == 1
    assert "backfill 2026-06-02..2026-06-03: 2 episodes, 1 still open" in bodies[0]["title"]
    # Reading every evaluation again from the start sends nothing new.
    alert_tick(instance, warehouse, alerting, [toy_model()], 0, batch=500)
    assert len(webhook.ok_bodies()) == 1
    store = AlertStore(warehouse)
    assert set(store.outbox()["kind"]) == {"backfill"}
