"""The performance checks: their names, what must hold, and how one stored day is judged.

Checks judge the rows the assets stored (``model_performance``, ``estimated_performance``,
``concept_drift_tests``) against thresholds resolved now from the model file and the
calibrated bands in ``performance_bands`` (:mod:`.bands`), so an evaluation can be
repeated or backfilled without recomputing. Every outcome's metadata says which
threshold was used (``threshold``), whether it was ``calibrated`` or ``fixed``
(``threshold_mode``) and where it came from (``threshold_source``).

- ``accuracy_above_floor`` (ERROR): accuracy not below the reference band's error edge
  (``mean − k_error·σ``). A configured ``accuracy_floor`` applies too: the threshold is the
  higher of the two. Without a band (``fixed`` mode, or ``auto`` with too few validation
  chunks) the threshold is ``accuracy_floor``, or, when it is not set, the reference
  accuracy − 2·``accuracy_drop``.
- ``accuracy_drop_within_limit`` (WARN): accuracy, F1, ROC AUC, precision and recall not
  below their bands' warn edges (``mean − k·σ``); fixed: accuracy within
  ``accuracy_drop`` and F1 within ``f1_drop`` of the reference version (the other metrics
  have no fixed limit). A failure says whether the label-free estimate on the same rows
  dropped too (covariate shift explains it) or not (see ``concept_drift``).
- ``concept_drift`` (WARN): realized errors significantly above what the label-free
  estimate expects on the same rows, by at least ``concept_drift_min_gap``
  (:func:`~monitoring_assets.core.performance.concept_drift.realized_vs_estimated`).
- ``label_coverage_sufficient`` (WARN): a fixed limit.
- ``calibration_error_within_limit`` (WARN): the expected calibration error not above the
  band of validation-chunk errors (``mean + k·σ``), nor above ``max_calibration_error``
  unless the band is higher; fixed: ``max_calibration_error``. Fewer than
  ``calibration_error_min_rows`` (model file, default 100) labelled rows: insufficient data (passes, says so).
- ``estimated_accuracy_drop_within_limit`` (WARN): the CBPE estimate not below the band
  of chunk estimates; fixed: within ``estimated_accuracy_drop`` of the reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.bands import (
    Band,
    BandStore,
    Threshold,
    band_threshold,
    size_bucket,
)
from monitoring_assets.core.performance.store import stored_rows
from monitoring_assets.core.performance.windows import (
    Window,
    enough_chunks,
    merge_estimated,
    merge_performance,
    small_day_window,
    window_range,
)
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import CONCEPT_DRIFT_TABLE, ESTIMATED_TABLE, PERFORMANCE_TABLE

ACCURACY_ABOVE_FLOOR = "accuracy_above_floor"
ACCURACY_DROP_WITHIN_LIMIT = "accuracy_drop_within_limit"
LABEL_COVERAGE_SUFFICIENT = "label_coverage_sufficient"
CALIBRATION_ERROR_WITHIN_LIMIT = "calibration_error_within_limit"
CONCEPT_DRIFT = "concept_drift"
ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT = "estimated_accuracy_drop_within_limit"

#: The metrics ``accuracy_drop_within_limit`` judges against their bands, in report order.
DROP_METRICS = ("accuracy", "f1", "roc_auc", "precision", "recall")


def performance_checks(model: ModelConfig) -> list[CheckDeclaration]:
    """The checks on ``model_performance``, with the model's thresholds in their text."""
    thr = model.thresholds.performance
    floor = (
        f"; and >= accuracy_floor {thr.accuracy_floor}" if thr.accuracy_floor is not None else ""
    )
    return [
        CheckDeclaration(
            ACCURACY_ABOVE_FLOOR,
            f"accuracy not below the reference band's error edge{floor} (ERROR)",
        ),
        CheckDeclaration(
            ACCURACY_DROP_WITHIN_LIMIT,
            "accuracy, F1, ROC AUC, precision, recall not below their reference bands "
            f"(fixed: accuracy/F1 within {thr.accuracy_drop}/{thr.f1_drop} of the reference)",
        ),
        CheckDeclaration(
            LABEL_COVERAGE_SUFFICIENT,
            f"once labels have arrived, >= {thr.min_label_coverage} of predictions have one",
        ),
        CheckDeclaration(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            "expected calibration error not above the reference band's edge nor above "
            f"max_calibration_error {thr.max_calibration_error} (fixed: the limit)",
        ),
        CheckDeclaration(
            CONCEPT_DRIFT,
            "realized errors not significantly above the label-free estimate's on the same "
            f"rows (one-sided, p < {thr.significance}, gap >= {thr.concept_drift_min_gap})",
        ),
    ]


