"""Grafana dashboards as code (deploy/grafana/generate.py): generated files are current,
valid, and draw the model file's default thresholds."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import yaml

from monitoring_assets.core.config import (
    DriftThresholds,
    PerformanceThresholds,
    QualityThresholds,
    Thresholds,
)
from tests.conftest import require_binary
from tests.observability.promql import DEPLOY, dashboard_expressions

GRAFANA = DEPLOY / "grafana"


def _load_generator():
    """deploy/grafana/generate.py as a module (it is a script, outside the package)."""
    spec = importlib.util.spec_from_file_location(
        "driftwarden_grafana_generate", GRAFANA / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
DASHBOARDS = generator.DASHBOARDS
DATASOURCE_UID = generator.DATASOURCE_UID
dashboard_json = generator.dashboard_json
render_all = generator.render_all


def test_generated_files_are_current():
    """Regenerate in memory and compare with deploy/grafana/ (run generate.py to update)."""
    stale = []
    for rel, text in render_all().items():
        path = GRAFANA / rel
        if not path.exists() or path.read_text() != text:
            stale.append(rel)
    assert not stale, f"out of date, run `python deploy/grafana/generate.py`: {stale}"
    on_disk = {p.relative_to(GRAFANA).as_posix() for p in (GRAFANA / "dashboards").glob("*.json")}
    assert on_disk == {rel for rel in render_all() if rel.startswith("dashboards/")}


def test_generator_script_writes_and_checks(tmp_path):
    script = str(GRAFANA / "generate.py")
    result = subprocess.run(
        [sys.executable, script, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for rel, text in render_all().items():
        assert (tmp_path / rel).read_text() == text
    check = [sys.executable, script, "--check"]
    assert subprocess.run(check, capture_output=True, timeout=120).returncode == 0
    # --check fails on a difference.
    (tmp_path / "dashboards" / "drift-analysis.json").write_text("{}")
    result = subprocess.run(
        check + ["--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "drift-analysis.json" in result.stdout


def test_four_dashboards_with_unique_uids_and_panel_ids():
    uids = set()
    for name, build in DASHBOARDS.items():
        data = dashboard_json(build())
        uids.add(data["uid"])
        ids = [p["id"] for p in data["panels"]]
        assert len(ids) == len(set(ids)), name
        assert all(p["gridPos"]["w"] > 0 for p in data["panels"]), name
        for p in data["panels"]:
            for t in p.get("targets", []):
                assert t["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
    assert uids == {
        "driftwarden-overview",
        "driftwarden-drift",
        "driftwarden-performance",
        "driftwarden-latency",
    }


def _steps(panel: dict) -> list:
    return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_drift_panels_use_the_model_file_default_thresholds():
    overview = json.loads((GRAFANA / "dashboards" / "model-health-overview.json").read_text())
    drift = json.loads((GRAFANA / "dashboards" / "drift-analysis.json").read_text())
    drift_panels = [
        p
        for d in (overview, drift)
        for p in d["panels"]
        if any("ml_model_drift_score" in t.get("expr", "") for t in p.get("targets", []))
        and p["type"] in ("stat", "timeseries")
    ]
    assert len(drift_panels) >= 3
    defaults = DriftThresholds()
    assert (defaults.drift_share_warn, defaults.drift_share_error) == (0.3, 0.5)
    for p in drift_panels:
        assert _steps(p) == [None, 0.3, 0.5], p["title"]


def test_performance_dashboard_shows_realized_and_estimated():
    perf = json.loads((GRAFANA / "dashboards" / "performance-trends.json").read_text())
    panel = next(p for p in perf["panels"] if p["title"] == "Accuracy: realized vs estimated")
    exprs = [t["expr"] for t in panel["targets"]]
    assert any(e.startswith("model_accuracy") for e in exprs)
    assert any(e.startswith("model_estimated_accuracy") for e in exprs)
    assert PerformanceThresholds().accuracy_floor is None  # the band decides, per day
    assert _steps(panel) == [None]


def test_panel_thresholds_are_the_config_thresholds():
    """The generator draws what the config models say, not copies of the numbers."""
    t = Thresholds(
        drift=DriftThresholds(drift_share_warn=0.25, drift_share_error=0.4),
        performance=PerformanceThresholds(accuracy_floor=0.9, min_label_coverage=0.7),
        quality=QualityThresholds(missing_share_warn=0.01, missing_share_error=0.1),
    )
    drift = dashboard_json(generator.drift(t))
    perf = dashboard_json(generator.performance(t))
    by_title = {p["title"]: p for d in (drift, perf) for p in d["panels"]}
    assert _steps(by_title["Dataset drift score"]) == [None, 0.25, 0.4]
    assert "0.25 warning, 0.4 critical" in drift["description"]
    assert _steps(by_title["Missing share over time"]) == [None, 0.01, 0.1]
    assert _steps(by_title["Accuracy: realized vs estimated"]) == [None, 0.9]
    assert _steps(by_title["Label coverage"]) == [None, 0.7]
    # The files under deploy/ are the defaults' rendering.
    assert generator.DEFAULT_THRESHOLDS == Thresholds()


def test_multivariate_panels_draw_their_thresholds():
    drift = json.loads((GRAFANA / "dashboards" / "drift-analysis.json").read_text())
    by_title = {p["title"]: p for p in drift["panels"]}
    assert "Multivariate drift" in by_title
    auc = by_title["Domain classifier AUC"]
    assert [t["expr"] for t in auc["targets"]] == ['ml_domain_classifier_auc{model=~"$model"}']
    assert _steps(auc) == [None, 0.55, 0.65]  # Evidently's 0.55 and the error level
    recon = by_title["Reconstruction error"]
    assert [t["expr"] for t in recon["targets"]] == [
        'ml_reconstruction_error{model=~"$model"}',
        'ml_reconstruction_error_threshold{model=~"$model"}',
    ]
    (override,) = recon["fieldConfig"]["overrides"]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "B"}


def test_the_stream_and_segment_rows_appear_once():
    drift = json.loads((GRAFANA / "dashboards" / "drift-analysis.json").read_text())
    rows = [p["title"] for p in drift["panels"] if p["type"] == "row"]
    assert rows == [
        "Dataset drift",
        "Features",
        "Data quality",
        "Segments",
        "Multivariate drift",
        "Live stream windows",
    ]


def test_provisioning_points_at_the_dashboards_and_datasource():
    ds = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "driftwarden.yaml").read_text())
    assert ds["datasources"][0]["uid"] == DATASOURCE_UID
    assert ds["datasources"][0]["type"] == "prometheus"
    prov = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "driftwarden.yaml").read_text()
    )
    assert prov["providers"][0]["type"] == "file"


def test_every_dashboard_expression_parses(tmp_path):
    """Offline parse with the real PromQL parser: wrap each expression as a recording rule."""
    promtool = require_binary("promtool")
    exprs = dashboard_expressions()
    assert len(exprs) >= 30
    rules = {
        "groups": [
            {
                "name": "dashboards",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": e} for i, (_, e) in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboards_load_as_grafana_models():
    """The JSON decodes into the SDK's dashboard model (panels and Prometheus queries)."""
    from grafana_foundation_sdk.cog.plugins import register_default_plugins
    from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel
    from grafana_foundation_sdk.models.prometheus import Dataquery

    register_default_plugins()
    for path in sorted((GRAFANA / "dashboards").glob("*.json")):
        model = DashboardModel.from_json(json.loads(path.read_text()))
        targets = [t for p in model.panels or [] for t in (getattr(p, "targets", None) or [])]
        assert targets and all(isinstance(t, Dataquery) for t in targets), path.name
