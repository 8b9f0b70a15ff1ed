"""The exporter, rules, routes and dashboards against the real Prometheus, Alertmanager
and Pushgateway (Debian packages `prometheus`, `prometheus-alertmanager`,
`prometheus-pushgateway`), started on free 127.0.0.1 ports with temporary data dirs.

A fleet of four models is written to a warehouse; Prometheus scrapes the exporter
every second; then a run writes churn's drifted day while the exporter serves.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from monitoring_assets.observability.exporter import (
    MetricsServer,
    push_if_configured,
    push_metrics,
    start_metrics_server,
)
from resources.warehouse import Warehouse
from tests.conftest import require_binary
from tests.observability.helpers import parse, value, writer_holding_lock
from tests.observability.promql import DEPLOY, dashboard_expressions, rule_expressions
from tests.observability.servers import (
    Server,
    Webhook,
    free_port,
    http_get,
    promql,
    promql_range,
    start,
    start_webhook,
    wait_for,
)
from tests.observability.synthetic import DayValues, write_day

pytestmark = pytest.mark.slow

FEATURES = ["tenure", "monthly_charges", "total_charges", "contract_type"]
FIRST_DAY = dt.date(2026, 6, 1)
DAYS = 28
DRIFTED_DAY = FIRST_DAY + dt.timedelta(days=DAYS)
DRIFTED_SCORE = 0.62
# Rules whose condition holds only while the exporter cannot read the warehouse.
NEEDS_LOCKED_WAREHOUSE = {"DriftwardenExporterServingStale"}


def _day(k: int) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=k)


def write_fleet(wh: Warehouse) -> None:
    """churn: healthy until the drifted day (written later); fraud: moderate drift;
    fresh: no labels yet; legacy: its monitoring stopped four days ago."""
    now = dt.datetime.now(dt.UTC)
    for k in range(DAYS):
        write_day(
            wh,
            "churn",
            "v1",
            _day(k),
            DayValues(
                drift_score=0.1 + 0.002 * k,
                feature_drift=[0.02, 0.03, 0.04, 0.01],
                missing_share=[0.0, 0.0, 0.01, 0.0],
                accuracy=0.9,
                estimated_accuracy=0.89,
                rows=2000 + k,
                latency_mean_seconds=0.03,
            ),
            FEATURES,
        )
    for k in range(DAYS - 3, DAYS):
        write_day(
            wh,
            "fraud",
            "v2",
            _day(k),
            DayValues(
                drift_score=0.4, feature_drift=[0.2, 0.05], missing_share=[0.0, 0.0], accuracy=0.93
            ),
            ["amount", "merchant"],
        )
        write_day(
            wh,
            "fresh",
            "v1",
            _day(k),
            DayValues(accuracy=None, label_coverage=0.0, feature_drift=[0.01], missing_share=[0.0]),
            ["age"],
        )
    write_day(
        wh,
        "legacy",
        "v7",
        _day(DAYS - 5),
        DayValues(feature_drift=[0.02], missing_share=[0.0]),
        ["x"],
        written_at=now - dt.timedelta(days=4),
    )


def write_drifted_day(wh: Warehouse) -> None:
    write_day(
        wh,
        "churn",
        "v1",
        DRIFTED_DAY,
        DayValues(
            drift_score=DRIFTED_SCORE,
            feature_drift=[0.45, 0.3, 0.05, 0.2],
            missing_share=[0.0, 0.0, 0.35, 0.0],
            accuracy=0.81,
            estimated_accuracy=0.80,
            rows=2500,
            latency_mean_seconds=0.12,
        ),
        FEATURES,
    )


def alertmanager_test_config(hook: Webhook) -> dict:
    """deploy/alertmanager/alertmanager.yml with its routing tree unchanged, every
    receiver replaced by the local webhook (``/<receiver name>``) and short timers."""
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    config["global"] = {"resolve_timeout": "5m"}
    config["receivers"] = [
        {"name": r["name"], "webhook_configs": [{"url": f"{hook.url}/{r['name']}"}]}
        for r in config["receivers"]
    ]

    def shorten(route: dict) -> None:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        for child in route.get("routes", []):
            shorten(child)

    shorten(config["route"])
    return config


def rules_test_copy() -> dict:
    """The shipped rules with every ``for:`` cut to 2 s so they fire within the test."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules" / "driftwarden.rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "2s"
    return rules


