"""The Dagster shell: performance assets, per-day checks, retraining job, promotion."""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.performance.checks import (
    ACCURACY_ABOVE_FLOOR,
    ACCURACY_DROP_WITHIN_LIMIT,
    CALIBRATION_ERROR_WITHIN_LIMIT,
    CONCEPT_DRIFT,
    ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
    LABEL_COVERAGE_SUFFICIENT,
)
from monitoring_assets.core.retraining import REVIEW_TAG, TRIGGER_TAG
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import range_tags
from resources.model_registry import LocalModelRegistry
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml, write

START = dt.date(2026, 3, 1)
DELAY = 3  # label_delay_days of the small churn model file


def _day(i: int) -> dt.date:
    return START + dt.timedelta(days=i)


def _keys(a: int, b: int) -> list[str]:
    return [_day(i).isoformat() for i in range(a, b + 1)]


def _defs(project, home) -> dg.Definitions:
    """The code location as deployed: monitors and resources chosen in definitions.py."""
    return build_definitions(project, home)


def _project(tmp_path, monkeypatch, events: str, days: int, rows: int):
    path = write(tmp_path / "models.yaml", churn_yaml(days=days, rows=rows, events=events))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path)


def _monitor(defs, instance, keys, today: dt.date, monkeypatch):
    monkeypatch.setenv("DRIFTWARDEN_TODAY", today.isoformat())
    result = defs.resolve_job_def("monitor_churn").execute_in_process(
        instance=instance,
        tags=range_tags(keys),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert result.success, result.get_run_failure_event()
    return result


PERF_ASSETS = ("model_performance", "estimated_performance")


def _evaluations(result, assets=PERF_ASSETS) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (e.partition, e.check_name): e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] in assets
    }


PERF_CHECKS = (
    ACCURACY_ABOVE_FLOOR,
    ACCURACY_DROP_WITHIN_LIMIT,
    LABEL_COVERAGE_SUFFICIENT,
    CALIBRATION_ERROR_WITHIN_LIMIT,
    CONCEPT_DRIFT,
)

CONCEPT_DAY = 12


def test_concept_drift_fails_performance_checks_within_delay_plus_two_days(
    home, tmp_path, monkeypatch
) -> None:
    project = _project(
        tmp_path, monkeypatch, f"[{{kind: concept_drift, day: {CONCEPT_DAY}}}]", days=20, rows=600
    )
    defs = _defs(project, home)
    today = _day(CONCEPT_DAY + DELAY + 2)
    keys = _keys(0, CONCEPT_DAY + DELAY + 1)
    with dg.instance_for_test() as instance:
        result = _monitor(defs, instance, keys, today, monkeypatch)
    ev = _evaluations(result)
    # one evaluation per day and check, inside a single range run
    assert len(ev) == len(keys) * 6
    before = _keys(0, CONCEPT_DAY - 1)
    for pk in before:
        for check in (*PERF_CHECKS, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT):
            assert ev[(pk, check)].passed, (pk, check, ev[(pk, check)].description)
    event = _day(CONCEPT_DAY).isoformat()
    for check in (ACCURACY_ABOVE_FLOOR, ACCURACY_DROP_WITHIN_LIMIT, CONCEPT_DRIFT):
        assert not ev[(event, check)].passed, check
    assert ev[(event, ACCURACY_ABOVE_FLOOR)].severity == dg.AssetCheckSeverity.ERROR
    assert ev[(event, CONCEPT_DRIFT)].metadata["p_value"].value < 1e-6
    # labels are not in for the newest days: nothing is judged on missing labels
    pending = _day(CONCEPT_DAY + DELAY + 1).isoformat()
    assert ev[(pending, LABEL_COVERAGE_SUFFICIENT)].passed
    assert "labels not arrived" in ev[(pending, ACCURACY_ABOVE_FLOOR)].description
    # CBPE cannot see concept drift (features and scores unchanged): the estimate stays green
    assert ev[(event, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT)].passed
    # ...and so do the data-drift checks: only the label relationship moved. (Prediction
    # drift on 600-row days may WARN from sampling noise, as Evidently would; never ERROR.)
    drift = _evaluations(result, assets=("data_drift", "prediction_drift"))
    for pk in _keys(CONCEPT_DAY, CONCEPT_DAY + DELAY + 1):
        for check in ("drift_share_below_threshold", "critical_features_not_drifted"):
            assert drift[(pk, check)].passed, (pk, check, drift[(pk, check)].description)
        pred = drift[(pk, "prediction_drift_below_threshold")]
        assert pred.passed or pred.severity == dg.AssetCheckSeverity.WARN, pred.description

    wh = Warehouse(home.warehouse)
    perf = wh.query(
        "SELECT partition_date, status, accuracy, concept_drift FROM model_performance ORDER BY 1"
    )
    # today = event + delay + 2; days after today - delay have no labels yet
    assert perf.status.tolist()[-2:] == ["labels_pending"] * 2
    assert perf.status.tolist().count("complete") == len(keys) - 2
    assert perf.accuracy.iloc[CONCEPT_DAY] < 0.8 < 0.9 < perf.accuracy.iloc[CONCEPT_DAY - 1]
    metrics = set(wh.query("SELECT DISTINCT metric FROM monitor_metrics").metric)
    assert {
        "model_accuracy",
        "model_precision",
        "model_recall",
        "model_f1",
        "model_roc_auc",
        "model_estimated_accuracy",
        "ml_label_coverage",
        "model_calibration_error",
    } <= metrics


