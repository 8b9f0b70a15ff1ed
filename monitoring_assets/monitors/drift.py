"""Drift and data-quality monitor: the Dagster shell around :mod:`monitoring_assets.core`.

Per model, under the model's key prefix (all daily, single-run backfill policy):

- ``feature_profiles``: one DuckDB pass over the run's inference-log Parquet files
  (chunked by rows, so a 365-day backfill stays in bounded memory) gives each day's
  mergeable profile of the features, the prediction and the probability; stored in the
  ``feature_profiles`` table (delete-then-insert over the run's days). The reference
  profile is built once per model version (and reference file digest) and kept in
  ``reference_profiles``.
- ``data_drift``: every feature against the reference with Evidently 0.7's method
  choice (or the feature's configured method/threshold); per-feature rows in
  ``drift_results`` and ``ml_model_drift_score`` / ``ml_model_drifted_features`` /
  ``ml_feature_drift_score`` in ``monitor_metrics``.
- ``prediction_drift``: the probability column (or the prediction when there is none);
  ``ml_prediction_drift_score``.
- ``data_quality``: the rules of :mod:`monitoring_assets.core.quality`; findings in
  ``data_quality_findings`` and ``ml_data_missing_share`` per feature.
- ``target_drift``: the label distribution of days whose labels have arrived; days with
  pending labels are recorded as pending, not as a result.
- ``drift_report``: Evidently's DataDriftPreset HTML on a bounded, seeded sample; in a
  ranged run only for the most drifted days, up to ``max_reports_per_run``.

The first four are one multi-asset step (the profiles are computed once and feed the
other three); it can be subset, in which case stored profiles are reused. The
reference is the training snapshot (``reference.kind: training``) or, for
``rolling``, a merge of the stored profiles of the previous ``window_days`` days
(only the same weekday when ``same_weekday``) — never a rescan.

Checks record one evaluation per day and check even in a range run (see
:mod:`monitoring_assets.monitors.daily_checks`).
"""

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.drift import DISTANCE_METHODS, ColumnDrift, column_drift, dataset_drift
from monitoring_assets.core.names import quote_ident
from monitoring_assets.core.profile import (
    PROFILE_ROW_COLUMNS,
    ColumnProfile,
    DatasetProfile,
    empty_profile,
    merge_profiles,
    profile_frame,
    profile_from_rows,
    profile_partitions,
    profile_to_rows,
    with_columns,
)
from monitoring_assets.core.quality import (
    DUPLICATE_ID_SHARE,
    MISSING_SHARE,
    OUT_OF_RANGE_SHARE,
    ROW_COUNT_CHANGE,
    SCHEMA_MATCHES,
    STATUS_ORDER,
    UNSEEN_CATEGORY_SHARE,
    QualityFinding,
    data_quality,
)
from monitoring_assets.core.tables import (
    DRIFT_RESULTS_TABLE,
    FEATURE_PROFILES_TABLE,
    QUALITY_TABLE,
    REFERENCE_PROFILES_TABLE,
)
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.inference import (
    ModelGraph,
    MonitorDefs,
    file_digest,
    partition_dates,
    write_metrics,
)
from monitoring_assets.scorecard import ScorecardColumn, register_column
from resources.home import HomeResource
from resources.lake import Lake, LakeResource
from resources.warehouse import TableSpec, Warehouse, WarehouseResource

# ----------------------------------------------------------------------------- names

FEATURE_PROFILES = "feature_profiles"
DATA_DRIFT = "data_drift"
PREDICTION_DRIFT = "prediction_drift"
DATA_QUALITY = "data_quality"
TARGET_DRIFT = "target_drift"
DRIFT_REPORT = "drift_report"

DRIFT_SHARE_BELOW_THRESHOLD = "drift_share_below_threshold"
CRITICAL_FEATURES_NOT_DRIFTED = "critical_features_not_drifted"
PREDICTION_DRIFT_BELOW_THRESHOLD = "prediction_drift_below_threshold"
MISSING_SHARE_WITHIN_LIMIT = "missing_share_within_limit"
NO_UNSEEN_CATEGORIES = "no_unseen_categories"
VALUES_WITHIN_REFERENCE_RANGE = "values_within_reference_range"
SCHEMA_MATCHES_REFERENCE = "schema_matches_reference"
ROW_COUNT_STABLE = "row_count_stable"
NO_DUPLICATE_REQUEST_IDS = "no_duplicate_request_ids"

#: Quality rule -> the check that judges it.
QUALITY_CHECKS: dict[str, str] = {
    MISSING_SHARE: MISSING_SHARE_WITHIN_LIMIT,
    UNSEEN_CATEGORY_SHARE: NO_UNSEEN_CATEGORIES,
    OUT_OF_RANGE_SHARE: VALUES_WITHIN_REFERENCE_RANGE,
    SCHEMA_MATCHES: SCHEMA_MATCHES_REFERENCE,
    ROW_COUNT_CHANGE: ROW_COUNT_STABLE,
    DUPLICATE_ID_SHARE: NO_DUPLICATE_REQUEST_IDS,
}

#: Days of row counts the row-count rule compares a day with.
TRAILING_DAYS = 7
#: Rows profiled per DuckDB pass: a long backfill is split into chunks of whole days.
CHUNK_ROWS = 4_000_000

# ----------------------------------------------------------------------------- tables


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").tz_localize(None)


