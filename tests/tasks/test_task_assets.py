"""End to end, in process: the regression and multiclass example models monitored for a
few small days through the deployed definitions (simulator, lake, DuckDB warehouse)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import yaml

from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import range_tags
from resources.warehouse import Warehouse
from tests.tasks.conftest import EXAMPLES, MODELS

DAYS = 6
PERF = ("model_performance", "estimated_performance")


def _project(tmp_path, monkeypatch, task: str, events: list[dict], **extra):
    name = EXAMPLES[task]
    data = yaml.safe_load((MODELS / f"{name}.yaml").read_text())
    m = data["models"][0]
    m["source"]["scenario"].update(
        name="test", days=DAYS, rows_per_day=300, reference_rows=10000, events=events
    )
    m["label_delay_days"] = 1
    m.update(extra)
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path).model(name)


def _run(model, home, monkeypatch, instance):
    # Labels of day i arrive on day i + 1: on the last day all but the last are in.
    today = model.first_date + dt.timedelta(days=DAYS - 1)
    monkeypatch.setenv("DRIFTWARDEN_TODAY", today.isoformat())
    defs = build_definitions(load_project(), home)
    keys = [(model.first_date + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    result = defs.resolve_job_def(f"monitor_{model.name}").execute_in_process(
        instance=instance,
        tags=range_tags(keys),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert result.success, result.get_run_failure_event()
    evals = {
        (e.partition, e.check_name): e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] in PERF
    }
    return defs, keys, evals


CONCEPT_DAY = 3


def _rows(wh, table: str, model: str):
    frame = wh.query(f"SELECT * FROM {table} WHERE model = ?", [model])
    frame["partition_date"] = frame["partition_date"].map(
        lambda v: v.date() if hasattr(v, "date") else v
    )
    return frame


def test_regression_model_end_to_end(home, tmp_path, monkeypatch):
    model = _project(
        tmp_path,
        monkeypatch,
        "regression",
        [{"kind": "concept_drift", "day": CONCEPT_DAY, "magnitude": 1.0}],
    )
    wh = Warehouse(home.warehouse)
    with dg.instance_for_test() as instance:
        defs, keys, evals = _run(model, home, monkeypatch, instance)
        realized = _rows(wh, "task_performance", "spend")
        estimated = _rows(wh, "task_estimated_performance", "spend")
        metrics = wh.query(
            "SELECT metric, partition_date, value FROM monitor_metrics WHERE model = 'spend'"
        )
        retrain = defs.resolve_job_def("retrain_spend").execute_in_process(
            instance=instance, raise_on_error=False
        )
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
    # Retraining declines cleanly: no built-in trainer for the task.
    assert not retrain.success
    errors = [e.event_specific_data.error.message for e in retrain.all_events if e.is_step_failure]
    assert len(errors) == 1
    assert "Failure" in errors[0]  # a declined step (dg.Failure), not a crash
    assert "model 'spend': no built-in trainer for task regression" in errors[0]


def test_multiclass_model_end_to_end(home, tmp_path, monkeypatch):
    model = _project(tmp_path, monkeypatch, "multiclass", [])
    wh = Warehouse(home.warehouse)
    with dg.instance_for_test() as instance:
        _, keys, evals = _run(model, home, monkeypatch, instance)
        realized = _rows(wh, "task_performance", "plan_tier")
        estimated = _rows(wh, "task_estimated_performance", "plan_tier")
    checks = {c for _, c in evals}
    assert checks == {
        "label_coverage_sufficient",
        "accuracy_within_band",
        "macro_f1_within_band",
        "class_0_f1_within_band",
        "class_1_f1_within_band",
        "class_2_f1_within_band",
        "estimated_accuracy_within_band",
        "estimated_macro_f1_within_band",
    }
    for k in keys:
        for c in checks:
            assert evals[(k, c)].passed, (k, c, evals[(k, c)].description)
    assert "labels_pending" in evals[(keys[-1], "accuracy_within_band")].description
    assert (
        evals[(keys[0], "class_2_f1_within_band")].metadata["threshold_mode"].value == "calibrated"
    )
    per_class = realized[(realized.metric == "f1") & (realized.class_label != "")]
    assert sorted(set(per_class.class_label)) == ["0", "1", "2"]
    assert len(per_class) == 3 * (DAYS - 1)
    auc = realized[realized.metric == "macro_roc_auc"]
    assert len(auc) == DAYS - 1 and (auc.value > 0.7).all()
    acc = realized[realized.metric == "accuracy"].set_index("partition_date").value
    est = estimated[estimated.metric == "estimated_accuracy"].set_index("partition_date").value
    assert len(est) == DAYS and len(acc) == DAYS - 1
    # 300 rows a day: a day's accuracy has σ ≈ 0.027; pooled over 5 days ≈ 0.012.
    assert abs(est[acc.index].mean() - acc.mean()) < 0.04
