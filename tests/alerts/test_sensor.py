"""The check_failure_alerts sensor through Dagster: cursor, actions, observations, definitions."""

import datetime as dt
import json

import dagster as dg
import pytest

from monitoring_assets.core.alerts.outbox import AlertStore
from resources.notifiers import AlertingResource
from resources.warehouse import WarehouseResource
from sensors.alerts import (
    DIGEST_SCHEDULE,
    SENSOR_NAME,
    build_alert_definitions,
    deliver_digest,
    freshness_events,
)
from tests.alerts.conftest import toy_model


@pytest.fixture
def policy_file(tmp_path):
    p = tmp_path / "policy.yaml"
    p.write_text(
        "freshness: {enabled: false}\npage_window: 3650d\nactions: {retrain: {cooldown: 1h}}\n"
    )
    return p


def evaluate(sensor, instance, warehouse, policy_file, cursor):
    ctx = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "warehouse": WarehouseResource(path=str(warehouse.path)),
            "alerting": AlertingResource(policy_file=str(policy_file)),
        },
    )
    return sensor(ctx)


def test_critical_drift_requests_retraining_once_per_event_with_cooldown(
    instance, toy, warehouse, policy_file
):
    defs = build_alert_definitions([toy_model()], retrain_jobs=["retrain_toy"])
    (sensor,) = defs.sensors
    assert sensor.name == SENSOR_NAME

    toy.run("2026-06-02", failing={"share"})  # drift_share_below_threshold fails: ERROR
    result = evaluate(sensor, instance, warehouse, policy_file, None)
    cursor = json.loads(result.cursor)
    assert cursor["after_id"] > 0
    (req,) = result.run_requests
    (alert,) = AlertStore(warehouse).list_alerts(status="firing")
    assert alert.tier == "critical" and alert.category == "drift"
    assert req.job_name == "retrain_toy"
    assert req.run_key == f"retrain:toy:{alert.trigger_event_id}"
    assert req.tags["driftwarden/trigger"] == str(alert.trigger_event_id)
    assert "driftwarden/review" not in req.tags
    assert [o.asset_key for o in result.asset_events] == [dg.AssetKey(["toy", "alerts"])]
    assert result.asset_events[0].metadata["open_critical"].value == 1

    # a restart with the stored cursor re-reads nothing and duplicates nothing
    again = evaluate(sensor, instance, warehouse, policy_file, result.cursor)
    assert json.loads(again.cursor) == cursor
    assert [r.run_key for r in again.run_requests] == [req.run_key]  # re-emitted; Dagster dedupes
    assert len(AlertStore(warehouse).list_alerts()) == 1

    # resolve, then drift again within the retrain cooldown: a new alert, no new run
    toy.run("2026-06-03", failing=set())
    toy.run("2026-06-04", failing={"share"})
    third = evaluate(sensor, instance, warehouse, policy_file, again.cursor)
    alerts = AlertStore(warehouse).list_alerts()
    assert len(alerts) == 2 and alerts[0].status == "firing" and alerts[1].status == "resolved"
    assert alerts[0].action.startswith("retrain:cooldown:")
    assert {r.run_key for r in third.run_requests} == {req.run_key}


def test_sensor_without_retrain_job_records_no_job(instance, toy, warehouse, policy_file):
    (sensor,) = build_alert_definitions([toy_model()]).sensors
    toy.run("2026-06-02", failing={"share"})
    result = evaluate(sensor, instance, warehouse, policy_file, None)
    assert result.run_requests == []
    (alert,) = AlertStore(warehouse).list_alerts()
    assert alert.action.startswith("retrain:no_job:")


