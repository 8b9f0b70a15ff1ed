"""The demo scorecard of regression and multiclass models: the task's headline metric,
realized next to its label-free estimate, per day (from the task tables)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from monitoring_assets.core.config import load_project
from monitoring_assets.core.tables import TASK_ESTIMATED_TABLE, TASK_PERFORMANCE_TABLE
from monitoring_assets.definitions import build_definitions
from monitoring_assets.scorecard import SCORECARD_COLUMNS, render, scorecard
from resources.warehouse import Warehouse
from tests.tasks.assets_helpers import task_project
from tests.tasks.conftest import day, task_model

COLS = list(TASK_PERFORMANCE_TABLE.columns)


def _row(model, date, metric, value, status="complete", class_label=""):
    row = dict.fromkeys(COLS)
    row.update(
        model=model.name,
        partition_date=date,
        model_version="v1",
        task=model.task,
        status=status,
        metric=metric,
        class_label=class_label,
        value=value,
        computed_at=pd.Timestamp("2026-01-01"),
    )
    return row


def _store(wh, model, realized, estimated):
    dates = [r["partition_date"] for r in realized + estimated]
    for table, rows in ((TASK_PERFORMANCE_TABLE, realized), (TASK_ESTIMATED_TABLE, estimated)):
        wh.replace(
            table.name,
            pd.DataFrame(rows, columns=COLS),
            {"model": model.name, "partition_date": dates},
        )


def _cards(wh, model, dates, home, tmp_path, monkeypatch):
    """The scorecard with the columns the deployed definitions of ``model`` register."""
    before = list(SCORECARD_COLUMNS)
    try:
        task_project(tmp_path, monkeypatch, model.task, [])
        build_definitions(load_project(), home)
        return scorecard(wh, model, dates).set_index("date")
    finally:
        SCORECARD_COLUMNS[:] = before


def test_regression_scorecard_shows_mae_and_its_estimate(tmp_path, home, monkeypatch):
    model = task_model("regression", [], days=3, rows_per_day=100)
    wh = Warehouse(tmp_path / "wh.duckdb")
    d0, d1, d2 = (day(model, i) for i in range(3))
    _store(
        wh,
        model,
        [
            _row(model, d0, "mae", 6.0833),
            _row(model, d0, "rmse", 9.0),
            _row(model, d1, "mae", None, status="labels_pending"),
        ],
        [
            _row(model, d, "estimated_mae", v, "estimated")
            for d, v in ((d0, 6.2936), (d1, 5.5), (d2, 7.25))
        ],
    )
    card = _cards(wh, model, [d0, d1, d2], home, tmp_path, monkeypatch)
    assert card.loc[d0.isoformat(), "MAE (est)"] == "6.083 / est 6.294 (v1)"
    assert card.loc[d1.isoformat(), "MAE (est)"] == "pending / est 5.5 (v1)"
    assert card.loc[d2.isoformat(), "MAE (est)"] == "- / est 7.25"
    assert "MAE (est)" in render(card.reset_index())


def test_multiclass_scorecard_shows_accuracy_and_its_estimate(tmp_path, home, monkeypatch):
    model = task_model("multiclass", [], days=2, rows_per_day=100)
    wh = Warehouse(tmp_path / "wh.duckdb")
    d0, d1 = day(model, 0), day(model, 1)
    _store(
        wh,
        model,
        [
            _row(model, d0, "accuracy", 0.8123),
            _row(model, d0, "f1", 0.5, class_label="1"),
            _row(model, d1, "accuracy", 0.7, status="partial"),
        ],
        [
            _row(model, d, "estimated_accuracy", v, "estimated")
            for d, v in ((d0, 0.8051), (d1, 0.79))
        ],
    )
    card = _cards(wh, model, [d0, d1, d1 + dt.timedelta(days=1)], home, tmp_path, monkeypatch)
    assert card.loc[d0.isoformat(), "accuracy (est)"] == "0.812 / est 0.805 (v1)"
    assert card.loc[d1.isoformat(), "accuracy (est)"] == "partial / est 0.790 (v1)"
