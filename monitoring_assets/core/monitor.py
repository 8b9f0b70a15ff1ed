"""The drift monitor of one model: its methods, thresholds and check rules, in one object.

Shaped like NannyML's calculators: ``DriftMonitor(model).fit(reference)`` once, then
``.calculate(current)`` for every day, stream window or any other profile. A calculation
(:class:`DriftResult`) holds the per-feature results, the dataset result over the
features, the prediction's result and the check outcomes. The batch ``data_drift`` /
``prediction_drift`` assets, their per-day checks and the stream consumer all go through
it, so the rules below are written once:

- ``drift_share_below_threshold``: the share of drifted features among the testable
  ones is below ``drift_share_warn``; it fails as WARN, as ERROR at or above
  ``drift_share_error`` (inclusive, as Evidently's dataset drift is); no testable
  feature is a failed WARN ("not computable").
- ``critical_features_not_drifted``: no feature marked ``critical`` drifted (ERROR); a
  critical feature that cannot be tested is a failed WARN. A critical feature with a
  calibrated threshold is judged at its error level (:func:`critical_drifted`): the
  check only pages, so it is held to the level of an error, not of a warning.
- ``prediction_drift_below_threshold``: distance scores of the prediction column are
  graded against ``prediction_drift_score_warn``/``_error``; p-value methods (small
  references) fail as WARN when the test says drift.

Thresholds: each feature's and the prediction column's threshold comes from the model
file's mode (:meth:`~monitoring_assets.core.config.Thresholds.mode_for`, with the check
``drift_share_below_threshold`` for features and ``prediction_drift_below_threshold``
for the prediction column). ``fixed`` keeps Evidently's numbers exactly; ``auto`` and
``calibrated`` use the thresholds of the monitor's ``calibration``
(:mod:`monitoring_assets.core.calibration`) for the current window's row count, and
fall back to the fixed number — saying why — when calibration cannot apply. Without a
``calibration`` object every threshold is fixed (Evidently's). A calibrated prediction
column is WARN at the calibrated warn level and ERROR at the error level, for distance
and p-value methods alike. Every :class:`ColumnDrift` carries ``threshold_mode`` and
``threshold_source``; the feature checks' metadata keep numbers only (``threshold/<f>``,
``calibrated_features``, ``fixed_features``) and their description names the sources
(:func:`threshold_summary`); the prediction check's metadata has ``threshold_mode`` and
``threshold_source`` too.

A check that cannot be evaluated never passes, with one exception: a window with too
few rows (:meth:`DriftMonitor.insufficient`, reason "insufficient data (N rows < M)")
passes every check and says so. :meth:`DriftResult.verdict` folds the outcomes into one
:data:`~monitoring_assets.core.checks.Verdict`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from monitoring_assets.core.calibration import CALIBRATED, FIXED, ThresholdSource
from monitoring_assets.core.checks import CheckOutcome, Verdict, worst_verdict
from monitoring_assets.core.config import Feature, ModelConfig
from monitoring_assets.core.drift import (
    DISTANCE_METHODS,
    EVIDENTLY_DEFAULT,
    INSUFFICIENT_DATA,
    P_VALUE_METHODS,
    ColumnDrift,
    DatasetDrift,
    column_drift,
    dataset_drift,
    dataset_from_columns,
    is_drifted,
    not_computable,
)
from monitoring_assets.core.profile import ColumnProfile, DatasetProfile, Kind

DRIFT_SHARE_BELOW_THRESHOLD = "drift_share_below_threshold"
CRITICAL_FEATURES_NOT_DRIFTED = "critical_features_not_drifted"
PREDICTION_DRIFT_BELOW_THRESHOLD = "prediction_drift_below_threshold"
#: The checks on the features (the ``data_drift`` asset) and on the model output.
DATA_DRIFT_CHECKS = (DRIFT_SHARE_BELOW_THRESHOLD, CRITICAL_FEATURES_NOT_DRIFTED)
PREDICTION_DRIFT_CHECKS = (PREDICTION_DRIFT_BELOW_THRESHOLD,)


def prediction_column(model: ModelConfig) -> str:
    """The column whose distribution prediction drift compares: the probability, or the
    predicted class when the model logs no probability; for regression and multiclass
    models the prediction (a number, or a class)."""
    if not model.is_binary:
        return model.columns.prediction
    return model.columns.probability or model.columns.prediction


def _kind_of(model: ModelConfig, column: str) -> Kind:
    if column == model.columns.prediction:
        return model.target_kind
    return "numerical" if column == model.columns.probability else "categorical"


@dataclass(frozen=True)
class DriftResult:
    """One calculation: the features against the reference, the prediction, the checks."""

    reference: str
    dataset: DatasetDrift
    prediction: ColumnDrift
    critical_drifted: tuple[str, ...]
    outcomes: tuple[CheckOutcome, ...]

    @property
    def features(self) -> dict[str, ColumnDrift]:
        """Per-feature results, in the model file's feature order."""
        return self.dataset.columns

    @property
    def drift_share(self) -> float | None:
        """Share of drifted features among the testable ones (None when none is)."""
        return None if self.dataset.n_columns == 0 else self.dataset.share_drifted

    @property
    def drifted(self) -> list[str]:
        return [c for c, r in self.features.items() if r.drifted]

    def outcome(self, check: str) -> CheckOutcome:
        (found,) = [o for o in self.outcomes if o.check == check]
        return found

    def verdict(self, checks: Iterable[str] = DATA_DRIFT_CHECKS) -> Verdict:
        """The worst verdict of ``checks`` (by default the two feature checks)."""
        wanted = set(checks)
        return worst_verdict(o for o in self.outcomes if o.check in wanted)


