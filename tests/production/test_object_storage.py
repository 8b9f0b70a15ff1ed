"""The lake on object storage end to end, against a real S3 HTTP API (moto's server mode
on 127.0.0.1): the demo on S3 + Postgres equals the embedded default, a run started in an
empty working directory and HOME completes a day from S3 alone."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml

from monitoring_assets.core.home import Home
from monitoring_assets.history import evaluate_alerts, materialize_history
from resources.lake import open_lake
from resources.warehouse import Warehouse, open_warehouse
from tests.conftest import churn_yaml
from tests.postgres import (
    PG_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_schema,
    drop_schema,
    new_schema_name,
)
from tests.production.conftest import production_instance_config
from tests.production.test_postgres_demo import snapshot

REPO = Path(__file__).resolve().parents[2]
KEYS = [f"2026-03-{d:02d}" for d in range(1, 8)]
ALERT_COLUMNS = ["model", "asset_key", "check_name", "partition_key", "severity", "tier", "status"]


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A 7-day, 300-rows-a-day churn model with a shock on day 3 (drift, reports, alerts)."""
    from monitoring_assets.core.config import load_project

    path = tmp_path / "models.yaml"
    path.write_text(
        churn_yaml(
            days=7, rows=300, events="[{kind: sudden_shock, day: 3, magnitude: 1.35, share: 0.5}]"
        )
    )
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path)


