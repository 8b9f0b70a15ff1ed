"""End to end, in process: the regression example model monitored for a few small days
through the deployed definitions (simulator, lake, DuckDB warehouse), with concept drift."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from resources.warehouse import Warehouse
from tests.tasks.assets_helpers import DAYS, monitor_run, stored_rows, task_project

CONCEPT_DAY = 3


def test_regression_model_end_to_end(home, tmp_path, monkeypatch):
    model = task_project(
        tmp_path,
        monkeypatch,
        "regression",
        [{"kind": "concept_drift", "day": CONCEPT_DAY, "magnitude": 1.0}],
    )
    wh = Warehouse(home.warehouse)
    with dg.instance_for_test() as instance:
        defs, keys, evals = monitor_run(model, home, monkeypatch, instance)
        realized = stored_rows(wh, "task_performance", "spend")
        estimated = stored_rows(wh, "task_estimated_performance", "spend")
        metrics = wh.query(
            "SELECT metric, partition_date, value FROM monitor_metrics WHERE model = 'spend'"
        )
        drift = wh.query(
            "SELECT role, column_name, kind, method, computable FROM drift_results "
            "WHERE model = 'spend' AND role IN ('prediction', 'target')"
        )
        job_names = {j.name for j in defs.resolve_all_job_defs()}
    status = realized.groupby("partition_date").status.first()
    assert [status.get(dt.date.fromisoformat(k)) for k in keys] == [
        *(["complete"] * (DAYS - 1)),
        "labels_pending",
    ]
    mae = realized[realized.metric == "mae"].set_index("partition_date")
    est = estimated[estimated.metric == "estimated_mae"].set_index("partition_date")
    assert len(est) == DAYS and len(mae) == DAYS - 1
    # Calibrated bands: 10,000 reference rows leave a 3,000-row validation split, 11 chunks
    # of the 256-row bucket of a 300-row day (>= min_chunks 10, so auto mode calibrates).
    assert set(mae.threshold_mode) == {"calibrated"}
    assert mae.threshold_source.str.contains("mean\\+3σ of 11 validation chunks of 256 rows").all()
    assert (mae.warn_threshold < mae.error_threshold).all()
    for i, k in enumerate(keys[:-1]):
        d = dt.date.fromisoformat(k)
        mae_check = evals[(k, "mae_within_band")]
        drift_check = evals[(k, "residual_drift")]
        est_check = evals[(k, "estimated_mae_within_band")]
        assert evals[(k, "label_coverage_sufficient")].passed
        assert est_check.passed  # the estimate cannot see concept drift
        if i < CONCEPT_DAY:
            assert mae_check.passed and drift_check.passed, (k, mae_check.description)
            assert abs(est.value[d] / mae.value[d] - 1) < 0.25  # 300 rows: a loose band
        else:
            assert not mae_check.passed and mae_check.severity == dg.AssetCheckSeverity.ERROR
            assert not drift_check.passed
            assert mae.value[d] > 1.5 * est.value[d]
        assert mae_check.metadata["threshold_mode"].value == "calibrated"
    pending = keys[-1]
    assert evals[(pending, "mae_within_band")].passed
    assert "labels_pending" in evals[(pending, "mae_within_band")].description
    assert set(realized.metric) >= {"mae", "rmse", "mape", "r2", "mean_error", "residual_drift"}
    assert set(metrics.metric) >= {
        "model_mae",
        "model_rmse",
        "model_estimated_mae",
        "model_estimated_rmse",
    }
    # Prediction and target drift on the continuous values (a numerical method).
    pred = drift[drift.role == "prediction"]
    target = drift[drift.role == "target"]
    assert len(pred) == DAYS and set(pred.column_name) == {"predicted_spend"}
    assert set(pred.kind) == {"numerical"} and pred.computable.all()
    assert set(target.kind) == {"numerical"} and len(target) == DAYS - 1
    assert not set(pred.method) & {"chisquare", "z"}
    # No retraining is built for regression models: no job an alert could launch.
    assert "monitor_spend" in job_names
    assert not {"retrain_spend", "review_spend"} & job_names