def estimated_checks(model: ModelConfig) -> list[CheckDeclaration]:
    """The check on ``estimated_performance``."""
    thr = model.thresholds.performance
    return [
        CheckDeclaration(
            ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
            "estimated accuracy not below the band of validation-chunk estimates "
            f"(fixed: within {thr.estimated_accuracy_drop} of the reference version)",
        )
    ]


# ----------------------------------------------------------------------------- thresholds


def floor_threshold(model: ModelConfig, band: Band | None, reference_accuracy: float | None):
    """``accuracy_above_floor``'s threshold (the rule of the module doc)."""
    thr = model.thresholds.performance

    def fixed() -> Threshold:
        if thr.accuracy_floor is not None:
            return Threshold(thr.accuracy_floor, "fixed", f"accuracy_floor {thr.accuracy_floor}")
        if reference_accuracy is None:
            return Threshold(None, "fixed", "no accuracy_floor and no reference accuracy")
        return Threshold(
            reference_accuracy - 2 * thr.accuracy_drop,
            "fixed",
            f"reference accuracy {reference_accuracy:.4f} − 2×accuracy_drop {thr.accuracy_drop}"
            ", accuracy_floor not set",
        )

    t = band_threshold(model, ACCURACY_ABOVE_FLOOR, band, "error", fixed)
    floor = thr.accuracy_floor
    if t.mode == "calibrated" and floor is not None and t.value is not None and floor > t.value:
        return Threshold(
            floor,
            "calibrated",
            f"accuracy_floor {floor} (above the band's {t.value:.4f}: {t.source})",
        )
    if t.mode == "calibrated" and floor is not None:
        return Threshold(t.value, t.mode, f"{t.source} (above accuracy_floor {floor})")
    return t


def drop_threshold(
    model: ModelConfig, metric: str, band: Band | None, reference: float | None
) -> Threshold:
    """``accuracy_drop_within_limit``'s threshold for ``metric``."""
    thr = model.thresholds.performance
    limits = {"accuracy": ("accuracy_drop", thr.accuracy_drop), "f1": ("f1_drop", thr.f1_drop)}

    def fixed() -> Threshold:
        if metric not in limits:
            return Threshold(None, "fixed", f"no fixed limit for {metric}")
        key, limit = limits[metric]
        if reference is None:
            return Threshold(None, "fixed", f"no reference {metric}")
        return Threshold(
            reference - limit, "fixed", f"reference {metric} {reference:.4f} − {key} {limit}"
        )

    return band_threshold(model, ACCURACY_DROP_WITHIN_LIMIT, band, "warn", fixed)


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def performance_outcomes(
    row: dict[str, Any],
    model: ModelConfig,
    bands: dict[str, Band] | None = None,
    drift: dict[str, Any] | None = None,
) -> list[CheckOutcome]:
    """The five realized-performance checks of one stored ``model_performance`` row, with
    the version's ``bands`` for the day's size and the day's ``concept_drift_tests`` row.

    Accuracy, drop, calibration and concept-drift checks need complete metrics; on other
    days they pass with a 'not evaluated' description, and ``label_coverage_sufficient``
    is the one that fails (unless the labels are simply not due yet).
    """
    thr = model.thresholds.performance
    bands = bands or {}
    status = row["status"]
    base = {"status": status, "model_version": row["model_version"]}
    coverage_meta = {
        **base,
        "label_coverage": float(row["label_coverage"]),
        "min_label_coverage": thr.min_label_coverage,
        **Threshold(
            thr.min_label_coverage, "fixed", f"min_label_coverage {thr.min_label_coverage}"
        ).metadata(),
    }
    if status != "complete":
        why = (
            "labels not arrived yet"
            if status == "labels_pending"
            else f"{status}: label coverage {row['label_coverage']:.3f} < {thr.min_label_coverage}"
        )
        skipped = [
            CheckOutcome(c, True, sev, f"not evaluated: {why}", base)
            for c, sev in (
                (ACCURACY_ABOVE_FLOOR, "ERROR"),
                (ACCURACY_DROP_WITHIN_LIMIT, "WARN"),
                (CALIBRATION_ERROR_WITHIN_LIMIT, "WARN"),
                (CONCEPT_DRIFT, "WARN"),
            )
        ]
        coverage_ok = status == "labels_pending"
        skipped.append(
            CheckOutcome(
                LABEL_COVERAGE_SUFFICIENT,
                coverage_ok,
                "WARN",
                why
                + (f"; issues: {row['issues']}" if row.get("issues") not in (None, "[]") else ""),
                coverage_meta,
            )
        )
        return skipped
    acc = row["accuracy"]
    floor = floor_threshold(model, bands.get("accuracy"), row.get("reference_accuracy"))
    below = floor.value is not None and acc < floor.value
    out = [
        CheckOutcome(
            ACCURACY_ABOVE_FLOOR,
            not below,
            "ERROR",
            f"accuracy {acc:.4f} {'below' if below else 'not below'} {_fmt(floor.value)} "
            f"({floor.mode}: {floor.source})",
            {**base, "accuracy": acc, **floor.metadata()},
        ),
        CheckOutcome(
            LABEL_COVERAGE_SUFFICIENT,
            True,
            "WARN",
            f"label coverage {row['label_coverage']:.3f} >= {thr.min_label_coverage}",
            coverage_meta,
        ),
        _drop_outcome(row, model, bands, drift, base),
    ]
    out.append(_calibration_outcome(row, model, bands.get("calibration_error"), base))
    out.append(_concept_drift_outcome(row, model, drift, base))
    return out


