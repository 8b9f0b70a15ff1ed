"""Outbox delivery shared by the stream consumer and the ``check_failure_alerts`` sensor:
one pass at a time per warehouse, so a message is never sent twice."""

from __future__ import annotations

import datetime as dt
import threading

import dagster as dg
import pytest

from monitoring_assets.core.alerts.delivery import deliver_pending
from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import load_policy
from monitoring_assets.core.alerts.record import record_events
from resources.notifiers import AlertingResource, build_channels
from resources.outbox_delivery import deliver_exclusively, delivery_lock
from resources.warehouse import open_warehouse
from sensors.alerts import alert_tick
from tests.streaming.webhook import Receiver, webhook_policy


@pytest.fixture
def receiver():
    r = Receiver(delay=1.0)  # slow: two passes would overlap while a message is in flight
    yield r
    r.close()


def _queue(warehouse, policy, model, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    day = model.first_date
    events = [
        CheckEvent(
            event_id=i + 1,
            asset_key=(model.name, "stream_drift"),
            check="drift_share_below_threshold",
            passed=False,
            severity="ERROR",
            timestamp=now,
            partition=(day + dt.timedelta(days=i)).isoformat(),  # one message per partition
            metadata={},
            description=f"failure {i}",
        )
        for i in range(n)
    ]
    record_events(AlertStore(warehouse), policy, {model.name: model}, events, now)


def _race(warehouse, policy, deliver) -> None:
    channels, missing = build_channels(policy)
    start = threading.Barrier(2)

    def one() -> None:
        store = AlertStore(open_warehouse(warehouse.url.removeprefix("duckdb:///")))
        start.wait()
        deliver(store, channels, policy, missing=missing)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)


def test_unlocked_passes_do_double_send(tmp_path, receiver, model):
    """The race exists: two plain passes over one outbox both send what is due."""
    policy = load_policy(webhook_policy(tmp_path / "policy.yaml", receiver.url))
    wh = open_warehouse(tmp_path / "warehouse.duckdb")
    _queue(wh, policy, model, 2)
    _race(wh, policy, lambda s, c, p, missing: deliver_pending(s, c, p, missing=missing))
    keys = receiver.keys()
    assert len(keys) > len(set(keys)), keys


def test_two_concurrent_passes_send_each_message_once(tmp_path, receiver, model):
    policy = load_policy(webhook_policy(tmp_path / "policy.yaml", receiver.url))
    wh = open_warehouse(tmp_path / "warehouse.duckdb")
    _queue(wh, policy, model, 2)
    _race(wh, policy, deliver_exclusively)
    keys = receiver.keys()
    outbox = AlertStore(wh).outbox()
    assert len(outbox) >= 1 and set(outbox.status) == {"delivered"}
    assert len(keys) == len(set(keys)) == len(outbox), keys


def test_postgres_lock_excludes_a_second_holder(model, pg_warehouse_url):
    from resources.warehouse_postgres import PostgresWarehouse

    wh = PostgresWarehouse(pg_warehouse_url)
    wh.migrate()
    with delivery_lock(wh) as first:
        with delivery_lock(PostgresWarehouse(pg_warehouse_url)) as second:
            assert first and not second
    with delivery_lock(wh) as again:
        assert again  # released at the end of the pass


def test_the_sensor_skips_delivery_while_another_process_delivers(tmp_path, model, monkeypatch):
    receiver = Receiver()
    try:
        path = webhook_policy(tmp_path / "policy.yaml", receiver.url)
        policy = load_policy(path)
        wh = open_warehouse(tmp_path / "warehouse.duckdb")
        _queue(wh, policy, model, 1)
        alerting = AlertingResource(policy_file=str(path))
        with dg.DagsterInstance.ephemeral() as instance:
            with delivery_lock(wh) as held:
                assert held
                tick = alert_tick(instance, wh, alerting, [model], 0)
                assert tick.delivery.delivered == 0 and receiver.keys() == []
            tick = alert_tick(instance, wh, alerting, [model], 0)
        assert tick.delivery.delivered == 1 and len(receiver.keys()) == 1
    finally:
        receiver.close()
