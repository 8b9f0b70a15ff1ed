"""Against the real Alertmanager binary: firing alerts appear, a resolution ends them,
and a repeated delivery (a crash before it was recorded) does not duplicate them."""

import datetime as dt

import pytest

from monitoring_assets.core.alerts.outbox import AlertStore
from resources.notifiers import AlertingResource
from sensors.alerts import alert_tick
from tests.alerts.conftest import am_alerts, toy_model


class Killed(BaseException):
    pass


def test_fire_repeat_and_resolve_in_alertmanager(
    alertmanager, tmp_path, instance, toy, warehouse, monkeypatch
):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "freshness: {enabled: false}\n"
        "tiers: {warning: {channels: [alertmanager]}}\n"
        f"channels: {{alertmanager: {{url: '{alertmanager}'}}}}\n"
    )
    alerting = AlertingResource(policy_file=str(policy))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    toy.run("2026-06-02", failing={"f1", "f2", "f3"})

    original = AlertStore.mark_delivered

    def dying(self, *a, **kw):
        raise Killed()

    monkeypatch.setattr(AlertStore, "mark_delivered", dying)
    with pytest.raises(Killed):
        alert_tick(instance, warehouse, alerting, [toy_model()], 0, now=lambda: now)
    monkeypatch.setattr(AlertStore, "mark_delivered", original)
    res = alert_tick(instance, warehouse, alerting, [toy_model()], 0, now=lambda: now)
    assert res.delivery.delivered == 1

    active = am_alerts(alertmanager)
    ours = {a["labels"]["alertname"] for a in active if a["labels"]["model"] == "toy"}
    assert ours == {"feature_not_drifted_f1", "feature_not_drifted_f2", "feature_not_drifted_f3"}
    assert len([a for a in active if a["labels"]["model"] == "toy"]) == 3  # posted twice, held once
    one = next(a for a in active if a["labels"]["alertname"] == "feature_not_drifted_f1")
    assert one["labels"]["tier"] == "warning" and one["labels"]["severity"] == "warn"
    assert one["annotations"]["partition"] == "2026-06-02"
    assert "checkDetail=feature_not_drifted_f1" in one["generatorURL"]

    toy.run("2026-06-03", failing=set())
    later = now + dt.timedelta(seconds=5)
    alert_tick(instance, warehouse, alerting, [toy_model()], res.after_id, now=lambda: later)
    assert [a for a in am_alerts(alertmanager) if a["labels"]["model"] == "toy"] == []
