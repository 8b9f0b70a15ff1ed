"""The demo scenario on Postgres (Dagster instance and warehouse) against DuckDB/SQLite,
and the fault cases: a dropped connection mid-run, two runs writing the same partitions."""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import dagster as dg
import pandas as pd
import psycopg2
import pytest

from monitoring_assets.core.names import quote_ident
from monitoring_assets.demo import evaluate_alerts, materialize_history
from resources.warehouse import TABLES, Warehouse, WarehouseResource, open_warehouse
from resources.warehouse_postgres import _lock_key
from tests.postgres import PG_DSN
from tests.production.conftest import duplicate_keys

# Columns that legitimately differ between two runs of the same history.
VOLATILE = {"run_id", "computed_at", "written_at", "created_at", "updated_at", "delivered_at"}


def with_warehouse(
    defs: dg.Definitions, location: str, resource: type[WarehouseResource] = WarehouseResource
) -> dg.Definitions:
    """``defs`` with its warehouse resource pointed at ``location``."""
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources={**defs.resources, "warehouse": resource(path=location)},
    )


def snapshot(warehouse) -> dict[str, pd.DataFrame]:
    """Every registered table, volatile columns dropped, rows sorted: comparable across stores."""
    out = {}
    for name, spec in sorted(TABLES.items()):
        cols = [c for c in spec.columns if c not in VOLATILE and spec.columns[c] != "TIMESTAMP"]
        # quoted: some column names (window) are keywords in SQL
        frame = warehouse.query(f"SELECT {', '.join(quote_ident(c) for c in cols)} FROM {name}")
        frame = frame.sort_values(cols, ignore_index=True, na_position="first")
        for c in cols:
            if spec.columns[c] == "DATE":
                frame[c] = pd.to_datetime(frame[c]).dt.date
            elif spec.columns[c] in ("DOUBLE", "BIGINT"):
                frame[c] = frame[c].astype(float)
            else:
                frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
        out[name] = frame
    return out


def error_chain(error) -> str:
    """A serialized error's message and its causes' messages."""
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return " | ".join(parts)


KEYS = [f"2026-03-{d:02d}" for d in range(1, 11)]


@pytest.fixture
def defs(home, small_project):
    from monitoring_assets.definitions import build_definitions

    return build_definitions(small_project, home)


@pytest.mark.timeout(900)  # two whole 10-day histories, on a loaded machine
def test_demo_on_postgres_matches_duckdb(home, defs, pg_instance, pg_warehouse_url):
    # DuckDB warehouse + SQLite instance: the embedded default.
    with dg.instance_for_test() as sqlite_instance:
        started = time.monotonic()
        assert materialize_history(defs, sqlite_instance, "churn", KEYS, "ERROR").success
        duck_requests = evaluate_alerts(defs, sqlite_instance)
        duck_s = time.monotonic() - started
    duck = Warehouse(home.warehouse)

    # Postgres warehouse + the shipped production instance (dagster-postgres).
    pg_defs = with_warehouse(defs, pg_warehouse_url)
    started = time.monotonic()
    result = materialize_history(pg_defs, pg_instance, "churn", KEYS, "ERROR")
    assert result.success
    # ...and the alert sensor over the same check results, writing its outbox to Postgres
    pg_requests = evaluate_alerts(pg_defs, pg_instance)
    pg_s = time.monotonic() - started
    assert type(pg_instance.run_storage).__name__ == "PostgresRunStorage"
    assert pg_instance.get_run_by_id(result.run_id).is_success
    pg = open_warehouse(pg_warehouse_url)

    left, right = snapshot(duck), snapshot(pg)
    assert len(left["partition_log"]) >= 2 * len(KEYS)
    assert len(left["monitor_metrics"]) >= len(KEYS)
    # Alerts: the same episodes (what fired, where, how severe) and the same actions;
    # ids and event ids depend on each instance's storage ids, so they are left out.
    same = ["model", "asset_key", "check_name", "partition_key", "severity", "tier", "status"]
    duck_alerts = duck.query(f"SELECT {', '.join(same)} FROM alerts ORDER BY ALL")
    pg_alerts = pg.query(f"SELECT {', '.join(same)} FROM alerts ORDER BY {', '.join(same)}")
    assert len(duck_alerts) > 0
    pd.testing.assert_frame_equal(duck_alerts, pg_alerts, check_dtype=False, obj="alerts")
    assert [r.job_name for r in duck_requests] == [r.job_name for r in pg_requests]
    alert_tables = {"alerts", "alert_check_state", "alert_outbox", "alert_actions"}
    for name in set(TABLES) - alert_tables:
        pd.testing.assert_frame_equal(
            left[name], right[name], check_dtype=False, obj=f"table {name}", rtol=1e-9
        )
    print(f"\n10 days x 300 rows: DuckDB+SQLite {duck_s:.1f}s, Postgres+Postgres {pg_s:.1f}s")


