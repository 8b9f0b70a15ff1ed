"""The Parquet lake on any pyarrow filesystem: ``s3://``, ``gs://``, ``file://`` or a local path.

:class:`FsLake` implements :class:`monitoring_assets.core.ports.Lake` with the same layout
as the embedded :class:`resources.lake.Lake`
(``{root}/{model}/{dataset}/date=YYYY-MM-DD/part-0.parquet``), so a monitor written
against the port works on object storage. Locations are strings in the filesystem's own
namespace (``bucket/prefix/...`` for object stores). :func:`resources.lake.open_lake`
chooses this backend for a URI.

Reads for computation go through Arrow: :meth:`FsLake.dataset` is a Hive-partitioned
``pyarrow.dataset`` over the filesystem and :meth:`FsLake.register` hands it to a DuckDB
connection, so DuckDB computes over Arrow without its own object-store extensions.

Replacing a partition: on a local filesystem the new copy is staged beside the old and
swapped in by rename, as ``Lake`` does. Object stores have no rename: the new object is
written under a staging key, the old partition's objects are deleted and the staged
object is copied into place (each object write is atomic; a reader may briefly see the
partition missing, never half a file).
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import BinaryIO

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from monitoring_assets.core.ports import PART_FILE, date_key, lake_segments


def _has_rename(fs: pafs.FileSystem) -> bool:
    """Whether ``fs`` renames directories atomically (local disks, possibly under a SubTree)."""
    while isinstance(fs, pafs.SubTreeFileSystem):
        fs = fs.base_fs
    return isinstance(fs, pafs.LocalFileSystem)


class FsStagedPartition:
    """A partition written under a staging path; :meth:`commit` puts it in place."""

    def __init__(self, fs: pafs.FileSystem, staging: str, final: str):
        self.fs = fs
        self.staging = staging
        self.final = final

    @property
    def file(self) -> str:
        return f"{self.final}/{PART_FILE}"

    def commit(self) -> str:
        if _has_rename(self.fs):
            old = None
            if self.fs.get_file_info(self.final).type != pafs.FileType.NotFound:
                parent, name = self.final.rsplit("/", 1)
                old = f"{parent}/.{name}.old-{uuid.uuid4().hex}"
                self.fs.move(self.final, old)
            self.fs.move(self.staging, self.final)
            if old is not None:
                self.fs.delete_dir(old)
            return self.file
        self.fs.create_dir(self.final, recursive=True)
        self.fs.delete_dir_contents(self.final, missing_dir_ok=True)
        self.fs.copy_file(f"{self.staging}/{PART_FILE}", self.file)
        self.fs.delete_dir(self.staging)
        return self.file

    def discard(self) -> None:
        if self.fs.get_file_info(self.staging).type != pafs.FileType.NotFound:
            self.fs.delete_dir(self.staging)


class FsLake:
    """Parquet partitions of each model's datasets on a pyarrow filesystem."""

    def __init__(self, filesystem: pafs.FileSystem, root: str):
        self.fs = filesystem
        self.root = root.rstrip("/") if root not in ("", "/") else root

    @classmethod
    def from_uri(cls, uri: str | Path) -> FsLake:
        """A lake at ``uri``: ``s3://bucket/prefix``, ``gs://bucket/prefix``,
        ``file:///abs/path`` or a local path (created if missing)."""
        text = str(uri)
        if "://" not in text:
            path = Path(text).resolve()
            path.mkdir(parents=True, exist_ok=True)
            return cls(pafs.LocalFileSystem(), path.as_posix())
        try:
            fs, root = pafs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
            raise ValueError(f"cannot open the lake at {text!r}: {exc}") from exc
        return cls(fs, root)

    def _join(self, *parts: str) -> str:
        head = self.root if self.root else ""
        return "/".join(p for p in (head, *parts) if p)

    @staticmethod
    def date_key(date: dt.date) -> str:
        return date_key(date)

    # -- locations (strings in the filesystem's namespace)

    def dataset_location(self, model: str, dataset: str) -> str:
        return self._join(*lake_segments(model, dataset))

    def partition_location(self, model: str, dataset: str, key: str) -> str:
        return self._join(*lake_segments(model, dataset, key))

    def file_location(self, model: str, dataset: str, key: str) -> str:
        return self._join(*lake_segments(model, dataset, key), PART_FILE)

    def day_location(self, model: str, dataset: str, date: dt.date) -> str:
        return self.file_location(model, dataset, date_key(date))

    def exists(self, location: str) -> bool:
        return self.fs.get_file_info(location).type != pafs.FileType.NotFound

    def has_partition(self, model: str, dataset: str, key: str) -> bool:
        location = self.file_location(model, dataset, key)
        return self.fs.get_file_info(location).type == pafs.FileType.File

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool:
        return self.has_partition(model, dataset, date_key(date))

    def open_input(self, location: str) -> BinaryIO:
        return self.fs.open_input_stream(location)

    # -- writes and reads

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> FsStagedPartition:
        """Write ``frame`` under a staging path without touching the current copy."""
        final = self.partition_location(model, dataset, key)
        staging = f"{self.dataset_location(model, dataset)}/.{key}.staging-{uuid.uuid4().hex}"
        self.fs.create_dir(staging, recursive=True)
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, f"{staging}/{PART_FILE}", compression="zstd", filesystem=self.fs)
        except BaseException:
            self.fs.delete_dir(staging)
            raise
        return FsStagedPartition(self.fs, staging, final)

    def write(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> str:
        """Replace partition ``key`` (e.g. ``date=2026-06-01``) with ``frame``; return the file."""
        return self.stage(model, dataset, key, frame).commit()

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> str:
        return self.write(model, dataset, date_key(date), frame)

    def read_partition(self, model: str, dataset: str, key: str) -> pd.DataFrame:
        location = self.file_location(model, dataset, key)
        if not self.has_partition(model, dataset, key):
            raise FileNotFoundError(
                f"no {dataset} partition {key} for model {model!r}: {location} is missing"
            )
        return pq.read_table(location, filesystem=self.fs).to_pandas()

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame:
        location = self.day_location(model, dataset, date)
        if not self.has_day(model, dataset, date):
            raise FileNotFoundError(
                f"no {dataset} partition for model {model!r} on {date}: {location} is missing"
            )
        return pq.read_table(location, filesystem=self.fs).to_pandas()

    def days(self, model: str, dataset: str) -> list[dt.date]:
        """The days that have a partition, ascending."""
        selector = pafs.FileSelector(self.dataset_location(model, dataset), allow_not_found=True)
        out = []
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.Directory and info.base_name.startswith("date="):
                out.append(dt.date.fromisoformat(info.base_name[len("date=") :]))
        return sorted(out)

    def dataset(self, model: str, dataset: str) -> pads.Dataset:
        """Every partition of ``dataset`` as one Arrow dataset with a ``date`` column (Hive)."""
        files = [self.day_location(model, dataset, d) for d in self.days(model, dataset)]
        if not files:
            raise FileNotFoundError(
                f"no {dataset} partitions for model {model!r} under "
                f"{self.dataset_location(model, dataset)}"
            )
        return pads.dataset(
            files,
            filesystem=self.fs,
            format="parquet",
            partitioning=pads.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"),
            partition_base_dir=self.dataset_location(model, dataset),
        )

    def register(
        self, con: duckdb.DuckDBPyConnection, name: str, model: str, dataset: str
    ) -> duckdb.DuckDBPyConnection:
        """Make ``dataset`` queryable as view ``name`` on ``con`` (DuckDB scans the Arrow dataset)."""
        return con.register(name, self.dataset(model, dataset))

    # -- kept while the monitors move to the locations above (same strings)

    def dataset_dir(self, model: str, dataset: str) -> str:
        """Deprecated: use :meth:`dataset_location`."""
        return self.dataset_location(model, dataset)

    def partition_dir(self, model: str, dataset: str, key: str) -> str:
        """Deprecated: use :meth:`partition_location` / :meth:`file_location`."""
        return self.partition_location(model, dataset, key)

    def day_path(self, model: str, dataset: str, date: dt.date) -> str:
        """Deprecated: use :meth:`day_location` and :meth:`has_day`."""
        return self.day_location(model, dataset, date)
