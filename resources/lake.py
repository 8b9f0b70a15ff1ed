"""Hive-partitioned Parquet under DRIFTWARDEN_HOME: inference logs, labels, references.

Layout: ``{root}/{model}/{dataset}/date=YYYY-MM-DD/part-0.parquet``. A partition is
written to a temporary folder beside its final place and swapped in by rename, so a
rerun replaces it whole and a failed write leaves the previous copy untouched.
DuckDB reads the same layout with ``read_parquet(..., hive_partitioning=true)``.

Every path segment is checked (:func:`lake_segments`): model and dataset are safe names,
a partition is ``key=<safe name>`` (:mod:`monitoring_assets.names`), so no value can
lead a write outside ``{root}/{model}/{dataset}``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.names import check_partition_key, check_safe_name


def lake_segments(model: str, dataset: str, key: str | None = None) -> list[str]:
    """The checked path segments ``[model, dataset(, key)]``; ``ValueError`` names the bad one."""
    out = [check_safe_name(model, "model name"), check_safe_name(dataset, "lake dataset")]
    if key is not None:
        out.append(check_partition_key(key, "lake partition"))
    return out


class StagedPartition:
    """A partition written to a staging folder; :meth:`commit` swaps it in by rename."""

    def __init__(self, staging: Path, final: Path):
        self.staging = staging
        self.final = final

    @property
    def file(self) -> Path:
        return self.final / "part-0.parquet"

    def commit(self) -> Path:
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
    """Parquet partitions of each model's datasets."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def dataset_dir(self, model: str, dataset: str) -> Path:
        return self.root.joinpath(*lake_segments(model, dataset))

    def partition_dir(self, model: str, dataset: str, key: str) -> Path:
        return self.root.joinpath(*lake_segments(model, dataset, key))

    @staticmethod
    def date_key(date: dt.date) -> str:
        return f"date={date.isoformat()}"

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> StagedPartition:
        """Write ``frame`` beside partition ``key`` without touching the current copy."""
        final = self.partition_dir(model, dataset, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = final.parent / f".{key}.staging-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, staging / "part-0.parquet", compression="zstd")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return StagedPartition(staging, final)

    def write(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> Path:
        """Replace partition ``key`` (e.g. ``date=2026-06-01``) with ``frame``; return the file."""
        return self.stage(model, dataset, key, frame).commit()

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> Path:
        return self.write(model, dataset, self.date_key(date), frame)

    def day_path(self, model: str, dataset: str, date: dt.date) -> Path:
        return self.partition_dir(model, dataset, self.date_key(date)) / "part-0.parquet"

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame:
        path = self.day_path(model, dataset, date)
        if not path.exists():
            raise FileNotFoundError(
                f"no {dataset} partition for model {model!r} on {date}: {path} is missing"
            )
        return pq.read_table(path).to_pandas()

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool:
        return self.day_path(model, dataset, date).exists()

    def glob(self, model: str, dataset: str) -> str:
        """A glob DuckDB's read_parquet understands, covering every partition."""
        return str(self.dataset_dir(model, dataset) / "date=*" / "*.parquet")


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake as a Dagster resource. ``root`` is a local folder, or an
    ``s3://``/``gs://``/``file://`` URI served through pyarrow filesystems."""

    root: str

    def get(self) -> Lake:
        from resources.lake_fs import open_lake

        return open_lake(self.root)