# Rows of this metric are what the killed transaction was replacing.
KILLED_METRIC = "model_inference_requests"
KILLED_ROWS = (
    "SELECT partition_date, value, run_id FROM monitor_metrics "
    f"WHERE metric = '{KILLED_METRIC}' ORDER BY partition_date"
)


def _pause_inserts_of(cur, schema: str, metric: str | None, gate_key: int) -> None:
    """A trigger that makes a writer inserting into monitor_metrics (only ``metric`` rows,
    when given) wait for advisory lock ``gate_key`` (shared: writers released together do
    not wait for each other): inside its transaction, after its DELETE."""
    when = "" if metric is None else "WHEN (NEW.metric = %s)"
    level = "STATEMENT" if metric is None else "ROW"
    cur.execute(
        f"""
        CREATE FUNCTION "{schema}".pause_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared({int(gate_key)}); RETURN NEW; END $$;
        CREATE TRIGGER pause_insert BEFORE INSERT ON "{schema}".monitor_metrics
        FOR EACH {level} {when} EXECUTE FUNCTION "{schema}".pause_insert();
        """,
        [] if metric is None else [metric],
    )


def _drop_pause(cur, schema: str) -> None:
    cur.execute(f'DROP TRIGGER pause_insert ON "{schema}".monitor_metrics')
    cur.execute(f'DROP FUNCTION "{schema}".pause_insert()')


def _advisory_waiters(cur, *keys: int) -> list[int]:
    """Pids of this database's backends waiting for one of the advisory locks ``keys``.
    Keys are per schema, so writers of other tests' schemas are never counted."""
    # A bigint advisory key shows in pg_locks as (classid, objid) = its high and low
    # 32 bits, unsigned, with objsubid 1.
    pairs = [((k & 0xFFFFFFFFFFFFFFFF) >> 32, k & 0xFFFFFFFF) for k in keys]
    cur.execute(
        "SELECT DISTINCT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND objsubid = 1 AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database()) AND (classid::bigint, objid::bigint) IN %s "
        "ORDER BY pid",
        [tuple(pairs)],
    )
    return [row[0] for row in cur.fetchall()]


def _kill_writer_between_delete_and_commit(
    gate_key: int, schema: str, holding: threading.Event, run_over: threading.Event, done: dict
) -> None:
    """Hold the gate until a warehouse writer waits on it in the middle of its INSERT,
    prove its DELETE has run (the old rows are row-locked by its transaction), then
    terminate that writer's backend (as a failover or an admin would) and let go. Gives
    up when the run is over without having waited (or after 10 minutes)."""
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    cur = admin.cursor()
    try:
        cur.execute("SELECT pg_advisory_lock(%s)", [gate_key])
        holding.set()
        deadline = time.monotonic() + 600
        while not run_over.is_set() and time.monotonic() < deadline:
            # Only the trigger waits on the gate: a waiter is inside its INSERT.
            row = _advisory_waiters(cur, gate_key)[:1]
            if row:
                try:
                    cur.execute(
                        f'SELECT 1 FROM "{schema}".monitor_metrics WHERE metric = %s '
                        "FOR UPDATE NOWAIT",
                        [KILLED_METRIC],
                    )
                    done["rows_locked"] = False
                except psycopg2.errors.LockNotAvailable:
                    done["rows_locked"] = True  # deleted by the writer, not yet committed
                cur.execute("SELECT pg_terminate_backend(%s)", [row[0]])
                done["killed"] = row[0]
                break
            time.sleep(0.05)
    finally:
        holding.set()
        cur.execute("SELECT pg_advisory_unlock_all()")
        admin.close()


