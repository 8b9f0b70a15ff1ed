"""The performance checks: their names, what must hold, and how one stored day is judged.

Checks judge the rows the assets stored (``model_performance``,
``estimated_performance``), so an evaluation can be repeated or backfilled without
recomputing. ``accuracy_above_floor`` fails at ERROR; the others at WARN.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.store import stored_rows
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.tables import ESTIMATED_TABLE, PERFORMANCE_TABLE

ACCURACY_ABOVE_FLOOR = "accuracy_above_floor"
ACCURACY_DROP_WITHIN_LIMIT = "accuracy_drop_within_limit"
LABEL_COVERAGE_SUFFICIENT = "label_coverage_sufficient"
CALIBRATION_ERROR_WITHIN_LIMIT = "calibration_error_within_limit"
CONCEPT_DRIFT = "concept_drift"
ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT = "estimated_accuracy_drop_within_limit"


def performance_checks(model: ModelConfig) -> list[CheckDeclaration]:
    """The checks on ``model_performance``, with the model's thresholds in their text."""
    thr = model.thresholds.performance
    return [
        CheckDeclaration(ACCURACY_ABOVE_FLOOR, f"accuracy >= {thr.accuracy_floor} (ERROR)"),
        CheckDeclaration(
            ACCURACY_DROP_WITHIN_LIMIT,
            f"accuracy and F1 within {thr.accuracy_drop}/{thr.f1_drop} of the reference version",
        ),
        CheckDeclaration(
            LABEL_COVERAGE_SUFFICIENT,
            f"once labels have arrived, >= {thr.min_label_coverage} of predictions have one",
        ),
        CheckDeclaration(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            f"expected calibration error <= {thr.max_calibration_error}",
        ),
        CheckDeclaration(
            CONCEPT_DRIFT,
            "error rate not significantly above the reference's (z-test) with a drop beyond limits",
        ),
    ]


def estimated_checks(model: ModelConfig) -> list[CheckDeclaration]:
    """The check on ``estimated_performance``."""
    thr = model.thresholds.performance
    return [
        CheckDeclaration(
            ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
            f"estimated accuracy within {thr.estimated_accuracy_drop} of the reference version",
        )
    ]


