"""Small labelled days are judged on a window: the day merged with its trailing days until
SMALL_DAY_ROWS labelled rows, on a real lake, DuckDB warehouse and registry with the
synthetic model of :mod:`tests.performance.synthetic`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score

from monitoring_assets.core.config import PerformanceWindow
from monitoring_assets.core.performance.checks import (
    ACCURACY_DROP_WITHIN_LIMIT,
    CALIBRATION_ERROR_WITHIN_LIMIT,
    ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
)
from tests.performance import synthetic as S

SMALL_DAY_ROWS = PerformanceWindow().min_rows  # the model file's default

DAY_ROWS = 60
HEALTHY = 12  # days 0..11 healthy, day 12 noisy-bad alone


def _date(i: int) -> dt.date:
    return S.START + dt.timedelta(days=i)


def _run(tmp_path, frames: dict[int, pd.DataFrame]):
    s = S.stores(tmp_path)
    model = S.model_config()
    S.write_validation(s, model, S.rows(12000, 1, prefix="val"))
    for i, f in frames.items():
        S.write_day(s, model, _date(i), f)
    out, _ = S.run(s, model, [_date(i) for i in sorted(frames)])
    return s, model, out


def test_a_small_bad_day_is_judged_with_its_trailing_days(tmp_path) -> None:
    frames = {i: S.rows(DAY_ROWS, 300 + i) for i in range(HEALTHY)}
    frames[HEALTHY] = S.rows(DAY_ROWS, 300 + HEALTHY, flip=0.4)
    bad = frames[HEALTHY]
    assert accuracy_score(bad.y, bad.prediction) < 0.6  # far below the 60-row band alone
    s, model, out = _run(tmp_path, frames)
    pk = _date(HEALTHY).isoformat()
    drop = out[(pk, ACCURACY_DROP_WITHIN_LIMIT)]
    need = -(-SMALL_DAY_ROWS // DAY_ROWS)  # days until the window holds enough rows
    window = pd.concat([frames[i] for i in range(HEALTHY + 1 - need, HEALTHY + 1)])
    assert drop.metadata["window_days"] == need
    assert drop.metadata["window_rows"] == need * DAY_ROWS
    assert drop.metadata["window"] == f"{_date(HEALTHY + 1 - need).isoformat()}..{pk}"
    # the window's metrics, not the day's (independent: scikit-learn on the merged rows)
    assert drop.metadata["accuracy"] == pytest.approx(accuracy_score(window.y, window.prediction))
    assert drop.metadata["f1"] == pytest.approx(f1_score(window.y, window.prediction))
    assert "roc_auc" not in drop.metadata  # not mergeable: judged on days of enough rows
    assert f"chunks of {512:,} rows" in drop.metadata["threshold_source"]
    assert drop.passed, drop.description
    assert drop.description.startswith(f"window {_date(HEALTHY + 1 - need).isoformat()}..{pk}")
    est = out[(pk, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT)]
    assert est.metadata["window_rows"] == need * DAY_ROWS and est.passed
    # the calibration error stays a judgement of the day
    assert "window" not in out[(pk, CALIBRATION_ERROR_WITHIN_LIMIT)].metadata


def test_a_sustained_drop_over_the_window_still_fails(tmp_path) -> None:
    frames = {i: S.rows(DAY_ROWS, 500 + i, flip=0.4) for i in range(HEALTHY + 1)}
    s, model, out = _run(tmp_path, frames)
    pk = _date(HEALTHY).isoformat()
    drop = out[(pk, ACCURACY_DROP_WITHIN_LIMIT)]
    assert not drop.passed, drop.description
    assert drop.metadata["window_rows"] >= SMALL_DAY_ROWS


def test_the_first_small_days_use_what_history_there_is(tmp_path) -> None:
    frames = {i: S.rows(DAY_ROWS, 700 + i) for i in range(3)}
    s, model, out = _run(tmp_path, frames)
    drop = out[(_date(2).isoformat(), ACCURACY_DROP_WITHIN_LIMIT)]
    assert drop.metadata["window_days"] == 3
    assert drop.metadata["window_rows"] == 3 * DAY_ROWS
    first = out[(_date(0).isoformat(), ACCURACY_DROP_WITHIN_LIMIT)]
    assert first.metadata["window_days"] == 1


def test_large_days_are_judged_alone(tmp_path) -> None:
    frames = {i: S.rows(SMALL_DAY_ROWS, 900 + i) for i in range(2)}
    s, model, out = _run(tmp_path, frames)
    drop = out[(_date(1).isoformat(), ACCURACY_DROP_WITHIN_LIMIT)]
    assert "window" not in drop.metadata
    assert "roc_auc" in drop.metadata


def test_a_window_shrinks_until_its_bands_have_enough_chunks(tmp_path) -> None:
    """A 2,400-row validation split holds 4 chunks of 512 rows (σ of 4 values is noise):
    the window drops its oldest days until the band at its size has min_chunks (10)
    chunks: 4 days of 60 rows (bucket 215: 11 chunks)."""
    s = S.stores(tmp_path)
    model = S.model_config(mode="calibrated")
    S.write_validation(s, model, S.rows(2400, 1, prefix="val"))
    dates = [_date(i) for i in range(HEALTHY + 1)]
    for i, d in enumerate(dates):
        S.write_day(s, model, d, S.rows(DAY_ROWS, 800 + i))
    out, _ = S.run(s, model, dates)
    pk = dates[-1].isoformat()
    for check in (ACCURACY_DROP_WITHIN_LIMIT, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT):
        o = out[(pk, check)]
        assert (o.metadata["window_days"], o.metadata["window_rows"]) == (4, 240), check
        assert o.metadata["threshold_source"].endswith(
            "of 11 validation chunks of 215 rows (σ of one day: 1.5 × the chunks' σ)"
        )