def _num(v: Any) -> float | None:
    """A finite float or None (NaN, inf and None are 'no number')."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------- columns


def profiled_columns(model: ModelConfig) -> dict[str, str]:
    """Columns profiled per day: features, prediction (categorical), probability."""
    cols = {f.name: f.type for f in model.features}
    cols[model.columns.prediction] = "categorical"
    if model.columns.probability:
        cols[model.columns.probability] = "numerical"
    return cols


def prediction_column(model: ModelConfig) -> str:
    """The column whose distribution prediction drift compares."""
    return model.columns.probability or model.columns.prediction


# ----------------------------------------------------------------------------- profiles


def _day_files(lake: Lake, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, Path]:
    files = {d: lake.day_path(model.name, "inference_logs", d) for d in dates}
    missing = [d.isoformat() for d, p in files.items() if not p.exists()]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise dg.Failure(
            description=(
                f"model {model.name!r}: inference_logs is not materialized for partition(s) "
                f"{shown} ({len(missing)} day(s)); materialize {model.name}/inference_logs first"
            ),
            metadata={"missing_partitions": ", ".join(missing)},
        )
    return files


def _chunks(files: Mapping[dt.date, Path], max_rows: int) -> list[list[dt.date]]:
    """Whole days grouped so each DuckDB pass reads about ``max_rows`` rows at most."""
    paths = [str(p) for p in files.values()]
    con = duckdb.connect()
    try:
        meta = con.execute(
            "SELECT file_name, sum(num_rows) FROM parquet_file_metadata(?) GROUP BY file_name",
            [paths],
        ).fetchall()
    finally:
        con.close()
    rows = {Path(f).resolve(): int(n) for f, n in meta}
    chunks: list[list[dt.date]] = [[]]
    size = 0
    for d, p in sorted(files.items()):
        n = rows.get(p.resolve(), 0)
        if chunks[-1] and size + n > max_rows:
            chunks.append([])
            size = 0
        chunks[-1].append(d)
        size += n
    return chunks


def profile_days(
    lake: Lake, model: ModelConfig, dates: Sequence[dt.date], max_rows: int = CHUNK_ROWS
) -> dict[dt.date, DatasetProfile]:
    """Profiles of the inference logs of ``dates``, computed in as few DuckDB passes as
    memory allows. A day with no rows gets an empty profile; a column absent from a
    day's file is marked not present (not all-null)."""
    kinds = profiled_columns(model)
    files = _day_files(lake, model, dates)
    out: dict[dt.date, DatasetProfile] = {}
    for chunk in _chunks(files, max_rows):
        paths = [str(files[d]) for d in chunk]
        con = duckdb.connect()
        try:
            con.execute("SET preserve_insertion_order = false")
            parts = profile_partitions(
                paths,
                kinds,
                partition_column="date",
                id_column=model.columns.id,
                connection=con,
            )
            schema = con.execute(
                "SELECT file_name, name FROM parquet_schema(?)", [paths]
            ).fetchall()
        except duckdb.Error as exc:
            raise dg.Failure(
                description=(
                    f"model {model.name!r}: cannot profile inference_logs "
                    f"{chunk[0]} .. {chunk[-1]}: {exc}"
                )
            ) from exc
        finally:
            con.close()
        have: dict[str, set[str]] = {}
        for f, name in schema:
            have.setdefault(str(Path(f).resolve()), set()).add(name)
        for d in chunk:
            cols = have.get(str(files[d].resolve()), set())
            prof = parts.get(d.isoformat()) or empty_profile(kinds, source_columns=cols)
            for name, kind in kinds.items():
                if name not in cols and prof.columns[name].present:
                    prof.columns[name] = ColumnProfile(
                        name,
                        kind,
                        "ABSENT",
                        prof.rows,
                        present=False,  # type: ignore[arg-type]
                    )
            out[d] = prof
    return out


def store_day_profiles(
    wh: Warehouse, model: ModelConfig, profiles: Mapping[dt.date, DatasetProfile]
) -> int:
    """Replace the stored profiles of these days; returns the rows written."""
    frames = []
    for d, p in profiles.items():
        rows = profile_to_rows(p)
        rows.insert(0, "partition_date", d)
        rows.insert(0, "model", model.name)
        frames.append(rows)
    if not frames:
        return 0
    return wh.replace(
        FEATURE_PROFILES_TABLE.name,
        pd.concat(frames, ignore_index=True),
        {"model": model.name, "partition_date": sorted(profiles)},
    )


def load_day_profiles(
    wh: Warehouse, model: ModelConfig, dates: Iterable[dt.date]
) -> dict[dt.date, DatasetProfile]:
    """Stored day profiles of ``dates`` (days never profiled are absent)."""
    days = sorted(set(dates))
    if not days:
        return {}
    placeholders = ", ".join("?" * len(days))
    cols = ", ".join(PROFILE_ROW_COLUMNS)
    df = wh.query(
        f"SELECT partition_date, {cols} FROM {FEATURE_PROFILES_TABLE.name} "
        f"WHERE model = ? AND partition_date IN ({placeholders})",
        [model.name, *days],
    )
    out = {}
    for d, grp in df.groupby("partition_date", sort=True):
        out[pd.Timestamp(d).date()] = profile_from_rows(grp)
    return out


def stored_day_rows(wh: Warehouse, model: ModelConfig, lo: dt.date, hi: dt.date) -> dict:
    """Row counts of stored day profiles between ``lo`` and ``hi`` (inclusive)."""
    df = wh.query(
        f"SELECT partition_date, count FROM {FEATURE_PROFILES_TABLE.name} "
        "WHERE model = ? AND column_name = '__dataset__' AND partition_date BETWEEN ? AND ?",
        [model.name, lo, hi],
    )
    return {pd.Timestamp(d).date(): int(n) for d, n in zip(df.partition_date, df["count"])}


def reference_file(lake: Lake, model: ModelConfig) -> Path:
    """The training snapshot of the model's version; fails clearly when not materialized."""
    path = (
        lake.partition_dir(model.name, "reference", f"version={model.version}") / "part-0.parquet"
    )
    if not path.exists():
        raise dg.Failure(
            description=(
                f"model {model.name!r} version {model.version!r}: reference_data is not "
                f"materialized ({path} is missing); materialize {model.name}/reference_data"
            )
        )
    return path


def training_reference(wh: Warehouse, lake: Lake, model: ModelConfig) -> DatasetProfile:
    """The reference profile of the model version: built once, stored, and reused while
    the reference file is unchanged (its digest is kept with the profile)."""
    path = reference_file(lake, model)
    digest = file_digest(path)
    stored = wh.query(
        f"SELECT {', '.join(PROFILE_ROW_COLUMNS)} FROM {REFERENCE_PROFILES_TABLE.name} "
        "WHERE model = ? AND model_version = ? AND source_digest = ?",
        [model.name, model.version, digest],
    )
    if len(stored):
        return profile_from_rows(stored)
    kinds = profiled_columns(model)
    con = duckdb.connect()
    try:
        names = {
            r[0]
            for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        }
    finally:
        con.close()
    if model.columns.target in names:
        kinds[model.columns.target] = "categorical"
    profile = profile_frame(path, kinds, id_column=None)
    rows = profile_to_rows(profile)
    rows.insert(0, "source_digest", digest)
    rows.insert(0, "model_version", model.version)
    rows.insert(0, "model", model.name)
    wh.replace(
        REFERENCE_PROFILES_TABLE.name, rows, {"model": model.name, "model_version": model.version}
    )
    return profile


