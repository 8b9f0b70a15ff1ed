"""The model file's ``source``: the simulator (with its scenario) or Parquet/CSV files."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from monitoring_assets.core.config_fields import ColumnName, PathText, Strict, Text

EventKind = Literal[
    "covariate_shift",
    "sudden_shock",
    "concept_drift",
    "broken_feature",
    "new_category",
    "traffic_drop",
    "correlation_break",
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

    ``segment: {country: DE}`` restricts an event to the rows of one segment value (a
    column of the scenario's ``segments``); the other rows are untouched.
    - correlation_break: ``feature``'s values are shuffled among a share ``share`` of the
      day's rows: its marginal (the day's multiset of values) stays exactly the same, its
      correlation with every other feature falls by about that share.
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
    segment: dict[ColumnName, Text] | None = Field(
        None, description="only rows of this segment value, e.g. {country: DE}"
    )

    def active(self, day: int) -> bool:
        if day < self.day:
            return False
        return self.duration_days is None or day < self.day + self.duration_days

    @model_validator(mode="after")
    def _needs(self) -> ScenarioEvent:
        needs_feature = {"covariate_shift", "broken_feature", "new_category", "correlation_break"}
        if self.kind in needs_feature and not self.feature:
            raise ValueError(f"event kind {self.kind!r} needs 'feature'")
        if self.kind == "new_category" and not self.value:
            raise ValueError("event kind 'new_category' needs 'value'")
        if self.segment is not None and len(self.segment) != 1:
            raise ValueError(
                "event 'segment' names exactly one column and value, e.g. {country: DE}"
            )
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
    segments: dict[ColumnName, dict[Text, float]] = Field(
        default_factory=dict,
        description="extra segment columns: column -> {value: weight}, e.g. country shares",
    )
    events: list[ScenarioEvent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _segment_events(self) -> Scenario:
        for name, weights in self.segments.items():
            if not weights or any(w <= 0 for w in weights.values()):
                raise ValueError(f"segments.{name}: give positive weights per value")
        for ev in self.events:
            for col, value in (ev.segment or {}).items():
                if value not in self.segments.get(col, {}):
                    raise ValueError(
                        f"event {ev.kind!r}: segment {col}={value!r} is not a value of the "
                        f"scenario's segments ({sorted(self.segments)})"
                    )
        return self

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
