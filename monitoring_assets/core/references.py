"""The drift reference policy: which profile each day is compared with.

A model file chooses ``reference.kind``:

- ``training``: the training snapshot of the model version (``reference_data``). Its
  profile is built once per version and file digest, kept in ``reference_profiles`` and
  reused while the file is unchanged (:func:`training_reference`).
- ``rolling``: a merge of the stored day profiles of the previous ``window_days`` days
  (only the same weekday when ``same_weekday``), never a rescan (:func:`rolling_days`).
  A day none of whose window days is stored has no reference, with the reason.

:class:`DriftReferences` answers "the reference of day D" for a run and hands out a
:class:`~monitoring_assets.core.monitor.DriftMonitor` fitted on it: the training
reference is fitted once per run, a rolling one per day (each day has its own window).
The training reference also calibrates the monitors' thresholds
(:class:`~monitoring_assets.core.calibration.ReferenceCalibration`, stored in
``drift_thresholds`` per model version, file digest and window size); a rolling
reference's thresholds are fixed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from monitoring_assets.core.calibration import (
    ReferenceCalibration,
    ThresholdSource,
    Uncalibrated,
)
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import (
    MonitorInputError,
    load_day_profiles,
    profiled_columns,
    read_profile,
    window_label,
    window_profile,
    window_reach,
)
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.monitor import DriftMonitor, DriftResult
from monitoring_assets.core.ports import Lake, Warehouse, version_key
from monitoring_assets.core.profile import DatasetProfile, merge_profiles
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.profile_rows import (
    profile_to_rows,
)
from monitoring_assets.core.tables import REFERENCE_PROFILES_TABLE

REFERENCE_DATASET = "reference"


def reference_file(lake: Lake, model: ModelConfig) -> str:
    """The location of the model version's training snapshot; a clear error when the
    ``reference_data`` asset has not written it."""
    key = version_key(model.version)
    location = lake.file_location(model.name, REFERENCE_DATASET, key)
    if not lake.has_partition(model.name, REFERENCE_DATASET, key):
        raise MonitorInputError(
            f"model {model.name!r} version {model.version!r}: reference_data is not "
            f"materialized ({location} is missing); materialize {model.name}/reference_data"
        )
    return location


def file_digest(lake: Lake, location: str) -> str:
    """A content hash of the file at ``location`` (read through the lake)."""
    h = hashlib.sha256()
    with lake.open_input(location) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def training_source(lake: Lake, model: ModelConfig) -> tuple[str, str]:
    """The training snapshot's location and content digest."""
    location = reference_file(lake, model)
    return location, file_digest(lake, location)


def training_reference(
    wh: Warehouse, lake: Lake, model: ModelConfig, source: tuple[str, str] | None = None
) -> DatasetProfile:
    """The reference profile of the model version: built once, stored, and reused while
    the reference file is unchanged (its digest is kept with the profile). ``source``:
    the (location, digest) when the caller already has them."""
    location, digest = source or training_source(lake, model)
    stored = read_profile(
        wh,
        REFERENCE_PROFILES_TABLE.name,
        {"model": model.name, "model_version": model.version, "source_digest": digest},
    )
    if stored is not None:
        return stored
    kinds = profiled_columns(model)
    con = scan_connection()
    try:
        described = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [location]).fetchall()
        names = {r[0] for r in described}
    except duckdb.Error as exc:
        raise MonitorInputError(
            f"model {model.name!r}: cannot read reference_data {location}: {exc}"
        ) from exc
    finally:
        con.close()
    if model.columns.target in names:
        kinds[model.columns.target] = model.target_kind
    profile = profile_frame(location, kinds, id_column=None)
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


def _calibrates(model: ModelConfig) -> bool:
    """Whether any threshold of the model may be calibrated (else nothing is computed)."""
    t = model.thresholds
    modes = {t.mode, *t.checks.values(), *(f.thresholds for f in model.features if f.thresholds)}
    return modes != {"fixed"}