def performance_outcomes(row: dict[str, Any], model: ModelConfig) -> list[CheckOutcome]:
    """The five realized-performance checks of one stored ``model_performance`` row.

    Accuracy, drop, calibration and concept-drift checks need complete metrics; on other
    days they pass with a 'not evaluated' description, and ``label_coverage_sufficient``
    is the one that fails (unless the labels are simply not due yet).
    """
    thr = model.thresholds.performance
    status = row["status"]
    base = {"status": status, "model_version": row["model_version"]}
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
                {
                    **base,
                    "label_coverage": float(row["label_coverage"]),
                    "min_label_coverage": thr.min_label_coverage,
                },
            )
        )
        return skipped
    acc, ref_acc = row["accuracy"], row["reference_accuracy"]
    out = [
        CheckOutcome(
            ACCURACY_ABOVE_FLOOR,
            acc >= thr.accuracy_floor,
            "ERROR",
            f"accuracy {acc:.4f} vs floor {thr.accuracy_floor}",
            {**base, "accuracy": acc, "accuracy_floor": thr.accuracy_floor},
        ),
        CheckOutcome(
            LABEL_COVERAGE_SUFFICIENT,
            True,
            "WARN",
            f"label coverage {row['label_coverage']:.3f} >= {thr.min_label_coverage}",
            {
                **base,
                "label_coverage": float(row["label_coverage"]),
                "min_label_coverage": thr.min_label_coverage,
            },
        ),
    ]
    acc_drop, f1_drop = row["accuracy_drop"], row["f1_drop"]
    drop_ok = not (
        (acc_drop is not None and acc_drop > thr.accuracy_drop)
        or (f1_drop is not None and f1_drop > thr.f1_drop)
    )
    out.append(
        CheckOutcome(
            ACCURACY_DROP_WITHIN_LIMIT,
            drop_ok,
            "WARN",
            f"accuracy {acc:.4f} vs reference {ref_acc:.4f} (drop {acc_drop:+.4f}, limit "
            f"{thr.accuracy_drop}); F1 drop "
            + ("n/a" if f1_drop is None else f"{f1_drop:+.4f}")
            + f" (limit {thr.f1_drop})",
            {
                **base,
                "accuracy": acc,
                "reference_accuracy": ref_acc,
                "accuracy_drop": acc_drop,
                "accuracy_drop_limit": thr.accuracy_drop,
                **({"f1_drop": f1_drop} if f1_drop is not None else {}),
                "f1_drop_limit": thr.f1_drop,
            },
        )
    )
    ece = row["calibration_error"]
    out.append(
        CheckOutcome(
            CALIBRATION_ERROR_WITHIN_LIMIT,
            ece is None or ece <= thr.max_calibration_error,
            "WARN",
            "calibration error not computable (no valid probabilities)"
            if ece is None
            else f"expected calibration error {ece:.4f} vs limit {thr.max_calibration_error}",
            {
                **base,
                "max_calibration_error": thr.max_calibration_error,
                **({"calibration_error": ece} if ece is not None else {}),
            },
        )
    )
    out.append(
        CheckOutcome(
            CONCEPT_DRIFT,
            not bool(row["concept_drift"]),
            "WARN",
            row["concept_drift_explanation"],
            {
                **base,
                "error_rate": row["error_rate"],
                "reference_error_rate": row["reference_error_rate"],
                "p_value": row["p_value"],
                "cohens_h": row["cohens_h"],
                "significance": thr.significance,
            },
        )
    )
    return out


def estimated_outcome(row: dict[str, Any], model: ModelConfig) -> CheckOutcome:
    """``estimated_accuracy_drop_within_limit`` of one stored ``estimated_performance`` row
    (a day without an estimate fails: the estimate is the only early signal)."""
    thr = model.thresholds.performance
    drop = row["estimated_accuracy_drop"]
    if drop is None:
        return CheckOutcome(
            ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT, False, "WARN", f"no estimate: {row['notes']}", {}
        )
    return CheckOutcome(
        ESTIMATED_ACCURACY_DROP_WITHIN_LIMIT,
        drop <= thr.estimated_accuracy_drop,
        "WARN",
        f"estimated accuracy {row['estimated_accuracy']:.4f} vs reference "
        f"{row['reference_accuracy']:.4f} (drop {drop:+.4f}, limit {thr.estimated_accuracy_drop})",
        {
            "estimated_accuracy": row["estimated_accuracy"],
            "estimated_accuracy_std": row["estimated_accuracy_std"],
            "reference_accuracy": row["reference_accuracy"],
            "estimated_accuracy_drop": drop,
            "estimated_accuracy_drop_limit": thr.estimated_accuracy_drop,
            "model_version": row["model_version"],
        },
    )


def evaluate_performance(
    wh: Warehouse, model: ModelConfig, keys: Sequence[str]
) -> Iterator[tuple[str, CheckOutcome]]:
    """(partition key, outcome) of every realized-performance check on the stored days."""
    rows = stored_rows(wh, PERFORMANCE_TABLE, model.name, list(keys))
    for pk in keys:
        if pk in rows:
            for outcome in performance_outcomes(rows[pk], model):
                yield pk, outcome


def evaluate_estimated(
    wh: Warehouse, model: ModelConfig, keys: Sequence[str]
) -> Iterator[tuple[str, CheckOutcome]]:
    """(partition key, outcome) of the estimated-performance check on the stored days."""
    rows = stored_rows(wh, ESTIMATED_TABLE, model.name, list(keys))
    for pk in keys:
        if pk in rows:
            yield pk, estimated_outcome(rows[pk], model)
