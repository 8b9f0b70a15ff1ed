"""Data-quality rules evaluated from profiles, each with WARN/ERROR thresholds, and the
checks that judge a day's findings.

Every rule yields one :class:`QualityFinding` per column (or one for the dataset) with a
status of ``ok``, ``warn``, ``error`` or ``not_computable`` and a reason in words, so
bad input is always an explained result: an empty partition, a missing column, an
all-null column, NaN and infinities, unseen categories and type changes are findings,
never a crash and never a silent pass. A value *above* a threshold triggers it.

The statuses are what ``data_quality_findings`` stores; :data:`QUALITY_VERDICT` maps them
onto the check vocabulary of :mod:`monitoring_assets.core.checks` (``not_computable`` is
a failed WARN: a rule that could not run never passes). :func:`quality_outcomes` turns a
day's findings into one :class:`~monitoring_assets.core.checks.CheckOutcome` per check of
:data:`QUALITY_CHECKS`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from monitoring_assets.core.checks import CheckOutcome, Verdict
from monitoring_assets.core.config import ModelConfig, QualityThresholds
from monitoring_assets.core.profile import (
    ColumnProfile,
    DatasetProfile,
    is_numeric_type,
    with_columns,
)

Status = Literal["ok", "warn", "error", "not_computable"]

MISSING_SHARE = "missing_share"
UNSEEN_CATEGORY_SHARE = "unseen_category_share"
OUT_OF_RANGE_SHARE = "out_of_range_share"
SCHEMA_MATCHES = "schema_matches"
ROW_COUNT_CHANGE = "row_count_change"
DUPLICATE_ID_SHARE = "duplicate_id_share"
QUALITY_RULES = (
    MISSING_SHARE,
    UNSEEN_CATEGORY_SHARE,
    OUT_OF_RANGE_SHARE,
    SCHEMA_MATCHES,
    ROW_COUNT_CHANGE,
    DUPLICATE_ID_SHARE,
)
STATUS_ORDER: dict[str, int] = {"ok": 0, "not_computable": 1, "warn": 2, "error": 3}
#: A stored status as a check verdict.
QUALITY_VERDICT: dict[str, Verdict] = {
    "ok": "OK",
    "not_computable": "WARN",
    "warn": "WARN",
    "error": "ERROR",
}

MISSING_SHARE_WITHIN_LIMIT = "missing_share_within_limit"
NO_UNSEEN_CATEGORIES = "no_unseen_categories"
VALUES_WITHIN_REFERENCE_RANGE = "values_within_reference_range"
SCHEMA_MATCHES_REFERENCE = "schema_matches_reference"
ROW_COUNT_STABLE = "row_count_stable"
NO_DUPLICATE_REQUEST_IDS = "no_duplicate_request_ids"

#: The reason prefix of a rule that cannot apply yet (an ``ok`` finding, never an alert).
NOT_APPLICABLE = "not applicable"

#: Quality rule -> the check that judges it.
QUALITY_CHECKS: dict[str, str] = {
    MISSING_SHARE: MISSING_SHARE_WITHIN_LIMIT,
    UNSEEN_CATEGORY_SHARE: NO_UNSEEN_CATEGORIES,
    OUT_OF_RANGE_SHARE: VALUES_WITHIN_REFERENCE_RANGE,
    SCHEMA_MATCHES: SCHEMA_MATCHES_REFERENCE,
    ROW_COUNT_CHANGE: ROW_COUNT_STABLE,
    DUPLICATE_ID_SHARE: NO_DUPLICATE_REQUEST_IDS,
}


@dataclass(frozen=True)
class QualityFinding:
    """One rule's result; ``column`` is '' for dataset-level rules, ``value`` NaN when
    not computable. ``warn``/``error`` are the thresholds that applied."""

    rule: str
    column: str
    value: float
    status: Status
    reason: str = ""
    warn: float | None = None
    error: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _grade(
    rule: str, column: str, value: float, warn: float, error: float, reason: str = ""
) -> QualityFinding:
    status: Status = "error" if value > error else "warn" if value > warn else "ok"
    return QualityFinding(rule, column, float(value), status, reason, warn, error)


def _nc(rule: str, column: str, reason: str) -> QualityFinding:
    return QualityFinding(rule, column, float("nan"), "not_computable", reason)


def missing_share(cur: ColumnProfile, t: QualityThresholds) -> QualityFinding:
    """Share of NULL/NaN values (infinities are reported with the range rule)."""
    if not cur.present:
        return _nc(MISSING_SHARE, cur.name, "column missing from the current data")
    if cur.rows == 0:
        return _nc(MISSING_SHARE, cur.name, "partition has no rows")
    share = cur.missing / cur.rows
    reason = f"{cur.missing} of {cur.rows} values missing ({cur.nan} NaN)"
    if cur.missing == cur.rows:
        reason = f"all {cur.rows} values are missing"
    return _grade(
        MISSING_SHARE, cur.name, share, t.missing_share_warn, t.missing_share_error, reason
    )


def unseen_category_share(
    ref: ColumnProfile, cur: ColumnProfile, t: QualityThresholds
) -> QualityFinding:
    """Share of current (non-missing) categorical values never seen in the reference."""
    rule = UNSEEN_CATEGORY_SHARE
    if not cur.present:
        return _nc(rule, cur.name, "column missing from the current data")
    if cur.count == 0:
        return _nc(rule, cur.name, "no non-missing current values")
    seen = set(ref.values.astype(str).tolist())
    mask = np.array([v not in seen for v in cur.values.astype(str).tolist()], dtype=bool)
    unseen = int(cur.counts[mask].sum()) if len(mask) else 0
    names = sorted(cur.values.astype(str)[mask].tolist())[:5]
    reason = f"{unseen} of {cur.count} values unseen in the reference" + (
        f": {names}" if names else ""
    )
    return _grade(
        rule,
        cur.name,
        unseen / cur.count,
        t.unseen_category_share_warn,
        t.unseen_category_share_error,
        reason,
    )


def out_of_range_share(
    ref: ColumnProfile, cur: ColumnProfile, t: QualityThresholds
) -> QualityFinding:
    """Share of current numerical values outside the reference's finite [min, max];
    +/-inf count as out of range."""
    rule = OUT_OF_RANGE_SHARE
    if not cur.present:
        return _nc(rule, cur.name, "column missing from the current data")
    if cur.error:
        return _nc(rule, cur.name, cur.error)
    if ref.min is None or ref.max is None:
        return _nc(rule, cur.name, "reference has no finite values")
    total = cur.count + cur.pos_inf + cur.neg_inf
    if total == 0:
        return _nc(rule, cur.name, "no finite or infinite current values (all missing)")
    vals = cur.values.astype(float)
    outside = int(cur.counts[(vals < ref.min) | (vals > ref.max)].sum())
    infinite = cur.pos_inf + cur.neg_inf
    reason = (
        f"{outside + infinite} of {total} values outside the reference range "
        f"[{ref.min:g}, {ref.max:g}]" + (f" ({infinite} infinite)" if infinite else "")
    )
    return _grade(
        rule,
        cur.name,
        (outside + infinite) / total,
        t.out_of_range_share_warn,
        t.out_of_range_share_error,
        reason,
    )


def schema_matches(ref: ColumnProfile, cur: ColumnProfile) -> QualityFinding:
    """The column exists and keeps its type family: 1 = error, 0.5 = warn, 0 = ok."""
    rule = SCHEMA_MATCHES
    if not cur.present:
        return QualityFinding(rule, cur.name, 1.0, "error", "column missing from the current data")
    if cur.error:
        return QualityFinding(rule, cur.name, 1.0, "error", cur.error)
    if cur.dtype in ("UNKNOWN",) or not ref.present or ref.dtype in ("UNKNOWN", "ABSENT"):
        return QualityFinding(rule, cur.name, 0.0, "ok", "type unknown on one side")
    if cur.dtype == ref.dtype:
        return QualityFinding(rule, cur.name, 0.0, "ok", f"type {cur.dtype}")
    if ref.kind == "numerical" and is_numeric_type(cur.dtype) and is_numeric_type(ref.dtype):
        return QualityFinding(
            rule, cur.name, 0.5, "warn", f"type changed from {ref.dtype} to {cur.dtype}"
        )
    return QualityFinding(
        rule, cur.name, 1.0, "error", f"type changed from {ref.dtype} to {cur.dtype}"
    )


#: Same-weekday days (of the trailing four weeks) the weekday-aware rule needs.
MIN_SAME_WEEKDAYS = 2


def row_count_change(
    rows: int,
    trailing_rows: Sequence[int | None],
    t: QualityThresholds,
    weekly: bool = False,
) -> QualityFinding:
    """Relative distance of the row count from the median of the trailing days.

    ``trailing_rows`` are by lag (index 0 = the day before; None = no profile). The
    baseline is the median of the trailing 7 days; with ``weekly`` (calibrated or auto
    thresholds) it is the median of the same weekday over the trailing four weeks once
    :data:`MIN_SAME_WEEKDAYS` of them exist, so a weekend that is always quieter is
    not a change; until then the seven-day median is judged with both limits doubled
    (the first weekends meet a median of weekdays only). A day with no rows is always an
    error."""
    rule = ROW_COUNT_CHANGE
    lags = list(trailing_rows)
    history = [r for r in lags[:7] if r is not None]
    basis = f"trailing median {{median:g}} over {len(history)} days"
    warn, error = t.row_count_change_warn, t.row_count_change_error
    if weekly:
        same = [lags[k - 1] for k in (7, 14, 21, 28) if k <= len(lags)]
        same = [r for r in same if r is not None]
        if len(same) >= MIN_SAME_WEEKDAYS:
            history = same
            basis = f"median {{median:g}} of the same weekday over the last {len(same)} weeks"
        else:  # the first weekends meet a median of weekdays only
            warn, error = 2 * warn, 2 * error
            basis += f" (tolerance doubled until {MIN_SAME_WEEKDAYS} same weekdays exist)"
    if rows == 0:
        return QualityFinding(
            rule,
            "",
            1.0,
            "error",
            "partition has no rows",
            t.row_count_change_warn,
            t.row_count_change_error,
        )
    if not history:
        return QualityFinding(
            rule, "", float("nan"), "ok", f"{NOT_APPLICABLE}: no trailing days yet"
        )
    median = statistics.median(history)
    if median == 0:
        return _nc(rule, "", "trailing days have no rows")
    change = abs(rows - median) / median
    reason = f"{rows} rows vs " + basis.format(median=median)
    return _grade(rule, "", change, warn, error, reason)


def duplicate_id_share(cur: DatasetProfile, t: QualityThresholds) -> QualityFinding:
    """Share of rows whose request id repeats within the partition."""
    rule = DUPLICATE_ID_SHARE
    if cur.duplicate_ids is None:
        return _nc(rule, "", "no id column profiled")
    if cur.rows == 0:
        return _nc(rule, "", "partition has no rows")
    share = cur.duplicate_ids / cur.rows
    return _grade(
        rule,
        "",
        share,
        t.duplicate_id_share_warn,
        t.duplicate_id_share_error,
        f"{cur.duplicate_ids} duplicate ids in {cur.rows} rows",
    )


def data_quality(
    reference: DatasetProfile,
    current: DatasetProfile,
    thresholds: QualityThresholds | None = None,
    trailing_rows: Sequence[int | None] = (),
    weekly: bool = False,
) -> list[QualityFinding]:
    """Every quality rule for every reference column of ``current`` (``weekly``: the
    weekday-aware row-count baseline, see :func:`row_count_change`)."""
    t = thresholds or QualityThresholds()
    out: list[QualityFinding] = []
    for name, ref in reference.columns.items():
        cur = current.columns.get(name) or ColumnProfile(
            name, ref.kind, "ABSENT", current.rows, present=False
        )
        out.append(schema_matches(ref, cur))
        out.append(missing_share(cur, t))
        if ref.kind == "categorical":
            out.append(unseen_category_share(ref, cur, t))
        else:
            out.append(out_of_range_share(ref, cur, t))
    out.append(row_count_change(current.rows, trailing_rows, t, weekly))
    out.append(duplicate_id_share(current, t))
    return out


def worst(findings: Sequence[QualityFinding]) -> Status:
    """The most severe status among findings ('ok' when empty)."""
    if not findings:
        return "ok"
    return max((f.status for f in findings), key=lambda s: STATUS_ORDER[s])


def day_quality(
    model: ModelConfig,
    reference: DatasetProfile | None,
    current: DatasetProfile,
    trailing_rows: Sequence[int | None] = (),
    no_reference: str = "",
) -> list[QualityFinding]:
    """Every rule over the model's features for one day; without a reference, one
    not-computable finding per rule saying why (``no_reference``)."""
    if reference is None:
        return [_nc(rule, "", no_reference) for rule in QUALITY_RULES]
    names = model.feature_names
    return data_quality(
        with_columns(reference, names),
        with_columns(current, names),
        model.thresholds.quality,
        trailing_rows=trailing_rows,
        weekly=model.thresholds.mode_for(ROW_COUNT_STABLE) != "fixed",
    )


def _levels(t: QualityThresholds) -> dict[str, tuple[float, float]]:
    return {
        MISSING_SHARE: (t.missing_share_warn, t.missing_share_error),
        UNSEEN_CATEGORY_SHARE: (t.unseen_category_share_warn, t.unseen_category_share_error),
        OUT_OF_RANGE_SHARE: (t.out_of_range_share_warn, t.out_of_range_share_error),
        SCHEMA_MATCHES: (0.5, 1.0),
        ROW_COUNT_CHANGE: (t.row_count_change_warn, t.row_count_change_error),
        DUPLICATE_ID_SHARE: (t.duplicate_id_share_warn, t.duplicate_id_share_error),
    }


def _number(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def quality_checks(model: ModelConfig) -> dict[str, str]:
    """The quality rules -> checks that apply to ``model``: ``no_unseen_categories``
    needs a categorical feature, ``values_within_reference_range`` a numerical one."""
    skip = set()
    if not model.categorical:
        skip.add(UNSEEN_CATEGORY_SHARE)
    if not model.numerical:
        skip.add(OUT_OF_RANGE_SHARE)
    return {rule: check for rule, check in QUALITY_CHECKS.items() if rule not in skip}


def quality_outcomes(rows: Sequence[Mapping[str, Any]], model: ModelConfig) -> list[CheckOutcome]:
    """One outcome per quality check of the model (:func:`quality_checks`) from a
    day's stored findings (``rule``, ``column_name``, ``value``, ``status``,
    ``reason``): the worst finding decides, by :data:`QUALITY_VERDICT`; no finding at
    all is a failed WARN; a rule that cannot apply yet ("not applicable: …", e.g. the
    row count on the first day) passes with ``applicable=False``."""
    levels = _levels(model.thresholds.quality)
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_rule.setdefault(r["rule"], []).append(r)
    out = []
    for rule, check in quality_checks(model).items():
        found = by_rule.get(rule, [])
        warn, error = levels[rule]
        meta: dict[str, Any] = {"warn_threshold": warn, "error_threshold": error}
        values = [v for v in (_number(r["value"]) for r in found) if v is not None]
        if values:
            meta["value"] = max(values)
        for r in found:
            v = _number(r["value"])
            if r["column_name"] and v is not None:
                meta[f"value/{r['column_name']}"] = v
        if not found:
            out.append(
                CheckOutcome(
                    check, False, "WARN", f"not computable: no {rule} finding stored", meta
                )
            )
            continue
        inapplicable = [r for r in found if str(r["reason"] or "").startswith(NOT_APPLICABLE)]
        if inapplicable and len(inapplicable) == len(found):
            meta["applicable"] = False
            out.append(CheckOutcome(check, True, "WARN", str(inapplicable[0]["reason"]), meta))
            continue
        worst_status = max((r["status"] for r in found), key=lambda s: STATUS_ORDER[s])
        bad = [r for r in found if r["status"] != "ok"]
        text = "; ".join(
            f"{r['column_name'] or 'dataset'}: {r['status'].replace('_', ' ')} — {r['reason']}"
            for r in sorted(bad, key=lambda r: -STATUS_ORDER[r["status"]])
        )
        meta["failing_columns"] = len(bad)
        verdict = QUALITY_VERDICT[worst_status]
        if verdict == "OK":
            out.append(CheckOutcome(check, True, "WARN", f"{rule} within limits", meta))
        elif worst_status == "not_computable":
            out.append(CheckOutcome(check, False, "WARN", f"not computable: {text}", meta))
        else:
            out.append(CheckOutcome(check, False, verdict, text, meta))
    return out
