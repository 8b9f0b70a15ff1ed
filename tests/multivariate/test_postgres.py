"""The multivariate tables on a Postgres warehouse (fresh schema): the same run gives the
rows DuckDB gives, and a rerun refits nothing."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from monitoring_assets.core.multivariate import DOMAIN_CLASSIFIER, RECONSTRUCTION
from monitoring_assets.core.multivariate_days import (
    MultivariateMonitor,
    result_rows,
    store_results,
    stored_results,
)
from resources.warehouse import open_warehouse
from tests.multivariate.test_monitor import _rows, _setup

DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=i) for i in range(3)]
METHODS = (RECONSTRUCTION, DOMAIN_CLASSIFIER)
#: what differs between two runs by design
VOLATILE = ["computed_at", "run_id"]


def _run(wh, lake, model) -> MultivariateMonitor:
    """Judge and store the days as the asset does."""
    mon = MultivariateMonitor(wh, lake, model)
    for method in METHODS:
        rows = [
            result_rows(model, d, mon.judge(method, _rows(300, 10 + i)), mon.label, "run")
            for i, d in enumerate(DAYS)
        ]
        store_results(wh, model, method, rows, DAYS)
    return mon


def _table(wh, name: str, order: str) -> pd.DataFrame:
    df = wh.query(f"SELECT * FROM {name} ORDER BY {order}")
    df = df.drop(columns=[c for c in VOLATILE if c in df.columns])
    if "partition_date" in df.columns:
        df["partition_date"] = pd.to_datetime(df["partition_date"]).dt.date
    return df.reset_index(drop=True)


def test_postgres_gives_duckdbs_rows_and_a_rerun_refits_nothing(tmp_path, pg_warehouse_url):
    model, lake, duck = _setup(tmp_path, _rows(3000, 1))
    pg = open_warehouse(pg_warehouse_url)
    pg.migrate()
    assert _run(duck, lake, model).refitted == _run(pg, lake, model).refitted != []

    order = "method, partition_date"
    want, got = (
        _table(duck, "multivariate_results", order),
        _table(pg, "multivariate_results", order),
    )
    assert len(got) == len(METHODS) * len(DAYS)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    order = "method, window_rows"
    want, got = _table(duck, "multivariate_fits", order), _table(pg, "multivariate_fits", order)
    assert got.drop(columns="payload").equals(want.drop(columns="payload"))
    assert [json.loads(p) for p in got.payload] == [json.loads(p) for p in want.payload]

    keys = [d.isoformat() for d in DAYS]
    before = {m: stored_results(pg, model, m, keys) for m in METHODS}
    again = _run(pg, lake, model)
    assert again.refitted == []  # fits and thresholds read back from Postgres
    assert {m: stored_results(pg, model, m, keys) for m in METHODS} == before
    assert len(_table(pg, "multivariate_results", order="method")) == len(METHODS) * len(DAYS)
    assert len(_table(pg, "multivariate_fits", order="method")) == len(want)
