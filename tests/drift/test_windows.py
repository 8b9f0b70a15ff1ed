"""Drift windows over stored day profiles, insufficient-data days, empty windows, and
checks that cannot apply (row count on day one, unseen categories without
categorical features)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import (
    profiled_columns,
    store_day_profiles,
    window_dates,
    window_profile,
)
from monitoring_assets.core.drift import INSUFFICIENT_DATA
from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    PREDICTION_DRIFT_BELOW_THRESHOLD,
    DriftMonitor,
)
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.quality import (
    NO_UNSEEN_CATEGORIES,
    ROW_COUNT_CHANGE,
    ROW_COUNT_STABLE,
    VALUES_WITHIN_REFERENCE_RANGE,
    quality_checks,
    quality_outcomes,
    row_count_change,
)
from monitoring_assets.core.references import DriftReferences
from monitoring_assets.core.results import (
    FEATURE,
    PREDICTION,
    drift_outcomes,
    drift_rows,
    prediction_outcome,
)
from resources.warehouse import Warehouse

D0 = dt.date(2026, 5, 1)


def _model(window: dict | None = None, categorical: bool = True) -> ModelConfig:
    feats = [{"name": "x", "type": "numerical", "critical": True}]
    if categorical:
        feats.append({"name": "c", "type": "categorical"})
    return ModelConfig(
        name="win",
        features=feats,
        columns={"probability": "p", "prediction": "yhat", "target": "y", "latency": None},
        window=window or {},
        thresholds="fixed",
    )


def _frame(rng, n: int, shift: float = 0.0) -> pd.DataFrame:
    p = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, n),
            "c": rng.choice(["a", "b", "c"], n),
            "p": p,
            "yhat": (p > 0.5).astype("int64"),
        }
    )


def _profile(model, frame):
    kinds = profiled_columns(model)
    return profile_frame(frame[[c for c in kinds if c in frame]], kinds)


def _days(model, rows: list[int], seed: int = 1) -> dict:
    rng = np.random.default_rng(seed)
    return {D0 + dt.timedelta(days=i): _profile(model, _frame(rng, n)) for i, n in enumerate(rows)}


# --------------------------------------------------------------------------- windows


def test_days_window_merges_the_trailing_days_and_skips_unprofiled_ones():
    model = _model({"days": 3})
    days = _days(model, [100, 20, 30, 40])
    del days[D0 + dt.timedelta(days=2)]
    last = D0 + dt.timedelta(days=3)
    assert window_dates(model, last, days) == [last, D0 + dt.timedelta(days=1)]
    merged, covered = window_profile(model, last, days)
    assert merged.rows == 40 + 20 and len(covered) == 2
    # a merge of the stored profiles, never a rescan: the counts add up
    assert merged.columns["x"].count == days[last].columns["x"].count + 20


def test_min_rows_window_goes_back_until_enough_rows_at_most_max_days():
    model = _model({"min_rows": 100, "max_days": 3})
    days = _days(model, [80, 50, 30, 40])
    last = D0 + dt.timedelta(days=3)
    # 40 + 30 = 70 < 100, + 50 = 120 >= 100: three days
    assert window_dates(model, last, days) == [last - dt.timedelta(days=k) for k in range(3)]
    tight = _model({"min_rows": 1000, "max_days": 2})
    assert len(window_dates(tight, last, days)) == 2
    single = _model()
    assert window_dates(single, last, days) == [last]


def _refs(tmp_path, model, days, reference):
    refs = DriftReferences(Warehouse(tmp_path / "wh.duckdb"), None, model, days)  # type: ignore[arg-type]
    refs._training = reference  # the training snapshot, without a lake
    return refs


def test_a_day_below_min_day_rows_is_insufficient_data_and_every_check_passes(tmp_path):
    model = _model({"min_day_rows": 30})
    rng = np.random.default_rng(3)
    reference = _profile(model, _frame(rng, 3000))
    # 12 heavily shifted rows: would drift, but 12 rows say nothing
    days = {D0: _profile(model, _frame(rng, 12, shift=3.0))}
    day = _refs(tmp_path, model, days, reference).drift(D0)
    assert day.insufficient and day.rows == 12 and day.window == ""
    res = day.result
    for o in res.outcomes:
        assert o.passed, o
        assert o.description == f"{INSUFFICIENT_DATA} (12 rows < 30)"
    assert res.outcome(DRIFT_SHARE_BELOW_THRESHOLD).metadata["insufficient_data"] is True
    # stored and judged again by the checks: the same passes
    rows = drift_rows(model, D0, FEATURE, res.features, "training v1", "r")
    assert all(o.passed for o in drift_outcomes(rows, model))
    p = res.prediction
    (prow,) = drift_rows(model, D0, PREDICTION, {p.column: p}, "training v1", "r")
    assert prediction_outcome(prow, model).passed


def test_within_a_window_a_small_day_is_judged_with_its_trailing_days(tmp_path):
    model = _model({"days": 3, "min_day_rows": 30})
    rng = np.random.default_rng(4)
    reference = _profile(model, _frame(rng, 3000))
    days = _days(model, [200, 200], seed=5)
    small = D0 + dt.timedelta(days=2)
    days[small] = _profile(model, _frame(rng, 12))
    day = _refs(tmp_path, model, days, reference).drift(small)
    assert not day.insufficient and day.rows == 412
    assert day.window == f"3 days {D0}..{small}, 412 rows"
    x = day.result.features["x"]
    assert x.computable and x.current_rows == 412


def test_a_shift_the_window_sees_is_still_an_error(tmp_path):
    model = _model({"days": 2})
    rng = np.random.default_rng(6)
    reference = _profile(model, _frame(rng, 3000))
    days = {
        D0: _profile(model, _frame(rng, 300, shift=1.0)),
        D0 + dt.timedelta(days=1): _profile(model, _frame(rng, 300, shift=1.0)),
    }
    res = _refs(tmp_path, model, days, reference).drift(D0 + dt.timedelta(days=1)).result
    crit = res.outcome(CRITICAL_FEATURES_NOT_DRIFTED)
    assert not crit.passed and crit.severity == "ERROR"


def test_an_empty_window_is_not_computable_with_its_reason(tmp_path):
    model = _model({"days": 2})
    rng = np.random.default_rng(7)
    reference = _profile(model, _frame(rng, 3000))
    empty = _profile(model, _frame(rng, 0))
    days = {D0: empty, D0 + dt.timedelta(days=1): empty}
    day = _refs(tmp_path, model, days, reference).drift(D0 + dt.timedelta(days=1))
    share = day.result.outcome(DRIFT_SHARE_BELOW_THRESHOLD)
    assert not share.passed and share.severity == "WARN"
    assert f"no rows in the window (2 days {D0}..{D0 + dt.timedelta(days=1)}, 0 rows)" in (
        share.description
    )
    pred = day.result.outcome(PREDICTION_DRIFT_BELOW_THRESHOLD)
    assert not pred.passed and "no rows in the window" in pred.description


def test_window_days_are_read_from_the_warehouse_when_the_run_lacks_them(tmp_path):
    model = _model({"days": 3})
    rng = np.random.default_rng(8)
    reference = _profile(model, _frame(rng, 3000))
    stored = _days(model, [100, 100, 100], seed=9)
    wh = Warehouse(tmp_path / "wh.duckdb")
    store_day_profiles(
        wh, model, {d: p for d, p in stored.items() if d != D0 + dt.timedelta(days=2)}
    )
    last = D0 + dt.timedelta(days=2)
    refs = DriftReferences(wh, None, model, {last: stored[last]})  # type: ignore[arg-type]
    refs._training = reference
    refs.prefetch([last])
    day = refs.drift(last)
    assert day.rows == 300 and day.window.startswith("3 days")


# --------------------------------------------------------------------------- quality


def test_row_count_on_a_day_without_trailing_days_is_not_applicable():
    model = _model()
    f = row_count_change(500, [], model.thresholds.quality)
    assert f.status == "ok" and f.reason == "not applicable: no trailing days yet"
    rows = [
        {
            "rule": ROW_COUNT_CHANGE,
            "column_name": "",
            "value": None,
            "status": f.status,
            "reason": f.reason,
        }
    ]
    (o,) = [o for o in quality_outcomes(rows, model) if o.check == ROW_COUNT_STABLE]
    assert o.passed and o.metadata["applicable"] is False
    assert o.description == "not applicable: no trailing days yet"
    # an empty day still fires, with or without history: a traffic drop is news
    assert row_count_change(0, [], model.thresholds.quality).status == "error"
    assert row_count_change(100, [1000, 1000], model.thresholds.quality).status == "error"


def test_checks_that_cannot_apply_to_a_model_are_not_registered():
    numeric_only = _model(categorical=False)
    assert NO_UNSEEN_CATEGORIES not in quality_checks(numeric_only).values()
    assert VALUES_WITHIN_REFERENCE_RANGE in quality_checks(numeric_only).values()
    assert NO_UNSEEN_CATEGORIES in quality_checks(_model()).values()
    outcomes = quality_outcomes([], numeric_only)
    assert NO_UNSEEN_CATEGORIES not in {o.check for o in outcomes}


def test_insufficient_data_marks_every_column():
    model = _model()
    res = DriftMonitor(model).fit(_profile(model, _frame(np.random.default_rng(1), 500)))
    out = res.insufficient(5, 30)
    assert all(r.insufficient for r in out.features.values())
    assert out.prediction.insufficient


def test_a_numeric_only_model_has_no_unseen_categories_check_in_its_graph(home, tmp_path):
    from monitoring_assets.core.config import ProjectConfig
    from monitoring_assets.definitions import build_definitions

    numeric = _model(categorical=False).model_dump()
    numeric["source"] = {
        "kind": "files",
        "reference": str(tmp_path / "ref.parquet"),
        "inference": str(tmp_path / "logs"),
    }
    numeric["start_date"] = "2026-05-01"
    defs = build_definitions(ProjectConfig(models=[numeric]), home)
    checks = {
        k.name
        for k in defs.resolve_asset_graph().asset_check_keys
        if k.asset_key.path[-1] == "data_quality"
    }
    assert VALUES_WITHIN_REFERENCE_RANGE in checks
    assert NO_UNSEEN_CATEGORIES not in checks


def _weekly_history(weeks: int) -> list[int | None]:
    """Trailing row counts by lag for a Monday: weekdays 1000 rows, weekends 500."""
    out: list[int | None] = []
    for lag in range(1, 7 * weeks + 1):
        weekday = (0 - lag) % 7  # 0 = Monday, the judged day
        out.append(500 if weekday >= 5 else 1000)
    return out


def test_a_quiet_weekend_is_not_a_row_count_change_once_weeks_exist():
    t = _model().thresholds.quality
    # a Saturday after four weeks of the same pattern: 500 rows, like every Saturday
    history = [(500 if ((5 - lag) % 7) >= 5 else 1000) for lag in range(1, 29)]
    plain = row_count_change(500, history, t)
    weekly = row_count_change(500, history, t, weekly=True)
    assert plain.status != "ok"  # the trailing-7 median (1000) says -50 %
    assert weekly.status == "ok", weekly.reason
    assert "same weekday" in weekly.reason and "4 weeks" in weekly.reason


def test_the_weekday_rule_still_catches_a_traffic_drop():
    t = _model().thresholds.quality
    history = _weekly_history(4)
    f = row_count_change(300, history, t, weekly=True)  # a Monday at 30 %
    assert f.status == "error" and "same weekday" in f.reason


def test_the_weekday_rule_needs_two_weeks_else_the_seven_day_median():
    t = _model().thresholds.quality
    history = _weekly_history(4)[:13]  # under two weeks: one same-weekday day
    f = row_count_change(1000, history, t, weekly=True)
    assert "trailing median" in f.reason and "over 7 days" in f.reason


def test_the_first_weekends_of_weekly_traffic_get_a_doubled_tolerance():
    """Before two same weekdays exist the seven-day median is all weekdays: the first
    quiet Saturday (-48 %) is within the doubled tolerance, a 75 % drop is not."""
    t = _model().thresholds.quality
    # a Saturday on day 6: the five weekdays before it at 1160 rows
    history: list[int | None] = [1160] * 5
    f = row_count_change(600, history, t, weekly=True)
    assert f.status == "ok", f.reason
    assert "tolerance doubled until 2 same weekdays exist" in f.reason
    assert (f.warn, f.error) == (2 * t.row_count_change_warn, 2 * t.row_count_change_error)
    drop = row_count_change(290, history, t, weekly=True)
    assert drop.status == "warn", drop.reason
    # fixed thresholds keep the plain seven-day rule
    assert row_count_change(600, history, t).status != "ok"
