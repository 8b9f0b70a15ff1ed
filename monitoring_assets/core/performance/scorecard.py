"""The performance columns of the demo scorecard: one short cell per day, from the warehouse.

``accuracy (est)``: realized accuracy (or why there is none) next to the CBPE estimate and
the version measured (binary and multiclass models); ``MAE (est)``: a regression model's
realized MAE next to its Direct Loss Estimation estimate; ``concept drift``: the days the concept-drift test fired;
``retraining``: each retraining decision, on the day it takes effect (promotions) or the
last day of its holdout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import (
    CONCEPT_DRIFT_TABLE,
    ESTIMATED_TABLE,
    PERFORMANCE_TABLE,
    RETRAINING_TABLE,
    TASK_ESTIMATED_TABLE,
    TASK_PERFORMANCE_TABLE,
)


def accuracy_cells(
    wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]
) -> dict[dt.date, str]:
    """``0.934 / est 0.929 (v1)``; ``pending`` while labels are not due."""
    if model.task == "regression":
        return {}
    if model.task == "multiclass":
        return _task_cells(wh, model, "accuracy", "{:.3f}")
    real = wh.query(
        "SELECT partition_date, status, accuracy, model_version "
        f"FROM {ident(PERFORMANCE_TABLE.name)} WHERE model = ?",
        [model.name],
    )
    est = wh.query(
        f"SELECT partition_date, estimated_accuracy FROM {ident(ESTIMATED_TABLE.name)} "
        "WHERE model = ?",
        [model.name],
    )
    e = {
        pd.Timestamp(d).date(): a
        for d, a in zip(est.partition_date, est.estimated_accuracy, strict=True)
    }
    out: dict[dt.date, str] = {}
    for d, s, a, v in zip(
        real.partition_date, real.status, real.accuracy, real.model_version, strict=True
    ):
        date = pd.Timestamp(d).date()
        realized = f"{a:.3f}" if s == "complete" else ("pending" if s == "labels_pending" else s)
        est_txt = f"{e[date]:.3f}" if date in e and e[date] == e[date] else "-"
        out[date] = f"{realized} / est {est_txt} ({v})"
    for date, a in e.items():
        out.setdefault(date, f"- / est {a:.3f}")
    return out


def mae_cells(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, str]:
    """A regression model's ``6.083 / est 6.294 (v1)``; nothing for other tasks."""
    if model.task != "regression":
        return {}
    return _task_cells(wh, model, "mae", "{:.4g}")


def _task_cells(wh: Warehouse, model: ModelConfig, metric: str, fmt: str) -> dict[dt.date, str]:
    """Realized ``metric`` (or the day's status) / its estimate (version), from the
    regression and multiclass tables."""
    real = wh.query(
        f"SELECT partition_date, status, value, model_version FROM "
        f"{ident(TASK_PERFORMANCE_TABLE.name)} WHERE model = ? AND metric = ? AND class_label = ''",
        [model.name, metric],
    )
    est = wh.query(
        f"SELECT partition_date, value FROM {ident(TASK_ESTIMATED_TABLE.name)} "
        "WHERE model = ? AND metric = ? AND class_label = ''",
        [model.name, f"estimated_{metric}"],
    )
    e = {pd.Timestamp(d).date(): v for d, v in zip(est.partition_date, est.value, strict=True)}
    out: dict[dt.date, str] = {}
    for d, s, v, version in zip(
        real.partition_date, real.status, real.value, real.model_version, strict=True
    ):
        date = pd.Timestamp(d).date()
        shown = fmt.format(v) if s == "complete" and v == v else s
        if s == "labels_pending":
            shown = "pending"
        est_txt = fmt.format(e[date]) if date in e and e[date] == e[date] else "-"
        out[date] = f"{shown} / est {est_txt} ({version})"
    for date, v in e.items():
        if v == v:
            out.setdefault(date, f"- / est {fmt.format(v)}")
    return out


def concept_drift_cells(
    wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]
) -> dict[dt.date, str]:
    """``DRIFT 0.771 vs est 0.833 p=1.9e-08`` (realized vs label-free estimated accuracy on
    the same rows) on the days concept drift was detected."""
    df = wh.query(
        "SELECT partition_date, realized_accuracy, estimated_accuracy, p_value "
        f"FROM {ident(CONCEPT_DRIFT_TABLE.name)} WHERE model = ? AND detected",
        [model.name],
    )
    return {
        pd.Timestamp(d).date(): f"DRIFT {real:.3f} vs est {est:.3f} p={p:.1e}"
        for d, real, est, p in df.itertuples(index=False)
    }


def retraining_cells(
    wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]
) -> dict[dt.date, str]:
    """``v2 promoted (v1 0.861 -> 0.934; trigger ...)`` per retraining decision."""
    df = wh.query(
        "SELECT decision, champion, challenger, champion_value, challenger_value, holdout_end, "
        f"effective_from, trigger FROM {ident(RETRAINING_TABLE.name)} WHERE model = ?",
        [model.name],
    )
    out: dict[dt.date, str] = {}
    for r in df.itertuples(index=False):
        text = (
            f"{r.challenger} {r.decision} ({r.champion} {r.champion_value:.3f} -> "
            f"{r.challenger_value:.3f}; trigger {r.trigger})"
        )
        when = (
            r.effective_from
            if r.decision == "promoted" and not pd.isna(r.effective_from)
            else r.holdout_end
        )
        date = pd.Timestamp(when).date()
        out[date] = f"{out[date]}; {text}" if date in out else text
    return out