class DriftMonitor:
    """One model's drift rules, fitted on a reference profile (see the module docstring).

    ``prediction`` names the model-output column judged by prediction drift (default:
    :func:`prediction_column`); it does not count towards the drifted share.
    ``calibration`` gives calibrated thresholds per window size (None: every threshold
    is fixed, Evidently's).
    """

    def __init__(
        self,
        model: ModelConfig,
        prediction: str | None = None,
        calibration: ThresholdSource | None = None,
    ):
        self.model = model
        self.calibration = calibration
        self.prediction = prediction or prediction_column(model)
        self.methods = {f.name: f.drift_method for f in model.features}
        self.thresholds = {f.name: f.drift_threshold for f in model.features}
        self.critical = tuple(f.name for f in model.features if f.critical)
        self.reference: DatasetProfile | None = None
        self.label = ""
        self.reason = ""
        self._fitted = False

    # ------------------------------------------------------------------ fit / calculate
    def fit(
        self, reference: DatasetProfile | None, label: str = "", reason: str = ""
    ) -> DriftMonitor:
        """Learn the reference. ``None`` means there is none (say why in ``reason``):
        every result is then not computable, for that reason."""
        if reference is not None:
            missing = [f for f in self.model.feature_names if f not in reference.columns]
            if missing:
                raise ValueError(
                    f"model {self.model.name!r}: the reference profile lacks feature(s) {missing}"
                )
        elif not reason:
            raise ValueError("fit(None) needs a reason: why is there no reference?")
        self.reference, self.label, self.reason = reference, label, reason
        self._fitted = True
        return self

    def calculate(self, current: DatasetProfile) -> DriftResult:
        """Drift of ``current`` against the fitted reference, and the check outcomes."""
        if not self._fitted:
            raise RuntimeError("DriftMonitor.calculate() before fit(reference)")
        features = self.model.feature_names
        drift_share = self.model.thresholds.drift.drift_share
        if self.reference is None:
            return self.not_judged(self.reason)
        dataset = dataset_drift(
            self.reference,
            current,
            columns=features,
            methods=self.methods,
            thresholds=self.thresholds,
            drift_share=drift_share,
        )
        judged = {
            f.name: self.judge(
                dataset.columns[f.name], DRIFT_SHARE_BELOW_THRESHOLD, f, current.rows
            )
            for f in self.model.features
        }
        dataset = dataset_from_columns(judged, drift_share)
        prediction = self.column(current, self.prediction, _kind_of(self.model, self.prediction))
        return self._result(dataset, prediction)

    def not_judged(self, reason: str) -> DriftResult:
        """Every column not computable for ``reason`` (no check passes unless the reason
        is insufficient data)."""
        drift_share = self.model.thresholds.drift.drift_share
        nc = {f.name: not_computable(f.name, f.type, reason) for f in self.model.features}
        dataset = DatasetDrift(
            nc, drift_share, 0, 0, math.nan, False, tuple(self.model.feature_names)
        )
        kind = _kind_of(self.model, self.prediction)
        return self._result(dataset, not_computable(self.prediction, kind, reason))

    def insufficient(self, rows: int, min_rows: int, what: str = "") -> DriftResult:
        """The result of a window too small to judge: "insufficient data (N rows < M)";
        every check passes and says so."""
        where = f" in {what}" if what else ""
        return self.not_judged(f"{INSUFFICIENT_DATA} ({rows} rows < {min_rows}{where})")

    def _result(self, dataset: DatasetDrift, prediction: ColumnDrift) -> DriftResult:
        outcomes = (
            *self.feature_outcomes(dataset.columns),
            self.prediction_outcome(prediction),
        )
        critical = tuple(c for c in self.critical if critical_drifted(dataset.columns[c]))
        return DriftResult(self.label, dataset, prediction, critical, outcomes)

    def column(
        self,
        current: DatasetProfile,
        column: str,
        kind: Kind,
        check: str = PREDICTION_DRIFT_BELOW_THRESHOLD,
    ) -> ColumnDrift:
        """Drift of one non-feature column (prediction, probability, target), with
        Evidently's default method, at the threshold ``check``'s mode gives."""
        if self.reference is None:
            return not_computable(column, kind, self.reason)
        r = self.reference.columns.get(column)
        if r is None:
            return not_computable(column, kind, f"the reference has no column {column!r}")
        c = current.columns.get(column) or ColumnProfile(
            column, r.kind, "ABSENT", current.rows, present=False
        )
        return self.judge(column_drift(r, c), check, None, current.rows)

    # ------------------------------------------------------------------ thresholds
    def judge(
        self, result: ColumnDrift, check: str, feature: Feature | None, rows: int
    ) -> ColumnDrift:
        """``result`` judged at the threshold its mode gives for a window of ``rows``
        rows (see the module docstring), saying which threshold and where it came from."""
        if not result.computable or result.method is None:
            return result
        mode = self.model.thresholds.mode_for(check, feature)
        fixed = self._fixed_source(result, feature)
        if mode == FIXED or self.calibration is None:
            return replace(result, threshold_mode=FIXED, threshold_source=fixed)
        window = self.calibration.for_rows(rows)
        ct = window.column(result.column)
        if ct is None:
            why = window.reason or f"fixed: {result.column} was not calibrated"
            return replace(result, threshold_mode=FIXED, threshold_source=why)
        if ct.mode != CALIBRATED or ct.warn is None:
            return replace(result, threshold_mode=FIXED, threshold_source=ct.source)
        if ct.method != result.method:
            return replace(
                result,
                threshold_mode=FIXED,
                threshold_source=(
                    f"fixed: calibrated for {ct.method}, this window's method is {result.method}"
                ),
            )
        return replace(
            result,
            threshold=ct.warn,
            threshold_error=ct.error,
            drifted=is_drifted(result.method, result.score, ct.warn),
            threshold_mode=CALIBRATED,
            threshold_source=ct.source,
        )

    def _fixed_source(self, result: ColumnDrift, feature: Feature | None) -> str:
        if feature is not None and feature.drift_threshold is not None:
            return "model file drift_threshold"
        if feature is None and result.method in DISTANCE_METHODS:
            return "model file prediction_drift_score_warn/error"
        return EVIDENTLY_DEFAULT

    # ------------------------------------------------------------------ the check rules
    def feature_outcomes(
        self, features: Mapping[str, ColumnDrift], critical: Collection[str] | None = None
    ) -> list[CheckOutcome]:
        """``drift_share_below_threshold`` and ``critical_features_not_drifted`` from
        per-feature results (``critical``: the critical features, default the model's)."""
        thr = self.model.thresholds.drift
        crit = set(self.critical if critical is None else critical)
        ok = {n: r for n, r in features.items() if r.computable}
        nc = {n: r for n, r in features.items() if not r.computable}
        nc_text = "; ".join(f"{n}: {r.reason}" for n, r in nc.items())
        base: dict[str, Any] = {
            "drift_share_warn": thr.drift_share_warn,
            "drift_share_error": thr.drift_share_error,
            "not_computable_features": len(nc),
            "calibrated_features": sum(r.threshold_mode == CALIBRATED for r in ok.values()),
            "fixed_features": sum(r.threshold_mode != CALIBRATED for r in ok.values()),
        }
        for n, r in ok.items():
            base[f"threshold/{n}"] = float(r.threshold)  # type: ignore[arg-type]
        insufficient = [r for r in features.values() if r.insufficient]
        if not ok and insufficient:
            reason = insufficient[0].reason
            meta = {**base, "insufficient_data": True}
            return [
                CheckOutcome(DRIFT_SHARE_BELOW_THRESHOLD, True, "WARN", reason, meta),
                CheckOutcome(CRITICAL_FEATURES_NOT_DRIFTED, True, "ERROR", reason, meta),
            ]
        if not ok:
            share = CheckOutcome(
                DRIFT_SHARE_BELOW_THRESHOLD,
                False,
                "WARN",
                f"not computable: no feature could be tested ({nc_text or 'no features'})",
                base,
            )
        else:
            drifted = sorted(n for n, r in ok.items() if r.drifted)
            value = len(drifted) / len(ok)
            text = f"{len(drifted)} of {len(ok)} features drifted (share {value:.3f})" + (
                f": {', '.join(drifted)}" if drifted else ""
            )
            if nc:
                text += f"; not computable: {nc_text}"
            text += f"; {threshold_summary(ok.values())}"
            share = CheckOutcome(
                DRIFT_SHARE_BELOW_THRESHOLD,
                value < thr.drift_share_warn,
                # Evidently's dataset drift is share >= drift_share: the levels are inclusive.
                "ERROR" if value >= thr.drift_share_error else "WARN",
                text,
                {
                    **base,
                    "drift_share": value,
                    "drifted_features": len(drifted),
                    "tested_features": len(ok),
                },
            )
        return [share, self._critical_outcome(features, crit)]

    @staticmethod
    def _critical_outcome(features: Mapping[str, ColumnDrift], crit: set[str]) -> CheckOutcome:
        critical = {n: r for n, r in features.items() if n in crit}
        drifted = sorted(n for n, r in critical.items() if critical_drifted(r))
        untested = {n: r for n, r in critical.items() if not r.computable}
        meta: dict[str, Any] = {
            "critical_features": len(critical),
            "critical_drifted": len(drifted),
            "critical_not_computable": len(untested),
        }
        for n, r in critical.items():
            if _finite(r.score):
                meta[f"score/{n}"] = float(r.score)
                meta[f"threshold/{n}"] = float(_critical_level(r))  # type: ignore[arg-type]
        name = CRITICAL_FEATURES_NOT_DRIFTED
        if drifted:
            shown = ", ".join(_critical_text(n, critical[n]) for n in drifted)
            return CheckOutcome(name, False, "ERROR", f"critical feature(s) drifted: {shown}", meta)
        if untested:
            text = "; ".join(f"{n}: {r.reason}" for n, r in untested.items())
            return CheckOutcome(name, False, "WARN", f"not computable: {text}", meta)
        names = ", ".join(critical) or "none configured"
        return CheckOutcome(name, True, "ERROR", f"no drift in critical features ({names})", meta)

    def prediction_outcome(self, result: ColumnDrift | None) -> CheckOutcome:
        """``prediction_drift_below_threshold`` from the prediction column's result
        (``None``: no result stored)."""
        thr = self.model.thresholds.drift
        name = PREDICTION_DRIFT_BELOW_THRESHOLD
        if result is not None and result.insufficient:
            return CheckOutcome(name, True, "WARN", result.reason, {"insufficient_data": True})
        if result is None or not result.computable:
            reason = result.reason if result is not None else "no result stored"
            return CheckOutcome(name, False, "WARN", f"not computable: {reason}", {})
        score, method = float(result.score), result.method
        meta = {
            "score": score,
            "method": method,
            "method_threshold": float(result.threshold),  # type: ignore[arg-type]
            "prediction_drift_score_warn": thr.prediction_drift_score_warn,
            "prediction_drift_score_error": thr.prediction_drift_score_error,
            **_threshold_meta(result),
        }
        if result.threshold_mode == CALIBRATED and result.threshold is not None:
            warn, error = float(result.threshold), result.threshold_error
            err = error is not None and is_drifted(method, score, error)  # type: ignore[arg-type]
            passed = not is_drifted(method, score, warn)  # type: ignore[arg-type]
            unit = "" if method in DISTANCE_METHODS else " p-value"
            text = (
                f"{result.column} {method}{unit} {score:.4g} (warn {warn:.4g}, error "
                f"{error if error is None else f'{error:.4g}'}; {result.threshold_source})"
            )
            meta["prediction_drift_score_warn"] = warn
            meta["prediction_drift_score_error"] = error
            return CheckOutcome(name, passed, "ERROR" if err else "WARN", text, meta)
        if method in DISTANCE_METHODS:
            severity = "ERROR" if score >= thr.prediction_drift_score_error else "WARN"
            passed = score < thr.prediction_drift_score_warn
            text = (
                f"{result.column} {method} {score:.4g} (warn {thr.prediction_drift_score_warn}, "
                f"error {thr.prediction_drift_score_error})"
            )
        else:
            severity, passed = "WARN", not result.drifted
            text = f"{result.column} {method} p-value {score:.4g} (drift below {result.threshold})"
        return CheckOutcome(name, passed, severity, text, meta)


