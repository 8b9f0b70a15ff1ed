import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.schema import SchemaError, validate_inference
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import materialize_history
from tests.conftest import churn_yaml, write

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).parent / "asset_graph.snapshot.json"


def _materialize(defs, keys, instance, model="churn"):
    return materialize_history(defs, instance, model, keys, log_level="ERROR")


def _count(home, model="churn", dataset="inference_logs"):
    glob = str(home.lake / model / dataset / "date=*" / "*.parquet")
    return duckdb.sql(
        f"SELECT date::VARCHAR AS d, count(*) AS n FROM read_parquet('{glob}', hive_partitioning=true) "
        "GROUP BY ALL ORDER BY d"
    ).df()


def test_materializing_a_partition_twice_leaves_one_copy(home, small_project):
    defs = build_definitions(small_project, home)
    with dg.instance_for_test() as instance:
        assert _materialize(defs, ["2026-03-02"], instance).success
        first = _count(home)
        assert _materialize(defs, ["2026-03-01", "2026-03-02", "2026-03-03"], instance).success
        assert _materialize(defs, ["2026-03-02"], instance).success
        counts = _count(home)
    assert list(first.n) == [300]
    assert list(counts.d) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert list(counts.n) == [300, 300, 300]
    # the warehouse log is replaced too, not appended
    from resources.warehouse import Warehouse

    log = Warehouse(home.warehouse).query(
        "SELECT partition_date, count(*) AS n FROM partition_log WHERE asset='inference_logs' GROUP BY ALL"
    )
    assert log.n.tolist() == [1, 1, 1]


def test_range_run_records_one_materialization_per_day_with_its_own_metadata(home, small_project):
    defs = build_definitions(small_project, home)
    keys = [f"2026-03-0{i}" for i in range(1, 6)]
    with dg.instance_for_test() as instance:
        result = _materialize(defs, keys, instance)
        assert result.success
        recs = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["churn", "inference_logs"])), limit=50
        ).records
        by_pk = {r.asset_materialization.partition: r.asset_materialization.metadata for r in recs}
        assert sorted(by_pk) == keys
        versions = {m["data_version"].value for m in by_pk.values()}
        assert len(versions) == 5  # each day's own content hash
        gt = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["churn", "ground_truth"])), limit=50
        ).records
        status = {
            r.asset_materialization.partition: r.asset_materialization.metadata["status"].value
            for r in gt
        }
    # scenario of 10 days: the clock is 2026-03-11; labels of day D arrive on D+3
    assert status == {k: "arrived" for k in keys}


def test_labels_not_yet_arrived_are_pending(home, small_project):
    defs = build_definitions(small_project, home)
    with dg.instance_for_test() as instance:
        assert _materialize(defs, ["2026-03-09", "2026-03-10"], instance).success
        gt = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["churn", "ground_truth"])), limit=5
        ).records
    status = {
        r.asset_materialization.partition: r.asset_materialization.metadata["status"].value
        for r in gt
    }
    assert status == {"2026-03-09": "pending", "2026-03-10": "pending"}


# ----------------------------------------------------------------- file source & bad input

FILE_MODEL = """
models:
  - name: fraud
    features:
      - {{name: amount, type: numerical}}
      - {{name: country, type: categorical}}
    columns: {{target: is_fraud, latency: null, probability: score}}
    start_date: 2026-01-01
    end_date: 2026-01-04
    source:
      kind: files
      format: {fmt}
      reference: {root}/reference.{fmt}
      inference: "{root}/logs/{{date}}.{fmt}"
      labels: "{root}/labels/{{date}}.{fmt}"
"""


