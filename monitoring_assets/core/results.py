"""Drift results and quality findings as warehouse rows, metrics and markdown.

This module owns the stored shape of what the drift monitor computes: ``drift_results``
rows (one per day, role and column; role ``feature``, ``prediction`` or ``target``),
``data_quality_findings`` rows, the ``monitor_metrics`` values of each, and the markdown
tables the UI shows per partition. Checks read the rows back (:func:`stored_rows`) and
judge them with the same rules as a live calculation: :func:`drift_outcomes` and
:func:`prediction_outcome` rebuild the results and call
:class:`~monitoring_assets.core.monitor.DriftMonitor`'s rules.

Quality statuses are stored as the quality rules name them (``ok``/``warn``/``error``/
``not_computable``); :data:`~monitoring_assets.core.quality.QUALITY_VERDICT` maps them
onto the check vocabulary where a verdict is needed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from monitoring_assets.core import metrics
from monitoring_assets.core.checks import CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.drift import EVIDENTLY_DEFAULT, ColumnDrift
from monitoring_assets.core.monitor import DriftMonitor, DriftResult
from monitoring_assets.core.ports import TableSpec, Warehouse
from monitoring_assets.core.quality import (
    DUPLICATE_ID_SHARE,
    MISSING_SHARE,
    OUT_OF_RANGE_SHARE,
    ROW_COUNT_CHANGE,
    SCHEMA_MATCHES,
    UNSEEN_CATEGORY_SHARE,
    QualityFinding,
)
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE, QUALITY_TABLE

# Roles of drift_results rows.
FEATURE, PREDICTION, TARGET = "feature", "prediction", "target"

# monitor_metrics names written by the drift monitor (the catalogue's families).
DRIFT_SCORE = metrics.DRIFT_SCORE.name
DRIFTED_FEATURES = metrics.DRIFTED_FEATURES.name
FEATURE_DRIFT_SCORE = metrics.FEATURE_DRIFT_SCORE.name
PREDICTION_DRIFT_SCORE = metrics.PREDICTION_DRIFT_SCORE.name
TARGET_DRIFT_SCORE = metrics.TARGET_DRIFT_SCORE.name
MISSING_SHARE_METRIC = metrics.MISSING_SHARE.name

Metrics = dict[tuple[str, str], float]


def finite(v: Any) -> float | None:
    """A finite float or None (NaN, inf and None are 'no number')."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


# ----------------------------------------------------------------------------- rows


def drift_rows(
    model: ModelConfig,
    date: dt.date,
    role: str,
    results: Mapping[str, ColumnDrift],
    reference: str,
    run_id: str,
    window: str = "",
) -> list[dict]:
    """``drift_results`` rows of one day and role (``window``: what the judged data
    covered, e.g. "7 days 2026-06-01..2026-06-07"; empty for the day alone)."""
    critical = {f.name for f in model.features if f.critical}
    now = _now()
    return [
        {
            "model": model.name,
            "model_version": model.version,
            "partition_date": date,
            "role": role,
            "column_name": name,
            "kind": r.kind,
            "critical": name in critical,
            "method": r.method,
            "threshold": r.threshold,
            "score": finite(r.score),
            "drifted": bool(r.drifted),
            "computable": bool(r.computable),
            "reason": r.reason,
            "exact": bool(r.exact),
            "error_bound": finite(r.error_bound),
            "reference": reference,
            "reference_rows": int(r.reference_rows),
            "current_rows": int(r.current_rows),
            "threshold_error": finite(r.threshold_error),
            "threshold_mode": r.threshold_mode,
            "threshold_source": r.threshold_source,
            "window": window,
            "run_id": run_id,
            "computed_at": now,
        }
        for name, r in results.items()
    ]