def _at_error_level(r: ColumnDrift) -> bool:
    return r.threshold_mode == CALIBRATED and _finite(r.threshold_error)


def _critical_level(r: ColumnDrift) -> float | None:
    """The level a critical feature is judged at: its calibrated error level, else its
    (fixed) drift threshold."""
    return r.threshold_error if _at_error_level(r) else r.threshold


def critical_drifted(r: ColumnDrift) -> bool:
    """Whether critical feature ``r`` fails ``critical_features_not_drifted``.

    The check is ERROR-only, so a calibrated critical feature is judged at its error
    level (``threshold_error``, mean + k_error·σ): at the warn level (mean + k·σ) the
    chance crossings of small days page as often as a drift-share warning would. A
    feature judged at a fixed threshold keeps its drift verdict (Evidently's)."""
    if not r.computable:
        return False
    if not _at_error_level(r) or r.method is None:
        return bool(r.drifted)
    return is_drifted(r.method, r.score, r.threshold_error)  # type: ignore[arg-type]


def _critical_text(name: str, r: ColumnDrift) -> str:
    at = "error level" if _at_error_level(r) else "threshold"
    level = _critical_level(r)
    where = f"{r.threshold_mode}: {r.threshold_source}"
    if r.method in P_VALUE_METHODS:
        return f"{name} (p {r.score:.4g} <= {at} {level:.4g}, {where})"
    return f"{name} ({r.score:.4g} >= {at} {level:.4g}, {where})"


