"""Prometheus rules and Alertmanager routing, checked with the real promtool and amtool."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules" / "driftwarden.rules.yml"
RULE_TESTS = DEPLOY / "prometheus" / "tests" / "driftwarden.rules.test.yml"
AM_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
ROUTE_TESTS = DEPLOY / "alertmanager" / "routes.test.yml"


def run(*cmd: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=60)


def rules() -> list[dict]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_prometheus_config_and_rules_are_valid():
    promtool = require_binary("promtool")
    result = run(promtool, "check", "config", DEPLOY / "prometheus" / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests():
    promtool = require_binary("promtool")
    result = run(promtool, "test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_rule_tests_catch_a_changed_threshold(tmp_path):
    """The unit tests are able to fail: a drift rule with threshold 0.7 breaks them."""
    promtool = require_binary("promtool")
    (tmp_path / "rules").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "rules" / RULES.name).write_text(
        RULES.read_text().replace("ml_model_drift_score > 0.5", "ml_model_drift_score > 0.7")
    )
    (tmp_path / "tests" / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    result = run(promtool, "test", "rules", tmp_path / "tests" / RULE_TESTS.name)
    assert result.returncode != 0
    assert "MLModelDriftCritical" in result.stdout + result.stderr


def test_seed_rules_and_tiers_are_present():
    by_name = {r["alert"]: r for r in rules()}
    assert by_name["MLModelDriftCritical"]["expr"] == "ml_model_drift_score > 0.5"
    assert by_name["MLModelDriftCritical"]["for"] == "5m"
    assert by_name["MLModelAccuracyLow"]["expr"] == "model_accuracy < 0.85"
    assert by_name["MLModelAccuracyLow"]["for"] == "15m"
    categories = {r["labels"]["category"] for r in rules()}
    assert {"drift", "performance", "staleness", "exporter"} <= categories
    assert {r["labels"]["severity"] for r in rules()} == {"critical", "warning", "info"}


def test_every_rule_has_a_unit_test():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {
        a["alertname"] for t in tests for a in t.get("alert_rule_test", []) if a["exp_alerts"]
    }
    assert {r["alert"] for r in rules()} == tested


def test_alertmanager_config_is_valid():
    amtool = require_binary("amtool")
    result = run(amtool, "check-config", AM_CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def route_cases() -> list[dict]:
    return yaml.safe_load(ROUTE_TESTS.read_text())["cases"]


def amtool_route(
    amtool: str, labels: dict[str, str], receivers: list[str]
) -> subprocess.CompletedProcess:
    return run(
        amtool,
        "config",
        "routes",
        "test",
        f"--config.file={AM_CONFIG}",
        f"--verify.receivers={','.join(receivers)}",
        *[f"{k}={v}" for k, v in labels.items()],
    )


@pytest.mark.parametrize("case", route_cases(), ids=lambda c: c["name"])
def test_alertmanager_routes(case):
    amtool = require_binary("amtool")
    result = amtool_route(amtool, case["labels"], case["receivers"])
    assert result.returncode == 0, f"{case['name']}: {result.stdout}{result.stderr}"


def test_route_test_fails_on_a_wrong_receiver():
    amtool = require_binary("amtool")
    result = amtool_route(amtool, {"severity": "critical", "model": "churn"}, ["email-ml-team"])
    assert result.returncode != 0
    assert "did not match" in result.stdout + result.stderr


def test_route_cases_cover_every_severity_and_receiver():
    config = yaml.safe_load(AM_CONFIG.read_text())
    receivers = {r["name"] for r in config["receivers"]}
    reached = {r for c in route_cases() for r in c["receivers"]}
    assert reached == receivers
    severities = {c["labels"].get("severity") for c in route_cases()}
    assert {"critical", "warning", "info"} <= severities
    assert config["route"]["group_by"] == ["model"]
