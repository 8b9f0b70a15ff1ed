"""An episode's onset, latest, count and duration: stored, and said by every message."""

from __future__ import annotations

import datetime as dt
import json

from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.record import record_events
from resources.notifiers import render_text
from resources.warehouse import Warehouse
from tests.alerts.conftest import toy_model

MODELS = {"toy": toy_model()}
DAY1 = dt.date(2026, 11, 1)
POLICY = AlertPolicy.model_validate(
    {"tiers": {"warning": {"channels": ["console"], "renotify_after": "3d"}}}
)


def day(i: int) -> str:
    return (DAY1 + dt.timedelta(days=i)).isoformat()


def ev(event_id: int, pk: str, passed: bool, at: dt.datetime, check: str = "f1_not_drifted"):
    return CheckEvent(
        event_id=event_id,
        asset_key=("toy", "data_drift"),
        check=check,
        passed=passed,
        severity="WARN",
        timestamp=at,
        partition=pk,
        metadata={"drift_score": 0.4, "threshold": 0.1},
    )


def morning_after(pk: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(pk), dt.time(8), dt.UTC) + dt.timedelta(days=1)


def stored(store: AlertStore) -> dict:
    (row,) = store.warehouse.query(
        "SELECT onset_partition, partition_key, failures, failing_partitions, "
        "resolved_partition, duration_days, status FROM alerts"
    ).to_dict("records")
    return row


def payloads(store: AlertStore, kind: str) -> list[dict]:
    out = store.outbox()
    return [json.loads(p) for p in out[out["kind"] == kind]["payload"]]


def test_daily_runs_keep_the_onset_and_count_every_failing_day(any_warehouse):
    store = AlertStore(any_warehouse)
    for i in range(10):  # one run a day, the morning after each partition
        record_events(
            store,
            POLICY,
            MODELS,
            [ev(i + 1, day(i), False, morning_after(day(i)))],
            morning_after(day(i)),
        )
    row = stored(store)
    assert row["onset_partition"] == "2026-11-01" and row["partition_key"] == "2026-11-10"
    assert (row["failures"], row["failing_partitions"], row["duration_days"]) == (10, 10, 9)
    assert row["status"] == "firing"

    # The first message went out at the onset; the re-notifications say how far it got.
    (first,) = payloads(store, "firing")
    assert first["alerts"][0]["onset_partition"] == "2026-11-01"
    assert "since 2026-11-01 (onset), latest 2026-11-01, 1 failing day" in first["title"]
    last = payloads(store, "renotify")[-1]
    assert last["alerts"][0]["latest_partition"] == "2026-11-10"
    assert "since 2026-11-01 (onset), latest 2026-11-10, 10 failing days, duration 9 days" in (
        render_text(last)
    )

    record_events(
        store,
        POLICY,
        MODELS,
        [ev(11, day(10), True, morning_after(day(10)))],
        morning_after(day(10)),
    )
    row = stored(store)
    assert (row["status"], row["resolved_partition"], row["duration_days"]) == (
        "resolved",
        "2026-11-11",
        10,
    )
    (resolved,) = payloads(store, "resolved")
    assert (
        "since 2026-11-01 (onset), latest 2026-11-10, 10 failing days, resolved 2026-11-11, "
        "duration 10 days" in resolved["alerts"][0]["summary"]
    )


def test_a_range_run_reports_its_onset_not_its_last_day(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    now = morning_after(day(9))
    events = [ev(i + 1, day(i), False, now) for i in range(10)]  # one run over ten days

    record_events(store, POLICY, MODELS, events, now)

    row = stored(store)
    assert (row["onset_partition"], row["partition_key"], row["failures"]) == (
        "2026-11-01",
        "2026-11-10",
        10,
    )
    assert row["duration_days"] == 9
    (msg,) = payloads(store, "firing")
    text = render_text(msg)
    assert "since 2026-11-01 (onset), latest 2026-11-10, 10 failing days, duration 9 days" in text
    assert msg["title"].startswith("[FIRING] warning · toy · since 2026-11-01 (onset)")


def test_a_re_evaluated_partition_counts_as_an_evaluation_not_a_day(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    now = morning_after(day(2))
    events = [ev(1, day(0), False, now), ev(2, day(1), False, now), ev(3, day(1), False, now)]

    out = record_events(store, POLICY, MODELS, events, now)

    (alert,) = out.alerts
    assert (alert.failures, alert.failing_partitions, alert.duration_days) == (3, 2, 1)
    assert alert.episode == (
        "since 2026-11-01 (onset), latest 2026-11-02, 2 failing days (3 failing evaluations), "
        "duration 1 day"
    )


def test_an_older_duckdb_alerts_table_gains_the_episode_columns(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    wh.execute(
        "CREATE TABLE alerts (alert_id VARCHAR PRIMARY KEY, fingerprint VARCHAR, model VARCHAR, "
        "model_version VARCHAR, asset_key VARCHAR, check_name VARCHAR, partition_key VARCHAR, "
        "severity VARCHAR, tier VARCHAR, status VARCHAR, category VARCHAR, channels VARCHAR, "
        "owners VARCHAR, muted BOOLEAN, opened_at TIMESTAMP, last_seen_at TIMESTAMP, "
        "trigger_event_id BIGINT, last_event_id BIGINT, failures BIGINT, resolved_at TIMESTAMP, "
        "resolve_event_id BIGINT, notified_at TIMESTAMP, last_notified_at TIMESTAMP, "
        "notify_count BIGINT, notify_group VARCHAR, resolve_notified BOOLEAN, summary VARCHAR, "
        "lineage VARCHAR, action VARCHAR)"
    )
    wh.execute(
        "INSERT INTO alerts (alert_id, fingerprint, model, model_version, asset_key, check_name, "
        "partition_key, severity, tier, status, channels, owners, muted, opened_at, last_seen_at, "
        "trigger_event_id, last_event_id, failures, notify_count, resolve_notified, lineage) "
        "VALUES ('old1', 'fp', 'toy', 'v3', 'toy/data_drift', 'c', '2026-11-05', 'WARN', "
        "'warning', 'firing', '[]', '[]', false, '2026-11-06 08:00', '2026-11-06 08:00', 1, 1, 4, "
        "0, false, '{}')"
    )
    store = AlertStore(wh)

    (alert,) = store.active_alerts()

    cols = set(wh.query("SELECT * FROM alerts LIMIT 0").columns)
    assert {"onset_partition", "failing_partitions", "duration_days", "backfill_group"} <= cols
    assert alert.episode == "onset not recorded, latest 2026-11-05, 4 failing evaluations"
    # and the table takes new episodes
    record_events(
        store, POLICY, MODELS, [ev(2, day(9), False, morning_after(day(9)))], morning_after(day(9))
    )
    assert len(store.list_alerts()) == 2