# The killed write is inference_logs' (its request counts in monitor_metrics): the runs
# of the kill test build the foundation assets only; the rest of the graph plays no part.
FOUNDATION = [
    dg.AssetKey(["churn", a]) for a in ("reference_data", "inference_logs", "ground_truth")
]


@pytest.mark.timeout(900)  # three runs, on a loaded machine
def test_connection_killed_between_delete_and_commit_keeps_the_old_rows_and_a_retry_replaces_them(
    defs, pg_instance, pg_warehouse_url
):
    pg_defs = with_warehouse(defs, pg_warehouse_url)
    wh = open_warehouse(pg_warehouse_url)
    wh.migrate()
    # The partitions already hold a run's rows: the killed write was replacing them.
    first = materialize_history(
        pg_defs, pg_instance, "churn", KEYS, "ERROR", asset_selection=FOUNDATION
    )
    assert first.success
    before = wh.query(KILLED_ROWS)
    assert len(before) == len(KEYS) and set(before.run_id) == {first.run_id}

    gate_key = _lock_key("test-gate", wh.schema)
    admin = psycopg2.connect(PG_DSN)
    admin.autocommit = True
    try:
        _pause_inserts_of(admin.cursor(), wh.schema, KILLED_METRIC, gate_key)
        done: dict = {}
        holding, run_over = threading.Event(), threading.Event()
        killer = threading.Thread(
            target=_kill_writer_between_delete_and_commit,
            args=(gate_key, wh.schema, holding, run_over, done),
        )
        killer.start()
        try:
            assert holding.wait(120), "the gate was not taken"
            failed = materialize_history(
                pg_defs, pg_instance, "churn", KEYS, "CRITICAL", asset_selection=FOUNDATION
            )
        finally:
            run_over.set()
            killer.join()
        _drop_pause(admin.cursor(), wh.schema)
    finally:
        admin.close()
    assert done.get("killed"), (
        f"no warehouse writer was seen waiting inside its INSERT of {KILLED_METRIC}"
    )
    assert not failed.success
    messages = " ".join(
        error_chain(e.event_specific_data.error)
        for e in failed.all_events
        if e.event_type_value == "STEP_FAILURE"
    )
    assert "lost the connection to the Postgres warehouse" in messages
    assert "monitor_metrics" in messages and "rerun the partition" in messages
    # The killed transaction had deleted the old rows and was inserting new ones: both
    # were rolled back, so the old rows are still there, unchanged.
    pd.testing.assert_frame_equal(wh.query(KILLED_ROWS), before)
    # ...and the kill did come after the DELETE: its transaction held the old rows.
    assert done["rows_locked"], "the killed writer had not deleted the old rows yet"
    logged = wh.query("SELECT count(*) AS n FROM partition_log WHERE asset = 'inference_logs'")
    assert logged.n.iloc[0] == len(KEYS)

    retry = materialize_history(
        pg_defs, pg_instance, "churn", KEYS, "ERROR", asset_selection=FOUNDATION
    )
    assert retry.success
    assert duplicate_keys(wh) == {name: 0 for name in TABLES}
    after = wh.query(KILLED_ROWS)
    assert len(after) == len(KEYS) and set(after.value) == {300.0}
    assert set(after.run_id) == {retry.run_id}


# How long the concurrent-runs test waits for both runs to reach the gate, and how long
# a gated writer may wait for a lock there: generous, for a loaded 2-core machine where
# each spawned child first imports Dagster.
GATE_DEADLINE_S = 600


class PatientWarehouseResource(WarehouseResource):
    """The warehouse with writers that wait as long as the test holds its gate (the
    backend's default, a minute, can be shorter than a loaded machine keeps the other
    run away)."""

    def get(self):
        return open_warehouse(self.path, lock_timeout=GATE_DEADLINE_S + 300)


_start_together = None


def _init_child(barrier) -> None:
    global _start_together
    _start_together = barrier


