"""The model file: which models driftwarden monitors and how (validated at load time).

A model file is YAML with a top-level ``models:`` list. Each entry is a
:class:`ModelConfig`. ``DRIFTWARDEN_MODELS`` points at the file; the default is the
packaged ``models/churn.yaml``.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitoring_assets.core.names import (
    check_column_name,
    check_model_name,
    check_path_text,
    check_safe_name,
    check_text,
)
from monitoring_assets.core.yamlconf import ConfigError, load_model

DEFAULT_MODELS_FILE = Path(__file__).parents[1] / "models" / "churn.yaml"

# Every string of the model file has one of these types (rules in monitoring_assets.core.names):
# names that become folders, columns that reach SQL as quoted identifiers, printable
# text, and paths of a files source.
ModelName = Annotated[str, AfterValidator(check_model_name)]
SafeName = Annotated[str, AfterValidator(lambda v: check_safe_name(v, "value"))]
ColumnName = Annotated[str, AfterValidator(check_column_name)]
Text = Annotated[str, AfterValidator(lambda v: check_text(v, "value"))]
PathText = Annotated[str, AfterValidator(lambda v: check_path_text(v, "path"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- features

#: How a threshold is set: ``fixed`` (the configured / Evidently default numbers),
#: ``calibrated`` (derived from reference chunks of the monitored window's size), or
#: ``auto`` (calibrated when the reference yields at least ``calibration.min_chunks``
#: chunks of the window's size, else fixed). Every result says which one was used.
ThresholdMode = Literal["auto", "calibrated", "fixed"]


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


# --------------------------------------------------------------------------- sources

EventKind = Literal[
    "covariate_shift",
    "sudden_shock",
    "concept_drift",
    "broken_feature",
    "new_category",
    "traffic_drop",
]


class ScenarioEvent(Strict):
    """Something the simulator injects from ``day`` (0-based offset from the start).

    - covariate_shift: ``feature`` (numerical) drifts linearly by ``magnitude`` reference
      standard deviations between ``day`` and ``day + ramp_days``, then stays shifted.
    - sudden_shock: from ``day``, monthly_charges ×``magnitude`` and the contract mix moves
      toward month-to-month (share ``share`` of longer contracts switch).
    - concept_drift: from ``day``, the label relationship changes (``magnitude`` scales the
      effect); features and predictions are untouched.
    - broken_feature: ``feature`` becomes null (``mode: nulls``) or is ×100 (``mode: unit``)
      for ``duration_days`` (default: to the end).
    - new_category: a share ``share`` of categorical ``feature`` takes the unseen ``value``.
    - traffic_drop: the day keeps only ``magnitude`` of its rows, for ``duration_days``.
    """

    kind: EventKind
    day: int = Field(ge=0)
    feature: ColumnName | None = None
    magnitude: float = 1.0
    ramp_days: int = Field(0, ge=0)
    duration_days: int | None = Field(None, ge=1)
    share: float = Field(0.3, ge=0.0, le=1.0)
    value: Text | None = None
    mode: Literal["nulls", "unit"] = "nulls"

    def active(self, day: int) -> bool:
        if day < self.day:
            return False
        return self.duration_days is None or day < self.day + self.duration_days

    @model_validator(mode="after")
    def _needs(self) -> ScenarioEvent:
        needs_feature = {"covariate_shift", "broken_feature", "new_category"}
        if self.kind in needs_feature and not self.feature:
            raise ValueError(f"event kind {self.kind!r} needs 'feature'")
        if self.kind == "new_category" and not self.value:
            raise ValueError("event kind 'new_category' needs 'value'")
        if self.kind == "traffic_drop" and not 0 < self.magnitude <= 1:
            raise ValueError("traffic_drop 'magnitude' is the share of traffic kept, in (0, 1]")
        return self


class Seasonality(Strict):
    """Recurring patterns of the simulated traffic.

    ``weekly: a`` — weekend days carry (1 − a)× the mean volume and weekdays
    (1 + 0.4·a)×, and the weekend mix leans a little toward month-to-month contracts
    (+0.04·a of share on weekends, −0.016·a on weekdays: the weekly mean is unchanged).
    """

    weekly: float = Field(0.0, ge=0.0, lt=1.0, description="weekly amplitude, 0 = none")


class Scenario(Strict):
    """A deterministic production history: every day is a pure function of (scenario, seed, date).

    A day's volume is ``rows_per_day`` × its weekday factor (``seasonality.weekly``) ×
    (1 + ``volume_jitter``·u), u uniform in [−1, 1] drawn per day. ``day_variation``
    moves each day's population a little (numerical means by about that many standard
    deviations, category shares by about that relative amount, the churn base rate
    slightly), the same way on reference and production days. The reference is
    ``reference_rows`` rows spread over the ``reference_days`` days before
    ``start_date`` in proportion to their volume, each with its own day variation.
    """

    name: Text = "default"
    start_date: dt.date = dt.date(2026, 6, 1)
    days: int = Field(120, ge=1, le=3660)
    rows_per_day: int = Field(2000, ge=1)
    volume_jitter: float = Field(0.0, ge=0.0, lt=1.0, description="day volume ±share, 0 = fixed")
    seasonality: Seasonality = Field(default_factory=Seasonality)
    day_variation: float = Field(
        0.0, ge=0.0, le=0.5, description="day-to-day population variation, in σ"
    )
    reference_rows: int = Field(20000, ge=30)
    reference_days: int = Field(28, ge=1, le=366, description="days the reference spans")
    seed: int = 7
    events: list[ScenarioEvent] = Field(default_factory=list)

    @property
    def end_date(self) -> dt.date:
        """First date after the scenario (exclusive end)."""
        return self.start_date + dt.timedelta(days=self.days)

    def day_index(self, date: dt.date) -> int:
        return (date - self.start_date).days


class SimulatorSource(Strict):
    kind: Literal["simulator"] = "simulator"
    scenario: Scenario = Field(default_factory=Scenario)


class FileSource(Strict):
    """Real data from Parquet or CSV.

    ``inference`` and ``labels`` are a file, a directory (Hive ``date=YYYY-MM-DD``
    folders or plain files), or a pattern containing ``{date}`` (one file per day).
    Without ``{date}``, a day's rows are those whose timestamp falls on that day. A
    ``{date}`` file holding rows of other days is an error, unless
    ``split_by_timestamp`` is set: then every file of the pattern is read and a day's
    rows are those whose timestamp falls on it, wherever they are stored. ``{date}``
    is the only placeholder; ``reference`` has none.
    """

    kind: Literal["files"] = "files"
    reference: PathText
    inference: PathText
    labels: PathText | None = None
    format: Literal["parquet", "csv"] = "parquet"
    label_timestamp: ColumnName | None = Field(
        None, description="column holding when a label arrived; default: date + label delay"
    )
    split_by_timestamp: bool = Field(
        False, description="{date} files: assign rows to days by timestamp, not by file"
    )

    @field_validator("reference")
    @classmethod
    def _reference_has_no_date(cls, path: str) -> str:
        # Other braces are refused by PathText; the reference is one snapshot, not per day.
        if "{date}" in path:
            raise ValueError(f"source.reference {path!r} is one file: it takes no {{date}}")
        return path


Source = Annotated[SimulatorSource | FileSource, Field(discriminator="kind")]


# --------------------------------------------------------------------------- monitoring


class ReferenceConfig(Strict):
    """What current data is compared against."""

    kind: Literal["training", "rolling"] = "training"
    window_days: int = Field(28, ge=1, description="rolling: how many past days")
    same_weekday: bool = Field(False, description="rolling: only the same weekday of past weeks")


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

    def mode_for(self, check: str, feature: Feature | None = None) -> ThresholdMode:
        """The threshold mode of ``check`` (for ``feature``, when it is per feature):
        the feature's own, else the check's override, else the global mode. A feature
        with a ``drift_threshold`` of its own is ``fixed``."""
        if feature is not None:
            if feature.thresholds is not None:
                return feature.thresholds
            if feature.drift_threshold is not None:
                return "fixed"
        return self.checks.get(check, self.mode)


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


__all__ = [
    "Calibration",
    "ConfigError",
    "Feature",
    "FileSource",
    "ModelConfig",
    "ProjectConfig",
    "Scenario",
    "ScenarioEvent",
    "Seasonality",
    "SimulatorSource",
    "Task",
    "ThresholdMode",
    "Thresholds",
    "Training",
    "Window",
    "load_project",
    "models_file",
]
