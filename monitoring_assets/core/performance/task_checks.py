"""The checks of regression and multiclass models, judged from their stored rows.

Realized (on ``model_performance``): ``label_coverage_sufficient``; regression
``mae_within_band``, ``rmse_within_band``, ``residual_drift``; multiclass
``accuracy_within_band``, ``macro_f1_within_band`` and ``class_<c>_f1_within_band`` per
class. Estimated (on ``estimated_performance``): regression ``estimated_mae_within_band``,
``estimated_rmse_within_band``; multiclass ``estimated_accuracy_within_band``,
``estimated_macro_f1_within_band`` (when probabilities are logged).

A band check fails at ERROR beyond the error edge and at WARN beyond the warn edge
(above for losses, below otherwise); its metadata names the value, both edges, the
``threshold_mode`` and ``threshold_source``. A day without the metric (labels pending,
no rows) passes with a description saying it was not judged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.tasks import LOWER, Checked, checked_metrics
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import TASK_ESTIMATED_TABLE, TASK_PERFORMANCE_TABLE

LABEL_COVERAGE_SUFFICIENT = "label_coverage_sufficient"
RESIDUAL_DRIFT = "residual_drift"


def _describe(c: Checked) -> str:
    what = f"{c.metric}" + (f" of class {c.class_label}" if c.class_label else "")
    side = "above the upper" if c.direction == LOWER else "below the lower"
    return (
        f"{what} not {side} edge of its band from validation chunks of the day's size "
        "(fixed: from the reference value); WARN beyond the warn edge, ERROR beyond the error edge"
    )


def task_checks(model: ModelConfig, estimated: bool) -> list[CheckDeclaration]:
    """The checks on ``model_performance`` (or ``estimated_performance``) of ``model``."""
    thr = model.thresholds.performance
    out = [
        CheckDeclaration(c.check, _describe(c))
        for c in checked_metrics(model)
        if c.estimated == estimated
    ]
    if not estimated:
        out.insert(
            0,
            CheckDeclaration(
                LABEL_COVERAGE_SUFFICIENT,
                f"once labels have arrived, >= {thr.min_label_coverage} of predictions have one",
            ),
        )
        if model.task == "regression":
            out.append(
                CheckDeclaration(
                    RESIDUAL_DRIFT,
                    "the residual distribution matches the validation split's (two-sample KS, "
                    f"WARN when p < significance {thr.significance})",
                )
            )
    return out


def _rows(
    wh: Warehouse, table: str, model: str, keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    if not keys:
        return {}
    df = wh.query(
        f"SELECT * FROM {ident(table)} WHERE model = ? AND partition_date BETWEEN ? AND ?",
        [model, min(keys), max(keys)],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in df.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
        out.setdefault(pd.Timestamp(rec["partition_date"]).date().isoformat(), []).append(rec)
    return out


def _find(rows: list[dict[str, Any]], metric: str, class_label: str = "") -> dict[str, Any] | None:
    for r in rows:
        if r["metric"] == metric and (r["class_label"] or "") == class_label:
            return r
    return None


def band_outcome(c: Checked, row: dict[str, Any] | None, status: str) -> CheckOutcome:
    """Judge one band check from its stored row."""
    if row is None or row["value"] is None:
        return CheckOutcome(c.check, True, "WARN", f"not judged: {status} (no {c.metric} value)")
    v, warn, err = row["value"], row["warn_threshold"], row["error_threshold"]
    meta: dict[str, Any] = {
        "value": v,
        "reference_value": row["reference_value"],
        "threshold_mode": row["threshold_mode"],
        "threshold_source": row["threshold_source"],
        "status": row["status"],
        "n_rows": int(row["n_rows"] or 0),
    }
    if warn is None or err is None:
        return CheckOutcome(c.check, True, "WARN", f"not judged: {row['threshold_source']}", meta)
    meta.update(warn_threshold=warn, error_threshold=err, threshold=err)
    beyond = (lambda edge: v > edge) if c.direction == LOWER else (lambda edge: v < edge)
    word = "above" if c.direction == LOWER else "below"
    name = c.metric + (f"[{c.class_label}]" if c.class_label else "")
    if beyond(err):
        return CheckOutcome(
            c.check, False, "ERROR", f"{name} {v:.4g} is {word} the error edge {err:.4g}", meta
        )
    if beyond(warn):
        return CheckOutcome(
            c.check, False, "WARN", f"{name} {v:.4g} is {word} the warn edge {warn:.4g}", meta
        )
    return CheckOutcome(
        c.check,
        True,
        "WARN",
        f"{name} {v:.4g} is not {word} the warn edge {warn:.4g} ({row['threshold_mode']}; "
        f"day {row['status']})",
        meta,
    )


def evaluate_task(
    wh: Warehouse, model: ModelConfig, keys: list[str], estimated: bool
) -> Iterator[tuple[str, CheckOutcome]]:
    """Every check of every day in ``keys`` from the stored rows."""
    table = TASK_ESTIMATED_TABLE if estimated else TASK_PERFORMANCE_TABLE
    stored = _rows(wh, table.name, model.name, keys)
    thr = model.thresholds.performance
    checks = [c for c in checked_metrics(model) if c.estimated == estimated]
    for pk in keys:
        rows = stored.get(pk)
        if not rows:
            continue
        status = rows[0]["status"]
        for c in checks:
            yield pk, band_outcome(c, _find(rows, c.metric, c.class_label), status)
        if estimated:
            continue
        cov = _find(rows, "label_coverage")
        if status in ("labels_pending", "no_predictions"):
            yield pk, CheckOutcome(LABEL_COVERAGE_SUFFICIENT, True, "WARN", f"not judged: {status}")
        else:
            value = (cov or {}).get("value") or 0.0
            ok = value + 1e-12 >= thr.min_label_coverage
            yield (
                pk,
                CheckOutcome(
                    LABEL_COVERAGE_SUFFICIENT,
                    ok,
                    "WARN",
                    f"label coverage {value:.3f} ({'>=' if ok else '<'} {thr.min_label_coverage})",
                    {
                        "label_coverage": value,
                        "threshold": thr.min_label_coverage,
                        "threshold_mode": "fixed",
                    },
                ),
            )
        if model.task == "regression":
            p = _find(rows, "residual_drift_p_value")
            stat = _find(rows, "residual_drift")
            if p is None or p["value"] is None:
                yield pk, CheckOutcome(RESIDUAL_DRIFT, True, "WARN", f"not judged: {status}")
            else:
                drifted = p["value"] < thr.significance
                yield (
                    pk,
                    CheckOutcome(
                        RESIDUAL_DRIFT,
                        not drifted,
                        "WARN",
                        p["notes"],
                        {
                            "ks_statistic": (stat or {}).get("value"),
                            "p_value": p["value"],
                            "threshold": thr.significance,
                            "threshold_mode": "fixed",
                            "threshold_source": "thresholds.performance.significance",
                        },
                    ),
                )
