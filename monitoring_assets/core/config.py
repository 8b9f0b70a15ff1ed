"""The model file: which models driftwarden monitors and how (validated at load time).

A model file is YAML with a top-level ``models:`` list. Each entry is a
:class:`ModelConfig`. ``DRIFTWARDEN_MODELS`` points at the file; the default is the
packaged ``models/churn.yaml``. The ``source`` and ``thresholds`` sections are defined
in :mod:`~monitoring_assets.core.config_sources` and
:mod:`~monitoring_assets.core.config_thresholds`; every class of the model file is
importable from here.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from monitoring_assets.core.config_fields import ColumnName, ModelName, SafeName, Strict, Text
from monitoring_assets.core.config_multivariate import Multivariate
from monitoring_assets.core.config_segments import (
    Segment,
    SegmentSettings,
    check_segments,
    parse_segments,
)
from monitoring_assets.core.config_sources import (
    FileSource,
    Scenario,
    ScenarioEvent,
    Seasonality,
    SimulatorSource,
    Source,
)
from monitoring_assets.core.config_thresholds import (
    Calibration,
    DriftThresholds,
    PerformanceThresholds,
    PerformanceWindow,
    QualityThresholds,
    ThresholdMode,
    Thresholds,
)
from monitoring_assets.core.yamlconf import ConfigError, load_model

DEFAULT_MODELS_FILE = Path(__file__).parents[1] / "models" / "churn.yaml"

# --------------------------------------------------------------------------- features


class Feature(Strict):
    """One model input column."""

    name: ColumnName
    type: Literal["numerical", "categorical"]
    critical: bool = Field(False, description="drift of this feature alone is an ERROR")
    drift_method: (
        Literal[
            "ks", "chisquare", "z", "wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"
        ]
        | None
    ) = Field(None, description="override Evidently's default method selection")
    drift_threshold: float | None = Field(
        None,
        description="override the method's threshold (a fixed threshold: implies thresholds: fixed)",
    )
    thresholds: ThresholdMode | None = Field(
        None, description="this feature's threshold mode; default: the model's thresholds.mode"
    )


class Columns(Strict):
    """Names of the non-feature columns in inference logs and labels."""

    id: ColumnName = "request_id"
    timestamp: ColumnName = "timestamp"
    prediction: ColumnName = "prediction"
    probability: ColumnName | dict[int, ColumnName] | None = Field(
        "probability",
        description=(
            "binary: the P(positive class) column; multiclass: a mapping class -> column "
            "of P(class); regression: none"
        ),
    )
    target: ColumnName = "target"
    latency: ColumnName | None = "latency_ms"

    def roles(self) -> dict[str, str]:
        """Role -> column name, for the roles that are set (``probability[<class>]`` for
        each column of a per-class probability mapping)."""
        out: dict[str, str] = {}
        for k, v in self.model_dump().items():
            if isinstance(v, dict):
                out.update({f"{k}[{c}]": col for c, col in v.items()})
            elif v is not None:
                out[k] = v
        return out

    @model_validator(mode="after")
    def _distinct(self) -> Columns:
        seen: dict[str, str] = {}
        for role, name in self.roles().items():
            # DuckDB compares identifiers case-insensitively, even quoted ones.
            other = seen.setdefault(name.casefold(), role)
            if other != role:
                raise ValueError(f"columns {other!r} and {role!r} are the same column {name!r}")
        return self


# --------------------------------------------------------------------------- monitoring


class ReferenceConfig(Strict):
    """What current data is compared against."""

    kind: Literal["training", "rolling"] = "training"
    window_days: int = Field(28, ge=1, description="rolling: how many past days")
    same_weekday: bool = Field(False, description="rolling: only the same weekday of past weeks")


class Window(Strict):
    """What one judgement covers: ``days: 1`` (each day on its own, the default),
    ``days: N`` (the day and the N-1 before it, merged), or ``min_rows: R`` (the day and
    as many trailing days as it takes to reach R rows, at most ``max_days``). Windows
    merge stored day profiles; nothing is rescanned. A day with fewer than
    ``min_day_rows`` rows is "insufficient data" on its own: never an alert, judged
    within its window (the row-count check still sees it)."""

    days: int | None = Field(None, ge=1, le=366)
    min_rows: int | None = Field(None, ge=1)
    max_days: int = Field(28, ge=1, le=366, description="min_rows: trailing days at most")
    min_day_rows: int = Field(30, ge=0, description="below this a day is insufficient data")

    @model_validator(mode="after")
    def _one(self) -> Window:
        if self.days is not None and self.min_rows is not None:
            raise ValueError("window: give 'days' or 'min_rows', not both")
        return self

    @property
    def single_day(self) -> bool:
        return self.min_rows is None and (self.days or 1) == 1


class Backfill(Strict):
    """How a range of days (a history backfill) splits into runs. ``partitions_per_run``
    unset (the default) runs the whole range in one run: one process, one code load, the
    fastest on one machine. ``partitions_per_run: N`` splits it into runs of at most N days
    each, run side by side (on Kubernetes, each run is a pod); every day's checks and
    alerts are the same either way."""

    partitions_per_run: int | None = Field(
        None, ge=1, description="days per run of a backfill; unset: the whole range in one run"
    )


class Alerting(Strict):
    """Per-model alert routing; the alert policy file refines it."""

    owners: list[Text] = Field(default_factory=list)
    tier_overrides: dict[SafeName, Literal["critical", "warning", "info"]] = Field(
        default_factory=dict, description="check name -> tier"
    )
    retrain_on_critical_drift: bool = True
    human_review_on_performance: bool = False


def _check_entry_point(v: str) -> str:
    module, sep, func = v.partition(":")
    parts = module.split(".") if module else []
    if not sep or not func.isidentifier() or not parts or not all(p.isidentifier() for p in parts):
        raise ValueError(f"entry_point {v!r} must be 'package.module:function'")
    return v


class Training(Strict):
    """How a challenger is trained. ``entry_point`` names a function
    ``(features: DataFrame, target: Series) -> fitted estimator`` (with ``predict_proba``).
    Without it only the simulator's models can be retrained (a clone of the simulator's
    estimator, refitted); a model of a ``files`` source gets no retraining job."""

    entry_point: Annotated[str, AfterValidator(_check_entry_point)] | None = None


#: What a model predicts. ``binary_classification``: one of two ``classes`` with
#: P(``classes[1]``); ``multiclass``: one of three or more ``classes``, optionally with a
#: probability column per class; ``regression``: a number.
Task = Literal["binary_classification", "regression", "multiclass"]


class ModelConfig(Strict):
    """One monitored model."""

    name: ModelName
    version: SafeName = "v1"
    task: Task = "binary_classification"
    classes: tuple[int, ...] | None = Field(
        None, description="binary: two classes (default [0, 1]); multiclass: three or more"
    )
    features: list[Feature] = Field(min_length=1)
    columns: Columns = Field(default_factory=Columns)
    label_delay_days: int = Field(7, ge=0)
    start_date: dt.date | None = Field(None, description="first partition; default: scenario start")
    end_date: dt.date | None = Field(None, description="exclusive last partition; default: none")
    allow_extra_columns: bool = False
    source: Source = Field(default_factory=SimulatorSource)
    reference: ReferenceConfig = Field(default_factory=ReferenceConfig)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    window: Window = Field(default_factory=Window)
    alerting: Alerting = Field(default_factory=Alerting)
    training: Training = Field(default_factory=Training)
    segments: list[Segment] = Field(
        default_factory=list, description="columns whose values are monitored one by one"
    )
    segment_settings: SegmentSettings = Field(default_factory=SegmentSettings)
    backfill: Backfill = Field(default_factory=Backfill)

    @field_validator("segments", mode="before")
    @classmethod
    def _segment_names(cls, v: object) -> object:
        return parse_segments(v)

    multivariate: Multivariate | None = Field(
        None, description="drift of the features' joint distribution; absent: not monitored"
    )

    @model_validator(mode="before")
    @classmethod
    def _task_defaults(cls, data: object) -> object:
        """Binary models default to classes [0, 1]; the default ``probability`` column
        belongs to binary models only (other tasks log one only when they say so)."""
        if not isinstance(data, dict):
            return data
        task = data.get("task", "binary_classification")
        if task == "binary_classification" and data.get("classes") is None:
            return {**data, "classes": (0, 1)}
        if task in ("regression", "multiclass"):
            cols = data.get("columns")
            if cols is None:
                return {**data, "columns": {"probability": None}}
            if isinstance(cols, dict) and "probability" not in cols:
                return {**data, "columns": {**cols, "probability": None}}
        return data

    @model_validator(mode="after")
    def _task_consistent(self) -> ModelConfig:
        classes, prob = self.classes, self.columns.probability
        if classes is not None and len(set(classes)) != len(classes):
            raise ValueError(f"classes: {list(classes)} has duplicates")
        if self.task == "binary_classification":
            if classes is None or len(classes) != 2:
                raise ValueError(
                    f"classes: task binary_classification needs exactly 2 classes, got "
                    f"{list(classes or ())}"
                )
            if isinstance(prob, dict):
                raise ValueError(
                    "columns.probability: a mapping class -> column is for task multiclass; "
                    "a binary model names one column (P of classes[1])"
                )
        elif self.task == "multiclass":
            if classes is None or len(classes) < 3:
                raise ValueError(
                    "classes: task multiclass needs 'classes' with at least 3 classes, got "
                    f"{list(classes or ())}"
                )
            if isinstance(prob, str):
                raise ValueError(
                    "columns.probability: task multiclass needs a mapping class -> column "
                    f"(one per class of {list(classes)}), got the single column {prob!r}"
                )
            if isinstance(prob, dict):
                missing = [c for c in classes if c not in prob]
                unknown = sorted(c for c in prob if c not in classes)
                if missing:
                    raise ValueError(
                        f"columns.probability: no column for class(es) {missing} "
                        f"(every class of {list(classes)} needs one)"
                    )
                if unknown:
                    raise ValueError(
                        f"columns.probability: class(es) {unknown} are not in classes "
                        f"{list(classes)}"
                    )
        else:
            if classes is not None:
                raise ValueError("classes: task regression has no classes; remove 'classes'")
            if prob is not None:
                raise ValueError(
                    "columns.probability: task regression logs no probability; remove it"
                )
        return self

    @field_validator("features")
    @classmethod
    def _unique_features(cls, v: list[Feature]) -> list[Feature]:
        # Case-insensitively: DuckDB compares identifiers that way, even quoted ones.
        names = [f.name.casefold() for f in v]
        dupes = sorted({f.name for f in v if names.count(f.name.casefold()) > 1})
        if dupes:
            raise ValueError(f"duplicate feature names: {dupes}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        roles = {name.casefold(): role for role, name in self.columns.roles().items()}
        clash = sorted(
            f"{f.name!r} (the {roles[f.name.casefold()]} column)"
            for f in self.features
            if f.name.casefold() in roles
        )
        if clash:
            raise ValueError(f"features clash with columns: {', '.join(clash)}")
        check_segments(self.segments, self)
        if isinstance(self.source, FileSource) and self.start_date is None:
            raise ValueError("a 'files' source needs 'start_date' (the first daily partition)")
        return self

    @property
    def first_date(self) -> dt.date:
        if self.start_date is not None:
            return self.start_date
        assert isinstance(self.source, SimulatorSource)
        return self.source.scenario.start_date

    @property
    def last_date_exclusive(self) -> dt.date | None:
        if self.end_date is not None:
            return self.end_date
        if isinstance(self.source, SimulatorSource):
            return self.source.scenario.end_date
        return None

    @property
    def is_binary(self) -> bool:
        return self.task == "binary_classification"

    @property
    def target_kind(self) -> Literal["numerical", "categorical"]:
        """How the target and the prediction are profiled: numbers for regression,
        classes otherwise."""
        return "numerical" if self.task == "regression" else "categorical"

    @cached_property
    def probability_columns(self) -> dict[int, str]:
        """Class -> probability column: binary ``{classes[1]: probability}``, multiclass
        the configured mapping, regression (or no probability logged) none."""
        prob = self.columns.probability
        if isinstance(prob, dict):
            return dict(prob)
        if prob and self.classes is not None:
            return {self.classes[1]: prob}
        return {}

    @cached_property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @cached_property
    def numerical(self) -> list[str]:
        return [f.name for f in self.features if f.type == "numerical"]

    @cached_property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.type == "categorical"]

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"model {self.name!r} has no feature {name!r}")


class ProjectConfig(Strict):
    models: list[ModelConfig] = Field(min_length=1)

    @field_validator("models")
    @classmethod
    def _unique_models(cls, v: list[ModelConfig]) -> list[ModelConfig]:
        names = [m.name for m in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate model names: {dupes}")
        return v

    def model(self, name: str) -> ModelConfig:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"no model named {name!r}; configured: {[m.name for m in self.models]}")


def models_file() -> Path:
    """The model file in force: ``$DRIFTWARDEN_MODELS`` or the packaged churn file."""
    return Path(os.environ.get("DRIFTWARDEN_MODELS") or DEFAULT_MODELS_FILE)


def load_project(path: str | Path | None = None) -> ProjectConfig:
    """Load and validate the model file; a bad file raises :class:`ConfigError`."""
    return load_model(Path(path) if path else models_file(), ProjectConfig)


#: The model file's schema is one API: every class of it is importable from here, wherever
#: it is defined (``config_sources``, ``config_thresholds``).
__all__ = [
    "Alerting",
    "Calibration",
    "Columns",
    "ConfigError",
    "DriftThresholds",
    "Feature",
    "FileSource",
    "ModelConfig",
    "Multivariate",
    "PerformanceThresholds",
    "PerformanceWindow",
    "ProjectConfig",
    "QualityThresholds",
    "ReferenceConfig",
    "Scenario",
    "ScenarioEvent",
    "Seasonality",
    "Segment",
    "SegmentSettings",
    "SimulatorSource",
    "Task",
    "ThresholdMode",
    "Thresholds",
    "Training",
    "Window",
    "load_project",
    "models_file",
]