def files_under(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_demo_on_s3_and_postgres_matches_the_embedded_default(
    tmp_path, home, project, s3_env, pg_instance, pg_warehouse_url, monkeypatch
):
    from monitoring_assets.definitions import build_definitions

    # The embedded default: DuckDB warehouse, local lake, SQLite instance.
    local_defs = build_definitions(project, home)
    with dg.instance_for_test() as sqlite_instance:
        assert materialize_history(local_defs, sqlite_instance, "churn", KEYS, "ERROR").success
        evaluate_alerts(local_defs, sqlite_instance)
    local = Warehouse(home.warehouse)

    # S3 lake + Postgres warehouse + Postgres instance, from an empty working directory.
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    remote_home = Home(
        tmp_path / "remote_home", warehouse_url=pg_warehouse_url, lake_url=s3_env.url
    )
    remote_defs = build_definitions(project, remote_home)
    result = materialize_history(remote_defs, pg_instance, "churn", KEYS, "ERROR")
    assert result.success
    evaluate_alerts(remote_defs, pg_instance)
    remote = open_warehouse(pg_warehouse_url)

    # Nothing of it on local disk: no home folder, nothing in the working directory.
    assert not remote_home.root.exists(), files_under(remote_home.root)
    assert files_under(work) == []

    # Everything in the bucket: every day of logs and labels, the reference, reports.
    keys = s3_env.keys("lake/")
    for day in KEYS:
        assert f"lake/churn/inference_logs/date={day}/part-0.parquet" in keys
        assert f"lake/churn/ground_truth/date={day}/part-0.parquet" in keys
    assert "lake/churn/reference/version=v1/part-0.parquet" in keys
    local_reports = sorted(p.name for p in (home.root / "reports" / "churn").glob("*.html"))
    remote_reports = sorted(k.rsplit("/", 1)[1] for k in keys if k.startswith("lake/_reports/"))
    assert remote_reports == local_reports
    assert len(local_reports) > 0
    local_registry = files_under(home.root / "registry")
    assert {k.removeprefix("lake/_registry/") for k in keys if k.startswith("lake/_registry/")} == {
        f for f in local_registry if not f.startswith(".") and "/." not in f and "." in f
    }
    assert not [k for k in keys if ".staging-" in k], "staging keys left behind"

    # The same lake content, byte for byte in values.
    local_lake, remote_lake = open_lake(home.lake_location), open_lake(s3_env.url)
    assert local_lake.days("churn", "inference_logs") == remote_lake.days("churn", "inference_logs")
    for day in local_lake.days("churn", "inference_logs"):
        pd.testing.assert_frame_equal(
            local_lake.read_day("churn", "inference_logs", day),
            remote_lake.read_day("churn", "inference_logs", day),
        )

    # The same warehouse rows, table by table (run ids and timestamps left out).
    left, right = snapshot(local), snapshot(remote)
    assert len(left["monitor_metrics"]) >= len(KEYS)
    assert len(left["drift_results"]) > 0
    alert_tables = {"alerts", "alert_check_state", "alert_outbox", "alert_actions"}
    for name in sorted(set(left) - alert_tables):
        pd.testing.assert_frame_equal(
            left[name], right[name], check_dtype=False, obj=f"table {name}", rtol=1e-9
        )
    cols = ", ".join(ALERT_COLUMNS)
    local_alerts = local.query(f"SELECT {cols} FROM alerts ORDER BY ALL")
    remote_alerts = remote.query(f"SELECT {cols} FROM alerts ORDER BY {cols}")
    pd.testing.assert_frame_equal(local_alerts, remote_alerts, check_dtype=False, obj="alerts")


RUN_ONE_DAY = """
import sys
from monitoring_assets.definitions import defs
from monitoring_assets.history import materialize_history
import dagster as dg

result = materialize_history(defs, dg.DagsterInstance.get(), "churn", [sys.argv[1]], "ERROR")
sys.exit(0 if result.success else 1)
"""


@pytest.fixture
def pg_instance_schema(postgres):
    schema = new_schema_name("dw_dg")
    create_schema(schema)
    yield schema
    drop_schema(schema)


def test_a_run_with_an_empty_cwd_and_home_completes_a_day_from_s3(
    tmp_path, project, s3_env, pg_instance_schema, pg_warehouse_url, monkeypatch
):
    from monitoring_assets.definitions import build_definitions

    # Days 1-4 (and the reference) in S3 + Postgres, as earlier runs left them.
    monkeypatch.setenv("DRIFTWARDEN_LAKE", s3_env.url)
    monkeypatch.setenv("DRIFTWARDEN_WAREHOUSE", pg_warehouse_url)
    setup_home = Home(tmp_path / "setup_home", warehouse_url=pg_warehouse_url, lake_url=s3_env.url)
    with dg.instance_for_test() as instance:
        done = materialize_history(
            build_definitions(project, setup_home), instance, "churn", KEYS[:4], "ERROR"
        )
        assert done.success

    # A fresh process, as a run pod starts: empty working directory, empty HOME, a
    # DRIFTWARDEN_HOME that does not exist, the instance config mounted read-only.
    empty_cwd, empty_home, dagster_home = (tmp_path / n for n in ("cwd", "home", "dagster"))
    for folder in (empty_cwd, empty_home, dagster_home):
        folder.mkdir()
    # Step logs go to the bucket too (docs/deployment.md: compute_logs on object storage).
    config = production_instance_config(pg_instance_schema)
    config["compute_logs"] = {
        "module": "dagster_aws.s3.compute_log_manager",
        "class": "S3ComputeLogManager",
        "config": {
            "bucket": s3_env.bucket,
            "prefix": "dagster-logs",
            "endpoint_url": s3_env.endpoint,
            "region": s3_env.env["AWS_REGION"],
        },
    }
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    dagster_home.chmod(0o555)
    models = tmp_path / "models" / "models.yaml"
    models.parent.mkdir()
    models.write_text(Path(os.environ["DRIFTWARDEN_MODELS"]).read_text())
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),
        "HOME": str(empty_home),
        "TMPDIR": str(tmp_path / "tmp"),
        "DAGSTER_HOME": str(dagster_home),
        "DRIFTWARDEN_HOME": str(tmp_path / "never_created"),
        "DRIFTWARDEN_LAKE": s3_env.url,
        "DRIFTWARDEN_WAREHOUSE": pg_warehouse_url,
        "DRIFTWARDEN_MODELS": str(models),
        "DAGSTER_PG_HOST": PG_HOST,
        "DAGSTER_PG_PORT": str(PG_PORT),
        "DAGSTER_PG_DB": PG_DB,
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "",
        **s3_env.env,
    }
    (tmp_path / "tmp").mkdir()
    day = KEYS[4]
    try:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(RUN_ONE_DAY), day],
            cwd=empty_cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        dagster_home.chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-4000:]

    # The day is in S3 and in the warehouse; nothing was written locally.
    assert f"lake/churn/inference_logs/date={day}/part-0.parquet" in s3_env.keys("lake/churn/")
    logged = open_warehouse(pg_warehouse_url).query(
        "SELECT DISTINCT partition_date FROM monitor_metrics WHERE model = ? "
        "AND partition_date = ?",
        ["churn", day],
    )
    assert len(logged) == 1
    assert any(k.endswith(".err") for k in s3_env.keys("dagster-logs/")), "no step logs in S3"
    assert files_under(empty_cwd) == []
    assert files_under(empty_home) == []
    assert files_under(dagster_home) == ["dagster.yaml"]
    assert not (tmp_path / "never_created").exists()


