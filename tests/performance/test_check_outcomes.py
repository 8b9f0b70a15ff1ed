"""What each performance check decides from one stored day (no Dagster instance needed):
fixed thresholds, calibrated bands, and the rule combining a band with accuracy_floor."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2

from monitoring_assets.core.config import ModelConfig, load_project
from monitoring_assets.core.performance.bands import Band
from monitoring_assets.core.performance.checks import (
    ACCURACY_ABOVE_FLOOR,
    ACCURACY_DROP_WITHIN_LIMIT,
    CALIBRATION_ERROR_WITHIN_LIMIT,
    CONCEPT_DRIFT,
    LABEL_COVERAGE_SUFFICIENT,
    performance_outcomes,
)

MODEL = load_project().model("churn")


def _with(model: ModelConfig, **thresholds) -> ModelConfig:
    data = model.model_dump()
    for key, value in thresholds.items():
        if key in ("mode", "calibration", "checks"):
            data["thresholds"][key] = value
        else:
            data["thresholds"]["performance"][key] = value
    return ModelConfig.model_validate(data)


def _row(**kw) -> dict:
    row = {
        "status": "complete",
        "model_version": "v1",
        "label_coverage": 1.0,
        "n_labeled": 2000,
        "accuracy": 0.93,
        "f1": 0.80,
        "roc_auc": 0.95,
        "precision": 0.8,
        "recall": 0.8,
        "reference_accuracy": 0.936,
        "reference_f1": 0.81,
        "accuracy_drop": 0.006,
        "f1_drop": 0.01,
        "calibration_error": 0.02,
        "cohens_h": 0.02,
        "issues": "[]",
    }
    row.update(kw)
    return row


def _drift(detected: bool = False, **kw) -> dict:
    d = {
        "computable": True,
        "detected": detected,
        "explanation": "realized ... P(y|x) changed" if detected else "no concept drift: ...",
        "n_rows": 2000,
        "realized_accuracy": 0.93,
        "estimated_accuracy": 0.93,
        "p_value": 1e-9 if detected else 0.4,
    }
    d.update(kw)
    return d


def _by_name(row, model=MODEL, bands=None, drift=None) -> dict:
    return {o.check: o for o in performance_outcomes(row, model, bands, drift or _drift())}


def _day(n: int) -> float:
    """σ of one new day per σ of ``n`` chunks: the upper 90 % confidence bound of σ
    (χ², n − 1 degrees of freedom) times √(1 + 1/n) (independent oracle: scipy)."""
    return float(np.sqrt((n - 1) / chi2.ppf(0.1, n - 1)) * np.sqrt(1 + 1 / n))


F40 = _day(40)
DAY40 = f" (σ of one day: {F40:.3g} × the chunks' σ)"


def _band(metric: str, mean: float, std: float, n: int = 40, rows: int = 1722) -> Band:
    """A band whose chunk values have exactly this mean and sample standard deviation."""
    z = np.random.default_rng(0).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return Band(metric, rows, "rows", 30000, tuple(mean + std * z))


def test_healthy_day_passes_everything() -> None:
    out = _by_name(_row())
    assert all(o.passed for o in out.values())
    assert out[ACCURACY_ABOVE_FLOOR].severity == "ERROR"
    assert out[ACCURACY_DROP_WITHIN_LIMIT].metadata["accuracy_drop"] == 0.006
    for o in out.values():
        assert {"threshold_mode", "threshold_source"} <= set(o.metadata), o.check


@pytest.mark.parametrize(
    "change,drift,failing",
    [
        # fixed (no band stored): floor = reference 0.936 − 2×0.05, drop limit 0.936 − 0.05
        ({"accuracy": 0.83}, {}, {ACCURACY_ABOVE_FLOOR, ACCURACY_DROP_WITHIN_LIMIT}),
        ({"accuracy": 0.885}, {}, {ACCURACY_DROP_WITHIN_LIMIT}),
        ({"f1": 0.75}, {}, {ACCURACY_DROP_WITHIN_LIMIT}),
        ({"calibration_error": 0.11}, {}, {CALIBRATION_ERROR_WITHIN_LIMIT}),
        ({}, {"detected": True}, {CONCEPT_DRIFT}),
    ],
)
def test_each_threshold_fails_its_own_check(change, drift, failing) -> None:
    out = _by_name(_row(**change), drift=_drift(**drift))
    assert {name for name, o in out.items() if not o.passed} == failing


def test_fixed_floor_without_accuracy_floor_is_reference_minus_two_drops() -> None:
    o = _by_name(_row())[ACCURACY_ABOVE_FLOOR]
    assert o.metadata["threshold"] == pytest.approx(0.936 - 2 * 0.05)
    assert o.metadata["threshold_mode"] == "fixed"
    assert "accuracy_floor not set" in o.metadata["threshold_source"]
    assert "no band stored" in o.metadata["threshold_source"]


def test_calibrated_band_replaces_the_absolute_floor() -> None:
    """A model whose healthy accuracy is 0.83: the old absolute 0.85 floor failed it every
    day; its band (mean 0.83, σ 0.009) does not."""
    bands = {"accuracy": _band("accuracy", 0.83, 0.009)}
    row = _row(accuracy=0.815, reference_accuracy=0.83)
    out = _by_name(row, bands=bands)
    floor = out[ACCURACY_ABOVE_FLOOR]
    assert floor.passed
    assert floor.metadata["threshold"] == pytest.approx(0.83 - 6 * 0.009 * F40)
    assert floor.metadata["threshold_mode"] == "calibrated"
    assert (
        floor.metadata["threshold_source"]
        == "mean−6σ of 40 validation chunks of 1,722 rows" + DAY40
    )
    drop = out[ACCURACY_DROP_WITHIN_LIMIT]
    assert drop.passed and drop.metadata["threshold"] == pytest.approx(0.83 - 3 * 0.009 * F40)
    # the same day under the old default fails at ERROR
    old = _by_name(row, model=_with(MODEL, accuracy_floor=0.85), bands=bands)[ACCURACY_ABOVE_FLOOR]
    assert not old.passed and old.severity == "ERROR"
    assert old.metadata["threshold"] == 0.85
    assert old.metadata["threshold_source"].startswith("accuracy_floor 0.85 (above the band's")


def test_accuracy_floor_below_the_band_leaves_the_band_in_charge() -> None:
    bands = {"accuracy": _band("accuracy", 0.83, 0.009)}
    model = _with(MODEL, accuracy_floor=0.7)
    o = _by_name(_row(accuracy=0.76), model=model, bands=bands)[ACCURACY_ABOVE_FLOOR]
    assert not o.passed and o.metadata["threshold"] == pytest.approx(0.83 - 6 * 0.009 * F40)
    assert o.metadata["threshold_source"].endswith("(above accuracy_floor 0.7)")


def test_fixed_mode_uses_accuracy_floor_even_with_a_band() -> None:
    bands = {"accuracy": _band("accuracy", 0.83, 0.009)}
    model = _with(MODEL, accuracy_floor=0.85, checks={ACCURACY_ABOVE_FLOOR: "fixed"})
    o = _by_name(_row(accuracy=0.84), model=model, bands=bands)[ACCURACY_ABOVE_FLOOR]
    assert not o.passed
    assert (o.metadata["threshold"], o.metadata["threshold_mode"]) == (0.85, "fixed")


def test_auto_with_too_few_chunks_is_fixed_and_says_why() -> None:
    bands = {"accuracy": _band("accuracy", 0.83, 0.009, n=3, rows=1722)}
    o = _by_name(_row(), bands=bands)[ACCURACY_ABOVE_FLOOR]
    assert o.metadata["threshold_mode"] == "fixed"
    assert (
        "auto mode: validation split of 30,000 rows gives 3 chunk(s) of 1,722 rows"
        in (o.metadata["threshold_source"])
    )
    assert "< min_chunks 10" in o.metadata["threshold_source"]
    # forced calibration uses the 3 chunks
    forced = _with(MODEL, mode="calibrated")
    o = _by_name(_row(), model=forced, bands=bands)[ACCURACY_ABOVE_FLOOR]
    assert o.metadata["threshold_mode"] == "calibrated"
    assert o.metadata["threshold"] == pytest.approx(0.83 - 6 * 0.009 * _day(3))


def test_zero_spread_band_floors_sigma_at_one_row() -> None:
    """A perfect model: every chunk has accuracy 1.0, σ = 0 → σ is one row's worth."""
    bands = {"accuracy": Band("accuracy", 500, "rows", 20000, (1.0,) * 40)}
    out = _by_name(_row(accuracy=0.992, reference_accuracy=1.0), bands=bands)
    floor, drop = out[ACCURACY_ABOVE_FLOOR], out[ACCURACY_DROP_WITHIN_LIMIT]
    assert floor.metadata["threshold"] == pytest.approx(1 - 6 / 500 * F40) and floor.passed
    assert drop.metadata["threshold"] == pytest.approx(1 - 3 / 500 * F40) and not drop.passed
    assert "σ = 0 across chunks, taken as 1/500" in drop.metadata["threshold_source"]