def _run_in_child(instance_ref, warehouse_url: str, keys: list[str]) -> tuple[bool, str]:
    """One run of ``monitor_churn`` in its own process (Dagster's in-process executor is
    not thread-safe), on the shared instance and warehouse, started together with the
    other child's."""
    from monitoring_assets.core.config import load_project
    from monitoring_assets.core.home import Home
    from monitoring_assets.definitions import build_definitions

    defs = with_warehouse(
        build_definitions(load_project(), Home.from_env()),
        warehouse_url,
        PatientWarehouseResource,
    )
    # Sync the tables now, as a process that has written before would have: a first
    # write's sync (ALTER TABLE) waits for the other run's open transaction on the table,
    # which the gate keeps open until both runs are there.
    open_warehouse(warehouse_url).migrate()
    _start_together.wait()
    with dg.DagsterInstance.from_ref(instance_ref) as instance:
        result = materialize_history(defs, instance, "churn", keys, "ERROR")
        return result.success, result.run_id


def _outcome(future) -> str:
    if not future.done():
        return "still running"
    if future.exception() is not None:
        return f"raised {future.exception()!r}"
    return f"returned {future.result()}"


@pytest.mark.timeout(GATE_DEADLINE_S * 3)
def test_two_runs_writing_the_same_partitions_concurrently_leave_one_result(
    small_project, pg_instance, pg_warehouse_url
):
    wh = open_warehouse(pg_warehouse_url)
    wh.migrate()
    # A gate inside the write: a run inserting into monitor_metrics waits for it after
    # its DELETE, in its open transaction. The gate opens only once both runs are inside
    # a write of monitor_metrics (one at the gate and one queued for the table's lock, or
    # both at the gate if nothing serialized them): they write the same partitions at the
    # same moment, whatever the machine's speed.
    gate_key = _lock_key("test-gate", wh.schema)
    table_key = _lock_key("table", wh.schema, "monitor_metrics")
    gate = psycopg2.connect(PG_DSN)
    gate.autocommit = True
    cur = gate.cursor()
    _pause_inserts_of(cur, wh.schema, None, gate_key)
    cur.execute("SELECT pg_advisory_lock(%s)", [gate_key])
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2, timeout=GATE_DEADLINE_S)
    waiting: list[int] = []
    with ProcessPoolExecutor(
        2, mp_context=ctx, initializer=_init_child, initargs=(barrier,)
    ) as pool:
        try:
            futures = [
                pool.submit(_run_in_child, pg_instance.get_ref(), pg_warehouse_url, KEYS)
                for _ in range(2)
            ]
            deadline = time.monotonic() + GATE_DEADLINE_S
            while time.monotonic() < deadline and not any(f.done() for f in futures):
                waiting = _advisory_waiters(cur, gate_key, table_key)
                if len(waiting) >= 2:
                    break
                time.sleep(0.1)
        finally:
            gate.close()  # opens the gate, whatever happened
            if len(waiting) < 2:
                barrier.abort()  # a child that failed early leaves none waiting for it
        outcomes = [_outcome(f) for f in futures]
        assert len(waiting) >= 2, (
            "the two runs were never inside a write of monitor_metrics at the same time "
            f"(waiting: {waiting}); the runs: {outcomes}"
        )
        results = [f.result(timeout=GATE_DEADLINE_S) for f in futures]
    assert [ok for ok, _ in results] == [True, True], [_outcome(f) for f in futures]
    assert duplicate_keys(wh) == {name: 0 for name in TABLES}
    log = wh.query("SELECT asset, count(*) AS n FROM partition_log GROUP BY asset ORDER BY asset")
    assert {"ground_truth", "inference_logs"} <= set(log.asset)
    assert set(log.n) == {len(KEYS)}, log
    # Each partition holds one run's rows, never a mix of the two.
    per_day = wh.query(
        "SELECT partition_date, count(DISTINCT run_id) AS runs, count(*) AS n "
        "FROM monitor_metrics WHERE metric = 'model_inference_requests' GROUP BY 1"
    )
    assert len(per_day) == len(KEYS) and set(per_day.runs) == {1} and set(per_day.n) == {1}