def rolling_days(model: ModelConfig, date: dt.date) -> list[dt.date]:
    """The past days a rolling reference of ``date`` merges."""
    ref = model.reference
    if ref.same_weekday:
        return [date - dt.timedelta(days=7 * k) for k in range(1, ref.window_days // 7 + 1)]
    return [date - dt.timedelta(days=k) for k in range(1, ref.window_days + 1)]


@dataclass
class ReferenceFor:
    """The reference profile of one day, its label, and why it is missing (if it is)."""

    profile: DatasetProfile | None
    label: str
    reason: str = ""


class References:
    """Reference profiles per day: the training snapshot, or merged stored day profiles."""

    def __init__(
        self, wh: Warehouse, lake: Lake, model: ModelConfig, days: Mapping[dt.date, DatasetProfile]
    ):
        self.wh, self.lake, self.model = wh, lake, model
        self.days = dict(days)
        self._training: DatasetProfile | None = None

    @property
    def training(self) -> DatasetProfile:
        if self._training is None:
            self._training = training_reference(self.wh, self.lake, self.model)
        return self._training

    def label(self) -> str:
        r = self.model.reference
        if r.kind == "training":
            return f"training {self.model.version}"
        return f"rolling {r.window_days}d" + (" same weekday" if r.same_weekday else "")

    def prefetch(self, dates: Sequence[dt.date]) -> None:
        """Load the stored day profiles every rolling window of ``dates`` needs, at once."""
        if self.model.reference.kind != "rolling":
            return
        need = {p for d in dates for p in rolling_days(self.model, d)} - set(self.days)
        self.days.update(load_day_profiles(self.wh, self.model, need))

    def for_day(self, date: dt.date) -> ReferenceFor:
        if self.model.reference.kind == "training":
            return ReferenceFor(self.training, self.label())
        window = rolling_days(self.model, date)
        parts = [self.days[d] for d in window if d in self.days and self.days[d].rows > 0]
        if not parts:
            return ReferenceFor(
                None,
                self.label(),
                f"no stored profile of the {len(window)} reference day(s) before {date}",
            )
        return ReferenceFor(merge_profiles(parts), f"{self.label()} ({len(parts)} days)")


# ----------------------------------------------------------------------------- results


def drift_rows(
    model: ModelConfig,
    date: dt.date,
    role: str,
    results: Mapping[str, ColumnDrift],
    reference: str,
    run_id: str,
) -> list[dict]:
    """``drift_results`` rows of one day."""
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
            "score": _num(r.score),
            "drifted": bool(r.drifted),
            "computable": bool(r.computable),
            "reason": r.reason,
            "exact": bool(r.exact),
            "error_bound": _num(r.error_bound),
            "reference": reference,
            "reference_rows": int(r.reference_rows),
            "current_rows": int(r.current_rows),
            "run_id": run_id,
            "computed_at": now,
        }
        for name, r in results.items()
    ]


def _not_computable(name: str, kind: str, reason: str) -> ColumnDrift:
    return ColumnDrift(name, kind, None, None, float("nan"), False, computable=False, reason=reason)


def feature_drift(
    model: ModelConfig, ref: ReferenceFor, cur: DatasetProfile
) -> dict[str, ColumnDrift]:
    """Per-feature drift of one day (not computable everywhere when there is no reference)."""
    if ref.profile is None:
        return {f.name: _not_computable(f.name, f.type, ref.reason) for f in model.features}
    result = dataset_drift(
        ref.profile,
        cur,
        columns=model.feature_names,
        methods={f.name: f.drift_method for f in model.features},
        thresholds={f.name: f.drift_threshold for f in model.features},
        drift_share=model.thresholds.drift.drift_share,
    )
    return result.columns


def single_drift(ref: ReferenceFor, cur: DatasetProfile, column: str, kind: str) -> ColumnDrift:
    """Drift of one non-feature column (prediction, probability, target)."""
    if ref.profile is None:
        return _not_computable(column, kind, ref.reason)
    r = ref.profile.columns.get(column)
    if r is None:
        return _not_computable(column, kind, f"the reference has no column {column!r}")
    c = cur.columns.get(column) or ColumnProfile(column, r.kind, "ABSENT", cur.rows, present=False)
    return column_drift(r, c)


def share_of(results: Mapping[str, ColumnDrift]) -> tuple[float | None, int, int]:
    """(drifted share or None, drifted, computable) over computable columns."""
    ok = [r for r in results.values() if r.computable]
    drifted = sum(r.drifted for r in ok)
    return (drifted / len(ok) if ok else None), drifted, len(ok)


