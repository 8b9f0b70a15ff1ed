"""Landing the stream as Parquet micro-batches the daily assets can read.

Layout (beside the batch datasets, never inside them — the batch ``inference_logs``
asset replaces a day's folder whole)::

    {lake}/{model}/stream/inference_logs/date=YYYY-MM-DD/part-{seq:012d}.parquet
    {lake}/{model}/stream/ground_truth/date=YYYY-MM-DD/part-{seq:012d}.parquet
    {lake}/{model}/stream/_consumer/{group}.state        (consumer checkpoint, JSON)
    {lake}/{model}/stream/_consumer/{group}.watermark.json  (what the day sensor reads)

``seq`` is the consumer's checkpoint sequence number. A part is written to a hidden
temporary file, fsynced and renamed into place; the checkpoint that records ``seq``
is written after it. On restart, parts with a ``seq`` above the last checkpoint are
orphans of a crash and are deleted (their events are consumed again), so every event
lands exactly once. Inference parts have exactly the columns and dtypes of
:func:`monitoring_assets.core.schema.validate_inference`, so a model whose source is
``files`` with ``inference: "{lake}/{model}/stream/inference_logs/date={date}"``
(see :func:`stream_file_source`) builds its daily partitions from the stream.

On an object-store lake (``s3://…``) the same layout holds objects: a part, a checkpoint
or a watermark is one upload that becomes visible only when complete (no temp file, no
rename), listed and deleted through the lake's filesystem.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.core.config import FileSource, ModelConfig
from monitoring_assets.core.lake_io import Location, filesystem_for, read_bytes, scheme, write_bytes
from monitoring_assets.core.names import check_safe_name
from monitoring_assets.core.schema import inference_columns
from monitoring_assets.streaming.messages import output_columns

INFERENCE = "inference_logs"
LABELS = "ground_truth"
_PART = re.compile(r"^part-(\d{12})\.parquet$")
_DAY = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_US_PER_DAY = 86_400_000_000


def stream_root(lake_root: str | Path, model: str) -> Path | Location:
    """``{lake}/{model}/stream`` (a :class:`Location` on an object-store lake)."""
    return _root(lake_root) / check_safe_name(model, "model name") / "stream"


def _root(lake_root: str | Path) -> Path | Location:
    if scheme(lake_root) is None:
        return Path(lake_root)
    from resources.lake import open_lake  # registers the object store's filesystem

    open_lake(str(lake_root))
    return Location(str(lake_root))


def _remote(path: Path | Location) -> bool:
    return isinstance(path, Location)


def _listing(base: Location) -> list[tuple[str, str]]:
    """(folder, file name) of every object under ``base``, one level of folders deep."""
    import pyarrow.fs as pafs

    fs, key = filesystem_for(base)
    infos = fs.get_file_info(pafs.FileSelector(key, recursive=True, allow_not_found=True))
    out = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        folder, _, name = info.path[len(key) + 1 :].rpartition("/")
        out.append((folder, name))
    return out


def read_location(path: Path | Location) -> bytes | None:
    """The bytes of a file or object, None when absent."""
    if _remote(path):
        return read_bytes(path)
    return Path(path).read_bytes() if Path(path).exists() else None


def write_location(path: Path | Location, data: bytes) -> None:
    """Replace a file atomically (temp + fsync + rename) or an object (one upload)."""
    if _remote(path):
        write_bytes(path, data)
    else:
        atomic_write_bytes(Path(path), data)


def day_of_us(us: int) -> dt.date:
    """The UTC date of an epoch-microseconds timestamp."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=us // _US_PER_DAY)


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` by temp file + fsync + rename (+ directory fsync)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def stream_file_source(model: ModelConfig, lake_root: str | Path) -> FileSource:
    """A ``files`` source reading the landed stream (reference: the lake's reference partition).

    Use it as ``source:`` of a stream-fed model so ``inference_logs``/``ground_truth``
    partitions are built from what the consumer landed.
    """
    root = stream_root(lake_root, model.name)
    reference = _root(lake_root) / model.name / "reference" / f"version={model.version}"
    return FileSource(
        reference=str(reference),
        inference=str(root / INFERENCE / "date={date}"),
        labels=str(root / LABELS / "date={date}"),
        format="parquet",
    )


class StreamLanding:
    """Writes and reads one model's landed stream (see the module docstring)."""

    def __init__(self, lake_root: str | Path, model: ModelConfig):
        self.model = model
        self.root = stream_root(lake_root, model.name)
        self.columns = inference_columns(model)
        c = model.columns
        schema = [pa.field(c.id, pa.string()), pa.field(c.timestamp, pa.timestamp("us"))]
        for f in model.features:
            schema.append(pa.field(f.name, pa.float64() if f.type == "numerical" else pa.string()))
        outcome = pa.float64() if model.task == "regression" else pa.int64()
        prediction, *numbers = output_columns(model)
        schema.append(pa.field(prediction, outcome))
        schema.extend(pa.field(name, pa.float64()) for name in numbers)
        self.schema = pa.schema(schema)
        self.label_schema = pa.schema(
            [
                pa.field(c.id, pa.string()),
                pa.field(c.target, outcome),
                pa.field("label_timestamp", pa.timestamp("us")),
            ]
        )

    def dataset_dir(self, dataset: str) -> Path | Location:
        return self.root / dataset

    def day_dir(self, dataset: str, day: dt.date) -> Path | Location:
        return self.root / dataset / f"date={day.isoformat()}"

    # ------------------------------------------------------------------ writing
    def write(
        self, dataset: str, seq: int, days: Mapping[dt.date, Mapping[str, list]]
    ) -> list[Path]:
        """Write one part per day for checkpoint ``seq``: ``days`` maps a date to its
        columns (name -> values; timestamps as epoch microseconds)."""
        schema = self.schema if dataset == INFERENCE else self.label_schema
        written = []
        for day, cols in sorted(days.items()):
            arrays = []
            for f in schema:
                values = cols[f.name]
                if pa.types.is_timestamp(f.type):
                    arrays.append(pa.array(np.asarray(values, dtype="datetime64[us]")))
                elif f.type == pa.float64():
                    arrays.append(pa.array(np.asarray(values, dtype=float), from_pandas=False))
                else:
                    arrays.append(pa.array(values, type=f.type))
            table = pa.Table.from_arrays(arrays, schema=schema)
            final = self.day_dir(dataset, day) / f"part-{seq:012d}.parquet"
            if _remote(final):
                fs, key = filesystem_for(final)
                pq.write_table(table, key, compression="zstd", filesystem=fs)
                written.append(final)
                continue
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = final.parent / f".{final.name}.tmp-{os.getpid()}"
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            fsync_dir(final.parent)
            written.append(final)
        return written

    # ------------------------------------------------------------------ reading
    def parts(self, dataset: str) -> dict[dt.date, list[tuple[int, Path]]]:
        """Every landed part: date -> [(seq, path)], ascending."""
        out: dict[dt.date, list[tuple[int, Path]]] = {}
        base = self.dataset_dir(dataset)
        if _remote(base):
            for folder, name in _listing(base):
                m, pm = _DAY.match(folder), _PART.match(name)
                if m and pm:
                    day = dt.date.fromisoformat(m.group(1))
                    out.setdefault(day, []).append((int(pm.group(1)), base / folder / name))
            return {d: sorted(found) for d, found in sorted(out.items())}
        if not base.exists():
            return out
        for d in sorted(base.iterdir()):
            m = _DAY.match(d.name)
            if not m or not d.is_dir():
                continue
            found = []
            for f in d.iterdir():
                pm = _PART.match(f.name)
                if pm:
                    found.append((int(pm.group(1)), f))
            if found:
                out[dt.date.fromisoformat(m.group(1))] = sorted(found)
        return out

    def remove_after(self, seq: int) -> list[Path]:
        """Delete parts (and stray temporary files) written after checkpoint ``seq``."""
        removed = []
        for dataset in (INFERENCE, LABELS):
            base = self.dataset_dir(dataset)
            if _remote(base):
                for folder, name in _listing(base):
                    pm = _PART.match(name)
                    if pm and int(pm.group(1)) > seq:
                        fs, key = filesystem_for(base / folder / name)
                        fs.delete_file(key)
                        removed.append(base / folder / name)
                continue
            if not base.exists():
                continue
            for d in base.iterdir():
                if not d.is_dir():
                    continue
                for f in d.iterdir():
                    pm = _PART.match(f.name)
                    if (pm and int(pm.group(1)) > seq) or ".tmp-" in f.name:
                        f.unlink()
                        removed.append(f)
        return removed

    def ids(self, dataset: str, days: Iterable[dt.date]) -> dict[dt.date, set[str]]:
        """Request ids landed on ``days`` (used to rebuild the de-duplication index)."""
        out: dict[dt.date, set[str]] = {}
        col = self.model.columns.id
        all_parts = self.parts(dataset)
        for day in days:
            ids: set[str] = set()
            for _, path in all_parts.get(day, []):
                ids.update(_read_part(path, [col]).column(col).to_pylist())
            out[day] = ids
        return out

    def read_day(self, day: dt.date, dataset: str = INFERENCE) -> pd.DataFrame:
        """Every landed row of ``day`` (empty frame with the schema when none)."""
        parts = self.parts(dataset).get(day, [])
        schema = self.schema if dataset == INFERENCE else self.label_schema
        if not parts:
            return schema.empty_table().to_pandas()
        return pa.concat_tables([_read_part(p) for _, p in parts]).to_pandas()

    # ------------------------------------------------------------------ consumer files
    def checkpoint_path(self, group: str) -> Path | Location:
        """The consumer group's checkpoint (see :mod:`monitoring_assets.streaming.checkpoint`)."""
        return self.root / "_consumer" / f"{check_safe_name(group, 'consumer group')}.state"

    def watermark_path(self, group: str) -> Path | Location:
        return (
            self.root / "_consumer" / f"{check_safe_name(group, 'consumer group')}.watermark.json"
        )

    def write_watermark(self, group: str, info: Mapping[str, Any]) -> None:
        write_location(self.watermark_path(group), json.dumps(info, sort_keys=True).encode())


def _read_part(path: Path | Location, columns: list[str] | None = None) -> pa.Table:
    if _remote(path):
        fs, key = filesystem_for(path)
        return pq.read_table(key, columns=columns, filesystem=fs)
    return pq.read_table(path, columns=columns)


def read_watermarks(lake_root: str | Path, model: str) -> list[dict[str, Any]]:
    """Every consumer group's watermark file of ``model`` (see :class:`StreamLanding`)."""
    base = stream_root(lake_root, model) / "_consumer"
    out = []
    if _remote(base):
        for folder, name in sorted(_listing(base)):
            if folder or not name.endswith(".watermark.json"):
                continue
            try:
                out.append(json.loads(read_bytes(base / name) or b"null"))
            except ValueError:
                continue
        return [w for w in out if w is not None]
    if not base.exists():
        return out
    for f in sorted(base.glob("*.watermark.json")):
        try:
            out.append(json.loads(f.read_text()))
        except (OSError, ValueError):
            continue  # being replaced right now; the next tick reads it
    return out