def quality_rows(
    model: ModelConfig, date: dt.date, findings: Sequence[QualityFinding], run_id: str
) -> list[dict]:
    """``data_quality_findings`` rows of one day."""
    now = _now()
    return [
        {
            "model": model.name,
            "model_version": model.version,
            "partition_date": date,
            "rule": f.rule,
            "column_name": f.column,
            "value": finite(f.value),
            "status": f.status,
            "reason": f.reason,
            "warn": f.warn,
            "error": f.error,
            "run_id": run_id,
            "computed_at": now,
        }
        for f in findings
    ]


def replace_rows(
    wh: Warehouse,
    spec: TableSpec,
    model: ModelConfig,
    rows: list[dict],
    days: Sequence[dt.date],
    **where: Any,
) -> None:
    """Replace the model's rows of ``days`` (and ``where``) in ``spec`` with ``rows``."""
    if not days:
        return
    frame = pd.DataFrame(rows, columns=list(spec.columns))
    wh.replace(spec.name, frame, {"model": model.name, "partition_date": sorted(days), **where})


def stored_rows(
    wh: Warehouse, spec: TableSpec, model: ModelConfig, keys: Sequence[str], **where: Any
) -> dict[str, list[dict]]:
    """Stored rows of partitions ``keys[0]..keys[-1]`` by partition key (NaN as None)."""
    if not keys:
        return {}
    extra = "".join(f" AND {ident(k)} = ?" for k in where)
    df = wh.query(
        f"SELECT * FROM {ident(spec.name)} "
        f"WHERE model = ? AND partition_date BETWEEN ? AND ?{extra}",
        [model.name, keys[0], keys[-1], *where.values()],
    )
    out: dict[str, list[dict]] = {}
    for rec in df.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        out.setdefault(pd.Timestamp(rec["partition_date"]).date().isoformat(), []).append(rec)
    return out


def column_drift_from_row(row: Mapping[str, Any]) -> ColumnDrift:
    """A stored ``drift_results`` row as the :class:`ColumnDrift` it was written from."""
    score = finite(row.get("score"))
    return ColumnDrift(
        column=row["column_name"],
        kind=row.get("kind") or "",
        method=row.get("method"),
        threshold=row.get("threshold"),
        score=math.nan if score is None else score,
        drifted=bool(row["drifted"]),
        computable=bool(row["computable"]),
        reason=row.get("reason") or "",
        exact=bool(row.get("exact", True)),
        error_bound=finite(row.get("error_bound")) or 0.0,
        reference_rows=int(row.get("reference_rows") or 0),
        current_rows=int(row.get("current_rows") or 0),
        threshold_error=finite(row.get("threshold_error")),
        threshold_mode=row.get("threshold_mode") or "fixed",
        threshold_source=row.get("threshold_source") or EVIDENTLY_DEFAULT,
    )


# ----------------------------------------------------------------------------- checks


def drift_outcomes(rows: Sequence[Mapping[str, Any]], model: ModelConfig) -> list[CheckOutcome]:
    """``drift_share_below_threshold`` and ``critical_features_not_drifted`` of one day,
    from its stored per-feature rows (critical as stored with each row)."""
    features = {r["column_name"]: column_drift_from_row(r) for r in rows}
    critical = {r["column_name"] for r in rows if r["critical"]}
    return DriftMonitor(model).feature_outcomes(features, critical)


def prediction_outcome(row: Mapping[str, Any] | None, model: ModelConfig) -> CheckOutcome:
    """``prediction_drift_below_threshold`` of one day from its stored row (or none)."""
    result = None if row is None else column_drift_from_row(row)
    return DriftMonitor(model).prediction_outcome(result)


# ----------------------------------------------------------------------------- metrics


def drift_metrics(result: DriftResult) -> Metrics:
    """``monitor_metrics`` values of a day's feature drift."""
    out: Metrics = {}
    if result.drift_share is not None:
        out[(DRIFT_SCORE, "")] = result.drift_share
        out[(DRIFTED_FEATURES, "")] = result.dataset.n_drifted
    for name, r in result.features.items():
        if r.computable:
            out[(FEATURE_DRIFT_SCORE, name)] = r.score
    return out