def calibration_threshold(model: ModelConfig, band: Band | None) -> Threshold:
    """``calibration_error_within_limit``'s upper limit: the band's warn edge, or
    ``max_calibration_error`` when that is higher (a band absorbs the noise of small
    days, never makes the check stricter than the configured limit); fixed: the limit."""
    limit = model.thresholds.performance.max_calibration_error

    def fixed() -> Threshold:
        return Threshold(limit, "fixed", f"max_calibration_error {limit} (an upper limit)")

    t = band_threshold(model, CALIBRATION_ERROR_WITHIN_LIMIT, band, "warn", fixed)
    if t.mode == "calibrated" and t.value is not None and limit > t.value:
        return Threshold(
            limit,
            "calibrated",
            f"max_calibration_error {limit} (above the band's {t.value:.4f}: {t.source})",
        )
    return t


def _calibration_outcome(
    row: dict[str, Any], model: ModelConfig, band: Band | None, base: dict[str, Any]
) -> CheckOutcome:
    """``calibration_error_within_limit``: below ``calibration_error_min_rows`` labelled rows
    the error is mostly noise: insufficient data, unless the check's mode is ``fixed``."""
    ece = row["calibration_error"]
    limit = model.thresholds.performance.max_calibration_error
    meta: dict[str, Any] = {**base, "max_calibration_error": limit}
    if ece is None:
        return CheckOutcome(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            True,
            "WARN",
            "calibration error not computable (no valid probabilities)",
            {**meta, **calibration_threshold(model, band).metadata()},
        )
    meta["calibration_error"] = ece
    n = row.get("n_labeled")
    mode = model.thresholds.mode_for(CALIBRATION_ERROR_WITHIN_LIMIT)
    min_rows = model.thresholds.performance.calibration_error_min_rows
    if mode != "fixed" and n is not None and int(n) < min_rows:
        why = f"insufficient data: {int(n)} labelled rows < {min_rows}"
        t = Threshold(None, "calibrated", why)
        return CheckOutcome(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            True,
            "WARN",
            f"{why} (expected calibration error {ece:.4f} not judged)",
            {**meta, "insufficient_data": True, **t.metadata()},
        )
    t = calibration_threshold(model, band)
    above = t.value is not None and ece > t.value
    return CheckOutcome(
        CALIBRATION_ERROR_WITHIN_LIMIT,
        not above,
        "WARN",
        f"expected calibration error {ece:.4f} {'above' if above else 'not above'} "
        f"{_fmt(t.value)} ({t.mode}: {t.source})",
        {**meta, **t.metadata()},
    )


