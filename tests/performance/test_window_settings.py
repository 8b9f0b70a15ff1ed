"""The small-day performance window and the calibration error's minimum labelled rows
are model-file keys (``thresholds.performance.window`` and
``thresholds.performance.calibration_error_min_rows``): validated with the key and line,
and the checks follow them."""

from __future__ import annotations

import pytest

from monitoring_assets.core.config import ConfigError, ModelConfig, load_project
from monitoring_assets.core.performance.checks import (
    CALIBRATION_ERROR_WITHIN_LIMIT,
    performance_outcomes,
)
from monitoring_assets.core.performance.windows import small_day_window, window_range
from tests.conftest import churn_yaml, write

MODEL = load_project().model("churn")


def _with_performance(**performance) -> ModelConfig:
    data = MODEL.model_dump()
    data["thresholds"]["performance"].update(performance)
    return ModelConfig.model_validate(data)


def _block(block: str) -> str:
    # right after label_delay_days (line 14 of the file): the block starts on line 15
    return churn_yaml().replace("    label_delay_days: 3\n", "    label_delay_days: 3\n" + block)


@pytest.mark.parametrize(
    "block, fragments",
    [
        (
            "    thresholds: {performance: {window: {min_rows: 0}}}\n",
            [
                "models.0.thresholds.performance.window.min_rows",
                "greater than or equal to 1",
                ":15:",
            ],
        ),
        (
            "    thresholds:\n      performance:\n        window: {max_days: 0}\n",
            [
                "models.0.thresholds.performance.window.max_days",
                "greater than or equal to 1",
                ":17:",
            ],
        ),
        (
            "    thresholds: {performance: {window: {max_days: 400}}}\n",
            ["models.0.thresholds.performance.window.max_days", "less than or equal to 366"],
        ),
        (
            "    thresholds: {performance: {window: {min_rowz: 10}}}\n",
            ["models.0.thresholds.performance.window.min_rowz", "Extra inputs", ":15:"],
        ),
        (
            "    thresholds: {performance: {calibration_error_min_rows: -5}}\n",
            ["models.0.thresholds.performance.calibration_error_min_rows", "greater than", ":15:"],
        ),
    ],
)
def test_bad_window_settings_name_key_and_line(tmp_path, block, fragments):
    path = write(tmp_path / "models.yaml", _block(block))
    with pytest.raises(ConfigError) as err:
        load_project(path)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_the_defaults_are_500_rows_14_days_and_100_labelled_rows():
    perf = MODEL.thresholds.performance
    assert (perf.window.min_rows, perf.window.max_days) == (500, 14)
    assert perf.calibration_error_min_rows == 100


def _rows(counts: dict[str, int]) -> dict[str, dict]:
    return {k: {"model_version": "v1", "n_labeled": n} for k, n in counts.items()}


def test_the_window_follows_min_rows_and_max_days():
    days = {f"2026-06-{d:02d}": 100 for d in range(1, 21)}
    rows = _rows(days)
    default = MODEL.thresholds.performance.window
    w = small_day_window(rows, "2026-06-20", "n_labeled", settings=default)
    assert (w.days[0], w.rows) == ("2026-06-16", 500)
    small = _with_performance(window={"min_rows": 250, "max_days": 14}).thresholds.performance
    w = small_day_window(rows, "2026-06-20", "n_labeled", settings=small.window)
    assert (w.days[0], w.rows) == ("2026-06-18", 300)
    assert "the day < 250" in w.describe("x", "labelled")
    short = _with_performance(window={"min_rows": 5000, "max_days": 3}).thresholds.performance
    w = small_day_window(rows, "2026-06-20", "n_labeled", settings=short.window)
    assert w.days == ("2026-06-18", "2026-06-19", "2026-06-20")
    assert window_range(["2026-06-20"], short.window) == ["2026-06-18", "2026-06-20"]
    # a day holding min_rows is judged alone
    assert (
        small_day_window(
            _rows({"2026-06-20": 250}), "2026-06-20", "n_labeled", settings=small.window
        )
        is None
    )


def _row(n: int) -> dict:
    return {
        "status": "complete",
        "model_version": "v1",
        "label_coverage": 1.0,
        "n_labeled": n,
        "accuracy": 0.93,
        "f1": 0.80,
        "roc_auc": 0.95,
        "precision": 0.8,
        "recall": 0.8,
        "reference_accuracy": 0.936,
        "reference_f1": 0.81,
        "accuracy_drop": 0.006,
        "f1_drop": 0.01,
        "calibration_error": 0.3,
        "cohens_h": 0.02,
        "issues": "[]",
    }


def _calibration(model: ModelConfig, n: int):
    (o,) = [
        o
        for o in performance_outcomes(_row(n), model, None, None)
        if o.check == CALIBRATION_ERROR_WITHIN_LIMIT
    ]
    return o


def test_calibration_error_min_rows_decides_what_is_insufficient_data():
    o = _calibration(MODEL, 80)
    assert o.passed and "insufficient data: 80 labelled rows < 100" in o.description
    lower = _with_performance(calibration_error_min_rows=50)
    o = _calibration(lower, 80)
    assert not o.passed and "insufficient" not in o.description
    higher = _with_performance(calibration_error_min_rows=1000)
    assert "< 1000" in _calibration(higher, 800).description
