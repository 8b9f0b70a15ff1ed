"""On Postgres, a process's first write to a table whose columns all exist takes no
exclusive lock: a second process writes while a reader holds the table (ACCESS SHARE,
which only ALTER TABLE's ACCESS EXCLUSIVE waits for), under a lock_timeout that would
fail the write if it queued behind the reader."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg2

from resources.warehouse import open_warehouse
from tests.postgres import PG_DSN

REPO = Path(__file__).resolve().parents[2]

WRITE = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from monitoring_assets.core.tables import MONITOR_METRICS
    from resources.warehouse import open_warehouse

    row = {c: None for c in MONITOR_METRICS.columns}
    row.update(model="m", model_version="v1", partition_date=pd.Timestamp("2026-03-01").date(),
               metric="rows", feature="", value=float(sys.argv[2]), run_id="r",
               computed_at=pd.Timestamp("2026-03-01"))
    frame = pd.DataFrame([row], columns=list(MONITOR_METRICS.columns))
    open_warehouse(sys.argv[1]).replace(MONITOR_METRICS.name, frame, {"model": "m"})
    """
)


def _write(url: str, value: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PGOPTIONS": "-c lock_timeout=3000"}
    return subprocess.run(
        [sys.executable, "-c", WRITE, url, str(value)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_second_process_writes_while_a_reader_holds_the_table(pg_warehouse_url):
    first = _write(pg_warehouse_url, 1)
    assert first.returncode == 0, first.stderr
    schema = pg_warehouse_url.rsplit("schema=", 1)[1]
    reader = psycopg2.connect(PG_DSN)
    try:
        cur = reader.cursor()
        cur.execute(f'LOCK TABLE "{schema}".monitor_metrics IN ACCESS SHARE MODE')
        second = _write(pg_warehouse_url, 2)
    finally:
        reader.rollback()
        reader.close()
    assert second.returncode == 0, second.stderr[-2000:]
    values = open_warehouse(pg_warehouse_url).query("SELECT value FROM monitor_metrics")
    assert list(values["value"]) == [2.0]