def _drop_outcome(
    row: dict[str, Any],
    model: ModelConfig,
    bands: dict[str, Band],
    drift: dict[str, Any] | None,
    base: dict[str, Any],
) -> CheckOutcome:
    """``accuracy_drop_within_limit``: every metric against its own threshold."""
    refs = {"accuracy": row.get("reference_accuracy"), "f1": row.get("reference_f1")}
    meta: dict[str, Any] = dict(base)
    failed: list[str] = []
    judged: list[str] = []
    headline: Threshold | None = None
    for metric in DROP_METRICS:
        value = row.get(metric)
        band = bands.get(metric)
        t = drop_threshold(model, metric, band, refs.get(metric))
        if metric == "accuracy":
            headline = t
        if value is None or t.value is None:
            continue
        meta[metric] = value
        meta.update(t.metadata(f"{metric}_"))
        judged.append(metric)
        if value < t.value:
            mean = band.mean if t.mode == "calibrated" and band is not None else refs.get(metric)
            ref_txt = (
                f"the reference band (mean {mean:.4f}; edge {t.value:.4f} = {t.source})"
                if t.mode == "calibrated" and mean is not None
                else f"the limit {t.value:.4f} = {t.source}"
            )
            drop = f" dropped {mean - value:.4f}" if mean is not None else ""
            failed.append(f"{metric} {value:.4f}{drop}, below {ref_txt}")
    assert headline is not None
    meta.update(headline.metadata())
    for k in ("accuracy_drop", "f1_drop"):
        if row.get(k) is not None:
            meta[k] = row[k]
    if not failed:
        text = (
            f"{', '.join(judged)} within their thresholds "
            f"(accuracy {_fmt(row.get('accuracy'))} vs {_fmt(headline.value)}: {headline.source})"
            if judged
            else "no metric with a threshold to judge"
        )
        return CheckOutcome(ACCURACY_DROP_WITHIN_LIMIT, True, "WARN", text, meta)
    text = "; ".join(failed)
    if drift is not None and drift.get("computable"):
        est, real = drift["estimated_accuracy"], drift["realized_accuracy"]
        ref_acc = row.get("reference_accuracy")
        acc_band = bands.get("accuracy")
        center = acc_band.mean if acc_band is not None and acc_band.mean is not None else ref_acc
        meta["estimated_accuracy"] = est
        est_drop = f", {center - est:+.4f} vs {center:.4f}" if center is not None else ""
        if drift.get("detected"):
            text += (
                f"; the label-free estimate on the same rows did not drop as much ({est:.4f}"
                f"{est_drop}; realized {real:.4f}): P(y|x) changed, see concept_drift"
            )
        else:
            text += (
                f"; the label-free estimate on the same rows dropped too ({est:.4f}{est_drop}): "
                "covariate shift explains it"
            )
    return CheckOutcome(ACCURACY_DROP_WITHIN_LIMIT, False, "WARN", text, meta)


def _concept_drift_outcome(
    row: dict[str, Any], model: ModelConfig, drift: dict[str, Any] | None, base: dict[str, Any]
) -> CheckOutcome:
    thr = model.thresholds.performance
    source = Threshold(
        thr.significance,
        "fixed",
        f"one-sided test of realized vs expected errors on the same rows "
        f"(Poisson-binomial variance Σq(1−q) plus calibration uncertainty) at significance "
        f"{thr.significance}, gap >= concept_drift_min_gap {thr.concept_drift_min_gap}",
    )
    meta: dict[str, Any] = {
        **base,
        "significance": thr.significance,
        "concept_drift_min_gap": thr.concept_drift_min_gap,
        **source.metadata(),
    }
    if drift is None:
        return CheckOutcome(
            CONCEPT_DRIFT,
            True,
            "WARN",
            "not evaluated: no concept-drift test stored for this day (rerun model_performance)",
            meta,
        )
    for k in (
        "n_rows",
        "observed_errors",
        "expected_errors",
        "expected_errors_std",
        "realized_accuracy",
        "estimated_accuracy",
        "z_statistic",
        "p_value",
    ):
        if drift.get(k) is not None:
            meta[k] = drift[k]
    if row.get("cohens_h") is not None:
        meta["cohens_h"] = row["cohens_h"]
    return CheckOutcome(
        CONCEPT_DRIFT, not bool(drift["detected"]), "WARN", str(drift["explanation"]), meta
    )