def test_quantile_rule_uses_the_lower_quantiles() -> None:
    values = tuple(np.linspace(0.80, 0.86, 200))
    bands = {"accuracy": Band("accuracy", 1000, "rows", 200000, values)}
    model = _with(MODEL, calibration={"rule": "quantile", "quantile": 0.95, "quantile_error": 0.99})
    out = _by_name(_row(accuracy=0.80, reference_accuracy=0.83), model=model, bands=bands)
    assert out[ACCURACY_DROP_WITHIN_LIMIT].metadata["threshold"] == pytest.approx(
        np.percentile(values, 5)
    )
    assert out[ACCURACY_ABOVE_FLOOR].metadata["threshold"] == pytest.approx(
        np.percentile(values, 1)
    )
    assert out[ACCURACY_ABOVE_FLOOR].metadata["threshold_source"].startswith("0.01 quantile of 200")


def test_calibration_error_band_absorbs_the_noise_of_small_days() -> None:
    """120 labelled rows: a well-calibrated model's ECE is mostly noise (validation chunks
    of that size: mean 0.12, σ 0.03). The fixed 0.1 limit fails such a day; the band's
    upper edge (mean + 3σ of one day = 0.227) does not, and still catches a day far above it."""
    bands = {"calibration_error": _band("calibration_error", 0.12, 0.03, rows=107)}
    row = _row(n_labeled=120, calibration_error=0.18)
    fixed = _by_name(row, model=_with(MODEL, mode="fixed"), bands=bands)
    assert not fixed[CALIBRATION_ERROR_WITHIN_LIMIT].passed
    o = _by_name(row, bands=bands)[CALIBRATION_ERROR_WITHIN_LIMIT]
    assert o.passed, o.description
    assert o.metadata["threshold"] == pytest.approx(0.12 + 3 * 0.03 * F40)
    assert o.metadata["threshold_mode"] == "calibrated"
    assert o.metadata["threshold_source"] == "mean+3σ of 40 validation chunks of 107 rows" + DAY40
    bad = _by_name(_row(n_labeled=120, calibration_error=0.25), bands=bands)
    assert not bad[CALIBRATION_ERROR_WITHIN_LIMIT].passed
    assert "0.2500 above 0.2272" in bad[CALIBRATION_ERROR_WITHIN_LIMIT].description


