"""Bad label and prediction input: each case has a defined, explained outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.performance import (
    PerformanceInputError,
    evaluate_day,
    join_labels,
)


def _preds(n: int = 10) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(n)],
            "prediction": [i % 2 for i in range(n)],
            "probability": [0.9 if i % 2 else 0.1 for i in range(n)],
        }
    )


def _labels(ids, values) -> pd.DataFrame:
    return pd.DataFrame({"request_id": ids, "target": values})


def test_clean_join_has_no_issues() -> None:
    day = join_labels(_preds(), _labels([f"r{i}" for i in range(10)], [i % 2 for i in range(10)]))
    assert day.issues == ()
    assert day.coverage == 1.0
    assert evaluate_day(day, 0.8).metrics.accuracy == 1.0


def test_unknown_request_ids_are_dropped_and_counted() -> None:
    labels = _labels(["r0", "r1", "zz1", "zz2"], [0, 1, 1, 0])
    day = join_labels(_preds(), labels)
    issue = day.issue("unknown_request_id")
    assert issue is not None and issue.count == 2
    assert set(issue.examples) == {"zz1", "zz2"}
    assert day.n_labeled == 2
    assert day.coverage == pytest.approx(0.2)


def test_conflicting_duplicates_make_the_request_unlabeled() -> None:
    labels = _labels(["r0", "r0", "r1", "r1", "r2"], [0, 1, 1, 1, 0])
    day = join_labels(_preds(), labels)
    assert day.issue("conflicting_labels").count == 1
    assert day.issue("conflicting_labels").examples == ("r0",)
    assert day.issue("duplicate_labels").count == 1  # r1 twice with the same value
    labeled = set(day.labeled()["request_id"])
    assert labeled == {"r1", "r2"}


@pytest.mark.parametrize("bad", [2, -1, "yes", 0.5])
def test_label_values_outside_classes_are_dropped(bad) -> None:
    labels = _labels(["r0", "r1", "r2"], pd.Series([0, bad, 0], dtype=object))
    day = join_labels(_preds(), labels)
    issue = day.issue("label_outside_classes")
    assert issue is not None and issue.count == 1
    assert str(bad) in issue.examples
    assert set(day.labeled()["request_id"]) == {"r0", "r2"}


def test_label_values_that_equal_a_class_are_accepted() -> None:
    labels = _labels(["r0", "r1", "r2", "r3"], pd.Series([0.0, True, "0", 1], dtype=object))
    day = join_labels(_preds(), labels)
    assert day.issue("label_outside_classes") is None
    assert day.n_labeled == 4


def test_missing_label_value_is_dropped() -> None:
    day = join_labels(_preds(), _labels(["r0", "r1"], [0, None]))
    assert day.issue("label_missing_value").count == 1
    assert day.n_labeled == 1


def test_day_with_zero_labels_is_no_labels_not_a_crash() -> None:
    for labels in (None, _labels([], [])):
        day = join_labels(_preds(), labels)
        assert day.coverage == 0.0
        assert day.issue("no_labels") is not None
        report = evaluate_day(day, 0.8)
        assert report.status == "no_labels"
        assert report.metrics is None and report.partial_metrics is None
        assert report.predicted_counts == {0: 5, 1: 5}


def test_bad_probabilities_are_excluded_from_probability_metrics_only() -> None:
    preds = _preds()
    preds["probability"] = [0.1, 1.7, 0.2, np.nan, -0.3, 0.8, 0.1, 0.9, 0.2, 0.7]
    labels = _labels(list(preds["request_id"]), [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    day = join_labels(preds, labels)
    assert day.issue("probability_out_of_range").count == 2
    assert day.issue("probability_missing").count == 1
    report = evaluate_day(day, 0.8)
    m = report.metrics
    assert m.n == 10 and m.accuracy == 1.0  # label metrics keep every row
    assert m.n_with_probability == 7
    assert any("3 rows without a valid probability" in n for n in m.notes)
    assert m.roc_auc == 1.0 and m.log_loss is not None


def test_invalid_predictions_lower_coverage() -> None:
    preds = _preds()
    preds["prediction"] = preds["prediction"].astype(float)
    preds.loc[0, "prediction"] = np.nan
    preds.loc[1, "prediction"] = 3
    day = join_labels(preds, _labels(list(preds["request_id"]), [i % 2 for i in range(10)]))
    assert day.issue("invalid_prediction").count == 2
    assert day.n_labeled == 8 and day.coverage == pytest.approx(0.8)


def test_duplicate_prediction_ids_are_unlabeled() -> None:
    preds = _preds()
    preds.loc[1, "request_id"] = "r0"
    day = join_labels(preds, _labels(["r0", "r2"], [0, 0]))
    assert day.issue("duplicate_prediction_id").count == 2
    assert set(day.labeled()["request_id"]) == {"r2"}


def test_missing_columns_raise_naming_the_column() -> None:
    with pytest.raises(PerformanceInputError, match="prediction"):
        join_labels(_preds().drop(columns=["prediction"]), None)
    with pytest.raises(PerformanceInputError, match="churn"):
        join_labels(_preds(), _labels(["r0"], [1]), target_column="churn")


def test_issues_describe_themselves() -> None:
    day = join_labels(_preds(), _labels(["nope"], [1]))
    text = day.issue("unknown_request_id").describe()
    assert "unknown_request_id: 1" in text and "label dropped" in text
