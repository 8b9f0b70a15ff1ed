"""Where inference logs, labels and reference data come from.

Two sources ship: the deterministic production simulator (the embedded default) and
Parquet/CSV files on a path or an object store (``s3://bucket/logs/{date}.parquet``, with
the lake's S3 settings), so a user can point driftwarden at real data. Both
return plain DataFrames; schema validation happens in the assets before any write.
"""

from __future__ import annotations

import datetime as dt
import glob as globlib
import os
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd
import pyarrow.fs as pafs

from monitoring_assets.core.config import FileSource, ModelConfig, SimulatorSource
from monitoring_assets.core.lake_io import fsspec_filesystem, scan_connection, scheme
from monitoring_assets.core.schema import SchemaError
from monitoring_assets.core.simulator import DayTruth
from monitoring_assets.core.simulator_tasks import task_simulator
from resources.lake_fs import FsLake


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


DATE_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"


class FileAdapter:
    """Parquet or CSV files: a file, a folder (Hive ``date=`` folders or plain files), or a
    pattern with ``{date}`` (YYYY-MM-DD), one file per day.

    A file holding more than one day is read once per adapter and kept (one adapter
    serves one asset step, so a single file of every day is read once per run, not once
    per day). Every error names the file; :meth:`origin` says which files a day's rows
    came from.
    """

    def __init__(self, model: ModelConfig):
        assert isinstance(model.source, FileSource)
        self.model = model
        self.cfg: FileSource = model.source
        self._frames: dict[str, pd.DataFrame] = {}
        self._listed: dict[str, list[str]] = {}
        self._days: dict[str, dict[dt.date, pd.DataFrame] | None] = {}
        self._origins: dict[tuple[str, dt.date | None], list[str]] = {}
        self._label_ids: dict[str, pd.Series] = {}  # one file of every day's labels: its ids
        #: Rows of a source split by timestamp whose timestamp is null, per file read:
        #: they belong to no day and are left out (see :meth:`rows_without_timestamp`).
        self._untimed: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------------ reading files

    def _read_file(self, path: str, what: str, limit: int | None = None) -> pd.DataFrame:
        if _size(path) == 0:
            raise SchemaError(f"{what} file {path} is empty")
        reader = "read_parquet" if self.cfg.format == "parquet" else "read_csv_auto"
        # The file is a bound parameter; reader and options are constants.
        opts = ", hive_partitioning = false" if reader == "read_parquet" else ""
        con = scan_connection()  # reads s3:// files through the lake's filesystem too
        try:
            cap = f" LIMIT {int(limit)}" if limit is not None else ""
            frame = con.execute(f"SELECT * FROM {reader}(?{opts}){cap}", [path]).df()
        except duckdb.Error as exc:
            raise SchemaError(
                f"{what} file {path} is not a readable {self.cfg.format} file: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        finally:
            con.close()
        return frame

    def _read_files(self, files: list[str], what: str) -> pd.DataFrame:
        frames = [self._read_file(f, what) for f in files]
        if len(frames) == 1:
            return frames[0]
        return pd.concat(
            [f.assign(_source_file=name) for f, name in zip(frames, files, strict=True)],
            ignore_index=True,
        )

    def _stamp_days(self, frame: pd.DataFrame, where: str) -> pd.Series | None:
        """The UTC day of each row's timestamp; None when the frame has no timestamp
        column (the schema check reports it)."""
        ts = self.model.columns.timestamp
        if ts not in frame:
            return None
        try:
            stamps = pd.to_datetime(frame[ts])
        except (ValueError, TypeError) as exc:
            raise SchemaError(
                f"model {self.model.name!r}: timestamp column {ts!r} in {where} is not a "
                f"timestamp: {exc}"
            ) from None
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        return stamps.dt.date

    def _split_by_day(
        self, spec: str, files: list[str], what: str
    ) -> dict[dt.date, pd.DataFrame] | None:
        """Every file of ``spec`` read once and split by the day of its timestamps; None
        when the files have no timestamp column."""
        if spec not in self._days:
            frame = self._read_files(files, what)
            where = f"{what} file(s) {', '.join(files)}"
            days = self._stamp_days(frame, where)
            if days is None:
                self._frames[spec] = frame.drop(columns="_source_file", errors="ignore")
                self._days[spec] = None
                return None
            self._days[spec] = {
                d: part.drop(columns="_source_file", errors="ignore").reset_index(drop=True)
                for d, part in frame.groupby(days.to_numpy(), sort=False)
            }
            untimed = days.isna().to_numpy()
            if "_source_file" in frame:
                per_file = frame.loc[untimed, "_source_file"].value_counts()
            else:
                per_file = pd.Series({files[0]: int(untimed.sum())})
            for name in files:
                self._untimed[(what, name)] = int(per_file.get(name, 0))
            if "_source_file" in frame:
                pairs = pd.DataFrame({"d": days.to_numpy(), "f": frame["_source_file"]})
                for d, names in pairs.drop_duplicates().groupby("d")["f"]:
                    self._origins[(what, d)] = sorted(names)
            else:
                for d in self._days[spec]:
                    self._origins[(what, d)] = list(files)
        return self._days[spec]

    def _day(self, spec: str, date: dt.date, what: str, by_timestamp: bool) -> pd.DataFrame:
        """The rows of ``date`` in ``spec``; FileNotFoundError when no file holds any."""
        if "{date}" in spec and not (by_timestamp and self.cfg.split_by_timestamp):
            path = spec.replace("{date}", date.isoformat())
            files = self._files(path, what)
            self._origins[(what, date)] = files
            frame = self._read_files(files, what).drop(columns="_source_file", errors="ignore")
            if by_timestamp:
                self._check_day(frame, files, date, what)
            return frame
        if spec not in self._listed:
            # Plain substitution, not str.format: a path is data, not a format string.
            self._listed[spec] = self._files(spec.replace("{date}", DATE_GLOB), what)
        files = self._listed[spec]
        if not by_timestamp:
            # One file (or folder) for every day: read once, kept for the other days.
            self._origins[(what, None)] = files
            if spec not in self._frames:
                frame = self._read_files(files, what)
                self._frames[spec] = frame.drop(columns="_source_file", errors="ignore")
            return self._frames[spec]
        days = self._split_by_day(spec, files, what)
        if days is None:
            # No timestamp column: hand the rows over so the schema check names it.
            self._origins[(what, date)] = files
            return self._frames[spec]
        if date not in days:
            raise FileNotFoundError(
                f"{what}: no row of {date} in {', '.join(files)} (by {self.model.columns.timestamp!r})"
            )
        return days[date]

    def _check_day(self, frame: pd.DataFrame, files: list[str], date: dt.date, what: str) -> None:
        """A ``{date}`` file must hold only rows of its day."""
        where = f"{what} file {', '.join(files)}"
        days = self._stamp_days(frame, where)
        if days is None:
            return
        other = days.notna() & (days != date)
        if other.any():
            seen = sorted({str(d) for d in days[other]})
            raise SchemaError(
                f"model {self.model.name!r}: {where} (partition {date}) holds {int(other.sum())} "
                f"of {len(frame)} row(s) whose {self.model.columns.timestamp!r} is not on {date} "
                f"(on {', '.join(seen[:5])}{', …' if len(seen) > 5 else ''}); fix the file or "
                "set split_by_timestamp: true on the source to assign rows to days by timestamp"
            )

    @staticmethod
    def _files(path: str, what: str) -> list[str]:
        if scheme(path) is not None:
            files = _remote_files(path)
            if not files:
                raise FileNotFoundError(f"{what}: no file at {path}")
            return files
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

    def rows_without_timestamp(self, what: str) -> dict[str, int] | None:
        """Per file of ``what`` (``inference`` or ``labels``) split by timestamp so far:
        its rows whose timestamp is null, which belong to no day and were left out;
        None when no file of ``what`` was split by timestamp."""
        counts = {name: n for (w, name), n in self._untimed.items() if w == what}
        return counts or None

    def sample(self, what: str, rows: int = 1000) -> tuple[str, pd.DataFrame] | None:
        """The first file of ``what`` (``inference`` or ``labels``) and its first ``rows``
        rows, or None when no file exists yet."""
        spec = self.cfg.inference if what == "inference" else self.cfg.labels
        if not spec:
            return None
        try:
            files = self._files(spec.replace("{date}", DATE_GLOB), what)
        except FileNotFoundError:
            return None
        return files[0], self._read_file(files[0], what, limit=rows)

    # ------------------------------------------------------------------ the Source

    def origin(self, what: str, date: dt.date | None = None) -> str:
        """Which file(s) the last read of ``what`` (and ``date``) came from, for messages."""
        files = self._origins.get((what, date)) or self._origins.get((what, None)) or []
        if not files:
            return ""
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        return f"file{'s' if len(files) > 1 else ''} {shown}"

    def reference(self) -> pd.DataFrame:
        return self._day(self.cfg.reference, dt.date.min, "reference", by_timestamp=False)

    def inference_day(self, date: dt.date) -> pd.DataFrame:
        return self._day(self.cfg.inference, date, "inference", by_timestamp=True)

    def labels_day(self, date: dt.date, ids: pd.Series | None = None) -> pd.DataFrame | None:
        """Labels of ``date``'s predictions. Without ``{date}`` in the labels path the
        file holds every day's labels: those of ``ids`` (the day's request ids; read from
        the inference source when not given) are the day's."""
        if not self.cfg.labels:
            return None
        try:
            labels = self._day(self.cfg.labels, date, "labels", by_timestamp=False)
        except FileNotFoundError:
            return None
        if "{date}" not in self.cfg.labels:
            self._origins[("labels", date)] = self._origins.get(("labels", None), [])
            id_col = self.model.columns.id
            if id_col in labels:  # else the schema check names the missing column
                if ids is None:
                    ids = self.inference_day(date)[id_col]
                if self.cfg.labels not in self._label_ids:
                    self._label_ids[self.cfg.labels] = labels[id_col].astype(str)
                labels = labels[self._label_ids[self.cfg.labels].isin(set(ids.astype(str)))]
        arrived_col = self.cfg.label_timestamp
        if arrived_col and arrived_col in labels:
            arrived = pd.to_datetime(labels[arrived_col])
            labels = labels[arrived.dt.date <= today()].rename(
                columns={arrived_col: "label_timestamp"}
            )
        return labels.reset_index(drop=True)

    def truth(self, date: dt.date) -> DayTruth | None:
        return None


def _store(path: str) -> tuple[str, Any, str]:
    """(scheme, pyarrow filesystem, key) of an object-store path; the bucket is opened
    (and probed) like a lake, so a bad endpoint or bucket is a clear error naming it."""
    name = scheme(path)
    rest = path[len(name) + 3 :]
    store = FsLake.from_uri(f"{name}://{rest.split('/', 1)[0]}")
    return name, store.fs, rest


def _size(path: str) -> int:
    if scheme(path) is None:
        return os.path.getsize(path)
    _, fs, key = _store(path)
    return fs.get_file_info(key).size or 0


def _remote_files(path: str) -> list[str]:
    """The files of an object-store path: one file, every file under a folder, or a glob."""
    name, fs, key = _store(path)
    if any(ch in key for ch in "*?["):
        view = fsspec_filesystem(name, fs)
        keys = [k for k in view.glob(key) if view.isfile(k)]
    else:
        info = fs.get_file_info(key)
        if info.type == pafs.FileType.Directory:
            selector = pafs.FileSelector(key, recursive=True)
            keys = [i.path for i in fs.get_file_info(selector) if i.type == pafs.FileType.File]
        else:
            keys = [key] if info.type == pafs.FileType.File else []
    return sorted(f"{name}://{k}" for k in keys)


def build_source(model: ModelConfig) -> Source:
    """The source a model's config declares."""
    if isinstance(model.source, SimulatorSource):
        return SimulatorAdapter(model)
    return FileAdapter(model)
