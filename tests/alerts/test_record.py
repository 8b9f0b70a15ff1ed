"""record_events: check events into stored alerts and queued messages (no Dagster)."""

import datetime as dt

from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.record import record_events
from resources.warehouse import Warehouse
from tests.alerts.conftest import FEATURES, toy_model

T0 = dt.datetime(2026, 6, 4, 12, 0, tzinfo=dt.UTC)  # partitions 2026-06-02.. are live
NOW = T0 + dt.timedelta(minutes=1)  # after every event below
MODELS = {"toy": toy_model()}


def ev(i: int, check: str, passed: bool, severity: str = "WARN", pk: str = "2026-06-02"):
    return CheckEvent(
        event_id=i,
        asset_key=("toy", "data_drift"),
        check=check,
        passed=passed,
        severity=severity,
        timestamp=T0 + dt.timedelta(seconds=i),
        partition=pk,
        metadata={"drift_score": 0.4, "threshold": 0.1},
    )


def test_failures_open_alerts_and_queue_one_grouped_message(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    events = [ev(i + 1, f"{f}_not_drifted", False) for i, f in enumerate(FEATURES)]

    out = record_events(store, AlertPolicy(), MODELS, events, NOW)

    assert len(out.alerts) == 7 and {a.tier for a in out.alerts} == {"warning"}
    assert [(n.channel, n.kind) for n in out.notifications] == [("console", "firing")]
    assert out.actions == [] and out.ignored == 0
    assert len(store.list_alerts(status="firing")) == 7
    assert list(store.outbox("pending").kind) == ["firing"]
    assert {s.fingerprint for s in store.states()} == {e.fingerprint for e in events}


def test_replayed_events_change_nothing(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    events = [ev(1, "a", False), ev(2, "b", False)]
    record_events(store, AlertPolicy(), MODELS, events, NOW)

    again = record_events(store, AlertPolicy(), MODELS, events, NOW + dt.timedelta(minutes=1))

    assert again.ignored == 2 and again.alerts == [] and again.notifications == []
    assert len(store.outbox()) == 1


def test_a_pass_resolves_and_queues_the_resolution(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    record_events(store, AlertPolicy(), MODELS, [ev(1, "a", False)], NOW)

    out = record_events(store, AlertPolicy(), MODELS, [ev(2, "a", True, pk="2026-06-03")], NOW)

    (alert,) = out.alerts
    assert alert.status == "resolved" and alert.resolve_notified
    assert [n.kind for n in out.notifications] == ["resolved"]
    assert store.list_alerts(status="firing") == []
    assert sorted(store.outbox().kind) == ["firing", "resolved"]


def test_critical_drift_asks_for_a_retrain_and_unknown_models_are_ignored(tmp_path):
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    other = CheckEvent(2, ("other", "data_drift"), "a", False, "ERROR", T0, "2026-06-02")

    out = record_events(store, AlertPolicy(), MODELS, [ev(1, "a", False, "ERROR"), other], NOW)

    assert [(a.model, a.tier) for a in out.alerts] == [("toy", "critical")]
    assert [(r.kind, r.model, r.trigger_event_id) for r in out.actions] == [("retrain", "toy", 1)]
    assert out.ignored == 1


def test_a_call_without_events_still_plans_what_came_due(tmp_path):
    # The warning tier re-notifies a still-firing alert after 24 hours.
    store = AlertStore(Warehouse(tmp_path / "wh.duckdb"))
    record_events(store, AlertPolicy(), MODELS, [ev(1, "a", False)], NOW)

    early = record_events(store, AlertPolicy(), MODELS, [], NOW + dt.timedelta(hours=23))
    late = record_events(store, AlertPolicy(), MODELS, [], NOW + dt.timedelta(hours=25))

    assert early.notifications == []
    assert [n.kind for n in late.notifications] == ["renotify"]
    assert [a.notify_count for a in late.alerts] == [2]