def column_metrics(metric: str, result: ColumnDrift) -> Metrics:
    """The score of a single-column result (prediction, target) when it has one."""
    return {(metric, ""): result.score} if result.computable else {}


def quality_metrics(findings: Sequence[QualityFinding]) -> Metrics:
    """Missing share per feature."""
    return {
        (MISSING_SHARE_METRIC, f.column): f.value
        for f in findings
        if f.rule == MISSING_SHARE and finite(f.value) is not None
    }


# ----------------------------------------------------------------------------- markdown


def drift_markdown(results: Mapping[str, ColumnDrift]) -> str:
    """A markdown table of per-column results: method, score, threshold (and where it
    came from), drifted."""
    lines = [
        "| column | method | score | threshold | threshold source | drifted | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        score = f"{r.score:.6g}" if r.computable else "—"
        thr = f"{r.threshold:g}" if r.threshold is not None else "—"
        drifted = "**yes**" if r.drifted else ("no" if r.computable else "not computable")
        note = r.reason or ("" if r.exact else f"approx. ±{r.error_bound:.2g}")
        src = f"{r.threshold_mode}: {r.threshold_source}" if r.computable else "—"
        lines.append(
            f"| {name} | {r.method or '—'} | {score} | {thr} | {src} | {drifted} | {note} |"
        )
    return "\n".join(lines)


def quality_markdown(findings: Sequence[QualityFinding]) -> str:
    """A markdown table of a day's quality findings."""
    lines = ["| rule | column | value | status | reason |", "|---|---|---|---|---|"]
    for f in findings:
        value = f"{f.value:.4g}" if finite(f.value) is not None else "—"
        lines.append(
            f"| {f.rule} | {f.column or '(dataset)'} | {value} | {f.status} | {f.reason} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------- scorecard

_SHORT_RULE = {
    MISSING_SHARE: "missing",
    UNSEEN_CATEGORY_SHARE: "unseen",
    OUT_OF_RANGE_SHARE: "range",
    SCHEMA_MATCHES: "schema",
    ROW_COUNT_CHANGE: "rows",
    DUPLICATE_ID_SHARE: "dup-ids",
}


def found_cells(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, str]:
    """The demo scorecard's cell per day: drifted features (share), prediction drift, and
    failing quality rules ('!' when one is an error)."""
    drift = wh.query(
        "SELECT partition_date, role, column_name, drifted, computable, critical "
        f"FROM {ident(DRIFT_RESULTS_TABLE.name)} WHERE model = ? AND role IN (?, ?)",
        [model.name, FEATURE, PREDICTION],
    )
    quality = wh.query(
        "SELECT partition_date, rule, column_name, status "
        f"FROM {ident(QUALITY_TABLE.name)} WHERE model = ? AND status IN (?, ?)",
        [model.name, "warn", "error"],
    )
    out: dict[dt.date, list[str]] = {}
    for d, grp in drift.groupby("partition_date"):
        day = pd.Timestamp(d).date()
        feats = grp[(grp.role == FEATURE) & grp.computable]
        drifted = feats[feats.drifted].column_name.tolist()
        parts = []
        if drifted:
            parts.append(
                f"drift {len(drifted)}/{len(feats)} {','.join(_short(c) for c in drifted)}"
            )
        if bool(grp[(grp.role == PREDICTION) & grp.drifted].shape[0]):
            parts.append("pred")
        out[day] = parts
    for d, grp in quality.groupby("partition_date"):
        day = pd.Timestamp(d).date()
        for rule, g in grp.groupby("rule", sort=False):
            colnames = ",".join(_short(c) for c in g.column_name if c)
            tag = "!" if (g.status == "error").any() else ""
            out.setdefault(day, []).append(
                f"{_SHORT_RULE.get(rule, rule)}{tag}" + (f"({colnames})" if colnames else "")
            )
    return {d: "; ".join(p) or "-" for d, p in out.items()}


def _short(name: str) -> str:
    return name if len(name) <= 12 else name[:11] + "…"
