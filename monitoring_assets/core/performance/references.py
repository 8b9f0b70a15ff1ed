"""Which model version a day is measured against, and what that version expects.

A day's realized and estimated performance are compared with the version that was
champion for that day (:meth:`ModelRegistry.champion_for`): its validation performance,
its CBPE calibration and, when the log does not say which version served a row, its
predictions. After a promotion effective from day P, days >= P follow the new version;
earlier days keep their results.

The configured version (the model file's ``version``) is registered as the first
champion on first use, with its reference performance and calibration computed from
the validation set ``reference_data`` wrote to the lake (:func:`ensure_registry`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import MonitorInputError
from monitoring_assets.core.performance.bands import BandStore
from monitoring_assets.core.performance.cbpe import CBPE
from monitoring_assets.core.performance.labels import PerformanceInputError
from monitoring_assets.core.performance.metrics import Metrics, classification_metrics
from monitoring_assets.core.ports import Lake, Warehouse, version_key
from monitoring_assets.core.registry import ModelRegistry

#: Builds the estimator that served the logged predictions (registered with the first
#: version); called only when the registry does not know the model yet.
ServedEstimator = Callable[[], Any]


class MissingReference(MonitorInputError):
    """A version's reference data or results are missing; the message says what to run."""


@dataclass(frozen=True)
class VersionReference:
    """What a partition is compared against: one model version's validation results."""

    version: str
    performance: Metrics
    cbpe: CBPE
    estimator: Any | None


def score(
    estimator: Any, features: pd.DataFrame, classes: tuple[int, int] = (0, 1)
) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and P(``classes[1]``) of a fitted scikit-learn-style estimator."""
    proba = estimator.predict_proba(features)
    model_classes = list(getattr(estimator, "classes_", classes))
    if classes[1] not in model_classes:
        raise PerformanceInputError(
            f"estimator classes {model_classes} lack the positive class {classes[1]}"
        )
    p = np.asarray(proba[:, model_classes.index(classes[1])], dtype=float)
    pred = np.where(p >= 0.5, classes[1], classes[0])
    return pred, p


def metrics_from_dict(d: dict[str, Any]) -> Metrics:
    """Rebuild :class:`Metrics` stored with ``Metrics.as_dict``."""
    return Metrics(**{**d, "notes": tuple(d.get("notes") or ())})


def validation_frame(model: ModelConfig, lake: Lake, version: str) -> pd.DataFrame:
    """The version's labeled validation set (written by ``reference_data``), else its
    labeled reference set."""
    cols = model.columns
    for dataset in ("validation", "reference"):
        if lake.has_partition(model.name, dataset, version_key(version)):
            frame = lake.read_partition(model.name, dataset, version_key(version))
            if cols.target in frame and cols.prediction in frame:
                return frame
    raise MissingReference(
        f"model {model.name!r} version {version!r}: no labeled validation or reference data "
        f"in the lake under {lake.dataset_location(model.name, 'validation')}; materialize "
        f"{model.name}/reference_data first"
    )


def ensure_registry(
    model: ModelConfig, registry: ModelRegistry, lake: Lake, served: ServedEstimator
) -> None:
    """Register the configured version as the first champion, with its reference
    performance and CBPE calibration from its validation set (once)."""
    if registry.versions(model.name):
        if registry.get_json(model.name, model.version, "reference_performance") is not None:
            return
    val = validation_frame(model, lake, model.version)
    cols = model.columns
    prob = val[cols.probability] if cols.probability and cols.probability in val else None
    perf = classification_metrics(
        val[cols.target].astype(int), val[cols.prediction].astype(int), prob, classes=model.classes
    )
    registry.ensure_initial(
        model.name,
        model.version,
        served(),
        effective_from=model.first_date,
        metrics={f"validation_{k}": v for k, v in perf.as_dict().items() if k != "notes"},
    )
    registry.put_json(model.name, model.version, "reference_performance", perf.as_dict())
    if prob is not None:
        cbpe = CBPE(model.classes).fit(val[cols.target].astype(int), prob)
        registry.put_json(model.name, model.version, "cbpe", cbpe.to_state())


class VersionReferences:
    """The version reference of each day, resolved through the registry, cached per run."""

    def __init__(
        self, model: ModelConfig, registry: ModelRegistry, lake: Lake, served: ServedEstimator
    ):
        self.model, self.registry, self.lake = model, registry, lake
        ensure_registry(model, registry, lake, served)
        self._cache: dict[str, VersionReference] = {}

    def version_for(self, date: dt.date) -> str:
        """The champion of ``date`` (the configured version before any promotion)."""
        return self.registry.champion_for(self.model.name, date) or self.model.version

    def get(self, version: str) -> VersionReference:
        """One version's reference; :class:`MissingReference` if it has no results."""
        if version not in self._cache:
            perf = self.registry.get_json(self.model.name, version, "reference_performance")
            if perf is None:
                raise MissingReference(
                    f"model {self.model.name!r} version {version!r} has no "
                    "reference_performance in the registry"
                )
            state = self.registry.get_json(self.model.name, version, "cbpe")
            cbpe = CBPE.from_state(state) if state else CBPE(self.model.classes, "none")
            estimator = None
            if version != self.model.version:
                estimator = self.registry.load_artifact(self.model.name, version)
            self._cache[version] = VersionReference(
                version, metrics_from_dict(perf), cbpe, estimator
            )
        return self._cache[version]

    def for_date(self, date: dt.date) -> VersionReference:
        return self.get(self.version_for(date))

    def validation(self, version: str) -> pd.DataFrame | None:
        """The version's labelled validation split: the lake's (``reference_data``), else
        the one a retraining run attached in the registry; None when neither exists or it
        lacks the target or prediction column (then no band: fixed thresholds, with why)."""
        try:
            frame = validation_frame(self.model, self.lake, version)
        except MissingReference:
            frame = self.registry.get_frame(self.model.name, version, "validation")
        cols = self.model.columns
        if frame is None or cols.target not in frame or cols.prediction not in frame:
            return None
        return frame

    def band_store(self, wh: Warehouse) -> BandStore:
        """Calibrated bands of this model's versions, calibrated from their validation
        splits when not stored yet."""
        return BandStore(wh, self.model, self.validation, lambda v: self.get(v).cbpe)


def scored_day(
    model: ModelConfig, frame: pd.DataFrame, ref: VersionReference
) -> tuple[pd.DataFrame, str]:
    """The day's predictions as the partition's champion made them, and how (``scored_by``).

    Logged predictions are used when they came from that version (the configured
    version served them, or the log has a ``model_version`` column naming it).
    Otherwise the features are scored by the champion, as it would have served them.
    """
    cols = model.columns
    logged_version = None
    if "model_version" in frame and frame["model_version"].nunique() == 1:
        logged_version = str(frame["model_version"].iloc[0])
    if ref.version == (logged_version or model.version) or ref.estimator is None or len(frame) == 0:
        return frame, "logged"
    pred, prob = score(ref.estimator, frame[model.feature_names], model.classes)
    out = frame.copy()
    out[cols.prediction] = pred
    if cols.probability:
        out[cols.probability] = prob
    return out, f"rescored by {ref.version}"
