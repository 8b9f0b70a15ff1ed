"""The Parquet lake: inference logs, labels and reference snapshots of each model.

This module owns the embedded backend (:class:`Lake`, a folder under DRIFTWARDEN_HOME),
:func:`open_lake` (the one place a location becomes a backend: a plain folder is a
:class:`Lake`, an ``s3://``/``gs://``/``file://`` URI a :class:`~resources.lake_fs.FsLake`)
and the Dagster resource around it. Both implement
:class:`monitoring_assets.core.ports.Lake`: locations are strings, and existence is
asked of the lake (:meth:`Lake.exists`, :meth:`Lake.has_day`).

Layout: ``{root}/{model}/{dataset}/date=YYYY-MM-DD/part-0.parquet``
(:func:`~monitoring_assets.core.ports.date_key`). A partition is written to a temporary
folder beside its final place and swapped in by rename, so a rerun replaces it whole and
a failed write leaves the previous copy untouched. DuckDB reads the same layout with
``read_parquet(..., hive_partitioning=true)``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.core.ports import PART_FILE, date_key, lake_segments
from monitoring_assets.core.ports import Lake as LakePort


class StagedPartition:
    """A partition written to a staging folder; :meth:`commit` swaps it in by rename."""

    def __init__(self, staging: Path, final: Path):
        self.staging = staging
        self.final = final

    @property
    def file(self) -> str:
        return str(self.final / PART_FILE)

    def commit(self) -> str:
        """Swap the staged copy in; returns the partition file's location."""
        old = None
        if self.final.exists():
            old = self.final.parent / f".{self.final.name}.old-{uuid.uuid4().hex}"
            os.rename(self.final, old)
        os.rename(self.staging, self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.file

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


class Lake:
    """Parquet partitions of each model's datasets in a local folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def date_key(date: dt.date) -> str:
        return date_key(date)

    def _dir(self, model: str, dataset: str, key: str | None = None) -> Path:
        return self.root.joinpath(*lake_segments(model, dataset, key))

    # -- locations (strings; see monitoring_assets.core.ports.Lake)

    def dataset_location(self, model: str, dataset: str) -> str:
        return str(self._dir(model, dataset))

    def partition_location(self, model: str, dataset: str, key: str) -> str:
        return str(self._dir(model, dataset, key))

    def file_location(self, model: str, dataset: str, key: str) -> str:
        return str(self._dir(model, dataset, key) / PART_FILE)

    def day_location(self, model: str, dataset: str, date: dt.date) -> str:
        return self.file_location(model, dataset, date_key(date))

    def exists(self, location: str) -> bool:
        return os.path.exists(location)

    def has_partition(self, model: str, dataset: str, key: str) -> bool:
        return self.exists(self.file_location(model, dataset, key))

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool:
        return self.has_partition(model, dataset, date_key(date))

    def open_input(self, location: str) -> BinaryIO:
        return open(location, "rb")

    def glob(self, model: str, dataset: str) -> str:
        """A glob DuckDB's read_parquet understands, covering every partition."""
        return str(self._dir(model, dataset) / "date=*" / "*.parquet")

    def days(self, model: str, dataset: str) -> list[dt.date]:
        """The days that have a partition, ascending."""
        base = self._dir(model, dataset)
        if not base.is_dir():
            return []
        return sorted(
            dt.date.fromisoformat(p.name[len("date=") :])
            for p in base.iterdir()
            if p.is_dir() and p.name.startswith("date=") and (p / PART_FILE).exists()
        )

    # -- writes and reads

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> StagedPartition:
        """Write ``frame`` beside partition ``key`` without touching the current copy."""
        final = self._dir(model, dataset, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".{key}.staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, staging / PART_FILE, compression="zstd")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StagedPartition(staging, final)

    def write(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> str:
        """Replace partition ``key`` (e.g. ``date=2026-06-01``) with ``frame``; returns the
        file's location."""
        return self.stage(model, dataset, key, frame).commit()

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> str:
        return self.write(model, dataset, date_key(date), frame)

    def read_partition(self, model: str, dataset: str, key: str) -> pd.DataFrame:
        location = self.file_location(model, dataset, key)
        if not self.exists(location):
            raise FileNotFoundError(
                f"no {dataset} partition {key} for model {model!r}: {location} is missing"
            )
        return pq.read_table(location).to_pandas()

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame:
        location = self.day_location(model, dataset, date)
        if not self.exists(location):
            raise FileNotFoundError(
                f"no {dataset} partition for model {model!r} on {date}: {location} is missing"
            )
        return pq.read_table(location).to_pandas()

    # -- kept while the monitors move to the string locations above; these return Path

    def dataset_dir(self, model: str, dataset: str) -> Path:
        """Deprecated: use :meth:`dataset_location`."""
        return self._dir(model, dataset)

    def partition_dir(self, model: str, dataset: str, key: str) -> Path:
        """Deprecated: use :meth:`partition_location` / :meth:`file_location`."""
        return self._dir(model, dataset, key)

    def day_path(self, model: str, dataset: str, date: dt.date) -> Path:
        """Deprecated: use :meth:`day_location` and :meth:`has_day`."""
        return self._dir(model, dataset, date_key(date)) / PART_FILE


def open_lake(location: str | Path) -> LakePort:
    """The lake at ``location``: a plain local folder is the embedded :class:`Lake`; a URI
    (``s3://``, ``gs://``, ``file://``) is a :class:`~resources.lake_fs.FsLake` over
    pyarrow filesystems. Every entry point opens its lake here, typically as
    ``open_lake(home.lake_location)``."""
    text = str(location)
    if "://" in text:
        from resources.lake_fs import FsLake

        return FsLake.from_uri(text)
    return Lake(text)


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake as a Dagster resource. ``root`` is a local folder, or an
    ``s3://``/``gs://``/``file://`` URI served through pyarrow filesystems."""

    root: str

    def get(self) -> LakePort:
        return open_lake(self.root)