def drift_markdown(results: Mapping[str, ColumnDrift]) -> str:
    """A markdown table of per-column results: method, score, threshold, drifted."""
    lines = [
        "| column | method | score | threshold | drifted | note |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        score = f"{r.score:.6g}" if r.computable else "—"
        thr = f"{r.threshold:g}" if r.threshold is not None else "—"
        drifted = "**yes**" if r.drifted else ("no" if r.computable else "not computable")
        note = r.reason or ("" if r.exact else f"approx. ±{r.error_bound:.2g}")
        lines.append(f"| {name} | {r.method or '—'} | {score} | {thr} | {drifted} | {note} |")
    return "\n".join(lines)


def quality_markdown(findings: Sequence[QualityFinding]) -> str:
    lines = ["| rule | column | value | status | reason |", "|---|---|---|---|---|"]
    for f in findings:
        value = f"{f.value:.4g}" if _num(f.value) is not None else "—"
        lines.append(
            f"| {f.rule} | {f.column or '(dataset)'} | {value} | {f.status} | {f.reason} |"
        )
    return "\n".join(lines)


def quality_rows(
    model: ModelConfig, date: dt.date, findings: Sequence[QualityFinding], run_id: str
) -> list[dict]:
    now = _now()
    return [
        {
            "model": model.name,
            "model_version": model.version,
            "partition_date": date,
            "rule": f.rule,
            "column_name": f.column,
            "value": _num(f.value),
            "status": f.status,
            "reason": f.reason,
            "warn": f.warn,
            "error": f.error,
            "run_id": run_id,
            "computed_at": now,
        }
        for f in findings
    ]


def _replace_rows(
    wh: Warehouse, spec: TableSpec, model: ModelConfig, rows: list[dict], days, **where
) -> None:
    if not days:
        return
    frame = pd.DataFrame(rows, columns=list(spec.columns))
    wh.replace(spec.name, frame, {"model": model.name, "partition_date": sorted(days), **where})


# ----------------------------------------------------------------------------- outcomes


def drift_outcomes(rows: Sequence[Mapping[str, Any]], model: ModelConfig) -> list[CheckOutcome]:
    """``drift_share_below_threshold`` and ``critical_features_not_drifted`` of one day,
    from its stored per-feature rows."""
    thr = model.thresholds.drift
    ok = [r for r in rows if r["computable"]]
    nc = [r for r in rows if not r["computable"]]
    nc_text = "; ".join(f"{r['column_name']}: {r['reason']}" for r in nc)
    out = []
    base = {
        "drift_share_warn": thr.drift_share_warn,
        "drift_share_error": thr.drift_share_error,
        "not_computable_features": len(nc),
    }
    if not ok:
        out.append(
            CheckOutcome(
                DRIFT_SHARE_BELOW_THRESHOLD,
                False,
                "WARN",
                f"not computable: no feature could be tested ({nc_text or 'no features'})",
                base,
            )
        )
    else:
        drifted = sorted(r["column_name"] for r in ok if r["drifted"])
        share = len(drifted) / len(ok)
        # Evidently's dataset drift is share >= drift_share, so the levels are inclusive.
        severity = "ERROR" if share >= thr.drift_share_error else "WARN"
        passed = share < thr.drift_share_warn
        text = f"{len(drifted)} of {len(ok)} features drifted (share {share:.3f})" + (
            f": {', '.join(drifted)}" if drifted else ""
        )
        if nc:
            text += f"; not computable: {nc_text}"
        out.append(
            CheckOutcome(
                DRIFT_SHARE_BELOW_THRESHOLD,
                passed,
                severity,
                text,
                {
                    **base,
                    "drift_share": share,
                    "drifted_features": len(drifted),
                    "tested_features": len(ok),
                },
            )
        )
    critical = [r for r in rows if r["critical"]]
    crit_drifted = sorted(r["column_name"] for r in critical if r["computable"] and r["drifted"])
    crit_nc = [r for r in critical if not r["computable"]]
    meta: dict[str, Any] = {
        "critical_features": len(critical),
        "critical_drifted": len(crit_drifted),
        "critical_not_computable": len(crit_nc),
    }
    for r in critical:
        if _num(r["score"]) is not None:
            meta[f"score/{r['column_name']}"] = float(r["score"])
            meta[f"threshold/{r['column_name']}"] = float(r["threshold"])
    if crit_drifted:
        out.append(
            CheckOutcome(
                CRITICAL_FEATURES_NOT_DRIFTED,
                False,
                "ERROR",
                f"critical feature(s) drifted: {', '.join(crit_drifted)}",
                meta,
            )
        )
    elif crit_nc:
        out.append(
            CheckOutcome(
                CRITICAL_FEATURES_NOT_DRIFTED,
                False,
                "WARN",
                "not computable: "
                + "; ".join(f"{r['column_name']}: {r['reason']}" for r in crit_nc),
                meta,
            )
        )
    else:
        names = ", ".join(r["column_name"] for r in critical) or "none configured"
        out.append(
            CheckOutcome(
                CRITICAL_FEATURES_NOT_DRIFTED,
                True,
                "ERROR",
                f"no drift in critical features ({names})",
                meta,
            )
        )
    return out


def prediction_outcome(row: Mapping[str, Any] | None, model: ModelConfig) -> CheckOutcome:
    """``prediction_drift_below_threshold`` of one day. Distance scores are graded against
    ``prediction_drift_score_warn``/``_error``; p-value methods (small references) fail
    as WARN when the test says drift."""
    thr = model.thresholds.drift
    name = PREDICTION_DRIFT_BELOW_THRESHOLD
    if row is None or not row["computable"]:
        reason = row["reason"] if row is not None else "no result stored"
        return CheckOutcome(name, False, "WARN", f"not computable: {reason}", {})
    score, method = float(row["score"]), row["method"]
    meta = {
        "score": score,
        "method": method,
        "method_threshold": float(row["threshold"]),
        "prediction_drift_score_warn": thr.prediction_drift_score_warn,
        "prediction_drift_score_error": thr.prediction_drift_score_error,
    }
    if method in DISTANCE_METHODS:
        severity = "ERROR" if score >= thr.prediction_drift_score_error else "WARN"
        passed = score < thr.prediction_drift_score_warn
        text = f"{row['column_name']} {method} {score:.4g} (warn {thr.prediction_drift_score_warn}, error {thr.prediction_drift_score_error})"
    else:
        severity, passed = "WARN", not bool(row["drifted"])
        text = f"{row['column_name']} {method} p-value {score:.4g} (drift below {row['threshold']})"
    return CheckOutcome(name, passed, severity, text, meta)


def quality_outcomes(rows: Sequence[Mapping[str, Any]], model: ModelConfig) -> list[CheckOutcome]:
    """One outcome per quality check from a day's stored findings: the worst finding
    decides (error -> ERROR, warn -> WARN, not computable -> failed WARN)."""
    t = model.thresholds.quality
    levels = {
        MISSING_SHARE: (t.missing_share_warn, t.missing_share_error),
        UNSEEN_CATEGORY_SHARE: (t.unseen_category_share_warn, t.unseen_category_share_error),
        OUT_OF_RANGE_SHARE: (t.out_of_range_share_warn, t.out_of_range_share_error),
        SCHEMA_MATCHES: (0.5, 1.0),
        ROW_COUNT_CHANGE: (t.row_count_change_warn, t.row_count_change_error),
        DUPLICATE_ID_SHARE: (t.duplicate_id_share_warn, t.duplicate_id_share_error),
    }
    by_rule: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_rule.setdefault(r["rule"], []).append(r)
    out = []
    for rule, check in QUALITY_CHECKS.items():
        found = by_rule.get(rule, [])
        warn, error = levels[rule]
        meta: dict[str, Any] = {"warn_threshold": warn, "error_threshold": error}
        values = [_num(r["value"]) for r in found]
        values = [v for v in values if v is not None]
        if values:
            meta["value"] = max(values)
        for r in found:
            v = _num(r["value"])
            if r["column_name"] and v is not None:
                meta[f"value/{r['column_name']}"] = v
        if not found:
            out.append(
                CheckOutcome(
                    check, False, "WARN", f"not computable: no {rule} finding stored", meta
                )
            )
            continue
        worst = max((r["status"] for r in found), key=lambda s: STATUS_ORDER[s])
        bad = [r for r in found if r["status"] != "ok"]
        text = "; ".join(
            f"{r['column_name'] or 'dataset'}: {r['status'].replace('_', ' ')} — {r['reason']}"
            for r in sorted(bad, key=lambda r: -STATUS_ORDER[r["status"]])
        )
        meta["failing_columns"] = len(bad)
        if worst == "ok":
            out.append(CheckOutcome(check, True, "WARN", f"{rule} within limits", meta))
        elif worst == "not_computable":
            out.append(CheckOutcome(check, False, "WARN", f"not computable: {text}", meta))
        else:
            out.append(
                CheckOutcome(check, False, "ERROR" if worst == "error" else "WARN", text, meta)
            )
    return out


def _stored_rows(
    ctx: dg.AssetCheckExecutionContext, table: str, model: ModelConfig, keys: Sequence[str], **where
) -> dict[str, list[dict]]:
    if not keys:
        return {}
    wh: Warehouse = ctx.resources.warehouse.get()
    extra = "".join(f" AND {quote_ident(k)} = ?" for k in where)
    df = wh.query(
        f"SELECT * FROM {table} WHERE model = ? AND partition_date BETWEEN ? AND ?{extra}",
        [model.name, keys[0], keys[-1], *where.values()],
    )
    out: dict[str, list[dict]] = {}
    for rec in df.to_dict("records"):
        rec = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()}
        out.setdefault(pd.Timestamp(rec["partition_date"]).date().isoformat(), []).append(rec)
    return out