def estimated_outcome(
    row: dict[str, Any], model: ModelConfig, bands: dict[str, Band] | None = None
) -> CheckOutcome:
    """``estimated_accuracy_drop_within_limit`` of one stored ``estimated_performance`` row
    (a day without an estimate fails: the estimate is the only early signal)."""
    thr = model.thresholds.performance
    est, ref_acc = row["estimated_accuracy"], row["reference_accuracy"]
    if est is None:
        return CheckOutcome(
            ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT, False, "WARN", f"no estimate: {row['notes']}", {}
        )

    def fixed() -> Threshold:
        if ref_acc is None:
            return Threshold(None, "fixed", "no reference accuracy")
        return Threshold(
            ref_acc - thr.estimated_accuracy_drop,
            "fixed",
            f"reference accuracy {ref_acc:.4f} − estimated_accuracy_drop "
            f"{thr.estimated_accuracy_drop}",
        )

    band = (bands or {}).get("estimated_accuracy")
    t = band_threshold(model, ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT, band, "warn", fixed)
    ok = t.value is None or est >= t.value
    return CheckOutcome(
        ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
        ok,
        "WARN",
        f"estimated accuracy {est:.4f} {'not below' if ok else 'below'} {_fmt(t.value)} "
        f"({t.mode}: {t.source})",
        {
            "estimated_accuracy": est,
            "estimated_accuracy_std": row["estimated_accuracy_std"],
            "reference_accuracy": ref_acc,
            "model_version": row["model_version"],
            **(
                {"estimated_accuracy_drop": row["estimated_accuracy_drop"]}
                if row.get("estimated_accuracy_drop") is not None
                else {}
            ),
            **t.metadata(),
        },
    )


def _bands_for(store: BandStore, version: str, n: Any) -> dict[str, Band]:
    return store.get(version, int(n)) if n is not None and size_bucket(int(n)) else {}


#: The checks a small day is judged on its window for (:mod:`.windows`).
WINDOWED = (ACCURACY_ABOVE_FLOOR, ACCURACY_DROP_WITHIN_LIMIT)


def _on_window(outcome: CheckOutcome, window: Window, unit: str) -> CheckOutcome:
    return CheckOutcome(
        outcome.check,
        outcome.passed,
        outcome.severity,
        window.describe(outcome.description, unit),
        {**outcome.metadata, **window.metadata()},
    )


def _complete(row: dict[str, Any]) -> bool:
    return row.get("status") == "complete"


def evaluate_performance(
    wh: Warehouse, model: ModelConfig, keys: Sequence[str]
) -> Iterator[tuple[str, CheckOutcome]]:
    """(partition key, outcome) of every realized-performance check on the stored days; a
    small day's accuracy checks judge its window (:mod:`.windows`)."""
    settings = model.thresholds.performance.window
    rows = stored_rows(wh, PERFORMANCE_TABLE, model.name, window_range(list(keys), settings))
    drift = stored_rows(wh, CONCEPT_DRIFT_TABLE, model.name, list(keys))
    store = BandStore(wh, model)
    store.prefetch(r["model_version"] for r in rows.values())
    for pk in keys:
        if pk not in rows:
            continue
        row = rows[pk]
        version = row["model_version"]
        bands = _bands_for(store, version, row.get("n_labeled"))
        outcomes = performance_outcomes(row, model, bands, drift.get(pk))
        enough = enough_chunks(store, version, "accuracy")
        window = (
            small_day_window(rows, pk, "n_labeled", _complete, enough, settings=settings)
            if _complete(row)
            else None
        )
        if window is not None:
            merged = merge_performance([rows[k] for k in window.days])
            judged = {
                o.check: _on_window(o, window, "labelled")
                for o in performance_outcomes(
                    merged, model, _bands_for(store, version, window.rows), None
                )
                if o.check in WINDOWED
            }
            outcomes = [judged.get(o.check, o) for o in outcomes]
        for outcome in outcomes:
            yield pk, outcome


def evaluate_estimated(
    wh: Warehouse, model: ModelConfig, keys: Sequence[str]
) -> Iterator[tuple[str, CheckOutcome]]:
    """(partition key, outcome) of the estimated-performance check on the stored days; a
    small day is judged on its window (:mod:`.windows`)."""
    settings = model.thresholds.performance.window
    rows = stored_rows(wh, ESTIMATED_TABLE, model.name, window_range(list(keys), settings))
    store = BandStore(wh, model)
    store.prefetch(r["model_version"] for r in rows.values())
    for pk in keys:
        if pk not in rows:
            continue
        row = rows[pk]
        enough = enough_chunks(store, row["model_version"], "estimated_accuracy")
        window = (
            small_day_window(rows, pk, "n_estimated", enough=enough, settings=settings)
            if row.get("estimated_accuracy") is not None
            else None
        )
        if window is None:
            bands = _bands_for(store, row["model_version"], row.get("n_estimated"))
            yield pk, estimated_outcome(row, model, bands)
            continue
        merged = merge_estimated([rows[k] for k in window.days])
        bands = _bands_for(store, row["model_version"], window.rows)
        yield pk, _on_window(estimated_outcome(merged, model, bands), window, "estimated")
