"""A range run profiles, stores and judges its days in batches (a year's backfill never
holds every day profile): the results equal one batch's, windows reach across batch
boundaries, and the run says how many day profiles it held at most."""

from __future__ import annotations

import pandas as pd

from monitoring_assets.monitors import drift as drift_monitor
from tests.conftest import churn_yaml
from tests.drift.helpers import DRIFT, FOUNDATION, Scenario

ROWS, DAYS = 60, 8
COMPARED = ["partition_date", "column_name", "score", "drifted", "current_rows", "window"]


def _run(root, monkeypatch, batch_days: int):
    monkeypatch.setattr(drift_monitor, "BATCH_DAYS", batch_days)
    text = churn_yaml(days=DAYS, rows=ROWS, seed=5).replace(
        "    label_delay_days: 3\n",
        "    label_delay_days: 3\n    window: {days: 3, min_day_rows: 100}\n",
    )
    sc = Scenario(root, text)
    with sc.activated() as instance:
        result = sc.run(instance, sc.keys(), assets=FOUNDATION + DRIFT[:4])
        assert result.success
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    held = [m for m in logs if "day profiles held" in m]
    assert len(held) == 1, held
    drift = sc.drift().sort_values(["partition_date", "column_name"])[COMPARED]
    quality = sc.quality()
    return sc, drift.reset_index(drop=True), quality, held[0]


def test_batches_judge_exactly_as_one_batch_and_hold_only_a_batch(tmp_path, monkeypatch):
    sc, batched, q_batched, held = _run(tmp_path / "b3", monkeypatch, 3)
    _, whole, q_whole, held_whole = _run(tmp_path / "all", monkeypatch, 100)
    pd.testing.assert_frame_equal(batched, whole)
    cols = ["partition_date", "rule", "column_name", "value", "status", "reason"]
    pd.testing.assert_frame_equal(
        q_batched[cols].sort_values(cols[:3]).reset_index(drop=True),
        q_whole[cols].sort_values(cols[:3]).reset_index(drop=True),
    )
    # a window reaching back over a batch boundary (days 3..5: batches [0,1,2] [3,4,5])
    keys = sc.keys()
    day3 = batched[batched.partition_date == keys[3]]
    assert set(day3.window) == {f"3 days {keys[1]}..{keys[3]}, {3 * ROWS} rows"}
    # a batch of 3 days and the 2 trailing days its windows reach
    assert held.endswith("in batches of 3, at most 5 day profiles held"), held
    assert held_whole.endswith(f"at most {DAYS} day profiles held"), held_whole
