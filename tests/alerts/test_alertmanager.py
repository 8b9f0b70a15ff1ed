"""Against the real Alertmanager binary: firing alerts appear, a repeated post of the same
message is held once, and a resolution ends them. (A repeat caused by a killed process is
driven in ``test_kill.py``.)"""

import datetime as dt

from resources.notifiers import AlertingResource, AlertmanagerChannel
from sensors.alerts import alert_tick
from tests.alerts.conftest import am_alerts, toy_model


def test_fire_repeat_and_resolve_in_alertmanager(alertmanager, tmp_path, instance, toy, warehouse):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "freshness: {enabled: false}\n"
        "page_window: 3650d\n"
        "tiers: {warning: {channels: [alertmanager]}}\n"
        f"channels: {{alertmanager: {{url: '{alertmanager}'}}}}\n"
    )
    alerting = AlertingResource(policy_file=str(policy))
    toy.run("2026-06-02", failing={"f1", "f2", "f3"})
    # after the run: its evaluations must not be newer than the tick's clock
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    res = alert_tick(instance, warehouse, alerting, [toy_model()], 0, now=lambda: now)
    assert res.delivery.delivered == 1
    (note,) = res.notifications
    channels, _ = alerting.channels(alerting.policy())
    am = channels["alertmanager"]
    assert isinstance(am, AlertmanagerChannel)
    am.send(note.payload)  # the same message again, as after a crash before it was recorded

    active = am_alerts(alertmanager)
    ours = {a["labels"]["alertname"] for a in active if a["labels"]["model"] == "toy"}
    assert ours == {"feature_not_drifted_f1", "feature_not_drifted_f2", "feature_not_drifted_f3"}
    assert len([a for a in active if a["labels"]["model"] == "toy"]) == 3  # posted twice, held once
    one = next(a for a in active if a["labels"]["alertname"] == "feature_not_drifted_f1")
    assert one["labels"]["tier"] == "warning" and one["labels"]["severity"] == "warn"
    assert one["annotations"]["partition"] == "2026-06-02"
    assert "checkDetail=feature_not_drifted_f1" in one["generatorURL"]

    toy.run("2026-06-03", failing=set())
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    alert_tick(instance, warehouse, alerting, [toy_model()], res.after_id, now=lambda: later)
    assert [a for a in am_alerts(alertmanager) if a["labels"]["model"] == "toy"] == []
