"""The model file's ``thresholds``: their mode, how calibrated ones are derived, and the
fixed numbers of the drift, quality and performance checks."""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, Field, model_validator

from monitoring_assets.core.config_fields import SafeName, Strict

#: How a threshold is set: ``fixed`` (the configured / Evidently default numbers),
#: ``calibrated`` (derived from reference chunks of the monitored window's size), or
#: ``auto`` (calibrated when the reference yields at least ``calibration.min_chunks``
#: chunks of the window's size, else fixed). Every result says which one was used.
ThresholdMode = Literal["auto", "calibrated", "fixed"]


class FeatureThresholds(Protocol):
    """What :meth:`Thresholds.mode_for` reads of a feature
    (a :class:`~monitoring_assets.core.config.Feature`)."""

    @property
    def thresholds(self) -> ThresholdMode | None: ...

    @property
    def drift_threshold(self) -> float | None: ...


def _warn_below_error(obj: BaseModel) -> BaseModel:
    """Every ``<name>_warn`` / ``<name>_error`` pair must have warn at or below error
    (for floors, ``<name>_floor_warn`` at or above ``_error``): a warning that comes
    after the error makes no sense."""
    values = obj.model_dump()
    for key, warn in values.items():
        if not key.endswith("_warn") or warn is None:
            continue
        err_key = key[: -len("_warn")] + "_error"
        err = values.get(err_key)
        if err is None:
            continue
        if warn > err:
            raise ValueError(f"{key} ({warn}) is above {err_key} ({err}): warn must be <= error")
    return obj


class Calibration(Strict):
    """How calibrated thresholds are derived from the reference.

    The reference is split into chunks of the monitored window's size (by period when it
    has timestamps spanning enough periods, else by rows); each chunk's statistic
    against the reference gives a distribution, and the threshold is
    ``mean + k·σ`` of it (``rule: sigma``) or its ``quantile`` (``rule: quantile``).
    Drift statistics are oriented so that larger means more drift (p-values as
    ``-log10(p)``); performance bands are ``mean − k·σ`` (lower edge).
    """

    rule: Literal["sigma", "quantile"] = "sigma"
    k: float = Field(3.0, gt=0, description="warn level (and a feature's drift level), in σ")
    k_error: float = Field(6.0, gt=0, description="error level of warn/error checks, in σ")
    quantile: float = Field(0.99, gt=0.5, lt=1, description="rule: quantile — warn level")
    quantile_error: float = Field(0.999, gt=0.5, lt=1, description="rule: quantile — error level")
    min_chunks: int = Field(10, ge=2, description="fewer chunks than this: fixed thresholds")
    max_chunks: int = Field(200, ge=2, description="at most this many chunks (a seeded sample)")

    @model_validator(mode="after")
    def _ordered(self) -> Calibration:
        if self.k_error < self.k:
            raise ValueError(f"k_error ({self.k_error}) is below k ({self.k}): must be >= k")
        if self.quantile_error < self.quantile:
            raise ValueError(
                f"quantile_error ({self.quantile_error}) is below quantile ({self.quantile})"
            )
        if self.max_chunks < self.min_chunks:
            raise ValueError(
                f"max_chunks ({self.max_chunks}) is below min_chunks ({self.min_chunks})"
            )
        return self


class DriftThresholds(Strict):
    drift_share: float = Field(0.5, gt=0, le=1, description="Evidently's dataset drift share")
    drift_share_warn: float = Field(0.3, gt=0, le=1)
    drift_share_error: float = Field(0.5, gt=0, le=1)
    prediction_drift_score_warn: float = 0.1
    prediction_drift_score_error: float = 0.2

    _ordered = model_validator(mode="after")(_warn_below_error)


class QualityThresholds(Strict):
    missing_share_warn: float = 0.05
    missing_share_error: float = 0.2
    unseen_category_share_warn: float = 0.01
    unseen_category_share_error: float = 0.1
    out_of_range_share_warn: float = 0.05
    out_of_range_share_error: float = 0.2
    row_count_change_warn: float = 0.3
    row_count_change_error: float = 0.6
    duplicate_id_share_warn: float = 0.0
    duplicate_id_share_error: float = 0.01

    _ordered = model_validator(mode="after")(_warn_below_error)


class PerformanceWindow(Strict):
    """A day with fewer than ``min_rows`` labelled (or estimated) rows is judged together
    with its trailing stored days of the same model version, newest first, until the
    window holds ``min_rows`` rows or spans ``max_days`` calendar days (the judged day
    included); ``max_days: 1`` judges every day alone."""

    min_rows: int = Field(
        500, ge=1, description="a day below this many labelled rows is judged on its window"
    )
    max_days: int = Field(
        14, ge=1, le=366, description="a window spans at most this many calendar days"
    )


class PerformanceThresholds(Strict):
    accuracy_floor: float | None = Field(
        None,
        description=(
            "absolute accuracy floor (ERROR below it). Unset: accuracy_above_floor uses the "
            "reference band's error edge (calibrated) or reference accuracy - 2*accuracy_drop "
            "(fixed). Set: it applies in fixed mode, and with a band the higher of the two applies"
        ),
    )
    accuracy_drop: float = 0.05
    f1_drop: float = 0.05
    loss_increase: float = Field(
        0.2,
        gt=0,
        description=(
            "regression, fixed thresholds: MAE/RMSE above reference x (1 + loss_increase) "
            "warns, above reference x (1 + 2 * loss_increase) is an error"
        ),
    )
    estimated_accuracy_drop: float = 0.05
    min_label_coverage: float = 0.8
    max_calibration_error: float = 0.1
    calibration_error_min_rows: int = Field(
        100,
        ge=1,
        description=(
            "auto/calibrated: a day with fewer labelled rows passes calibration_error_within_"
            "limit as insufficient data (ten bins of ten rows; below, the error is mostly noise)"
        ),
    )
    window: PerformanceWindow = Field(default_factory=PerformanceWindow)
    significance: float = Field(
        0.001,
        gt=0,
        lt=1,
        description=(
            "concept_drift's per-day false-alarm rate (one-sided p-value limit); 0.05 "
            "would fire on about one healthy day in 25"
        ),
    )
    concept_drift_min_gap: float = Field(
        0.02,
        ge=0,
        description=(
            "concept_drift: realized accuracy must also be this far below the label-free "
            "estimate on the same rows (besides significant at 'significance')"
        ),
    )


class Thresholds(Strict):
    """``mode`` is global; ``checks`` overrides it per check, a feature's ``thresholds``
    per feature. ``thresholds: calibrated`` (a bare mode) is short for ``{mode: …}``."""

    mode: ThresholdMode = "auto"
    calibration: Calibration = Field(default_factory=Calibration)
    checks: dict[SafeName, ThresholdMode] = Field(
        default_factory=dict, description="check name -> threshold mode"
    )
    drift: DriftThresholds = Field(default_factory=DriftThresholds)
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    performance: PerformanceThresholds = Field(default_factory=PerformanceThresholds)

    @model_validator(mode="before")
    @classmethod
    def _bare_mode(cls, v: object) -> object:
        return {"mode": v} if isinstance(v, str) else v

    def mode_for(self, check: str, feature: FeatureThresholds | None = None) -> ThresholdMode:
        """The threshold mode of ``check`` (for ``feature``, when it is per feature):
        the feature's own, else the check's override, else the global mode. A feature
        with a ``drift_threshold`` of its own is ``fixed``."""
        if feature is not None:
            if feature.thresholds is not None:
                return feature.thresholds
            if feature.drift_threshold is not None:
                return "fixed"
        return self.checks.get(check, self.mode)
