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
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import (
    MonitorInputError,
    load_day_profiles,
    profiled_columns,
)
from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.ports import Lake, Warehouse, version_key
from monitoring_assets.core.profile import (
    PROFILE_ROW_COLUMNS,
    DatasetProfile,
    merge_profiles,
    profile_frame,
    profile_from_rows,
    profile_to_rows,
)
from monitoring_assets.core.sql import ident
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


def training_reference(wh: Warehouse, lake: Lake, model: ModelConfig) -> DatasetProfile:
    """The reference profile of the model version: built once, stored, and reused while
    the reference file is unchanged (its digest is kept with the profile)."""
    location = reference_file(lake, model)
    digest = file_digest(lake, location)
    stored = wh.query(
        f"SELECT {', '.join(ident(c) for c in PROFILE_ROW_COLUMNS)} "
        f"FROM {ident(REFERENCE_PROFILES_TABLE.name)} "
        "WHERE model = ? AND model_version = ? AND source_digest = ?",
        [model.name, model.version, digest],
    )
    if len(stored):
        return profile_from_rows(stored)
    kinds = profiled_columns(model)
    con = duckdb.connect()
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

    def monitor(self, reference: ReferenceFor) -> DriftMonitor:
        """A :class:`DriftMonitor` fitted on ``reference`` (the training one only once)."""
        if self.model.reference.kind == "training":
            if self._training_monitor is None:
                self._training_monitor = DriftMonitor(self.model).fit(
                    reference.profile, reference.label, reference.reason
                )
            return self._training_monitor
        return DriftMonitor(self.model).fit(reference.profile, reference.label, reference.reason)
