"""PostgresWarehouse against the DuckDB Warehouse contract; writers under concurrency;
migrations; the fs-aware lake."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pytest

from resources.lake import Lake, open_lake
from resources.lake_fs import FsLake
from resources.warehouse import (
    MONITOR_METRICS,
    TableSpec,
    Warehouse,
    WarehouseError,
    open_warehouse,
)
from resources.warehouse_postgres import MIGRATIONS, PostgresWarehouse, translate_params

D1, D2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)


def metrics(day: dt.date, value: float, run: str, n: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": "churn",
            "model_version": "v1",
            "partition_date": day,
            "metric": [f"m{i}" for i in range(n)],
            "feature": "",
            "value": [value if i else np.nan for i in range(n)],
            "run_id": run,
            "computed_at": pd.Timestamp("2026-03-03 04:05:06"),
        }
    )


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path):
    if request.param == "duckdb":
        return Warehouse(tmp_path / "w.duckdb")
    return open_warehouse(request.getfixturevalue("pg_warehouse_url"))


def test_replace_contract_is_the_same_on_both_backends(warehouse):
    warehouse.replace(
        "monitor_metrics", metrics(D1, 1.0, "r1"), {"model": "churn", "partition_date": D1}
    )
    warehouse.replace(
        "monitor_metrics", metrics(D2, 2.0, "r1"), {"model": "churn", "partition_date": D2}
    )
    warehouse.replace(
        "monitor_metrics", metrics(D1, 5.0, "r2"), {"model": "churn", "partition_date": D1}
    )
    out = warehouse.query(
        "SELECT partition_date, run_id, count(*) AS n, sum(value) AS s, "
        "count(value) AS non_null FROM monitor_metrics WHERE model = ? GROUP BY 1, 2 ORDER BY 1",
        ["churn"],
    )
    assert list(out.run_id) == ["r2", "r1"]
    assert list(out.n) == [3, 3] and list(out.non_null) == [2, 2]  # NaN is stored as NULL
    assert list(out.s) == [10.0, 4.0]
    assert str(out.partition_date.dtype).startswith("datetime64")
    # Ranges and lists; an empty where is refused.
    warehouse.replace("monitor_metrics", metrics(D1, 0.0, "r3", n=0), {"partition_date": (D1, D2)})
    assert len(warehouse.query("SELECT * FROM monitor_metrics")) == 0
    with pytest.raises(WarehouseError, match="non-empty 'where'"):
        warehouse.replace("monitor_metrics", metrics(D1, 1.0, "r"), {})
    with pytest.raises(WarehouseError, match="missing"):
        warehouse.replace(
            "monitor_metrics", metrics(D1, 1.0, "r").drop(columns="value"), {"model": "m"}
        )
    warehouse.log_partition("churn", "inference_logs", D1, 300, "r9", "abc")
    log = warehouse.query("SELECT rows, detail FROM partition_log WHERE asset LIKE 'inf%'")
    assert (int(log.rows.iloc[0]), log.detail.iloc[0]) == (300, "abc")


def test_postgres_migrations_are_recorded_once_and_extend_tables(pg_warehouse_url):
    wh = open_warehouse(pg_warehouse_url)
    assert isinstance(wh, PostgresWarehouse)
    assert wh.schema_version() == 0
    assert wh.migrate() == [m.version for m in MIGRATIONS]
    assert wh.migrate() == []
    assert wh.schema_version() == max(m.version for m in MIGRATIONS)
    types = wh.query(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = 'monitor_metrics'",
        [wh.schema],
    )
    assert dict(zip(types.column_name, types.data_type))["value"] == "double precision"
    grown = TableSpec(
        MONITOR_METRICS.name, {**MONITOR_METRICS.columns, "note": "VARCHAR"}, MONITOR_METRICS.key
    )
    wh.migrate([grown])
    assert "note" in wh.query("SELECT * FROM monitor_metrics").columns


def test_translate_params_leaves_literals_alone():
    assert (
        translate_params("a = ? AND b LIKE 'x?%' AND c = ?")
        == "a = %s AND b LIKE 'x?%%' AND c = %s"
    )


def test_postgres_connection_errors_name_the_server():
    wh = PostgresWarehouse("postgresql://nobody@127.0.0.1:1/none?schema=s", connect_timeout=2)
    with pytest.raises(WarehouseError, match="cannot connect to the Postgres warehouse"):
        wh.query("SELECT 1")
    with pytest.raises(WarehouseError, match="plain identifier"):
        PostgresWarehouse("postgresql://x@h/db?schema=a;drop")


def _hammer(location: str, run: str, rounds: int) -> int:
    wh = open_warehouse(location)
    for _ in range(rounds):
        wh.replace(
            "monitor_metrics", metrics(D1, float(len(run)), run, n=50), {"partition_date": D1}
        )
    return rounds


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
def test_writers_in_two_processes_leave_one_result(backend, tmp_path, request):
    location = (
        str(tmp_path / "w.duckdb")
        if backend == "duckdb"
        else request.getfixturevalue("pg_warehouse_url")
    )
    open_warehouse(location).migrate()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        done = list(pool.map(_hammer, [location, location], ["a", "bb"], [15, 15]))
    assert done == [15, 15]
    out = open_warehouse(location).query(
        "SELECT run_id, count(*) AS n FROM monitor_metrics GROUP BY run_id"
    )
    assert len(out) == 1 and int(out.n.iloc[0]) == 50


def _hold_duckdb(path: str, held, release) -> None:
    import duckdb

    con = duckdb.connect(path)
    held.set()
    release.wait(120)
    con.close()


def test_duckdb_writer_fails_clearly_when_another_process_holds_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse(path).migrate()
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_duckdb, args=(str(path), held, release))
    holder.start()
    try:
        # Signalled, not slept on: a spawned process takes seconds to start under load.
        assert held.wait(120), "the holder process never opened the warehouse"
        started = time.monotonic()
        with pytest.raises(WarehouseError, match=f"cannot open warehouse {path}"):
            Warehouse(path, lock_timeout=1.0).replace(
                "monitor_metrics", metrics(D1, 1.0, "r"), {"partition_date": D1}
            )
        # Gave up after its 1 s lock timeout, not after the holder's 120 s (generous under load).
        assert 0.9 < time.monotonic() - started < 60
        # With a longer timeout the writer waits for the holder to let go, then succeeds.
        threading.Timer(2.0, release.set).start()
        started = time.monotonic()
        Warehouse(path, lock_timeout=60).replace(
            "monitor_metrics", metrics(D1, 1.0, "r"), {"partition_date": D1}
        )
        assert time.monotonic() - started >= 1.5
    finally:
        release.set()
        holder.join(timeout=30)
    assert len(Warehouse(path).query("SELECT * FROM monitor_metrics")) == 3


@pytest.mark.parametrize("kind", ["local", "subtree", "uri"])
def test_fs_lake_round_trip_and_duckdb_over_arrow(tmp_path, kind):
    import duckdb

    if kind == "local":
        lake = FsLake(pafs.LocalFileSystem(), (tmp_path / "lake").as_posix())
        (tmp_path / "lake").mkdir()
    elif kind == "subtree":
        (tmp_path / "lake").mkdir()
        lake = FsLake(pafs.SubTreeFileSystem(str(tmp_path / "lake"), pafs.LocalFileSystem()), "")
    else:
        lake = open_lake(f"file://{tmp_path / 'lake'}")
        (tmp_path / "lake").mkdir(exist_ok=True)
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]})
    lake.write_day("churn", "inference_logs", D1, frame)
    lake.write_day("churn", "inference_logs", D2, frame.head(2))
    lake.write_day("churn", "inference_logs", D2, frame.head(1))  # replaces, not appends
    assert lake.days("churn", "inference_logs") == [D1, D2]
    assert len(lake.read_day("churn", "inference_logs", D2)) == 1
    assert not lake.has_day("churn", "inference_logs", dt.date(2026, 3, 3))
    with pytest.raises(FileNotFoundError, match="2026-03-03"):
        lake.read_day("churn", "inference_logs", dt.date(2026, 3, 3))
    con = duckdb.connect()
    lake.register(con, "logs", "churn", "inference_logs")
    rows = con.execute("SELECT date, count(*), sum(x) FROM logs GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [(D1, 3, 6.0), (D2, 1, 1.0)]
    # Same layout as the embedded Lake: it reads what FsLake wrote.
    assert len(Lake(tmp_path / "lake").read_day("churn", "inference_logs", D1)) == 3
    leftovers = [p.name for p in (tmp_path / "lake/churn/inference_logs").iterdir()]
    assert sorted(leftovers) == ["date=2026-03-01", "date=2026-03-02"]


def test_open_lake_dispatches_on_scheme(tmp_path):
    assert isinstance(open_lake(tmp_path), Lake)
    assert isinstance(open_lake(f"file://{tmp_path}"), FsLake)
    with pytest.raises(ValueError, match="cannot open the lake"):
        open_lake("nosuchscheme://bucket/x")


@pytest.mark.parametrize("kind", ["embedded", "pyarrow"])
def test_both_lakes_honour_the_port_locations_are_strings(tmp_path, kind):
    """core.ports.Lake: every location is a str, existence and reads go through the lake."""
    import hashlib

    lake = Lake(tmp_path) if kind == "embedded" else open_lake(f"file://{tmp_path}")
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    written = lake.write("churn", "reference", "version=v1", frame)
    day_file = lake.write_day("churn", "inference_logs", D1, frame)
    locations = [
        written,
        day_file,
        lake.dataset_location("churn", "inference_logs"),
        lake.partition_location("churn", "reference", "version=v1"),
        lake.file_location("churn", "reference", "version=v1"),
        lake.day_location("churn", "inference_logs", D1),
    ]
    assert all(type(loc) is str for loc in locations)
    assert written == lake.file_location("churn", "reference", "version=v1")
    assert day_file == lake.day_location("churn", "inference_logs", D1)
    assert lake.exists(written) and lake.exists(lake.dataset_location("churn", "inference_logs"))
    assert not lake.exists(lake.file_location("churn", "reference", "version=v2"))
    assert lake.has_partition("churn", "reference", "version=v1")
    assert not lake.has_partition("churn", "reference", "version=v2")
    assert lake.has_day("churn", "inference_logs", D1)
    assert not lake.has_day("churn", "inference_logs", D2)
    assert lake.days("churn", "inference_logs") == [D1]
    assert lake.read_partition("churn", "reference", "version=v1").x.tolist() == [1.0, 2.0]
    with pytest.raises(FileNotFoundError, match="version=v2"):
        lake.read_partition("churn", "reference", "version=v2")
    with lake.open_input(written) as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    on_disk = tmp_path / "churn" / "reference" / "version=v1" / "part-0.parquet"
    assert digest == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    staged = lake.stage("churn", "inference_logs", lake.date_key(D2), frame.head(1))
    assert not lake.has_day("churn", "inference_logs", D2)  # staged, not yet visible
    assert staged.commit() == lake.day_location("churn", "inference_logs", D2)
    assert len(lake.read_day("churn", "inference_logs", D2)) == 1
