"""End to end: a simulated covariate shift, the drift assets in Dagster, the alert sensor's
tick with the code location's explainer; the causes are stored with the alert, shown by
``alerts show`` and sent to Slack, PagerDuty and e-mail."""

import datetime as dt

import pytest

from monitoring_assets.cli.alerts import render_alert
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.root_cause.importance import IMPORTANCE_ARTIFACT
from monitoring_assets.definitions import build_explainer, build_resources
from resources.model_registry import LocalModelRegistry
from resources.notifiers import AlertingResource
from sensors.alerts import alert_tick
from tests.alerts.conftest import PD_KEY, SLACK_TOKEN
from tests.conftest import churn_yaml
from tests.drift.helpers import FOUNDATION, Scenario

SHIFT = "[{kind: covariate_shift, feature: monthly_charges, day: 3, magnitude: 1.5}]"
ASSETS = FOUNDATION + (
    "feature_profiles",
    "data_drift",
    "prediction_drift",
    "data_quality",
    "model_performance",
)


def write_policy(tmp_path, slack, pagerduty, smtp_port):
    p = tmp_path / "policy.yaml"
    p.write_text(
        f"""\
page_window: 3650d
freshness: {{enabled: false}}
tiers:
  critical: {{channels: [pagerduty, slack, email]}}
  warning: {{channels: [pagerduty, slack, email]}}
channels:
  slack: {{channel: "#ml-alerts", base_url: "{slack.url}/api/"}}
  pagerduty: {{url: "{pagerduty.url}/v2/enqueue"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, sender: dw@example.com, to: [oncall@example.com]}}
"""
    )
    return p


@pytest.fixture
def shifted(tmp_path):
    sc = Scenario(tmp_path, churn_yaml(days=6, rows=1500, seed=4, events=SHIFT))
    with sc.activated() as instance:
        sc.run(instance, sc.keys(), assets=ASSETS)
        yield sc, instance


def test_drift_alerts_name_the_shifted_feature_first_everywhere(
    tmp_path, shifted, slack, pagerduty, smtp
):
    sc, instance = shifted
    box, port = smtp
    alerting = AlertingResource(
        policy_file=str(write_policy(tmp_path, slack, pagerduty, port)),
        slack_token=SLACK_TOKEN,
        pagerduty_routing_key=PD_KEY,
    )
    explainer = build_explainer(sc.project.models, build_resources(sc.home))
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)

    tick = alert_tick(
        instance, sc.warehouse, alerting, sc.project.models, 0, now=lambda: now, explainer=explainer
    )

    store = AlertStore(sc.warehouse)
    drift = [a for a in store.list_alerts(status="firing", limit=None) if a.category == "drift"]
    assert drift, [a.check_name for a in tick.changed]
    for alert in drift:
        assert alert.partition_key >= "2026-03-04"  # the shift starts on day 3
        top = alert.causes[0]
        assert top["kind"] == "feature" and top["name"] == "monthly_charges", alert.causes
        assert top["score"] > 0.5
        assert top["numbers"]["importance"] > 0  # the served model's reliance
        assert top["numbers"]["contribution_method"] == "linear: coef × mean shift, log-odds"
        assert top["numbers"]["contribution_shift"] != 0
        assert len(alert.causes) == 7
    # computed once for the version and kept in the registry
    stored = LocalModelRegistry(sc.home.registry).get_json("churn", "v1", IMPORTANCE_ARTIFACT)
    assert stored is not None and set(stored["importance"]) == set(sc.model.feature_names)

    shown = render_alert(store, drift[0])
    assert f"cause 1      {drift[0].causes[0]['text']}" in shown
    assert "cause 7" in shown

    slack_text = str(slack.ok_bodies())
    assert "Likely causes:" in slack_text and "1. monthly_charges (" in slack_text
    pd_alerts = [
        a
        for body in pagerduty.ok_bodies()
        if isinstance(body, dict) and body.get("event_action") == "trigger"
        for a in body["payload"]["custom_details"]["alerts"]
    ]
    drift_ids = {a.alert_id for a in drift}
    paged = [a for a in pd_alerts if a["alert_id"] in drift_ids]
    assert paged and all(len(a["likely_causes"]) == 3 for a in paged)
    assert all(a["likely_causes"][0].startswith("1. monthly_charges (") for a in paged)
    # alerts of other categories (data quality) carry no causes
    assert all(a["likely_causes"] == [] for a in pd_alerts if a["alert_id"] not in drift_ids)
    mails = [m.get_body(("plain",)).get_content() for m in box.messages]
    drift_mails = [m for m in mails if "data_drift" in m or "prediction_drift" in m]
    assert drift_mails and all("likely cause 1. monthly_charges (" in m for m in drift_mails)
    assert all("likely cause 4." not in m for m in mails)
