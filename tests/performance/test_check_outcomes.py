"""What each performance check decides from one stored day (no Dagster instance needed)."""

from __future__ import annotations

import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.performance.checks import (
    ACCURACY_ABOVE_FLOOR,
    ACCURACY_DROP_WITHIN_LIMIT,
    CALIBRATION_ERROR_WITHIN_LIMIT,
    CONCEPT_DRIFT,
    LABEL_COVERAGE_SUFFICIENT,
    performance_outcomes,
)

MODEL = load_project().model("churn")


def _row(**kw) -> dict:
    row = {
        "status": "complete",
        "model_version": "v1",
        "label_coverage": 1.0,
        "accuracy": 0.93,
        "reference_accuracy": 0.936,
        "accuracy_drop": 0.006,
        "f1_drop": 0.01,
        "calibration_error": 0.02,
        "concept_drift": False,
        "concept_drift_explanation": "no concept drift: ...",
        "error_rate": 0.07,
        "reference_error_rate": 0.064,
        "p_value": 0.4,
        "cohens_h": 0.02,
        "issues": "[]",
    }
    row.update(kw)
    return row


def _by_name(row) -> dict:
    return {o.check: o for o in performance_outcomes(row, MODEL)}


def test_healthy_day_passes_everything() -> None:
    out = _by_name(_row())
    assert all(o.passed for o in out.values())
    assert out[ACCURACY_ABOVE_FLOOR].severity == "ERROR"
    assert out[ACCURACY_DROP_WITHIN_LIMIT].metadata["accuracy_drop"] == 0.006


@pytest.mark.parametrize(
    "change,failing",
    [
        ({"accuracy": 0.84}, {ACCURACY_ABOVE_FLOOR}),
        ({"accuracy_drop": 0.051}, {ACCURACY_DROP_WITHIN_LIMIT}),
        ({"f1_drop": 0.06}, {ACCURACY_DROP_WITHIN_LIMIT}),
        ({"calibration_error": 0.11}, {CALIBRATION_ERROR_WITHIN_LIMIT}),
        ({"concept_drift": True}, {CONCEPT_DRIFT}),
    ],
)
def test_each_threshold_fails_its_own_check(change, failing) -> None:
    out = _by_name(_row(**change))
    assert {name for name, o in out.items() if not o.passed} == failing


@pytest.mark.parametrize("status", ["partial", "no_labels"])
def test_too_few_labels_fail_coverage_and_skip_the_rest(status) -> None:
    out = _by_name(_row(status=status, label_coverage=0.5, accuracy=0.1))
    assert not out[LABEL_COVERAGE_SUFFICIENT].passed
    assert "0.500 < 0.8" in out[LABEL_COVERAGE_SUFFICIENT].description
    for name in (ACCURACY_ABOVE_FLOOR, ACCURACY_DROP_WITHIN_LIMIT, CONCEPT_DRIFT):
        assert out[name].passed and out[name].description.startswith("not evaluated")


def test_labels_not_due_yet_fail_nothing() -> None:
    out = _by_name(_row(status="labels_pending", label_coverage=0.0))
    assert all(o.passed for o in out.values())
    assert "labels not arrived yet" in out[LABEL_COVERAGE_SUFFICIENT].description