def test_definitions_load_with_the_alert_defs(tmp_path):
    defs = build_alert_definitions([toy_model()], retrain_jobs=[])

    @dg.asset(key=["toy", "inference_logs"])
    def inference_logs() -> None: ...

    d = dg.Definitions(
        assets=[inference_logs, *defs.assets],
        sensors=defs.sensors,
        schedules=defs.schedules,
        jobs=defs.jobs,
        resources={
            "warehouse": WarehouseResource(path=str(tmp_path / "w.duckdb")),
            "alerting": AlertingResource(),
        },
    )
    repo = d.get_repository_def()
    assert repo.get_sensor_def(SENSOR_NAME)
    assert repo.get_schedule_def(DIGEST_SCHEDULE).cron_schedule == "0 9 * * 1"
    graph = repo.asset_graph
    assert (
        dg.AssetKey(["toy", "inference_logs"])
        in graph.get(dg.AssetKey(["toy", "alerts"])).parent_keys
    )


def test_missing_inference_partition_by_deadline_alerts(instance, toy, warehouse, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("freshness: {deadline: 6h, lookback_days: 3}\npage_window: 3650d\n")
    alerting = AlertingResource(policy_file=str(policy))
    model = toy_model()
    for pk in ("2026-06-07", "2026-06-09"):
        dg.materialize([toy.assets[0]], instance=instance, partition_key=pk)
    now = dt.datetime(2026, 6, 10, 7, 0, tzinfo=dt.UTC)  # 06-09 is due since 06:00
    (event,) = freshness_events(instance, [model], alerting.policy(), {}, now)
    assert not event.passed and event.partition == "2026-06-08"
    assert (
        event.asset_key == ("toy", "inference_logs") and event.metadata["missing_partitions"] == 1
    )
    early = dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC)  # 06-09 not due yet; 06-06 is
    (event,) = freshness_events(instance, [model], alerting.policy(), {}, early)
    assert not event.passed and event.partition == "2026-06-08"
    assert event.metadata["missing_partitions"] == 2  # 06-06 and 06-08

    dg.materialize([toy.assets[0]], instance=instance, partition_key="2026-06-08")
    (event,) = freshness_events(instance, [model], alerting.policy(), {}, now)
    assert event.passed
    # unchanged state -> no event (no churn in the alerts table)
    state = {event.fingerprint: (event.partition, True)}
    assert freshness_events(instance, [model], alerting.policy(), state, now) == []


def test_weekly_digest_summarises_the_week_per_model(tmp_path, smtp, instance, toy, warehouse):
    box, port = smtp
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "freshness: {enabled: false}\n"
        "routes:\n  - {match: {check: 'feature_not_drifted_*'}, tier: info}\n"
        "tiers: {info: {channels: [email], immediate: false}}\n"
        f"channels: {{email: {{host: 127.0.0.1, port: {port}, to: [team@example.com]}}}}\n"
    )
    alerting = AlertingResource(policy_file=str(policy))
    (sensor,) = build_alert_definitions([toy_model()]).sensors
    toy.run("2026-06-02", failing={"f1", "f2"})
    ctx = dg.build_sensor_context(
        instance=instance,
        resources={"warehouse": WarehouseResource(path=str(warehouse.path)), "alerting": alerting},
    )
    sensor(ctx)
    assert box.messages == []  # info is not immediate
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    report = deliver_digest(warehouse, alerting, now)
    assert report.delivered == 1
    deliver_digest(warehouse, alerting, now)  # a re-run of the schedule sends nothing new
    (msg,) = box.messages
    body = msg.get_content()
    assert "[DIGEST]" in msg["Subject"] and "2 alerts" in msg["Subject"]
    assert "toy: opened 2 {'info': 2}" in body
    assert "feature_not_drifted_f1" in body and "feature_not_drifted_f2" in body


def test_secrets_come_from_environment_variables(monkeypatch):
    monkeypatch.setenv("DRIFTWARDEN_SLACK_TOKEN", "xoxb-from-env-777")
    monkeypatch.delenv("DRIFTWARDEN_PAGERDUTY_ROUTING_KEY", raising=False)
    resource = AlertingResource.from_env()
    assert isinstance(resource.slack_token, dg.EnvVar)  # the value is not in the definition
    with dg.build_resources({"alerting": resource}) as r:
        assert r.alerting.slack_token == "xoxb-from-env-777"
        assert r.alerting.pagerduty_routing_key == ""
