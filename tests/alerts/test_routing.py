"""The pure alert core: state machine, grouping, cooldown, quiet hours, actions."""

import datetime as dt

import pytest

from monitoring_assets.core.alerts.lineage import CheckEvent, UiLinks, split_metadata
from monitoring_assets.core.alerts.notifications import plan_notifications
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.routing import AlertBook
from tests.alerts.conftest import toy_model

T0 = dt.datetime(2026, 6, 4, 12, 0, tzinfo=dt.UTC)  # partitions 2026-06-02.. are live


def ev(i, check, passed, pk="2026-06-02", asset="data_drift", severity="WARN", model="toy"):
    return CheckEvent(
        event_id=i,
        asset_key=(model, asset),
        check=check,
        passed=passed,
        severity=severity,
        timestamp=T0 + dt.timedelta(seconds=i),
        partition=pk,
        metadata={"drift_score": 0.4, "threshold": 0.1},
    )


def book(policy=None, **alerting):
    return AlertBook(policy or AlertPolicy(), {"toy": toy_model(**alerting)}, [], [])


def test_persisting_failure_is_one_alert_and_a_pass_resolves_it():
    b = book()
    b.apply([ev(1, "c", False, "2026-06-02"), ev(2, "c", False, "2026-06-03")], T0)
    (alert,) = b.open.values()
    assert alert.failures == 2 and alert.partition_key == "2026-06-03"
    ch = b.apply([ev(3, "c", True, "2026-06-04")], T0)
    assert not b.open and [a.status for a in ch.alerts.values()] == ["resolved"]


def test_older_partition_in_a_backfill_does_not_change_state():
    b = book()
    b.apply([ev(1, "c", False, "2026-06-05")], T0)
    ch = b.apply([ev(2, "c", True, "2026-06-01")], T0)
    assert ch.ignored == 1 and len(b.open) == 1


def test_replayed_events_are_ignored():
    b = book()
    b.apply([ev(1, "c", False)], T0)
    ch = b.apply([ev(1, "c", False)], T0)
    assert ch.ignored == 1 and not ch.alerts


def test_models_not_configured_are_ignored():
    ch = book().apply([ev(1, "c", False, model="other")], T0)
    assert ch.ignored == 1 and not ch.alerts


def test_escalation_keeps_the_alert_and_raises_its_tier():
    b = book()
    b.apply([ev(1, "c", False, severity="WARN")], T0)
    b.apply([ev(2, "c", False, "2026-06-03", severity="ERROR")], T0)
    (alert,) = b.open.values()
    assert alert.tier == "critical" and alert.failures == 2


def test_performance_alert_under_review_rule_requests_review():
    b = book(human_review_on_performance=True)
    ch = b.apply([ev(1, "accuracy_above_floor", False, asset="model_performance")], T0)
    (action,) = ch.actions
    assert action.kind == "review" and action.job_name == "retrain_toy"
    assert action.tags()["driftwarden/review"] == "required"
    assert action.run_key == "review:toy:1"
    # without the rule: no action
    ch = book().apply([ev(1, "accuracy_above_floor", False, asset="model_performance")], T0)
    assert ch.actions == []


def test_critical_drift_requests_retrain_unless_the_model_opts_out():
    ch = book().apply([ev(5, "drift_share_below_threshold", False, severity="ERROR")], T0)
    assert [a.kind for a in ch.actions] == ["retrain"]
    ch = book(retrain_on_critical_drift=False).apply(
        [ev(5, "drift_share_below_threshold", False, severity="ERROR")], T0
    )
    assert ch.actions == []
    warn = book().apply([ev(5, "drift_share_below_threshold", False, severity="WARN")], T0)
    assert warn.actions == []  # a warning is not critical drift