def threshold_summary(results: Iterable[ColumnDrift]) -> str:
    """Which thresholds judged ``results``, grouped by where they came from
    ("thresholds: 6 calibrated (exp(mean+3σ of log score) of …), 1 fixed (fixed: constant on the reference)")."""
    groups: dict[tuple[str, str], int] = {}
    for r in results:
        key = (r.threshold_mode, r.threshold_source)
        groups[key] = groups.get(key, 0) + 1
    parts = [f"{n} {mode} ({source})" for (mode, source), n in groups.items()]
    return "thresholds: " + (", ".join(parts) or "none")


def _threshold_meta(r: ColumnDrift, suffix: str = "") -> dict[str, Any]:
    """Which threshold judged ``r`` and where it came from, as check metadata."""
    meta: dict[str, Any] = {
        f"threshold_mode{suffix}": r.threshold_mode,
        f"threshold_source{suffix}": r.threshold_source,
    }
    if _finite(r.threshold):
        meta[f"threshold{suffix}"] = float(r.threshold)  # type: ignore[arg-type]
    if _finite(r.threshold_error):
        meta[f"threshold_error{suffix}"] = float(r.threshold_error)  # type: ignore[arg-type]
    return meta


def _finite(v: float | None) -> bool:
    return v is not None and math.isfinite(v)
