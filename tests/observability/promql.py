"""Every PromQL expression shipped in deploy/: dashboards (with Grafana's template
variables substituted) and alerting rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

# What Grafana would substitute: every model and feature, and fixed intervals.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$model": ".*",
    "$feature": ".*",
    "$segment": ".*",
}


def promql_expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Every PromQL expression of a dashboard model: ``(where, expr)``, including the
    model/feature variables' ``label_values(...)`` queries (as their metric selector)."""
    for panel in _panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            if target.get("expr"):
                yield (
                    f"{dashboard['uid']}: {panel.get('title')} [{target.get('refId')}]",
                    target["expr"],
                )
    for var in dashboard.get("templating", {}).get("list", []):
        query = var.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if isinstance(query, str) and query.startswith("label_values("):
            inner = query[len("label_values(") : -1]
            selector = inner.rsplit(",", 1)[0].strip()
            yield f"{dashboard['uid']}: variable {var.get('name')}", selector


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []) or [])


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
