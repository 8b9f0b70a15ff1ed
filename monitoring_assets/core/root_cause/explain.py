"""The causes of one alert, from what the warehouse and the registry already hold.

An alert about a day's drift, prediction drift or performance (alert categories
``drift`` and ``performance``) is explained by that day's per-feature drift
(``drift_results``), the day's profile (``feature_profiles``: means, category shares,
nulls) and the version's reliance on each feature (:mod:`.importance`, computed once per
version and kept in the registry). :class:`AlertExplainer` is what
:func:`~monitoring_assets.core.alerts.record.record_events` calls for every alert it
opens or moves to a new partition. A model driftwarden cannot score (no estimator, no
validation split) is explained by drift scores alone, and each cause's text says so.
Pure core (no Dagster import).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import read_profile
from monitoring_assets.core.performance.references import MissingReference, validation_frame
from monitoring_assets.core.ports import Lake, Warehouse
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.registry import ModelRegistry, RegistryError
from monitoring_assets.core.root_cause.causes import Cause, feature_causes
from monitoring_assets.core.root_cause.importance import (
    DayShift,
    ImportanceError,
    Reliance,
    contribution_shifts,
    ensure_importance,
)
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE, FEATURE_PROFILES_TABLE

log = logging.getLogger("driftwarden.root_cause")

#: Alert categories (see the alert policy) whose alerts get causes.
EXPLAINED_CATEGORIES = ("drift", "performance")

#: Loads a version's validation split (None when there is none).
ValidationLoader = Callable[[ModelConfig, str], "pd.DataFrame | None"]


def day_drift_rows(wh: Warehouse, model: str, date: dt.date) -> list[dict[str, Any]]:
    """The day's per-feature ``drift_results`` rows (empty before ``data_drift`` ran)."""
    # Creates the tables when data_drift never ran (then there are no rows).
    wh.migrate([DRIFT_RESULTS_TABLE, FEATURE_PROFILES_TABLE])
    t = ident(DRIFT_RESULTS_TABLE.name)
    frame = wh.query(
        f"SELECT * FROM {t} WHERE {ident('model')} = ? AND {ident('partition_date')} = ? "
        f"AND {ident('role')} = 'feature' ORDER BY {ident('column_name')}",
        [model, date],
    )
    return frame.to_dict("records")


def day_shift(profile: DatasetProfile, features: list[str]) -> tuple[DayShift, dict[str, float]]:
    """The day's numerical means, categorical shares and null share per feature."""
    means: dict[str, float] = {}
    shares: dict[str, dict[str, float]] = {}
    nulls: dict[str, float] = {}
    for name in features:
        if name not in profile.columns:
            continue
        col = profile.columns[name]
        nulls[name] = (col.missing + col.nan) / col.rows if col.rows else 0.0
        if col.kind == "numerical":
            if col.mean is not None and col.count:
                means[name] = float(col.mean)
        elif int(col.counts.sum()):
            total = float(col.counts.sum())
            shares[name] = {str(v): float(c) / total for v, c in zip(col.values, col.counts)}
    return DayShift(means, shares), nulls


