"""End to end, in process: the 3-class example model monitored for a few small days
through the deployed definitions (simulator, lake, DuckDB warehouse)."""

from __future__ import annotations

import dagster as dg

from resources.warehouse import Warehouse
from tests.tasks.assets_helpers import DAYS, monitor_run, stored_rows, task_project


def test_multiclass_model_end_to_end(home, tmp_path, monkeypatch):
    model = task_project(tmp_path, monkeypatch, "multiclass", [])
    wh = Warehouse(home.warehouse)
    with dg.instance_for_test() as instance:
        _, keys, evals = monitor_run(model, home, monkeypatch, instance)
        realized = stored_rows(wh, "task_performance", "plan_tier")
        estimated = stored_rows(wh, "task_estimated_performance", "plan_tier")
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