def test_calibration_error_limit_stays_when_the_band_is_tighter() -> None:
    """Large days: the band's edge (0.035) is below max_calibration_error; the configured
    limit is the threshold (a band never makes the check stricter than it)."""
    bands = {"calibration_error": _band("calibration_error", 0.02, 0.005)}
    o = _by_name(_row(calibration_error=0.08), bands=bands)[CALIBRATION_ERROR_WITHIN_LIMIT]
    assert o.passed and o.metadata["threshold"] == pytest.approx(0.1)
    assert o.metadata["threshold_source"].startswith("max_calibration_error 0.1 (above the band")
    assert not _by_name(_row(calibration_error=0.11), bands=bands)[
        CALIBRATION_ERROR_WITHIN_LIMIT
    ].passed


def test_calibration_error_of_too_few_labelled_rows_is_insufficient_data() -> None:
    """Ten bins of five rows: the error of 50 labelled rows is noise even with a band
    (σ estimated from the few chunks a small validation split holds)."""
    bands = {"calibration_error": _band("calibration_error", 0.076, 0.013, rows=45)}
    row = _row(n_labeled=50, calibration_error=0.3)
    o = _by_name(row, bands=bands)[CALIBRATION_ERROR_WITHIN_LIMIT]
    assert o.passed
    assert o.description.startswith("insufficient data: 50 labelled rows < 100")
    assert o.metadata["insufficient_data"] is True
    # fixed mode keeps the plain limit
    fixed = _by_name(row, model=_with(MODEL, mode="fixed"))[CALIBRATION_ERROR_WITHIN_LIMIT]
    assert not fixed.passed


@pytest.mark.parametrize("status", ["partial", "no_labels"])
def test_too_few_labels_fail_coverage_and_skip_the_rest(status) -> None:
    out = _by_name(_row(status=status, label_coverage=0.5, accuracy=0.1))
    assert not out[LABEL_COVERAGE_SUFFICIENT].passed
    assert "0.500 < 0.8" in out[LABEL_COVERAGE_SUFFICIENT].description
    assert out[LABEL_COVERAGE_SUFFICIENT].metadata["threshold"] == 0.8
    for name in (ACCURACY_ABOVE_FLOOR, ACCURACY_DROP_WITHIN_LIMIT, CONCEPT_DRIFT):
        assert out[name].passed and out[name].description.startswith("not evaluated")


def test_labels_not_due_yet_fail_nothing() -> None:
    out = _by_name(_row(status="labels_pending", label_coverage=0.0))
    assert all(o.passed for o in out.values())
    assert "labels not arrived yet" in out[LABEL_COVERAGE_SUFFICIENT].description