@dataclass
class DayDrift:
    """One day's drift judgement: its reference, the result, and the window judged
    (``window`` empty when the day was judged alone)."""

    date: dt.date
    reference: ReferenceFor
    result: DriftResult
    window: str
    rows: int
    insufficient: bool


class DriftReferences:
    """Reference profiles per day: the training snapshot, or merged stored day profiles.

    ``days`` are the day profiles the run already holds; a rolling window reads the
    others from the warehouse (:meth:`prefetch` loads them for a whole run at once).
    """

    def __init__(
        self, wh: Warehouse, lake: Lake, model: ModelConfig, days: Mapping[dt.date, DatasetProfile]
    ):
        self.wh, self.lake, self.model = wh, lake, model
        self.days = dict(days)
        self._training: DatasetProfile | None = None
        self._training_monitor: DriftMonitor | None = None
        self._calibration: ThresholdSource | None = None

    @property
    def training(self) -> DatasetProfile:
        if self._training is None:
            self._source = training_source(self.lake, self.model)
            self._training = training_reference(self.wh, self.lake, self.model, self._source)
        return self._training

    @property
    def calibration(self) -> ThresholdSource:
        """Where the monitors' calibrated thresholds come from: the training snapshot's
        chunks (:class:`~monitoring_assets.core.calibration.ReferenceCalibration`), or
        nothing for a rolling reference (its thresholds are fixed, and say so)."""
        if self._calibration is None:
            if not _calibrates(self.model):
                self._calibration = Uncalibrated("thresholds: fixed in the model file")
            elif self.model.reference.kind == "training":
                profile = self.training
                location, digest = self._source
                self._calibration = ReferenceCalibration(
                    self.wh, self.model, profile, location, digest
                )
            else:
                self._calibration = Uncalibrated("rolling reference (thresholds not calibrated)")
        return self._calibration

    def label(self) -> str:
        r = self.model.reference
        if r.kind == "training":
            return f"training {self.model.version}"
        return f"rolling {r.window_days}d" + (" same weekday" if r.same_weekday else "")

    def prefetch(self, dates: Sequence[dt.date]) -> None:
        """Load the stored day profiles every rolling reference and every drift window
        of ``dates`` needs, at once."""
        need: set[dt.date] = set()
        if self.model.reference.kind == "rolling":
            need |= {p for d in dates for p in rolling_days(self.model, d)}
        reach = window_reach(self.model)
        need |= {d - dt.timedelta(days=k) for d in dates for k in range(1, reach + 1)}
        need -= set(self.days)
        if need:
            self.days.update(load_day_profiles(self.wh, self.model, need))

    def drift(self, date: dt.date) -> DayDrift:
        """The drift of ``date``'s window (the day alone unless ``window`` is set) against
        its reference, with the insufficient-data and empty-window rules: no rows →
        not computable ("no rows in …"); fewer than ``window.min_day_rows`` rows →
        "insufficient data (N rows < M)", every check passes."""
        ref = self.for_day(date)
        monitor = self.monitor(ref)
        current, covered = window_profile(self.model, date, self.days)
        rows = current.rows if current is not None else 0
        windowed = not self.model.window.single_day
        text = window_label(covered, rows) if windowed else ""
        min_rows = self.model.window.min_day_rows
        if monitor.reference is None:
            result = monitor.not_judged(ref.reason)
        elif current is None or rows == 0:
            where = text or f"{date}"
            result = monitor.not_judged(f"no rows in the window ({where})")
        elif rows < min_rows:
            result = monitor.insufficient(rows, min_rows, text)
        else:
            result = monitor.calculate(current)
        return DayDrift(date, ref, result, text, rows, rows < min_rows)

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

    def monitor(self, reference: ReferenceFor) -> DriftMonitor:
        """A :class:`DriftMonitor` fitted on ``reference`` (the training one only once)."""
        if self.model.reference.kind == "training":
            if self._training_monitor is None:
                self._training_monitor = DriftMonitor(self.model, calibration=self.calibration).fit(
                    reference.profile, reference.label, reference.reason
                )
            return self._training_monitor
        return DriftMonitor(self.model, calibration=self.calibration).fit(
            reference.profile, reference.label, reference.reason
        )