# ----------------------------------------------------------------------------- report


class DriftReportConfig(dg.Config):
    """How much Evidently work a ``drift_report`` run may do."""

    sample_rows: int = 5000
    seed: int = 0
    max_reports_per_run: int = 5
    ranged_runs_only_flagged: bool = True


def _sample(path: Path | str, n: int, seed: int, columns: Sequence[str]) -> pd.DataFrame:
    cols = ", ".join(quote_ident(c) for c in columns)
    con = duckdb.connect()
    try:
        # The path is a bound value; n and seed are ints (SAMPLE takes no parameters).
        return con.execute(
            f"SELECT {cols} FROM read_parquet(?) USING SAMPLE reservoir({int(n)} ROWS) "
            f"REPEATABLE ({int(seed)})",
            [str(path)],
        ).df()
    finally:
        con.close()


def write_report(
    model: ModelConfig, current: pd.DataFrame, reference: pd.DataFrame, path: Path
) -> Path:
    """Evidently's DataDriftPreset HTML of ``current`` vs ``reference`` (imported lazily)."""
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    dd = DataDefinition(numerical_columns=model.numerical, categorical_columns=model.categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset(drift_share=model.thresholds.drift.drift_share)]).run(
            Dataset.from_pandas(current, data_definition=dd),
            Dataset.from_pandas(reference, data_definition=dd),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    snap.save_html(str(path))
    return path


# ----------------------------------------------------------------------------- builder


def build_drift_monitor(graph: ModelGraph) -> MonitorDefs:
    """Profiles, data/prediction/target drift, data quality, the Evidently report and
    their per-day checks for one model."""
    model = graph.model
    cols = model.columns
    daily = dict(partitions_def=graph.partitions_def, group_name=graph.group)
    identity = dg.IdentityPartitionMapping()
    tags = {"driftwarden/model": model.name}
    pred_col = prediction_column(model)
    drift_thr = model.thresholds.drift

    specs = [
        dg.AssetSpec(
            graph.key(FEATURE_PROFILES),
            deps=[dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity)],
            description=(
                "Mergeable per-day profiles (counts, moments, value counts) of the features, "
                "prediction and probability, from one DuckDB pass over the inference logs."
            ),
            kinds={"duckdb"},
            tags=tags,
            metadata={"warehouse_table": FEATURE_PROFILES_TABLE.name},
            **daily,
        ),
        dg.AssetSpec(
            graph.key(DATA_DRIFT),
            deps=[
                dg.AssetDep(graph.key(FEATURE_PROFILES), partition_mapping=identity),
                graph.key("reference_data"),
            ],
            description=(
                f"Per-feature drift of {model.name} against the {model.reference.kind} reference "
                "with Evidently 0.7's methods and defaults; dataset drift share."
            ),
            kinds={"duckdb"},
            tags=tags,
            metadata={
                "warehouse_table": DRIFT_RESULTS_TABLE.name,
                "drift_share": drift_thr.drift_share,
            },
            **daily,
        ),
        dg.AssetSpec(
            graph.key(PREDICTION_DRIFT),
            deps=[
                dg.AssetDep(graph.key(FEATURE_PROFILES), partition_mapping=identity),
                graph.key("reference_data"),
            ],
            description=f"Drift of the model output ({pred_col}) against the reference.",
            kinds={"duckdb"},
            tags=tags,
            metadata={"warehouse_table": DRIFT_RESULTS_TABLE.name, "column": pred_col},
            **daily,
        ),
        dg.AssetSpec(
            graph.key(DATA_QUALITY),
            deps=[
                dg.AssetDep(graph.key(FEATURE_PROFILES), partition_mapping=identity),
                graph.key("reference_data"),
            ],
            description=(
                "Missing share, unseen categories, values outside the reference range, schema, "
                f"row count vs the trailing {TRAILING_DAYS} days, duplicate request ids."
            ),
            kinds={"duckdb"},
            tags=tags,
            metadata={"warehouse_table": QUALITY_TABLE.name},
            **daily,
        ),
    ]

    @dg.multi_asset(
        specs=specs,
        name=f"{model.name}_drift_and_quality",
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.single_run(),
        op_tags=tags,
    )
    def drift_and_quality(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        selected = {k.path[-1] for k in context.selected_asset_keys}

        # ---- profiles: computed when selected (or not stored yet), else reused
        if FEATURE_PROFILES in selected:
            days = profile_days(store, model, dates)
            written = store_day_profiles(wh, model, days)
            for d, p in days.items():
                context.add_asset_metadata(
                    {
                        "rows": dg.MetadataValue.int(p.rows),
                        "duplicate_ids": dg.MetadataValue.int(p.duplicate_ids or 0),
                        "rounded_columns": ", ".join(
                            c.name for c in p.columns.values() if not c.exact
                        )
                        or "none",
                    },
                    asset_key=graph.key(FEATURE_PROFILES),
                    partition_key=d.isoformat(),
                )
            context.log.info(
                f"{model.name} feature_profiles: {len(days)} day(s), {written} rows stored"
            )
        else:
            days = load_day_profiles(wh, model, dates)
            missing = [d for d in dates if d not in days]
            if missing:
                days.update(profile_days(store, model, missing))
        refs = References(wh, store, model, days)
        refs.prefetch(dates)
        feature_names = model.feature_names

        metrics: dict[dt.date, dict[tuple[str, str], float]] = {d: {} for d in dates}
        drift_out, pred_out, quality_out = [], [], []
        trailing = {}
        if DATA_QUALITY in selected:
            trailing = stored_day_rows(
                wh, model, dates[0] - dt.timedelta(days=TRAILING_DAYS), dates[-1]
            )
            trailing.update({d: p.rows for d, p in days.items()})
        for d in dates:
            cur = days[d]
            ref = refs.for_day(d)
            pk = d.isoformat()
            if DATA_DRIFT in selected:
                res = feature_drift(model, ref, cur)
                share, n_drifted, n_ok = share_of(res)
                drift_out += drift_rows(model, d, "feature", res, ref.label, run_id)
                if share is not None:
                    metrics[d][("ml_model_drift_score", "")] = share
                    metrics[d][("ml_model_drifted_features", "")] = n_drifted
                meta: dict[str, Any] = {
                    "drifted_features": dg.MetadataValue.int(n_drifted),
                    "tested_features": dg.MetadataValue.int(n_ok),
                    "dataset_drift": bool(share is not None and share >= drift_thr.drift_share),
                    "reference": ref.label,
                    "features": dg.MetadataValue.md(drift_markdown(res)),
                }
                if share is not None:
                    meta["drift_share"] = dg.MetadataValue.float(share)
                for name, r in res.items():
                    if r.computable:
                        metrics[d][("ml_feature_drift_score", name)] = r.score
                        meta[f"score/{name}"] = dg.MetadataValue.float(float(r.score))
                context.add_asset_metadata(meta, asset_key=graph.key(DATA_DRIFT), partition_key=pk)
            if PREDICTION_DRIFT in selected:
                kind = "numerical" if pred_col == cols.probability else "categorical"
                r = single_drift(ref, cur, pred_col, kind)
                pred_out += drift_rows(model, d, "prediction", {pred_col: r}, ref.label, run_id)
                meta = {
                    "column": pred_col,
                    "method": r.method or "—",
                    "drifted": bool(r.drifted),
                    "reference": ref.label,
                    "result": dg.MetadataValue.md(drift_markdown({pred_col: r})),
                }
                if r.computable:
                    metrics[d][("ml_prediction_drift_score", "")] = r.score
                    meta["score"] = dg.MetadataValue.float(float(r.score))
                    meta["threshold"] = dg.MetadataValue.float(float(r.threshold))
                else:
                    meta["not_computable"] = r.reason
                context.add_asset_metadata(
                    meta, asset_key=graph.key(PREDICTION_DRIFT), partition_key=pk
                )
            if DATA_QUALITY in selected:
                if ref.profile is None:
                    findings = [
                        QualityFinding(rule, "", float("nan"), "not_computable", ref.reason)
                        for rule in QUALITY_CHECKS
                    ]
                else:
                    prior = [
                        trailing[d - dt.timedelta(days=k)]
                        for k in range(1, TRAILING_DAYS + 1)
                        if d - dt.timedelta(days=k) in trailing
                    ]
                    findings = data_quality(
                        with_columns(ref.profile, feature_names),
                        with_columns(cur, feature_names),
                        model.thresholds.quality,
                        trailing_rows=prior,
                    )
                quality_out += quality_rows(model, d, findings, run_id)
                meta = {
                    "rows": dg.MetadataValue.int(cur.rows),
                    "findings": dg.MetadataValue.md(quality_markdown(findings)),
                }
                for f in findings:
                    if f.rule == MISSING_SHARE and _num(f.value) is not None:
                        metrics[d][("ml_data_missing_share", f.column)] = f.value
                        meta[f"missing_share/{f.column}"] = dg.MetadataValue.float(float(f.value))
                    elif not f.column and _num(f.value) is not None:
                        meta[f.rule] = dg.MetadataValue.float(float(f.value))
                counts = {s: sum(f.status == s for f in findings) for s in STATUS_ORDER}
                for s, n in counts.items():
                    meta[f"findings_{s}"] = dg.MetadataValue.int(n)
                context.add_asset_metadata(
                    meta, asset_key=graph.key(DATA_QUALITY), partition_key=pk
                )

        if DATA_DRIFT in selected:
            _replace_rows(wh, DRIFT_RESULTS_TABLE, model, drift_out, dates, role="feature")
        if PREDICTION_DRIFT in selected:
            _replace_rows(wh, DRIFT_RESULTS_TABLE, model, pred_out, dates, role="prediction")
        if DATA_QUALITY in selected:
            _replace_rows(wh, QUALITY_TABLE, model, quality_out, dates)
        write_metrics(wh, model, run_id, metrics)
        for name in (FEATURE_PROFILES, DATA_DRIFT, PREDICTION_DRIFT, DATA_QUALITY):
            if name in selected:
                yield dg.MaterializeResult(
                    asset_key=graph.key(name),
                    metadata={"days": dg.MetadataValue.int(len(dates)), "reference": refs.label()},
                )

    @dg.asset(
        key=graph.key(TARGET_DRIFT),
        deps=[
            dg.AssetDep(graph.key("ground_truth"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"Drift of the label ({cols.target}) distribution against the training snapshot, "
            "for days whose labels have arrived; pending days are recorded as pending."
        ),
        kinds={"duckdb"},
        tags=tags,
        metadata={"warehouse_table": DRIFT_RESULTS_TABLE.name, "column": cols.target},
        **daily,
    )
    def target_drift(
        context: dg.AssetExecutionContext, lake: LakeResource, warehouse: WarehouseResource
    ):
        store, wh = lake.get(), warehouse.get()
        run_id = context.run.run_id
        dates = partition_dates(context)
        ref_profile = training_reference(wh, store, model)
        ref = ReferenceFor(ref_profile, f"training {model.version}")
        files = {d: store.day_path(model.name, "ground_truth", d) for d in dates}
        present = [str(p) for p in files.values() if p.exists()]
        profiles = (
            profile_partitions(present, {cols.target: "categorical"}, partition_column="date")
            if present
            else {}
        )
        out, metrics, pending = [], {}, 0
        for d in dates:
            prof = profiles.get(d.isoformat())
            pk = d.isoformat()
            if prof is None or prof.rows == 0:
                pending += 1
                context.add_asset_metadata(
                    {"status": "labels pending", "labels": dg.MetadataValue.int(0)},
                    partition_key=pk,
                )
                continue
            r = single_drift(ref, prof, cols.target, "categorical")
            out += drift_rows(model, d, "target", {cols.target: r}, ref.label, run_id)
            meta: dict[str, Any] = {
                "status": "computed",
                "labels": dg.MetadataValue.int(prof.rows),
                "method": r.method or "—",
                "drifted": bool(r.drifted),
                "result": dg.MetadataValue.md(drift_markdown({cols.target: r})),
            }
            if r.computable:
                metrics[d] = {("ml_target_drift_score", ""): r.score}
                meta["score"] = dg.MetadataValue.float(float(r.score))
            context.add_asset_metadata(meta, partition_key=pk)
        # Pending days lose any stale result: the table says what is known now.
        _replace_rows(wh, DRIFT_RESULTS_TABLE, model, out, dates, role="target")
        write_metrics(wh, model, run_id, metrics)
        return dg.MaterializeResult(
            metadata={"days_with_labels": len(dates) - pending, "days_pending": pending}
        )

    @dg.asset(
        key=graph.key(DRIFT_REPORT),
        deps=[
            dg.AssetDep(graph.key(DATA_DRIFT), partition_mapping=identity),
            dg.AssetDep(graph.key("inference_logs"), partition_mapping=identity),
            graph.key("reference_data"),
        ],
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            "Evidently DataDriftPreset HTML on a seeded sample of the day and the reference. "
            "A one-day run always writes it; a ranged run writes it only for the most drifted "
            "flagged days, up to max_reports_per_run, and says so in each day's metadata."
        ),
        kinds={"evidently", "html"},
        tags=tags,
        **daily,
    )
    def drift_report(
        context: dg.AssetExecutionContext,
        config: DriftReportConfig,
        lake: LakeResource,
        warehouse: WarehouseResource,
        home: HomeResource,
    ):
        store, wh = lake.get(), warehouse.get()
        dates = partition_dates(context)
        keys = [d.isoformat() for d in dates]
        stored = wh.query(
            f"SELECT partition_date, column_name, drifted, computable, critical FROM "
            f"{DRIFT_RESULTS_TABLE.name} WHERE model = ? AND role = 'feature' "
            "AND partition_date BETWEEN ? AND ?",
            [model.name, dates[0], dates[-1]],
        )
        share: dict[dt.date, float] = {}
        flagged: set[dt.date] = set()
        for d, grp in stored.groupby("partition_date"):
            day = pd.Timestamp(d).date()
            ok = grp[grp.computable]
            if len(ok):
                share[day] = float(ok.drifted.mean())
            if share.get(day, 0.0) >= drift_thr.drift_share_warn or bool(
                (ok.drifted & ok.critical).any()
            ):
                flagged.add(day)
        if len(dates) == 1:
            chosen = list(dates)
            why = "single-day run"
        else:
            pool = (
                [d for d in dates if d in flagged]
                if config.ranged_runs_only_flagged
                else list(dates)
            )
            pool.sort(key=lambda d: (-share.get(d, 0.0), d))
            chosen = pool[: config.max_reports_per_run]
            why = (
                f"ranged run: reports for up to {config.max_reports_per_run} of "
                f"{len(pool)} {'flagged ' if config.ranged_runs_only_flagged else ''}day(s), "
                "most drifted first"
            )
        written = 0
        ref_sample = None
        columns = model.feature_names
        for d, pk in zip(dates, keys):
            if d not in chosen:
                reason = (
                    "not flagged"
                    if d not in flagged
                    else f"over the cap of {config.max_reports_per_run}"
                )
                context.add_asset_metadata(
                    {"report": f"skipped: {reason} ({why})", "report_written": False},
                    partition_key=pk,
                )
                continue
            if ref_sample is None:
                ref_sample = _sample(
                    reference_file(store, model), config.sample_rows, config.seed, columns
                )
            path = store.day_path(model.name, "inference_logs", d)
            if not path.exists():
                raise dg.Failure(
                    description=f"model {model.name!r}: no inference_logs partition {pk} ({path})"
                )
            cur = _sample(path, config.sample_rows, config.seed, columns)
            out = home.get().reports / model.name / f"data_drift_{pk}.html"
            write_report(model, cur, ref_sample, out)
            written += 1
            context.add_asset_metadata(
                {
                    "report": dg.MetadataValue.path(str(out)),
                    "report_written": True,
                    "sample_rows": dg.MetadataValue.int(len(cur)),
                    "reference_sample_rows": dg.MetadataValue.int(len(ref_sample)),
                    "seed": dg.MetadataValue.int(config.seed),
                    "selection": why,
                },
                partition_key=pk,
            )
        return dg.MaterializeResult(
            metadata={"reports_written": dg.MetadataValue.int(written), "selection": why}
        )

    def _evaluate_drift(ctx, keys):
        rows = _stored_rows(ctx, DRIFT_RESULTS_TABLE.name, model, keys, role="feature")
        for pk in keys:
            if pk in rows:
                for o in drift_outcomes(rows[pk], model):
                    yield pk, o

    def _evaluate_prediction(ctx, keys):
        rows = _stored_rows(ctx, DRIFT_RESULTS_TABLE.name, model, keys, role="prediction")
        for pk in keys:
            if pk in rows:
                yield pk, prediction_outcome(rows[pk][0], model)

    def _evaluate_quality(ctx, keys):
        rows = _stored_rows(ctx, QUALITY_TABLE.name, model, keys)
        for pk in keys:
            if pk in rows:
                for o in quality_outcomes(rows[pk], model):
                    yield pk, o

    q = model.thresholds.quality
    drift_checks = daily_checks(
        name=f"{model.name}_data_drift_checks",
        asset_key=graph.key(DATA_DRIFT),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                DRIFT_SHARE_BELOW_THRESHOLD,
                f"share of drifted features below {drift_thr.drift_share_warn} "
                f"(WARN at or above it, ERROR at or above {drift_thr.drift_share_error})",
            ),
            CheckDeclaration(
                CRITICAL_FEATURES_NOT_DRIFTED,
                "no feature marked critical in the model file has drifted (ERROR)",
            ),
        ],
        evaluate=_evaluate_drift,
        required_resource_keys={"warehouse"},
    )
    prediction_checks = daily_checks(
        name=f"{model.name}_prediction_drift_checks",
        asset_key=graph.key(PREDICTION_DRIFT),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                PREDICTION_DRIFT_BELOW_THRESHOLD,
                f"{pred_col} drift score below {drift_thr.prediction_drift_score_warn} "
                f"(ERROR at {drift_thr.prediction_drift_score_error})",
            )
        ],
        evaluate=_evaluate_prediction,
        required_resource_keys={"warehouse"},
    )
    quality_checks = daily_checks(
        name=f"{model.name}_data_quality_checks",
        asset_key=graph.key(DATA_QUALITY),
        partitions_def=graph.partitions_def,
        checks=[
            CheckDeclaration(
                MISSING_SHARE_WITHIN_LIMIT,
                f"missing share per feature <= {q.missing_share_warn} (ERROR above {q.missing_share_error})",
            ),
            CheckDeclaration(
                NO_UNSEEN_CATEGORIES,
                f"share of categorical values unseen in the reference <= {q.unseen_category_share_warn} "
                f"(ERROR above {q.unseen_category_share_error})",
            ),
            CheckDeclaration(
                VALUES_WITHIN_REFERENCE_RANGE,
                f"share of numerical values outside the reference range <= {q.out_of_range_share_warn} "
                f"(ERROR above {q.out_of_range_share_error})",
            ),
            CheckDeclaration(
                SCHEMA_MATCHES_REFERENCE, "every feature present with the reference's type"
            ),
            CheckDeclaration(
                ROW_COUNT_STABLE,
                f"row count within {q.row_count_change_warn:.0%} of the trailing {TRAILING_DAYS}-day "
                f"median (ERROR beyond {q.row_count_change_error:.0%})",
            ),
            CheckDeclaration(
                NO_DUPLICATE_REQUEST_IDS,
                f"duplicate request id share <= {q.duplicate_id_share_warn} "
                f"(ERROR above {q.duplicate_id_share_error})",
            ),
        ],
        evaluate=_evaluate_quality,
        required_resource_keys={"warehouse"},
    )

    return MonitorDefs(
        assets=[drift_and_quality, target_drift, drift_report],
        checks=[drift_checks, prediction_checks, quality_checks],
    )


