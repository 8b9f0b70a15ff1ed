"""Multivariate drift per day: fit once per model version, judge days, store, decide.

:class:`MultivariateMonitor` is the fit/calculate pair over a model's warehouse and
lake: the reconstruction fit (coding and PCA) and each day-size bucket's thresholds are
kept in ``multivariate_fits`` keyed by model, version, reference file digest and a
digest of the settings, so a rerun reads them back instead of refitting (a new
reference file or new settings refit). Results go to ``multivariate_results`` (one row
per day and method); :func:`multivariate_outcome` turns a stored row into the check's
verdict, with the same rule for every day of a range.

A day below ``window.min_day_rows`` rows is *insufficient data* (stored with its value
when there is one; the check passes and says so); a day without rows, or a reference
the method cannot use, is *not computable* (a failed WARN that says why).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.calibration import chunk_frame, size_bucket
from monitoring_assets.core.checks import CheckOutcome
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.multivariate import (
    DOMAIN_CLASSIFIER,
    FIXED,
    MULTIVARIATE_SEED,
    RECONSTRUCTION,
    NotComputable,
    ReconstructionDrift,
    ReconstructionFit,
    Threshold,
    domain_classifier_auc,
    domain_threshold,
    reconstruction_thresholds,
)
from monitoring_assets.core.ports import Lake, Warehouse, version_key
from monitoring_assets.core.references import REFERENCE_DATASET, training_source
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import MULTIVARIATE_FITS_TABLE, MULTIVARIATE_RESULTS_TABLE

#: The check of each method, and the asset it judges.
RECONSTRUCTION_CHECK = "reconstruction_error_within_threshold"
DOMAIN_CLASSIFIER_CHECK = "domain_classifier_auc_below_threshold"
CHECKS = {RECONSTRUCTION: RECONSTRUCTION_CHECK, DOMAIN_CLASSIFIER: DOMAIN_CLASSIFIER_CHECK}
ASSETS = {RECONSTRUCTION: "reconstruction_drift", DOMAIN_CLASSIFIER: "domain_classifier_drift"}
COMPUTED, INSUFFICIENT, NOT_COMPUTABLE = "computed", "insufficient_data", "not_computable"


@dataclass(frozen=True)
class MultivariateResult:
    """One method's judgement of one day."""

    method: str
    status: str
    rows: int
    value: float | None = None
    reference_value: float | None = None
    threshold: Threshold | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``OK``, ``WARN`` or ``ERROR`` (not computable is a failed ``WARN``)."""
        if self.status == NOT_COMPUTABLE:
            return "WARN"
        if self.status != COMPUTED or self.value is None or self.threshold is None:
            return "OK"
        if self.value > self.threshold.error:
            return "ERROR"
        return "WARN" if self.value > self.threshold.warn else "OK"


def model_features(model: ModelConfig) -> dict[str, str]:
    return {f.name: f.type for f in model.features}


def settings_key(model: ModelConfig, method: str) -> str:
    """A digest of everything a fit depends on besides the reference file."""
    mv = model.multivariate
    body = {
        "method": method,
        "features": model_features(model),
        "multivariate": mv.model_dump() if mv else None,
        "calibration": model.thresholds.calibration.model_dump(),
        "mode": model.thresholds.mode_for(CHECKS[method]),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class MultivariateMonitor:
    """The multivariate methods of one model version over its warehouse and lake."""

    def __init__(self, wh: Warehouse, lake: Lake, model: ModelConfig):
        if model.multivariate is None:
            raise ValueError(f"model {model.name!r} has no 'multivariate' section")
        self.wh, self.lake, self.model = wh, lake, model
        self.settings = model.multivariate
        self.features = model_features(model)
        self._reference: pd.DataFrame | None = None
        self._digest: str | None = None
        self._recon: ReconstructionDrift | None = None
        self._recon_reason: str | None = None
        self._thresholds: dict[int, Threshold] = {}
        self._ref_errors: np.ndarray | None = None
        self._dc_reference: np.ndarray | None = None
        self.refitted: list[str] = []  # what this object fitted (not read back)

    # ------------------------------------------------------------------ reference
    @property
    def label(self) -> str:
        return f"training {self.model.version}"

    def digest(self) -> str:
        if self._digest is None:
            self._digest = training_source(self.lake, self.model)[1]
        return self._digest

    def reference(self) -> pd.DataFrame:
        if self._reference is None:
            self._reference = self.lake.read_partition(
                self.model.name, REFERENCE_DATASET, version_key(self.model.version)
            )
        return self._reference

    def _where(self, method: str, window_rows: int) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "model_version": self.model.version,
            "source_digest": self.digest(),
            "settings": settings_key(self.model, method),
            "method": method,
            "window_rows": window_rows,
        }

    def _load(self, method: str, window_rows: int) -> dict | None:
        where = self._where(method, window_rows)
        df = self.wh.query(
            f"SELECT payload FROM {ident(MULTIVARIATE_FITS_TABLE.name)} WHERE "
            + " AND ".join(f"{ident(k)} = ?" for k in where),
            list(where.values()),
        )
        return json.loads(df["payload"].iloc[0]) if len(df) else None

    def _store(self, method: str, window_rows: int, payload: dict) -> None:
        row = {
            **self._where(method, window_rows),
            "payload": json.dumps(payload),
            "computed_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
        }
        frame = pd.DataFrame([row], columns=list(MULTIVARIATE_FITS_TABLE.columns))
        self.wh.replace(MULTIVARIATE_FITS_TABLE.name, frame, self._where(method, window_rows))

    # ------------------------------------------------------------------ reconstruction
    def reconstruction(self) -> ReconstructionDrift:
        """The fitted reconstruction (stored, or fitted now and stored); raises
        :class:`NotComputable` with the stored reason when the reference cannot fit."""
        if self._recon is None and self._recon_reason is None:
            stored = self._load(RECONSTRUCTION, 0)
            if stored is None:
                try:
                    rd = ReconstructionDrift(self.features, self.settings).fit(self.reference())
                    assert rd.fitted is not None
                    stored = {"fit": rd.fitted.to_dict()}
                except NotComputable as exc:
                    stored = {"not_computable": str(exc)}
                self._store(RECONSTRUCTION, 0, stored)
                self.refitted.append(RECONSTRUCTION)
            if "not_computable" in stored:
                self._recon_reason = stored["not_computable"]
            else:
                fit = ReconstructionFit.from_dict(stored["fit"])
                self._recon = ReconstructionDrift.from_fit(self.features, self.settings, fit)
        if self._recon is None:
            raise NotComputable(str(self._recon_reason))
        return self._recon

    def reconstruction_threshold(self, rows: int) -> Threshold:
        """WARN/ERROR levels of a day of ``rows`` rows (per size bucket, stored)."""
        bucket = size_bucket(rows)
        if bucket not in self._thresholds:
            stored = self._load(RECONSTRUCTION, bucket)
            if stored is None:
                t = self._calibrate(bucket)
                self._store(RECONSTRUCTION, bucket, t.to_dict())
                self.refitted.append(f"thresholds {bucket}")
            else:
                t = Threshold.from_dict(stored)
            self._thresholds[bucket] = t
        return self._thresholds[bucket]

    def _calibrate(self, bucket: int) -> Threshold:
        rd = self.reconstruction()
        assert rd.fitted is not None
        mode = self.model.thresholds.mode_for(RECONSTRUCTION_CHECK)
        cal = self.model.thresholds.calibration
        if mode == FIXED or bucket < 2:
            return reconstruction_thresholds(rd.fitted, np.array([]), bucket, cal, "rows", FIXED)
        ref = self.reference()
        if self._ref_errors is None:
            self._ref_errors = rd.errors(ref)
        ts = self.model.columns.timestamp
        frame = pd.DataFrame({"_row": np.arange(len(ref))})
        if ts in ref.columns:
            frame[ts] = ref[ts].to_numpy()
        chunks, chunk_by = chunk_frame(frame, bucket, cal, ts if ts in ref.columns else None)
        errs = self._ref_errors[chunks["_row"].to_numpy()]
        means = pd.Series(errs).groupby(chunks["_chunk"].to_numpy()).mean().to_numpy()
        return reconstruction_thresholds(rd.fitted, means, bucket, cal, chunk_by, mode)

    # ------------------------------------------------------------------ per day
    def judge(self, method: str, day: pd.DataFrame) -> MultivariateResult:
        """``method``'s result for one day's inference log ``day``."""
        rows = len(day)
        missing = [f for f in self.features if f not in day.columns]
        if missing:
            return MultivariateResult(
                method, NOT_COMPUTABLE, rows, reason=f"the day has no column(s) {missing}"
            )
        if rows == 0:
            return MultivariateResult(method, NOT_COMPUTABLE, 0, reason="no rows on the day")
        try:
            rd = self.reconstruction()
        except NotComputable as exc:
            return MultivariateResult(method, NOT_COMPUTABLE, rows, reason=str(exc))
        assert rd.fitted is not None
        details = _day_notes(day, rd.fitted.encoding.excluded, self.features)
        min_rows = self.model.window.min_day_rows
        if method == RECONSTRUCTION:
            value = float(rd.errors(day).mean())
            details |= {
                "components": int(rd.fitted.components.shape[0]),
                "coded_columns": rd.fitted.encoding.width,
                "explained_variance": round(rd.fitted.explained, 4),
            }
            if rows < min_rows:
                return MultivariateResult(
                    method,
                    INSUFFICIENT,
                    rows,
                    value,
                    rd.fitted.reference_error_mean,
                    reason=f"insufficient data ({rows} rows < {min_rows}, window.min_day_rows)",
                    details=details,
                )
            return MultivariateResult(
                method,
                COMPUTED,
                rows,
                value,
                rd.fitted.reference_error_mean,
                self.reconstruction_threshold(rows),
                details=details,
            )
        if rows < min_rows:
            return MultivariateResult(
                method,
                INSUFFICIENT,
                rows,
                reason=f"insufficient data ({rows} rows < {min_rows}, window.min_day_rows)",
                details=details,
            )
        enc = rd.fitted.encoding
        dc = self.settings.domain_classifier
        if self._dc_reference is None:
            # coded once per monitor, from a seeded sample: never the whole reference
            ref = self.reference()
            n = min(len(ref), dc.max_rows)
            pick = np.sort(
                np.random.default_rng(MULTIVARIATE_SEED).choice(len(ref), n, replace=False)
            )
            self._dc_reference = enc.transform(ref.iloc[pick])
        try:
            auc, n_ref, n_day = domain_classifier_auc(
                self._dc_reference, day, dc, encode=enc.transform
            )
        except NotComputable as exc:
            return MultivariateResult(method, NOT_COMPUTABLE, rows, reason=str(exc))
        t = domain_threshold(n_ref, n_day, dc, self.model.thresholds.calibration)
        details |= {"reference_rows_used": n_ref, "day_rows_used": n_day, "folds": dc.folds}
        return MultivariateResult(method, COMPUTED, rows, auc, 0.5, t, details=details)


def _day_notes(day: pd.DataFrame, excluded: dict[str, str], features: dict[str, str]) -> dict:
    notes: dict[str, Any] = {}
    if excluded:
        notes["excluded"] = excluded
    nulls = {
        f: round(float(day[f].isna().mean()), 4)
        for f in features
        if f not in excluded and len(day) and day[f].isna().any()
    }
    if nulls:
        notes["missing_share_imputed"] = nulls
    return notes


# --------------------------------------------------------------------------- storage


def result_rows(
    model: ModelConfig,
    date: dt.date,
    result: MultivariateResult,
    reference: str,
    run_id: str,
) -> dict[str, Any]:
    t = result.threshold
    return {
        "model": model.name,
        "model_version": model.version,
        "partition_date": date,
        "method": result.method,
        "status": result.status,
        "rows": result.rows,
        "value": result.value,
        "reference_value": result.reference_value,
        "threshold": t.warn if t else None,
        "threshold_error": t.error if t else None,
        "threshold_mode": t.mode if t else None,
        "threshold_source": t.source if t else None,
        "reason": result.reason,
        "details": json.dumps(result.details, sort_keys=True),
        "reference": reference,
        "run_id": run_id,
        "computed_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
    }


def store_results(
    wh: Warehouse, model: ModelConfig, method: str, rows: list[dict], dates: list[dt.date]
) -> None:
    """Replace ``method``'s rows of ``dates`` (delete-then-insert, one transaction)."""
    frame = pd.DataFrame(rows, columns=list(MULTIVARIATE_RESULTS_TABLE.columns))
    wh.replace(
        MULTIVARIATE_RESULTS_TABLE.name,
        frame,
        {"model": model.name, "method": method, "partition_date": sorted(dates)},
    )


