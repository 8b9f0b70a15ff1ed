"""The alerts table gains ``causes`` on both backends; causes round-trip with the alert."""

import datetime as dt

from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.notifications import alert_payload
from monitoring_assets.core.alerts.outbox import ALERT_TABLES, AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.record import record_events
from monitoring_assets.core.root_cause.causes import Cause
from tests.alerts.conftest import toy_model

T0 = dt.datetime(2026, 6, 4, 12, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=1)  # after every event below
MODELS = {"toy": toy_model()}
OLD_COLUMNS = (
    "alert_id VARCHAR PRIMARY KEY, fingerprint VARCHAR, model VARCHAR, model_version VARCHAR, "
    "asset_key VARCHAR, check_name VARCHAR, partition_key VARCHAR, severity VARCHAR, "
    "tier VARCHAR, status VARCHAR, category VARCHAR, channels VARCHAR, owners VARCHAR, "
    "muted BOOLEAN, opened_at TIMESTAMP, last_seen_at TIMESTAMP, trigger_event_id BIGINT, "
    "last_event_id BIGINT, failures BIGINT, resolved_at TIMESTAMP, resolve_event_id BIGINT, "
    "notified_at TIMESTAMP, last_notified_at TIMESTAMP, notify_count BIGINT, "
    "notify_group VARCHAR, resolve_notified BOOLEAN, summary VARCHAR, lineage VARCHAR, "
    "action VARCHAR, onset_partition VARCHAR, failing_partitions BIGINT, "
    "resolved_partition VARCHAR, duration_days BIGINT, backfill_group VARCHAR"
)


def ev(i: int, pk: str, check: str = "drift_share_below_threshold") -> CheckEvent:
    return CheckEvent(
        event_id=i,
        asset_key=("toy", "data_drift"),
        check=check,
        passed=False,
        severity="WARN",
        timestamp=T0 + dt.timedelta(seconds=i),
        partition=pk,
        metadata={"drift_share": 0.6, "threshold": 0.5},
    )


def test_an_older_alerts_table_gains_causes_and_keeps_them(any_warehouse):
    wh = any_warehouse
    # The warehouse's own tables (and Postgres's schema) exist; the alerts table is older.
    wh.migrate(ALERT_TABLES)
    wh.execute("DROP TABLE alerts")
    wh.execute(f"CREATE TABLE alerts ({OLD_COLUMNS})")
    wh.execute(
        "INSERT INTO alerts (alert_id, fingerprint, model, model_version, asset_key, check_name, "
        "partition_key, severity, tier, status, channels, owners, muted, opened_at, last_seen_at, "
        "trigger_event_id, last_event_id, failures, notify_count, resolve_notified, lineage) "
        "VALUES ('old1', 'fp', 'toy', 'v3', 'toy/data_drift', 'c', '2026-06-01', 'WARN', "
        "'warning', 'firing', '[]', '[]', false, '2026-06-02 08:00', '2026-06-02 08:00', 1, 1, 1, "
        "0, false, '{}')"
    )
    store = AlertStore(wh)

    (old,) = store.active_alerts()
    assert old.causes == []
    assert "causes" in set(wh.query("SELECT * FROM alerts LIMIT 0").columns)

    seen = []

    def explain(alert):
        seen.append(alert.partition_key)
        share = 0.9 if alert.partition_key == "2026-06-03" else 0.6
        return [
            Cause("feature", "f2", share, {"severity": 4.0}, f"f2 ({share:.0%})"),
            Cause("feature", "f1", 1 - share, {"severity": 1.0}, "f1"),
        ]

    record_events(store, AlertPolicy(), MODELS, [ev(1, "2026-06-02")], NOW, explain=explain)
    # the same partition again: not explained again; a new partition: explained again
    record_events(store, AlertPolicy(), MODELS, [ev(2, "2026-06-02")], NOW, explain=explain)
    record_events(store, AlertPolicy(), MODELS, [ev(3, "2026-06-03")], NOW, explain=explain)
    assert seen == ["2026-06-02", "2026-06-03"]

    (alert,) = [a for a in store.list_alerts(status="firing", limit=None) if a.alert_id != "old1"]
    assert [c["name"] for c in alert.causes] == ["f2", "f1"]
    assert alert.causes[0] == {
        "kind": "feature",
        "name": "f2",
        "score": 0.9,
        "numbers": {"severity": 4.0},
        "text": "f2 (90%)",
    }
    assert alert_payload(alert)["causes"] == alert.causes


def test_a_failing_explainer_never_keeps_an_alert_from_being_recorded(any_warehouse):
    store = AlertStore(any_warehouse)

    def broken(alert):
        raise RuntimeError("registry unreadable")

    out = record_events(store, AlertPolicy(), MODELS, [ev(1, "2026-06-02")], NOW, explain=broken)

    assert len(out.alerts) == 1 and out.alerts[0].causes == []
    assert len(out.notifications) == 1