def _day(n=50, date="2026-01-01"):
    ts = pd.Timestamp(date)
    return pd.DataFrame(
        {
            "request_id": [f"r{date}-{i}" for i in range(n)],
            "timestamp": [ts + pd.Timedelta(minutes=i) for i in range(n)],
            "amount": [float(i) for i in range(n)],
            "country": ["DE", "FR"] * (n // 2),
            "prediction": [0, 1] * (n // 2),
            "score": [0.2, 0.8] * (n // 2),
        }
    )


@pytest.fixture
def fraud(tmp_path, monkeypatch):
    root = tmp_path / "data"
    (root / "logs").mkdir(parents=True)
    ref = _day(200, "2025-12-01").assign(is_fraud=[0, 1] * 100)
    ref.to_parquet(root / "reference.parquet")
    for d in ("2026-01-01", "2026-01-02"):
        _day(50, d).to_parquet(root / "logs" / f"{d}.parquet")
    path = write(tmp_path / "fraud.yaml", FILE_MODEL.format(root=root, fmt="parquet"))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return root, load_project(path)


def test_file_source_ingests_real_files(home, fraud):
    root, project = fraud
    defs = build_definitions(project, home)
    with dg.instance_for_test() as instance:
        result = _materialize(defs, ["2026-01-01", "2026-01-02"], instance, model="fraud")
        assert result.success
    assert list(_count(home, "fraud").n) == [50, 50]


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda df, p: df.drop(columns=["country"]).to_parquet(p), "missing column(s) ['country']"),
        (
            lambda df, p: df.assign(amount=df.amount.astype(str)).to_parquet(p),
            "numerical feature 'amount'",
        ),
        (lambda df, p: df.assign(surprise=1).to_parquet(p), "unexpected column(s) ['surprise']"),
        (lambda df, p: p.write_bytes(b""), "is empty"),
        (lambda df, p: p.write_text("request_id,amount\nx,1\n"), "not a readable parquet file"),
        (lambda df, p: df.iloc[:0].to_parquet(p), "has no rows"),
        (lambda df, p: df.assign(prediction=7).to_parquet(p), "outside the classes"),
    ],
)
def test_bad_input_names_the_column_or_file_and_writes_nothing(home, fraud, corrupt, message):
    root, project = fraud
    bad = root / "logs" / "2026-01-02.parquet"
    corrupt(_day(50, "2026-01-02"), bad)
    defs = build_definitions(project, home)
    with dg.instance_for_test() as instance:
        result = _materialize(defs, ["2026-01-01", "2026-01-02"], instance, model="fraud")
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
        text = failure.step_failure_data.user_failure_data.description
    assert message in text, text
    assert "2026-01-02" in text
    # the good day staged before the bad one was not swapped in either
    assert not (home.lake / "fraud" / "inference_logs").exists() or not list(
        (home.lake / "fraud" / "inference_logs").glob("date=*")
    )


def test_validate_inference_accepts_all_null_numeric_and_casts_categories():
    project = load_project()
    model = project.model("churn")
    from monitoring_assets.core.simulator import Simulator

    frame = Simulator(model).inference_day(dt.date(2026, 6, 1)).head(20)
    frame["tenure"] = None
    frame["num_services"] = frame["num_services"].astype(int)
    out = validate_inference(frame, model)
    assert out["tenure"].dtype == "float64" and out["tenure"].isna().all()
    with pytest.raises(SchemaError, match="timestamp column 'timestamp'"):
        validate_inference(frame.assign(timestamp="not a time"), model)


# ----------------------------------------------------------------- the code location


def _graph_snapshot(defs: dg.Definitions) -> dict:
    graph = defs.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        pdef = node.partitions_def
        assets[key.to_user_string()] = {
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": (
                f"daily from {pdef.start:%Y-%m-%d}"
                if isinstance(pdef, dg.TimeWindowPartitionsDefinition)
                else (type(pdef).__name__ if pdef else None)
            ),
            "checks": sorted(c.name for c in node.check_keys),
            "group": node.group_name,
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in defs.jobs or []),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_asset_graph_snapshot(home):
    """The graph of the default model file; regenerate with DRIFTWARDEN_UPDATE_SNAPSHOTS=1."""
    snap = _graph_snapshot(build_definitions(load_project(), home))
    if os.environ.get("DRIFTWARDEN_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n")
    assert snap == json.loads(SNAPSHOT.read_text())


def test_second_model_is_only_config(home, tmp_path):
    text = churn_yaml(name="churn") + churn_yaml(name="churn_eu", seed=11).split("models:\n", 1)[1]
    project = load_project(write(tmp_path / "two.yaml", text))
    snap = _graph_snapshot(build_definitions(project, home))
    names = set(snap["assets"])
    for model in ("churn", "churn_eu"):
        assert {
            f"{model}/inference_logs",
            f"{model}/ground_truth",
            f"{model}/reference_data",
        } <= names
        assert f"monitor_{model}" in snap["jobs"]
    with dg.instance_for_test() as instance:
        defs = build_definitions(project, home)
        assert _materialize(defs, ["2026-03-01"], instance, model="churn_eu").success
    assert list(_count(home, "churn_eu").n) == [300]


def test_dagster_definitions_validate_and_no_heavy_imports(tmp_path):
    env = {**os.environ, "DRIFTWARDEN_HOME": str(tmp_path / "h"), "DAGSTER_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, monitoring_assets.definitions as d; "
            "print(sorted(m for m in ('evidently', 'sklearn', 'statsmodels') if m in sys.modules))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.strip() == "[]", probe.stdout + probe.stderr
