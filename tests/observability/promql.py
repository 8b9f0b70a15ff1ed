"""Every PromQL expression shipped in deploy/: dashboards (with Grafana's template
variables substituted) and alerting rules."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from monitoring_assets.observability.dashboards import promql_expressions

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

# What Grafana would substitute: every model and feature, and fixed intervals.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$model": ".*",
    "$feature": ".*",
}


def substitute(expr: str) -> str:
    for var, repl in SUBSTITUTIONS.items():
        expr = expr.replace(var, repl)
    assert "$" not in expr, f"unsubstituted template variable in {expr!r}"
    return expr


def dashboard_expressions() -> list[tuple[str, str]]:
    out = []
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        dashboard = json.loads(path.read_text())
        out.extend((where, substitute(expr)) for where, expr in promql_expressions(dashboard))
    return out


def rule_expressions() -> list[tuple[str, str]]:
    out = []
    for path in sorted((DEPLOY / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                out.append((f"{path.name}: {name}", rule["expr"]))
    return out
