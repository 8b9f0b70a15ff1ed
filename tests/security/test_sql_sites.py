"""Every place that builds SQL, fed a path or value crafted to break out of a quoted
literal: the statement must read the data (or fail cleanly), never run the payload.

The crafted lake root below turns ``read_parquet('{path}')`` into three valid
statements (read, ``COPY … TO``, read); :func:`test_the_crafted_path_is_live_sql` shows
that splicing it into SQL text (as ``training_reference`` and the report sample did)
writes the COPY target, so the other tests would fail if any site still spliced paths.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from monitoring_assets.core.day_profiles import profile_days
from monitoring_assets.core.drift_report import sample
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.profile_build import profile_frame, profile_partitions
from monitoring_assets.core.references import training_reference
from monitoring_assets.core.simulator import Simulator
from resources.lake import Lake
from resources.lake_fs import FsLake
from resources.sources import FileAdapter
from resources.warehouse import MONITOR_METRICS, TableSpec, Warehouse, WarehouseError
from tests.security.hostile import assert_no_side_effects, hostile_values, targets

DAY = dt.date(2026, 3, 1)


@pytest.fixture()
def crafted(tmp_path, model):
    """(lake root, reference file, inference file) whose paths are SQL payloads."""
    target = targets(tmp_path)["sql"]
    real = tmp_path / "real"
    first = tmp_path / "x"
    sim = Simulator(model)
    sim.reference().iloc[:50].to_parquet(first)
    root = Path(
        f"{tmp_path}/x'); COPY (SELECT 1) TO '{target}'; SELECT * FROM read_parquet('{real}"
    )
    for lake in (Lake(real), Lake(root)):
        lake.write(model.name, "reference", f"version={model.version}", sim.reference())
        lake.write_day(model.name, "inference_logs", DAY, sim.inference_day(DAY))
    lake = Lake(root)
    ref = lake.partition_dir(model.name, "reference", f"version={model.version}") / "part-0.parquet"
    return lake, ref, lake.day_path(model.name, "inference_logs", DAY)


def test_the_crafted_path_is_live_sql(tmp_path, crafted):
    _, ref, _ = crafted
    con = duckdb.connect()
    con.execute(f"DESCRIBE SELECT * FROM read_parquet('{ref}')")  # the pre-fix pattern
    con.close()
    assert targets(tmp_path)["sql"].exists()


def test_training_reference_binds_the_path(tmp_path, crafted, model):
    lake, _, _ = crafted
    wh = Warehouse(tmp_path / "wh.duckdb")
    profile = training_reference(wh, lake, model)
    assert profile.rows == len(Simulator(model).reference())
    assert model.columns.target in profile.columns
    assert_no_side_effects(tmp_path)


def test_report_sample_binds_the_path(tmp_path, crafted, model):
    _, ref, _ = crafted
    frame = sample(str(ref), 40, 0, model.feature_names)
    assert list(frame.columns) == model.feature_names and len(frame) == 40
    assert_no_side_effects(tmp_path)


def test_profiles_read_paths_as_values(tmp_path, crafted, model):
    lake, ref, day = crafted
    kinds = {f.name: f.type for f in model.features}
    assert profile_frame(ref, kinds).rows == len(Simulator(model).reference())
    parts = profile_partitions([day], kinds, partition_column="date")
    assert list(parts) == [DAY.isoformat()]
    assert profile_days(lake, model, [DAY])[DAY].rows == parts[DAY.isoformat()].rows
    assert_no_side_effects(tmp_path)


def test_files_source_reads_paths_as_values(tmp_path, crafted, model):
    _, ref, day = crafted
    adapter = FileAdapter(
        model.model_copy(update={"source": _files_source(ref, day), "start_date": DAY})
    )
    assert len(adapter.reference()) == len(Simulator(model).reference())
    assert len(adapter.inference_day(DAY)) == len(Simulator(model).inference_day(DAY))
    assert_no_side_effects(tmp_path)


def _files_source(ref: Path, day: Path):
    from monitoring_assets.core.config import FileSource

    pattern = str(day).replace(DAY.isoformat(), "{date}")
    return FileSource(reference=str(ref), inference=pattern)


def test_quoted_identifiers_survive_any_printable_name(tmp_path):
    names = [v for k, v in hostile_values(tmp_path).items() if k not in ("nul", "long")]
    frame = pd.DataFrame({n: [i] for i, n in enumerate(names)})
    con = duckdb.connect()
    con.register("t", frame)
    got = con.execute(f"SELECT {', '.join(quote_ident(n) for n in names)} FROM t").fetchall()
    assert got == [tuple(range(len(names)))]
    with pytest.raises(ValueError, match="NUL"):
        quote_ident("a\x00b")
    assert_no_side_effects(tmp_path)


@pytest.mark.parametrize("which", ["copy", "traversal", "nul", "long", "lookalike", "bidi"])
def test_lake_segments_refuse_hostile_names(tmp_path, which):
    bad = hostile_values(tmp_path)[which]
    frame = pd.DataFrame({"a": [1]})
    for lake in (Lake(tmp_path / "lake"), FsLake.from_uri(tmp_path / "fslake")):
        with pytest.raises(ValueError, match="model name .* is not a safe name"):
            lake.write(bad, "reference", "version=v1", frame)
        with pytest.raises(ValueError, match="lake dataset .* is not a safe name"):
            lake.write("churn", bad, "version=v1", frame)
        with pytest.raises(ValueError, match="lake partition .* is not a partition folder"):
            lake.write("churn", "reference", f"version={bad}", frame)
    outside = {p.name for p in tmp_path.iterdir()}
    assert outside <= {"lake", "fslake"}, outside
    assert_no_side_effects(tmp_path)


def test_warehouse_binds_values_and_refuses_unknown_columns(tmp_path):
    wh = Warehouse(tmp_path / "wh.duckdb")
    values = hostile_values(tmp_path)
    rows = pd.DataFrame(
        [
            {
                "model": v,
                "model_version": v,
                "partition_date": DAY,
                "metric": "m",
                "feature": v,
                "value": 1.0,
                "run_id": v,
                "computed_at": pd.Timestamp("2026-03-02"),
            }
            for v in values.values()
        ]
    )
    assert wh.replace(MONITOR_METRICS.name, rows, {"model": list(values.values())}) == len(values)
    back = wh.query("SELECT model FROM monitor_metrics WHERE feature = ?", [values["copy"]])
    assert back.model.tolist() == [values["copy"]]
    with pytest.raises(WarehouseError, match="unknown column"):
        wh.replace(MONITOR_METRICS.name, rows.iloc[:0], {"model = model OR 1": "x"})
    with pytest.raises(ValueError, match="not a plain lowercase identifier"):
        TableSpec("t", {'a"; DROP TABLE x; --': "VARCHAR"})
    assert_no_side_effects(tmp_path)


def test_postgres_warehouse_binds_values(tmp_path, pg_warehouse_url):
    from resources.warehouse_postgres import PostgresWarehouse

    wh = PostgresWarehouse(pg_warehouse_url)
    try:
        # Postgres text cannot hold NUL at all; every other value is stored as it is.
        values = [v for k, v in hostile_values(tmp_path).items() if k != "nul"]
        rows = pd.DataFrame(
            [
                {
                    "model": v,
                    "model_version": "v1",
                    "partition_date": DAY,
                    "metric": "m",
                    "feature": v,
                    "value": 1.0,
                    "run_id": "r",
                    "computed_at": pd.Timestamp("2026-03-02"),
                }
                for v in values
            ]
        )
        assert wh.replace(MONITOR_METRICS.name, rows, {"model": values}) == len(values)
        back = wh.query("SELECT feature FROM monitor_metrics WHERE model = ?", [values[1]])
        assert back.feature.tolist() == [values[1]]
        with pytest.raises(WarehouseError, match="unknown column"):
            wh.replace(MONITOR_METRICS.name, rows.iloc[:0], {"model = model OR 1": "x"})
    finally:
        wh.drop_schema()
    assert_no_side_effects(tmp_path)


@pytest.mark.parametrize("which", ["traversal", "copy", "nul", "lookalike"])
def test_stream_files_refuse_hostile_group_names(tmp_path, model, which):
    from monitoring_assets.streaming.landing import StreamLanding
    from monitoring_assets.streaming.settings import StreamSettings

    bad = hostile_values(tmp_path)[which]
    with pytest.raises(ValueError, match="group_id .* is not a safe name"):
        StreamSettings(group_id=bad + "-{model}").group_for(model.name)
    landing = StreamLanding(tmp_path / "lake", model)
    with pytest.raises(ValueError, match="consumer group .* is not a safe name"):
        landing.checkpoint_path(bad)
    with pytest.raises(ValueError, match="consumer group .* is not a safe name"):
        landing.write_watermark(bad, {})
    assert not list(tmp_path.rglob("*.state")) and not list(tmp_path.rglob("*.json"))