def test_concept_drift_days_show_no_data_drift(tmp_path, monkeypatch) -> None:
    """Labels change, features do not: the data-drift statistics stay below threshold."""
    from monitoring_assets.core.drift import dataset_drift
    from monitoring_assets.core.profile_build import profile_frame
    from monitoring_assets.core.simulator import Simulator

    project = _project(
        tmp_path, monkeypatch, f"[{{kind: concept_drift, day: {CONCEPT_DAY}}}]", days=20, rows=600
    )
    model = project.model("churn")
    sim = Simulator(model)
    kinds = {f.name: f.type for f in model.features}
    ref = profile_frame(sim.reference()[model.feature_names], kinds)
    for i in range(CONCEPT_DAY, CONCEPT_DAY + 3):
        cur = profile_frame(sim.inference_day(_day(i))[model.feature_names], kinds)
        drift = dataset_drift(ref, cur, drift_share=model.thresholds.drift.drift_share_warn)
        assert not drift.dataset_drift and drift.n_drifted == 0, drift


SHOCK_DAY = 8


@pytest.mark.timeout(900)  # a 40-day history, two retraining runs, on a loaded machine
def test_shock_retraining_promotes_and_later_partitions_follow_the_new_version(
    home, tmp_path, monkeypatch
) -> None:
    project = _project(
        tmp_path,
        monkeypatch,
        f"[{{kind: sudden_shock, day: {SHOCK_DAY}, magnitude: 1.35, share: 0.5}}]",
        days=40,
        rows=800,
    )
    defs = _defs(project, home)
    retrain_job = defs.resolve_job_def("retrain_churn")
    run_config = {
        "ops": {"churn_train_and_compare": {"config": {"window_days": 14, "holdout_days": 5}}}
    }
    registry = LocalModelRegistry(home.registry)
    wh = Warehouse(home.warehouse)
    with dg.instance_for_test() as instance:
        # history up to day 24; labels of days <= 24 are in on day 27
        _monitor(defs, instance, _keys(0, 24), _day(27), monkeypatch)
        before = wh.query(
            "SELECT partition_date, accuracy, model_version FROM model_performance ORDER BY 1"
        )
        tags = {TRIGGER_TAG: "shock-check-failure-1"}
        first = retrain_job.execute_in_process(instance=instance, tags=tags, run_config=run_config)
        assert first.success
        again = retrain_job.execute_in_process(instance=instance, tags=tags, run_config=run_config)
        assert again.success
        assert registry.current_champion("churn") == "v2"
        assert [v.version for v in registry.versions("churn")] == ["v1", "v2"]  # trained once
        runs = wh.query("SELECT * FROM retraining_runs")
        assert len(runs) == 1 and runs.decision[0] == "promoted"
        assert runs.challenger_value[0] > runs.champion_value[0] + 0.03
        assert runs.mcnemar_p_value[0] < 1e-6
        assert runs.effective_from[0].date() == _day(25)  # the day after the newest monitored day
        out = again.output_for_node("churn_train_and_compare", "not_promoted")
        assert out == "v2"
        # later partitions follow v2; earlier ones keep their v1 results
        _monitor(defs, instance, _keys(25, 30), _day(33), monkeypatch)
        after = wh.query(
            "SELECT partition_date, accuracy, model_version, scored_by, reference_accuracy, status "
            "FROM model_performance ORDER BY 1"
        )
    from monitoring_assets.scorecard import scorecard

    card = scorecard(wh, project.model("churn"), [_day(i) for i in range(31)]).set_index("date")
    assert re.fullmatch(
        r"v2 promoted \(v1 0\.\d{3} -> 0\.9\d{2}; trigger shock-check-failure-1\)",
        card.loc[_day(25).isoformat(), "retraining"],
    )
    assert card.loc[_day(3).isoformat(), "accuracy (est)"].endswith("(v1)")
    assert card.loc[_day(28).isoformat(), "accuracy (est)"].endswith("(v2)")
    assert set(after.model_version[:25]) == {"v1"}
    assert after.accuracy[:25].tolist() == pytest.approx(before.accuracy.tolist())
    post = after.iloc[25:]
    assert set(post.model_version) == {"v2"} and set(post.scored_by) == {"rescored by v2"}
    v1_post_shock = before.accuracy[SHOCK_DAY:25].mean()
    assert post.accuracy.mean() > v1_post_shock + 0.03
    assert post.reference_accuracy.iloc[0] == pytest.approx(runs.challenger_value[0])


@pytest.mark.timeout(900)  # a long history and a review run, on a loaded machine
def test_review_required_stops_at_human_review(home, tmp_path, monkeypatch) -> None:
    project = _project(
        tmp_path,
        monkeypatch,
        f"[{{kind: sudden_shock, day: {SHOCK_DAY}, magnitude: 1.35, share: 0.5}}]",
        days=40,
        rows=500,
    )
    defs = _defs(project, home)
    run_config = {
        "ops": {"churn_train_and_compare": {"config": {"window_days": 14, "holdout_days": 5}}}
    }
    registry = LocalModelRegistry(home.registry)
    with dg.instance_for_test() as instance:
        _monitor(defs, instance, _keys(0, 24), _day(27), monkeypatch)
        res = defs.resolve_job_def("retrain_churn").execute_in_process(
            instance=instance,
            tags={TRIGGER_TAG: "t-review", REVIEW_TAG: "required"},
            run_config=run_config,
        )
        assert res.success
        assert res.output_for_node("churn_train_and_compare", "needs_review") == "v2"
        steps = {e.step_key for e in res.all_events if e.event_type_value == "STEP_SUCCESS"}
        assert "churn_human_review" in steps
        assert registry.get("churn", "v2").status == "pending_review"
        assert registry.current_champion("churn") == "v1"
        review = defs.resolve_job_def("review_churn").execute_in_process(
            instance=instance,
            run_config={
                "ops": {"churn_apply_review": {"config": {"version": "v2", "approve": True}}}
            },
        )
        assert review.success
    assert registry.current_champion("churn") == "v2"
