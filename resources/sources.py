"""Where inference logs, labels and reference data come from.

Two sources ship: the deterministic production simulator (the embedded default) and
Parquet/CSV files on a path, so a user can point driftwarden at real data. Both
return plain DataFrames; schema validation happens in the assets before any write.
"""

from __future__ import annotations

import datetime as dt
import glob as globlib
import os
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from monitoring_assets.core.config import FileSource, ModelConfig, SimulatorSource
from monitoring_assets.core.schema import SchemaError
from monitoring_assets.core.simulator import DayTruth
from monitoring_assets.core.simulator_tasks import task_simulator


class Source(Protocol):
    """What the foundation assets read from."""

    def reference(self) -> pd.DataFrame: ...

    def inference_day(self, date: dt.date) -> pd.DataFrame: ...

    def labels_day(self, date: dt.date) -> pd.DataFrame | None:
        """Labels of ``date``'s predictions that have arrived by now; None if none can have."""

    def truth(self, date: dt.date) -> DayTruth | None:
        """What was injected on ``date`` (simulator only)."""


def today() -> dt.date:
    """The current date; ``DRIFTWARDEN_TODAY`` (YYYY-MM-DD) pins it for replays and tests."""
    pinned = os.environ.get("DRIFTWARDEN_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.datetime.now(dt.UTC).date()


class SimulatorAdapter:
    """The simulator as a source. Its clock is the day after the scenario (or today, if earlier)."""

    def __init__(self, model: ModelConfig):
        self.model = model
        self.sim = task_simulator(model)

    @property
    def clock(self) -> dt.date:
        return min(self.sim.clock, today())

    def reference(self) -> pd.DataFrame:
        return self.sim.reference()

    def validation(self) -> pd.DataFrame:
        return self.sim.validation()

    def inference_day(self, date: dt.date) -> pd.DataFrame:
        return self.sim.inference_day(date)

    def labels_day(self, date: dt.date) -> pd.DataFrame | None:
        if not self.sim.labels_available(date, self.clock):
            return None
        return self.sim.labels_day(date)

    def truth(self, date: dt.date) -> DayTruth | None:
        return self.sim.truth(date)


class FileAdapter:
    """Parquet or CSV files: a file, a folder (Hive ``date=`` folders or plain files), or a
    pattern with ``{date}`` (YYYY-MM-DD), one file per day."""

    def __init__(self, model: ModelConfig):
        assert isinstance(model.source, FileSource)
        self.model = model
        self.cfg: FileSource = model.source

    def _read(self, spec: str, date: dt.date | None, what: str) -> pd.DataFrame:
        # Plain substitution, not str.format: a path is data, not a format string.
        path = spec.replace("{date}", date.isoformat()) if date and "{date}" in spec else spec
        files = self._files(path, what)
        reader = "read_parquet" if self.cfg.format == "parquet" else "read_csv_auto"
        frames = []
        con = duckdb.connect()
        try:
            for f in files:
                if os.path.getsize(f) == 0:
                    raise SchemaError(f"{what} file {f} is empty")
                try:
                    # The file is a bound parameter; reader and options are constants.
                    opts = ", hive_partitioning = false" if reader == "read_parquet" else ""
                    frames.append(con.execute(f"SELECT * FROM {reader}(?{opts})", [f]).df())
                except duckdb.Error as exc:
                    raise SchemaError(
                        f"{what} file {f} is not a readable {self.cfg.format} file: "
                        f"{str(exc).splitlines()[0]}"
                    ) from None
        finally:
            con.close()
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if date is not None and "{date}" not in spec:
            ts = self.model.columns.timestamp if what != "labels" else None
            if ts and ts in frame:
                stamps = pd.to_datetime(frame[ts])
                if getattr(stamps.dt, "tz", None) is not None:
                    stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
                frame = frame[stamps.dt.date == date].reset_index(drop=True)
        return frame

    @staticmethod
    def _files(path: str, what: str) -> list[str]:
        p = Path(path)
        if p.is_dir():
            files = sorted(
                f for f in globlib.glob(str(p / "**" / "*"), recursive=True) if Path(f).is_file()
            )
        elif any(ch in path for ch in "*?["):
            files = sorted(globlib.glob(path, recursive=True))
        else:
            files = [path] if p.exists() else []
        if not files:
            raise FileNotFoundError(f"{what}: no file at {path}")
        return files

    def reference(self) -> pd.DataFrame:
        return self._read(self.cfg.reference, None, "reference")

    def inference_day(self, date: dt.date) -> pd.DataFrame:
        return self._read(self.cfg.inference, date, "inference")

    def labels_day(self, date: dt.date) -> pd.DataFrame | None:
        if not self.cfg.labels:
            return None
        try:
            labels = self._read(self.cfg.labels, date, "labels")
        except FileNotFoundError:
            return None
        if "{date}" not in self.cfg.labels:
            ids = set(self.inference_day(date)[self.model.columns.id].astype(str))
            labels = labels[labels[self.model.columns.id].astype(str).isin(ids)]
        arrived_col = self.cfg.label_timestamp
        if arrived_col and arrived_col in labels:
            arrived = pd.to_datetime(labels[arrived_col])
            labels = labels[arrived.dt.date <= today()].rename(
                columns={arrived_col: "label_timestamp"}
            )
        return labels.reset_index(drop=True)

    def truth(self, date: dt.date) -> DayTruth | None:
        return None


def build_source(model: ModelConfig) -> Source:
    """The source a model's config declares."""
    if isinstance(model.source, SimulatorSource):
        return SimulatorAdapter(model)
    return FileAdapter(model)