def stored_results(
    wh: Warehouse, model: ModelConfig, method: str, keys: list[str]
) -> dict[str, MultivariateResult]:
    """The stored results of ``method`` for partition keys ``keys``."""
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    df = wh.query(
        f"SELECT * FROM {ident(MULTIVARIATE_RESULTS_TABLE.name)} WHERE {ident('model')} = ? "
        f"AND {ident('method')} = ? AND {ident('partition_date')} IN ({marks})",
        [model.name, method, *[dt.date.fromisoformat(k) for k in keys]],
    )
    out: dict[str, MultivariateResult] = {}
    for r in df.to_dict("records"):
        t = None
        if _num(r["threshold"]) is not None:
            t = Threshold(
                float(r["threshold"]),
                float(r["threshold_error"]),
                str(r["threshold_mode"]),
                str(r["threshold_source"]),
            )
        out[pd.Timestamp(r["partition_date"]).date().isoformat()] = MultivariateResult(
            r["method"],
            r["status"],
            int(r["rows"] or 0),
            _num(r["value"]),
            _num(r["reference_value"]),
            t,
            str(r["reason"] or ""),
            json.loads(r["details"] or "{}"),
        )
    return out


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


STATISTIC = {RECONSTRUCTION: "mean reconstruction error", DOMAIN_CLASSIFIER: "ROC AUC"}


