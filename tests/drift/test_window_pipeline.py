"""A drift window through the Dagster assets: small days judged within their window,
the first day insufficient data, thresholds calibrated at the window's row count and
kept in ``drift_thresholds``; a second run reuses them."""

from __future__ import annotations

import dagster as dg
import pytest

from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
)
from tests.conftest import churn_yaml
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario, check_evaluations

ROWS, DAYS = 60, 4


@pytest.fixture(scope="module")
def window_run(tmp_path_factory):
    text = churn_yaml(days=DAYS, rows=ROWS, seed=4).replace(
        "    label_delay_days: 3\n",
        "    label_delay_days: 3\n    window: {days: 3, min_day_rows: 100}\n",
    )
    sc = Scenario(tmp_path_factory.mktemp("window"), text)
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys(), assets=FOUNDATION + DRIFT[:3])
        assert result.success
        evaluations = check_evaluations(instance, result.run_id)
    return sc, evaluations


def _eval(evaluations, check, day):
    (found,) = [e for e in evaluations if e.check_name == check and e.partition == day]
    return found


def test_the_first_small_day_is_insufficient_data_and_passes(window_run):
    sc, evaluations = window_run
    day0 = sc.keys()[0]
    for check in (
        DRIFT_SHARE_BELOW_THRESHOLD,
        CRITICAL_FEATURES_NOT_DRIFTED,
        PREDICTION_DRIFT_BELOW_THRESHOLD,
    ):
        e = _eval(evaluations, check, day0)
        assert e.passed, e
        assert e.description.startswith(f"[OK] insufficient data ({ROWS} rows < 100 in 1 day")


def test_later_days_are_judged_on_their_window(window_run):
    sc, evaluations = window_run
    d = sc.drift()
    last = sc.keys()[-1]
    rows = d[d.partition_date == last]
    assert set(rows.current_rows) == {3 * ROWS}
    assert set(rows.window) == {f"3 days {sc.keys()[1]}..{last}, {3 * ROWS} rows"}
    assert rows.computable.all()
    # every judged feature says where its threshold came from
    assert rows.threshold_source.str.len().gt(0).all()
    assert set(rows.threshold_mode) <= {"calibrated", "fixed"}
    with sc.activated() as instance:
        rec = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["churn", "data_drift"]), asset_partitions=[last]
            ),
            limit=1,
        ).records[0]
    meta = rec.asset_materialization.metadata
    assert meta["window_rows"].value == 3 * ROWS
    assert meta["insufficient_data"].value is False


def test_thresholds_are_stored_per_window_bucket_and_reused(window_run):
    sc, _ = window_run
    wh = sc.warehouse
    stored = wh.query("SELECT DISTINCT window_rows FROM drift_thresholds")
    # windows of 120 and 180 rows: buckets 100 and 150 (the first day was not judged)
    assert sorted(stored.window_rows) == [100, 150]
    before = wh.query("SELECT max(computed_at) AS t FROM drift_thresholds").t[0]
    with sc.activated() as instance:
        again = sc.run(instance, sc.keys()[-1:], assets=DRIFT[:3])
        assert again.success
    after = wh.query("SELECT max(computed_at) AS t FROM drift_thresholds").t[0]
    assert after == before  # read back, not recomputed