@dataclass
class AlertExplainer:
    """Explains alerts of the configured ``models``.

    ``registry``: where importances are stored (None: drift scores alone);
    ``validation``: loads a version's validation split; ``served``: the estimator that
    served the configured version when the registry has none yet (the simulator's).
    Importances, estimators and validation splits are cached per (model, version) for
    the explainer's life once found; a failure is retried on the next alert.
    """

    models: Mapping[str, ModelConfig]
    registry: ModelRegistry | None = None
    validation: ValidationLoader | None = None
    served: Callable[[ModelConfig], Any] | None = None
    _versions: dict[tuple[str, str], tuple[Reliance | None, Any, Any, str]] = field(
        default_factory=dict
    )

    def explain(self, wh: Warehouse, model: str, partition: str, category: str) -> list[Cause]:
        """The ranked causes of an alert on ``model``'s ``partition`` (a day); empty for
        other categories, unknown models, undated partitions or days without drift rows."""
        cfg = self.models.get(model)
        if cfg is None or category not in EXPLAINED_CATEGORIES or not partition:
            return []
        try:
            date = dt.date.fromisoformat(partition[:10])
        except ValueError:
            return []
        rows = day_drift_rows(wh, model, date)
        if not rows:
            return []
        features = [f for f in cfg.feature_names if f in {r["column_name"] for r in rows}]
        profile = read_profile(
            wh, FEATURE_PROFILES_TABLE.name, {"model": model, "partition_date": date}
        )
        shift, nulls = day_shift(profile, features) if profile is not None else (None, {})
        reliance, estimator, val, why = self._version(cfg, date)
        contributions, method = {}, ""
        if estimator is not None and val is not None and shift is not None:
            contributions, method = contribution_shifts(estimator, val, shift, features)
        causes = feature_causes(
            rows, reliance.importance if reliance else None, contributions, method, nulls
        )
        if reliance is None and why:
            causes = [
                Cause(c.kind, c.name, c.score, {**c.numbers, "no_importance": why}, c.text)
                for c in causes
            ]
        return causes

    def _version(self, cfg: ModelConfig, date: dt.date) -> tuple[Reliance | None, Any, Any, str]:
        """(importances, estimator, validation split, why there are no importances)."""
        if self.registry is None:
            return None, None, None, "no model registry"
        version = self.registry.champion_for(cfg.name, date) or cfg.version
        key = (cfg.name, version)
        if key in self._versions:
            return self._versions[key]
        cache: dict[str, Any] = {}

        def estimator() -> Any:
            if "est" not in cache:
                try:
                    cache["est"] = self.registry.load_artifact(cfg.name, version)  # type: ignore[union-attr]
                except (RegistryError, FileNotFoundError, OSError) as exc:
                    log.info("no estimator for %s %s in the registry: %s", cfg.name, version, exc)
                    served = self.served(cfg) if self.served and version == cfg.version else None
                    cache["est"] = served
            return cache["est"]

        def validation() -> pd.DataFrame | None:
            if "val" not in cache:
                cache["val"] = self.validation(cfg, version) if self.validation else None
            return cache["val"]

        try:
            rel = ensure_importance(
                self.registry, cfg.name, version, cfg.feature_names, estimator, validation
            )
            found = (rel, estimator(), validation(), "")
        except ImportanceError as exc:
            return None, None, None, str(exc)
        self._versions[key] = found
        return found

    def bound(self, wh: Warehouse) -> Callable[[Any], list[Cause]]:
        """``explain`` for alerts (anything with ``model``, ``partition_key`` and
        ``category``) against warehouse ``wh``. The causes of one (model, day) are the same
        for every alert on it, so they are computed once per returned function (one
        sensor tick)."""
        memo: dict[tuple[str, str], list[Cause]] = {}

        def explain(alert: Any) -> list[Cause]:
            if alert.category not in EXPLAINED_CATEGORIES:
                return []
            key = (alert.model, alert.partition_key)
            if key not in memo:
                memo[key] = self.explain(wh, alert.model, alert.partition_key, alert.category)
            return memo[key]

        return explain


def validation_loader(lake: Callable[[], Lake], registry: ModelRegistry) -> ValidationLoader:
    """Loads a version's validation split: the lake's (``reference_data``), else the one a
    retraining run attached in the registry, else None. ``lake`` is opened on first use."""

    def load(model: ModelConfig, version: str) -> pd.DataFrame | None:
        try:
            return validation_frame(model, lake(), version)
        except MissingReference:
            return registry.get_frame(model.name, version, "validation")

    return load


def explain_profiles(
    model: ModelConfig,
    drift: Mapping[str, Any],
    profile: DatasetProfile,
    reliance: Reliance | None = None,
    estimator: Any = None,
    validation: pd.DataFrame | None = None,
) -> list[Cause]:
    """The ranked feature causes of one day, in process: ``drift`` maps each feature to
    its :class:`~monitoring_assets.core.drift.ColumnDrift` (a
    :class:`~monitoring_assets.core.monitor.DriftResult`'s ``features``), ``profile`` is
    the day's profile. Contribution shifts need ``estimator`` and ``validation``."""
    rows = [
        {
            "column_name": name,
            "method": r.method,
            "score": r.score,
            "threshold": r.threshold,
            "drifted": r.drifted,
            "computable": r.computable,
            "reason": r.reason,
        }
        for name, r in drift.items()
    ]
    features = [f for f in model.feature_names if f in drift]
    shift, nulls = day_shift(profile, features)
    contributions, method = {}, ""
    if estimator is not None and validation is not None:
        contributions, method = contribution_shifts(estimator, validation, shift, features)
    return feature_causes(
        rows, reliance.importance if reliance else None, contributions, method, nulls
    )
