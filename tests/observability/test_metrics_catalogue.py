"""The metric catalogue (monitoring_assets/core/metrics.py) is the one list of names:
the exporter exposes what it declares, deploy/ names only what it declares, and writers
use its constants instead of spelling names."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from monitoring_assets.core import metrics as m
from monitoring_assets.observability.exporter import snapshot_metrics
from monitoring_assets.observability.snapshot import Histogram, Sample, Snapshot
from tests.observability.promql import dashboard_expressions, rule_expressions

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = ("_total", "_bucket", "_sum", "_count")
# Prefixes of driftwarden's own families (``up`` and PromQL functions are not ours).
OURS = re.compile(r"\b(?:ml|model|driftwarden)_[a-z0-9_]+")

# Writers in rooms that are still moving to the catalogue's constants; this list only
# shrinks (a new file spelling a metric name fails the test below).
LITERAL_SITES_BEING_MOVED: set[str] = set()


def _family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in m.FAMILIES:
            return name.removesuffix(suffix)
    return name


def test_families_are_unique_valid_and_typed():
    assert len(m.FAMILIES) == 40  # 33 + four ml_segment_* + three multivariate gauges
    for name, family in m.FAMILIES.items():
        assert family.name == name
        assert m.METRIC_NAME.match(name)
        assert family.type in ("gauge", "counter", "histogram")
        assert len(family.help) > 20, name
    # The families writers used before they were declared.
    assert {
        "ml_prediction_drift_score",
        "ml_target_drift_score",
        "model_roc_auc",
        "model_calibration_error",
        "ml_stream_drift_score",
        "ml_stream_drifted_features",
        "ml_stream_window_events",
        "ml_stream_prediction_drift_score",
    } <= set(m.MONITOR_GAUGES)
    assert not set(m.MONITOR_GAUGES) & m.RESERVED
    assert m.ALERT_TIERS == ("critical", "warning", "info")


def test_an_invalid_name_is_refused():
    with pytest.raises(ValueError, match="not a valid Prometheus name"):
        m.MetricFamily("bad name", "gauge", "Help")


def test_deploy_names_only_catalogued_families():
    """Every driftwarden metric in the alerting rules and the dashboards is declared."""
    used: dict[str, str] = {}
    for where, expr in [*rule_expressions(), *dashboard_expressions()]:
        for token in OURS.findall(expr):
            used.setdefault(_family(token), where)
    unknown = {name: where for name, where in used.items() if name not in m.FAMILIES}
    assert not unknown, unknown
    assert len(used) >= 15


def test_the_exporter_exposes_each_family_as_declared():
    day = dt.date(2026, 3, 1)
    samples = tuple(
        Sample(f.name, "churn", "v1", "tenure" if f.per_feature else "", 0.5, day)
        for f in m.MONITOR_GAUGES.values()
    )
    snap = Snapshot(
        read_at=0.0,
        samples=samples,
        requests=(("churn", "v1", 10.0),),
        histograms=(Histogram("churn", "v1", ((0.1, 4.0), (float("inf"), 10.0)), 1.5),),
        last_success=(("churn", 1.0),),
        open_alerts=(("churn", "critical", 1),),
        models=("churn",),
    )
    exposed = {family.name: family for family in snapshot_metrics(snap)}
    for name, family in m.FAMILIES.items():
        if name.startswith("driftwarden_exporter_"):
            continue  # the collector's own health, tested with the collector
        assert name in exposed, name
        got = exposed[name]
        assert got.type == family.type, name
        assert got.documentation == family.help, name
        label_sets = {tuple(sorted(s.labels)) for s in got.samples if not s.name.endswith("_sum")}
        assert tuple(sorted(family.labels)) in label_sets or any(
            set(family.labels) <= set(ls) for ls in label_sets
        ), (name, label_sets)


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_writers_use_the_catalogue_constants():
    """No module outside the catalogue spells a metric name as a string literal."""
    sites = set()
    for package in ("monitoring_assets", "sensors", "resources"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "monitoring_assets/core/metrics.py":
                continue
            if _string_literals(path) & set(m.FAMILIES):
                sites.add(rel)
    assert sites <= LITERAL_SITES_BEING_MOVED, sites - LITERAL_SITES_BEING_MOVED