def test_grouping_seven_features_one_day_one_notification_per_channel():
    policy = AlertPolicy.model_validate(
        {
            "tiers": {"warning": {"channels": ["console", "webhook"]}},
            "channels": {"webhook": {"url": "http://127.0.0.1:1/x"}},
        }
    )
    b = book(policy)
    ch = b.apply([ev(i, f"feature_{i}", False) for i in range(1, 8)], T0)
    notes, touched = plan_notifications(
        policy, list(ch.alerts.values()), T0 + dt.timedelta(minutes=1)
    )
    assert sorted(n.channel for n in notes) == ["console", "webhook"]
    assert len(notes[0].payload["alerts"]) == 7 and len(touched) == 7
    assert len({a.notify_group for a in touched}) == 1
    # two partitions -> two groups
    b2 = book(policy)
    ch = b2.apply([ev(1, "a", False, "2026-06-02"), ev(2, "b", False, "2026-06-03")], T0)
    notes, _ = plan_notifications(policy, list(ch.alerts.values()), T0 + dt.timedelta(minutes=1))
    assert len(notes) == 4


def test_group_wait_holds_new_alerts_for_siblings():
    policy = AlertPolicy.model_validate({"grouping": {"wait": "2m"}})
    ch = book(policy).apply([ev(1, "a", False)], T0)
    alerts = list(ch.alerts.values())
    assert plan_notifications(policy, alerts, T0 + dt.timedelta(minutes=1))[0] == []
    assert len(plan_notifications(policy, alerts, T0 + dt.timedelta(minutes=3))[0]) == 1


def test_cooldown_holds_a_refire_after_a_recent_message():
    policy = AlertPolicy.model_validate({"tiers": {"warning": {"cooldown": "1h"}}})
    ch = book(policy).apply([ev(1, "a", False)], T0)
    (alert,) = ch.alerts.values()
    last = {alert.fingerprint: T0 - dt.timedelta(minutes=30)}
    assert plan_notifications(policy, [alert], T0 + dt.timedelta(seconds=5), last)[0] == []
    notes, _ = plan_notifications(policy, [alert], T0 + dt.timedelta(minutes=31), last)
    assert len(notes) == 1


@pytest.mark.parametrize(("tier_sev", "sent"), [("WARN", 0), ("ERROR", 1)])
def test_quiet_hours_hold_warnings_not_criticals(tier_sev, sent):
    policy = AlertPolicy.model_validate({"quiet_hours": {"start": "11:00", "end": "13:00"}})
    ch = book(policy).apply([ev(1, "a", False, severity=tier_sev)], T0)
    notes, _ = plan_notifications(policy, list(ch.alerts.values()), T0 + dt.timedelta(minutes=1))
    assert len(notes) == sent
    later = T0 + dt.timedelta(hours=2)  # after quiet hours the held warning goes out
    assert len(plan_notifications(policy, list(ch.alerts.values()), later)[0]) == 1 - sent


def test_resolution_of_a_never_notified_alert_is_silent():
    policy = AlertPolicy()
    b = book(policy)
    ch = b.apply([ev(1, "a", False), ev(2, "a", True)], T0)
    notes, touched = plan_notifications(policy, list(ch.alerts.values()), T0)
    assert notes == [] and touched[0].resolve_notified


def test_pagerduty_resolves_only_when_the_whole_group_has():
    policy = AlertPolicy()
    b = book(policy)
    ch = b.apply([ev(1, "a", False), ev(2, "b", False)], T0)
    alerts = list(ch.alerts.values())
    plan_notifications(policy, alerts, T0 + dt.timedelta(minutes=1))
    group = alerts[0].notify_group
    ch = b.apply([ev(3, "a", True, "2026-06-03")], T0)
    (resolved,) = ch.alerts.values()
    notes, _ = plan_notifications(policy, [resolved, *b.open.values()], T0, open_groups={group})
    assert notes[0].payload["fully_resolved"] is False


def test_metadata_split_and_links():
    values, thresholds, other = split_metadata(
        {
            "drift_score": 0.3,
            "threshold": 0.1,
            "accuracy_floor": 0.85,
            "slack_token": "x",
            "note": "n",
            "flag": True,
        }
    )
    assert values == {"drift_score": 0.3}
    assert thresholds == {"threshold": 0.1, "accuracy_floor": 0.85}
    assert "slack_token" not in other and other["note"] == "n"
    links = UiLinks("http://h:3000/")
    assert links.asset_partition(("m", "a b"), "2026-06-01") == (
        "http://h:3000/assets/m/a%20b?view=partitions&partition=2026-06-01"
    )