def multivariate_outcome(result: MultivariateResult, partition: str) -> CheckOutcome:
    """The check's verdict on one stored day: WARN above the warn level, ERROR above the
    error level; insufficient data passes and says so; not computable is a failed WARN."""
    check = CHECKS[result.method]
    what = STATISTIC[result.method]
    meta: dict[str, Any] = {"rows": result.rows, "status": result.status}
    if result.value is not None:
        meta["value"] = float(result.value)
    if result.status == NOT_COMPUTABLE:
        return CheckOutcome(
            check, False, "WARN", f"not computable on {partition}: {result.reason}", meta
        )
    if result.status == INSUFFICIENT:
        meta["insufficient_data"] = True
        return CheckOutcome(check, True, "WARN", f"{result.reason}; not judged", meta)
    t = result.threshold
    assert t is not None and result.value is not None
    meta |= {
        "threshold": t.warn,
        "threshold_error": t.error,
        "threshold_mode": t.mode,
        "threshold_source": t.source,
    }
    if result.reference_value is not None:
        meta["reference_value"] = float(result.reference_value)
    verdict = result.verdict
    desc = (
        f"{what} {result.value:.4f} on {result.rows} rows vs WARN {t.warn:.4f} / "
        f"ERROR {t.error:.4f} ({t.source})"
    )
    if verdict == "OK":
        return CheckOutcome(check, True, "WARN", desc, meta)
    return CheckOutcome(check, False, verdict, f"multivariate drift: {desc}", meta)  # type: ignore[arg-type]
