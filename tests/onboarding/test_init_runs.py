"""The file `driftwarden init` writes runs unchanged: a real Dagster run of its first day."""

from __future__ import annotations

import dagster as dg
import duckdb

from monitoring_assets.cli import main
from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import materialize_history
from tests.onboarding.data import write_files


def test_the_written_file_materializes_its_first_day(tmp_path, home, monkeypatch):
    root = write_files(tmp_path / "data", rows=400, days=1)
    out = tmp_path / "fraud.yaml"
    rc = main(
        [
            "init",
            "--name",
            "fraud",
            "--reference",
            str(root / "reference.parquet"),
            "--logs",
            str(root / "logs/{date}.parquet"),
            "--labels",
            str(root / "labels/{date}.parquet"),
            "-o",
            str(out),
        ]
    )
    assert rc == 0
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(out))
    project = load_project(out)
    model = project.models[0]
    keys = [model.first_date.isoformat()]
    defs = build_definitions(project, home)
    with dg.instance_for_test() as instance:
        result = materialize_history(defs, instance, "fraud", keys, log_level="ERROR")
        assert result.success
        checks = [
            e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
        ]
    assert keys[0] == "2026-01-01"
    glob = str(home.lake / "fraud" / "inference_logs" / "date=*" / "*.parquet")
    counts = duckdb.sql(
        f"SELECT date::VARCHAR AS d, count(*) AS n FROM read_parquet('{glob}', "
        "hive_partitioning=true) GROUP BY ALL ORDER BY d"
    ).fetchall()
    assert counts == [("2026-01-01", 400)]
    # Labels were read through the written labels pattern: performance was judged.
    names = {c.check_name for c in checks}
    assert "accuracy_above_floor" in names and "row_count_stable" in names