# ----------------------------------------------------------------------------- scorecard


def _found_cells(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, str]:
    """Per day: drifted features (share), prediction drift, and failing quality rules."""
    drift = wh.query(
        f"SELECT partition_date, role, column_name, drifted, computable, critical FROM "
        f"{DRIFT_RESULTS_TABLE.name} WHERE model = ? AND role IN ('feature', 'prediction')",
        [model.name],
    )
    quality = wh.query(
        f"SELECT partition_date, rule, column_name, status FROM {QUALITY_TABLE.name} "
        "WHERE model = ? AND status IN ('warn', 'error')",
        [model.name],
    )
    out: dict[dt.date, list[str]] = {}
    for d, grp in drift.groupby("partition_date"):
        day = pd.Timestamp(d).date()
        feats = grp[(grp.role == "feature") & grp.computable]
        drifted = feats[feats.drifted].column_name.tolist()
        parts = []
        if drifted:
            parts.append(
                f"drift {len(drifted)}/{len(feats)} {','.join(_short(c) for c in drifted)}"
            )
        if bool(grp[(grp.role == "prediction") & grp.drifted].shape[0]):
            parts.append("pred")
        out[day] = parts
    short_rule = {
        MISSING_SHARE: "missing",
        UNSEEN_CATEGORY_SHARE: "unseen",
        OUT_OF_RANGE_SHARE: "range",
        SCHEMA_MATCHES: "schema",
        ROW_COUNT_CHANGE: "rows",
        DUPLICATE_ID_SHARE: "dup-ids",
    }
    for d, grp in quality.groupby("partition_date"):
        day = pd.Timestamp(d).date()
        for rule, g in grp.groupby("rule", sort=False):
            colnames = ",".join(_short(c) for c in g.column_name if c)
            tag = "!" if (g.status == "error").any() else ""
            out.setdefault(day, []).append(
                f"{short_rule.get(rule, rule)}{tag}" + (f"({colnames})" if colnames else "")
            )
    return {d: "; ".join(p) or "-" for d, p in out.items()}


def _short(name: str) -> str:
    return name if len(name) <= 12 else name[:11] + "…"


register_column(ScorecardColumn("drift/quality found", _found_cells))


__all__ = [
    "DriftReportConfig",
    "build_drift_monitor",
    "drift_outcomes",
    "prediction_outcome",
    "profile_days",
    "quality_outcomes",
    "training_reference",
]
