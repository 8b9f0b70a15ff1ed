"""The segment monitor through Dagster: one model with segments, real DuckDB, checks,
one alert per segment, segment causes on the drift alert, Prometheus labels."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from monitoring_assets.cli.alerts import render_alert
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.config import load_project
from monitoring_assets.core.segment_checks import (
    SEGMENT_ACCURACY_DROP,
    SEGMENT_VERDICTS,
    SEGMENTS_NOT_DRIFTED,
)
from monitoring_assets.definitions import build_definitions, build_resources
from monitoring_assets.history import range_tags
from monitoring_assets.observability.exporter import WarehouseCollector
from resources.notifiers import AlertingResource
from resources.warehouse import open_warehouse
from sensors.alerts import alert_tick
from tests.segments.helpers import day, segment_model

DAYS = 8
SHOCK = 4


@pytest.fixture
def project(tmp_path, monkeypatch):
    events = [
        {"kind": "sudden_shock", "day": SHOCK, "magnitude": 1.4, "segment": {"country": c}}
        for c in ("DE", "ES")
    ]
    model = segment_model(days=DAYS, rows=1500, events=events, name="churn")
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": [model.model_dump(mode="json", exclude_none=True)]}))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path)


def _materialize(project, home, instance):
    defs = build_definitions(project, home)
    model = project.models[0]
    keys = [day(model, i).isoformat() for i in range(DAYS)]
    graph = defs.resolve_asset_graph()
    wanted = {
        "reference_data",
        "inference_logs",
        "feature_profiles",
        "data_drift",
        "prediction_drift",
        "data_quality",
        "segment_drift",
        "ground_truth",
        "segment_performance",
    }
    selection = [
        k for k in graph.get_all_asset_keys() if k.path[0] == model.name and k.path[-1] in wanted
    ]
    assets = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    result = dg.materialize(
        [*assets, *defs.asset_checks],
        selection=selection,
        instance=instance,
        resources=build_resources(home),
        tags=range_tags(keys),
        raise_on_error=False,
    )
    return model, keys, result


def test_segments_through_dagster_alert_per_segment_and_exporter_labels(project, home, tmp_path):
    with dg.instance_for_test() as instance:
        model, keys, result = _materialize(project, home, instance)
        assert result.success, result.get_run_failure_event()

        evals = {
            (e.partition, e.check_name): e
            for e in result.get_asset_check_evaluations()
            if e.asset_key.path[-1] == "segment_drift"
        }
        assert len(evals) == 2 * DAYS  # one evaluation per day and check
        for i, pk in enumerate(keys):
            e = evals[(pk, SEGMENTS_NOT_DRIFTED)]
            verdicts = e.metadata[SEGMENT_VERDICTS].value
            assert set(verdicts) >= {"country=DE", "country=ES", "country=FR"}
            if i < SHOCK:
                assert e.passed, (pk, e.description)
            else:
                assert not e.passed
                assert {s for s, ok in verdicts.items() if not ok} == {"country=DE", "country=ES"}
                assert "country=DE drifted" in e.description

        perf = [
            e for e in result.get_asset_check_evaluations() if e.check_name == SEGMENT_ACCURACY_DROP
        ]
        # days whose labels are still pending (label delay 3) have no segment verdicts
        labelled = sorted({e.partition for e in perf if SEGMENT_VERDICTS in e.metadata})
        assert labelled == keys[: len(labelled)] and len(labelled) >= DAYS - 3  # label delay 3
        first = next(e for e in perf if e.partition == keys[0])
        assert set(first.metadata[SEGMENT_VERDICTS].value) >= {"country=DE", "country=FR"}

        wh = open_warehouse(home.warehouse_location)
        rows = wh.query("SELECT * FROM segment_results WHERE model = ?", [model.name])
        assert len(rows) == DAYS * 6
        assert set(rows.segment) == {f"country={c}" for c in ("DE", "FR", "ES", "IT", "NL", "BE")}
        acc = wh.query("SELECT * FROM segment_performance WHERE model = ?", [model.name])
        assert len(acc) == len(labelled) * 6 and acc.accuracy.between(0, 1).all()

        policy = tmp_path / "policy.yaml"
        policy.write_text("freshness: {enabled: false}\npage_window: 3650d\n")
        alerting = AlertingResource(policy_file=str(policy))
        alert_tick(instance, wh, alerting, [model], 0)
        alerts = AlertStore(wh).list_alerts(model=model.name, limit=None)
        seg_alerts = [a for a in alerts if a.check_name == SEGMENTS_NOT_DRIFTED]
        # two segments: two episodes, each naming its segment, opened on the shock day
        assert sorted(a.lineage["segment"] for a in seg_alerts) == ["country=DE", "country=ES"]
        assert len({a.fingerprint for a in seg_alerts}) == 2
        for a in seg_alerts:
            assert a.onset_partition == keys[SHOCK]
            assert a.lineage["segment"] in a.summary
        # the whole model's drift alert carries the day's segment causes
        drift = [
            a
            for a in alerts
            if a.check_name
            in (
                "prediction_drift_below_threshold",
                "drift_share_below_threshold",
                "critical_features_not_drifted",
            )
        ]
        assert drift, [a.check_name for a in alerts]
        causes = drift[0].lineage["causes"]
        assert {causes[0]["segment"], causes[1]["segment"]} == {"country=DE", "country=ES"}
        assert "top causes: country=" in drift[0].summary
        shown = render_alert(AlertStore(wh), drift[0])
        # segment causes rank in the alert's one list of causes, next to feature causes
        assert {c["name"] for c in drift[0].causes if c["kind"] == "segment"} >= {
            "country=DE",
            "country=ES",
        }
        assert re.search(r"  cause \d+\s+country=\w+: \d+% of the change \(distribution", shown)
        assert "  segment      country=DE" in render_alert(
            AlertStore(wh), next(a for a in seg_alerts if a.lineage["segment"] == "country=DE")
        )

    registry = CollectorRegistry()
    registry.register(WarehouseCollector(home.warehouse_location))
    text = generate_latest(registry).decode()
    assert 'ml_segment_traffic_share{model="churn",segment="country=DE",version="v1"}' in text
    assert 'ml_segment_drift_share{model="churn",segment="country=DE"' in text


def test_a_day_without_the_segment_column_fails_naming_it(project, home, tmp_path):
    """Logs written before the column existed: the run fails naming the column and day."""
    import pandas as pd

    from resources.lake import open_lake

    with dg.instance_for_test() as instance:
        model, keys, result = _materialize(project, home, instance)
        assert result.success
        lake = open_lake(home.lake_location)
        d = day(model, 2)
        path = lake.day_location(model.name, "inference_logs", d)
        pd.read_parquet(path).drop(columns=["country"]).to_parquet(path)
        defs = build_definitions(project, home)
        # the day and its segments are profiled in one scan, by feature_profiles
        bad = dg.materialize(
            [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
            selection=[
                dg.AssetKey([model.name, "feature_profiles"]),
                dg.AssetKey([model.name, "segment_drift"]),
            ],
            instance=instance,
            resources=build_resources(home),
            partition_key=d.isoformat(),
            raise_on_error=False,
        )
        assert not bad.success
        msg = str(bad.get_run_failure_event().event_specific_data.error)
        assert "segment column(s) ['country'] missing from inference_logs of " + str(d) in msg