@dataclass
class Stack:
    warehouse: Warehouse
    exporter: MetricsServer
    prometheus: Server
    alertmanager: Server
    hook: Webhook

    def diagnostics(self) -> str:
        return (
            f"--- prometheus log\n{self.prometheus.logs()}\n"
            f"--- alertmanager log\n{self.alertmanager.logs()}\n"
            f"--- webhook received: {sorted(self.hook.received)}"
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    prometheus_bin = require_binary("prometheus")
    alertmanager_bin = require_binary("prometheus-alertmanager")
    work = tmp_path_factory.mktemp("observability")
    warehouse = Warehouse(work / "warehouse.duckdb")
    write_fleet(warehouse)

    started: list = []
    hook = start_webhook()
    started.append(hook)
    try:
        am_port = free_port()
        (work / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager_test_config(hook)))
        alertmanager = start(
            "alertmanager",
            [
                alertmanager_bin,
                f"--config.file={work / 'alertmanager.yml'}",
                f"--storage.path={work / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            f"http://127.0.0.1:{am_port}",
            "/-/ready",
            work,
        )
        started.append(alertmanager)

        exporter = start_metrics_server(warehouse.path, "127.0.0.1", 0)
        started.append(exporter)

        (work / "rules.yml").write_text(yaml.safe_dump(rules_test_copy()))
        prom_port = free_port()
        dead_port = free_port()  # a second exporter replica that is down
        prom_config = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(work / "rules.yml")],
            "alerting": {
                "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
            },
            "scrape_configs": [
                {
                    "job_name": "driftwarden",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{exporter.port}", f"127.0.0.1:{dead_port}"]}
                    ],
                }
            ],
        }
        (work / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
        prometheus = start(
            "prometheus",
            [
                prometheus_bin,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            f"http://127.0.0.1:{prom_port}",
            "/-/ready",
            work,
        )
        started.append(prometheus)
        s = Stack(warehouse, exporter, prometheus, alertmanager, hook)

        # Prometheus sees the healthy state first; then a run writes the drifted day
        # while the exporter is serving.
        wait_for(
            lambda: promql(prometheus.url, 'ml_model_drift_score{model="churn"}'),
            30,
            "the first scrape of churn",
            diagnostics=s.diagnostics,
        )
        write_drifted_day(warehouse)
        yield s
    finally:
        for thing in reversed(started):
            thing.close() if hasattr(thing, "close") else thing.stop()


def _scalar(result: list[dict]) -> float:
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def test_promql_returns_the_drifted_days_score(stack):
    url = stack.prometheus.url
    wait_for(
        lambda: promql(url, f'ml_model_drift_score{{model="churn"}} == {DRIFTED_SCORE}'),
        30,
        "the drifted day's score in Prometheus",
        diagnostics=stack.diagnostics,
    )
    result = promql(url, 'ml_model_drift_score{model="churn", version="v1"}')
    assert _scalar(result) == pytest.approx(DRIFTED_SCORE)
    assert result[0]["metric"]["job"] == "driftwarden"
    assert _scalar(promql(url, 'ml_model_drift_score{model="fraud"}')) == pytest.approx(0.4)
    assert _scalar(promql(url, 'model_accuracy{model="churn"}')) == pytest.approx(0.81)
    assert promql(url, 'model_accuracy{model="fresh"}') == []
    requests = sum(2000 + k for k in range(DAYS)) + 2500
    assert _scalar(promql(url, 'model_inference_requests_total{model="churn"}')) == requests
    assert _scalar(promql(url, 'ml_alerts_open{model="churn", tier="critical"}')) == 0


def test_every_dashboard_and_rule_expression_returns_data(stack):
    url = stack.prometheus.url
    # Wait until the drifted day has been scraped at least twice, so increase() sees it.
    wait_for(
        lambda: promql(
            url, f'min_over_time(ml_model_drift_score{{model="churn"}}[2s]) == {DRIFTED_SCORE}'
        ),
        30,
        "two scrapes of the drifted day",
        diagnostics=stack.diagnostics,
    )
    expressions = dashboard_expressions() + [
        (where, expr)
        for where, expr in rule_expressions()
        if where.split(": ")[1] not in NEEDS_LOCKED_WAREHOUSE
    ]
    assert len(expressions) >= 40
    empty = []
    for where, expr in expressions:
        instant = promql(url, expr)  # raises with Prometheus's message if it does not parse
        ranged = promql_range(url, expr)
        if not instant or not ranged:
            empty.append(f"{where}: {expr}")
    assert not empty, "expressions returning no data:\n" + "\n".join(empty)

    # The latency quantiles of the last day see the drifted day's slower requests.
    p95 = promql(
        url,
        'histogram_quantile(0.95, sum by (model, le) (increase(model_inference_duration_seconds_bucket{model="churn"}[1d])))',
    )
    assert math.isfinite(_scalar(p95)) and 0 < _scalar(p95) <= 1.0


def test_rule_for_a_locked_warehouse_returns_data_while_a_run_writes(stack):
    url = stack.prometheus.url
    exprs = {where.split(": ")[1]: expr for where, expr in rule_expressions()}
    with writer_holding_lock(stack.warehouse.path):
        for name in NEEDS_LOCKED_WAREHOUSE:
            wait_for(lambda e=exprs[name]: promql(url, e), 20, f"{name} while locked")
        # Prometheus still has the last good numbers from the exporter.
        assert _scalar(promql(url, 'ml_model_drift_score{model="churn"}')) == pytest.approx(
            DRIFTED_SCORE
        )
    wait_for(
        lambda: promql(url, "driftwarden_exporter_warehouse_up == 1"),
        20,
        "the warehouse read again",
    )


def test_drift_alert_fires_and_is_routed_by_severity(stack):
    url = stack.prometheus.url
    wait_for(
        lambda: promql(
            url, 'ALERTS{alertname="MLModelDriftCritical", alertstate="firing", model="churn"}'
        ),
        30,
        "MLModelDriftCritical firing in Prometheus",
        diagnostics=stack.diagnostics,
    )

    def paged() -> list[dict]:
        return [
            a
            for a in stack.hook.alerts("/pagerduty-critical")
            if a["labels"].get("alertname") == "MLModelDriftCritical"
        ]

    alerts = wait_for(
        paged, 60, "the drift alert at the PagerDuty receiver", diagnostics=stack.diagnostics
    )
    labels = alerts[0]["labels"]
    assert labels["model"] == "churn" and labels["severity"] == "critical"
    assert alerts[0]["status"] == "firing"
    assert "0.62 > 0.5" in alerts[0]["annotations"]["summary"]
    # Critical also posts to Slack; warnings only to Slack; info only to email.
    wait_for(
        lambda: any(
            a["labels"].get("alertname") == "MLModelDriftCritical"
            for a in stack.hook.alerts("/slack-ml-alerts")
        ),
        30,
        "the drift alert at the Slack receiver",
    )
    fraud = wait_for(
        lambda: [
            a
            for a in stack.hook.alerts("/slack-ml-alerts")
            if a["labels"].get("alertname") == "MLModelDriftWarning"
        ],
        30,
        "fraud's drift warning at Slack",
        diagnostics=stack.diagnostics,
    )
    assert fraud[0]["labels"]["model"] == "fraud"
    assert not any(
        a["labels"]["severity"] != "critical" for a in stack.hook.alerts("/pagerduty-critical")
    )
    coverage = wait_for(
        lambda: [
            a
            for a in stack.hook.alerts("/email-ml-team")
            if a["labels"].get("alertname") == "MLLabelCoverageLow"
        ],
        30,
        "the label coverage info at email",
    )
    assert coverage[0]["labels"]["model"] == "fresh"
    assert all(a["labels"]["severity"] == "info" for a in stack.hook.alerts("/email-ml-team"))
    # Notifications are grouped by model: one model per notification.
    for bodies in stack.hook.received.values():
        for body in bodies:
            assert len({a["labels"].get("model") for a in body["alerts"]}) == 1, body


def test_push_to_the_real_pushgateway(stack, tmp_path):
    gateway_bin = require_binary("prometheus-pushgateway")
    port = free_port()
    gateway = start(
        "pushgateway",
        [
            gateway_bin,
            f"--web.listen-address=127.0.0.1:{port}",
            f"--persistence.file={tmp_path / 'pushgateway.data'}",
        ],
        f"http://127.0.0.1:{port}",
        "/-/ready",
        tmp_path,
    )
    try:
        push_metrics(stack.warehouse.path, f"127.0.0.1:{port}", grouping_key={"instance": "run-1"})
        # The end-of-run hook pushes only when configured, and never raises.
        assert push_if_configured(stack.warehouse.path, {}) is False
        dead = {"DRIFTWARDEN_PUSHGATEWAY": f"127.0.0.1:{free_port()}"}
        assert push_if_configured(stack.warehouse.path, dead) is False
        live = {"DRIFTWARDEN_PUSHGATEWAY": f"127.0.0.1:{port}"}
        assert push_if_configured(stack.warehouse.path, live) is True
        text = http_get(f"{gateway.url}/metrics").decode()
    finally:
        gateway.stop()
    series = parse(text)
    drift = value(
        series,
        "ml_model_drift_score",
        model="churn",
        version="v1",
        job="driftwarden",
        instance="run-1",
    )
    assert drift == pytest.approx(DRIFTED_SCORE)
    pushed = value(
        series, "ml_model_drift_score", model="churn", version="v1", job="driftwarden", instance=""
    )
    assert pushed == pytest.approx(DRIFTED_SCORE)
    inf = value(
        series,
        "model_inference_duration_seconds_bucket",
        model="churn",
        version="v1",
        le="+Inf",
        job="driftwarden",
        instance="run-1",
    )
    assert inf == sum(2000 + k for k in range(DAYS)) + 2500