def upload(s3, folder: Path, prefix: str) -> None:
    client = s3.client()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            client.put_object(Bucket=s3.bucket, Key=key, Body=path.read_bytes())


def test_a_files_model_reads_its_source_from_s3(tmp_path, s3_env, monkeypatch):
    """A ``kind: files`` model whose logs, labels and reference are in a bucket gives the
    same warehouse rows as the same files on disk."""
    from monitoring_assets.core.config import load_project
    from monitoring_assets.definitions import build_definitions
    from tests.run.files_model import DAYS, MODEL, write_model

    monkeypatch.setenv("DRIFTWARDEN_TODAY", "2026-01-08")
    local_model = write_model(tmp_path / "local")
    upload(s3_env, tmp_path / "local" / "data", "src")
    remote_model = tmp_path / "remote.yaml"
    remote_model.write_text(MODEL.format(root=f"s3://{s3_env.bucket}/src", extra=""))

    snapshots = []
    for name, model_file, lake in (
        ("local", local_model, None),
        ("remote", remote_model, s3_env.url),
    ):
        monkeypatch.setenv("DRIFTWARDEN_MODELS", str(model_file))
        home = Home(tmp_path / f"{name}_home", lake_url=lake)
        defs = build_definitions(load_project(model_file), home)
        with dg.instance_for_test() as instance:
            assert materialize_history(defs, instance, "fraud", DAYS, "ERROR").success
        snapshots.append(snapshot(Warehouse(home.warehouse)))
    left, right = snapshots
    assert len(left["drift_results"]) > 0
    for name in sorted(left):
        pd.testing.assert_frame_equal(
            left[name], right[name], check_dtype=False, obj=f"table {name}", rtol=1e-9
        )
    assert not (tmp_path / "remote_home" / "data").exists()


def test_a_missing_source_file_on_s3_names_it(tmp_path, s3_env):
    from monitoring_assets.core.config import load_project
    from resources.sources import FileAdapter
    from tests.run.files_model import MODEL

    path = tmp_path / "m.yaml"
    path.write_text(MODEL.format(root=f"s3://{s3_env.bucket}/nothing", extra=""))
    adapter = FileAdapter(load_project(path).models[0])
    with pytest.raises(FileNotFoundError) as err:
        adapter.inference_day(dt.date(2026, 1, 2))
    assert f"s3://{s3_env.bucket}/nothing/logs/2026-01-02.parquet" in str(err.value)


def test_the_model_registry_on_s3(s3_env):
    from sklearn.linear_model import LogisticRegression

    from resources.model_registry import ModelStatus, RegistryError
    from resources.model_registry_fs import FsModelRegistry, ModelRegistryResource

    registry = ModelRegistryResource(root=f"{s3_env.url}/_registry").get()
    assert isinstance(registry, FsModelRegistry)
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    v1 = registry.register("churn", model, status=ModelStatus.CHALLENGER, metrics={"auc": 0.9})
    registry.promote("churn", v1.version, dt.date(2026, 3, 1))
    registry.put_json("churn", v1.version, "cbpe", {"bins": [0.1, 0.2]})
    registry.put_frame("churn", v1.version, "validation", pd.DataFrame({"a": [1, 2]}))

    again = FsModelRegistry(f"{s3_env.url}/_registry")  # as another process would
    assert again.champion_for("churn", dt.date(2026, 3, 5)) == v1.version
    assert again.load_artifact("churn", v1.version).predict([[3.0]]).tolist() == [1]
    assert again.get_json("churn", v1.version, "cbpe") == {"bins": [0.1, 0.2]}
    pd.testing.assert_frame_equal(
        again.get_frame("churn", v1.version, "validation"), pd.DataFrame({"a": [1, 2]})
    )
    assert s3_env.keys("lake/_registry/") == [
        "lake/_registry/churn/registry.json",
        "lake/_registry/churn/v1/cbpe.json",
        "lake/_registry/churn/v1/model.pkl",
        "lake/_registry/churn/v1/validation.parquet",
    ]
    # An artifact replaced behind the registry's back is not unpickled.
    s3_env.client().put_object(
        Bucket=s3_env.bucket, Key="lake/_registry/churn/v1/model.pkl", Body=b"not the model"
    )
    with pytest.raises(RegistryError, match="changed after registration"):
        again.load_artifact("churn", v1.version)
