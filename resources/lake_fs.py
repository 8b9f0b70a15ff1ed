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

On an object store a location is a URI (``s3://bucket/prefix/model/dataset/...``): the
lake registers its filesystem with :mod:`monitoring_assets.core.lake_io` when it is
opened, so ``read_parquet(location)`` on a :func:`~monitoring_assets.core.lake_io.scan_connection`
reads it (DuckDB's fsspec hook over the pyarrow filesystem; no DuckDB extension).

S3 settings come from the standard environment (no IAM needed): ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY`` (``AWS_SESSION_TOKEN``), ``AWS_REGION``/``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL`` (an S3-compatible server: path-style
addressing unless ``DRIFTWARDEN_S3_ADDRESSING=virtual``). Opening the lake probes the
bucket once: an unreachable endpoint, refused credentials or a missing bucket is a
:class:`LakeError` naming the URL (credentials scrubbed) before anything is written.

Replacing a partition: on a local filesystem the new copy is staged beside the old and
swapped in by rename, as ``Lake`` does. On an object store the new file is uploaded under
a staging key (``.date=...staging-<id>/``, which no reader lists: an upload killed midway
leaves at most an unfinished multipart upload there), then copied over the partition's
object in one server-side copy (an object replace is atomic: readers see the old file or
the new one, never a missing or half file) and the staging key deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import urllib.parse
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from monitoring_assets.core.alerts.scrub import register_secret, scrub, strip_credentials
from monitoring_assets.core.lake_io import register_filesystem, scheme
from monitoring_assets.core.ports import PART_FILE, date_key, lake_segments

#: Seconds to connect to / wait for the object store, and attempts per request.
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 60.0
MAX_ATTEMPTS = 3


class LakeError(OSError):
    """The lake cannot be reached or written; the message names its URL (no credentials)."""


def s3_filesystem(environ: Mapping[str, str] | None = None) -> pafs.S3FileSystem:
    """An S3 filesystem configured from the standard AWS environment (module docstring)."""
    env = os.environ if environ is None else environ
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
    addressing = (env.get("DRIFTWARDEN_S3_ADDRESSING") or "").strip().lower() or "path"
    if addressing not in ("path", "virtual"):
        raise ValueError(f"DRIFTWARDEN_S3_ADDRESSING={addressing!r}: use 'path' or 'virtual'")
    kwargs: dict = {
        "region": region,
        "connect_timeout": CONNECT_TIMEOUT,
        "request_timeout": REQUEST_TIMEOUT,
        "retry_strategy": pafs.AwsStandardS3RetryStrategy(max_attempts=MAX_ATTEMPTS),
        "force_virtual_addressing": addressing == "virtual",
    }
    if endpoint:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint {strip_credentials(endpoint)!r} is not an http(s) URL")
        kwargs["endpoint_override"] = parts.netloc.rsplit("@", 1)[-1] + parts.path.rstrip("/")
        kwargs["scheme"] = parts.scheme
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        register_secret(key, secret, env.get("AWS_SESSION_TOKEN"))
        kwargs.update(access_key=key, secret_key=secret)
        if env.get("AWS_SESSION_TOKEN"):
            kwargs["session_token"] = env["AWS_SESSION_TOKEN"]
    return pafs.S3FileSystem(**kwargs)


def describe_endpoint(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    return f" at endpoint {strip_credentials(endpoint)}" if endpoint else ""


def _has_rename(fs: pafs.FileSystem) -> bool:
    """Whether ``fs`` renames directories atomically (local disks, possibly under a SubTree)."""
    while isinstance(fs, pafs.SubTreeFileSystem):
        fs = fs.base_fs
    return isinstance(fs, pafs.LocalFileSystem)


class FsStagedPartition:
    """A partition written under a staging path; :meth:`commit` puts it in place."""

    def __init__(self, lake: FsLake, staging: str, final: str):
        self.lake = lake
        self.fs = lake.fs
        self.staging = staging
        self.final = final

    @property
    def file(self) -> str:
        return self.lake._location(f"{self.final}/{PART_FILE}")

    def commit(self) -> str:
        with self.lake._io("publishing", self.final):
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
            # One server-side copy replaces the object atomically; then drop the staging key.
            self.fs.copy_file(f"{self.staging}/{PART_FILE}", f"{self.final}/{PART_FILE}")
            self.fs.delete_dir(self.staging)
        return self.file

    def discard(self) -> None:
        if self.fs.get_file_info(self.staging).type != pafs.FileType.NotFound:
            self.fs.delete_dir(self.staging)


class FsLake:
    """Parquet partitions of each model's datasets on a pyarrow filesystem.

    ``uri_scheme`` (``"s3"``) makes every location a URI ``s3://<root>/...``; ``None``
    (a local filesystem) keeps plain paths.
    """

    def __init__(
        self,
        filesystem: pafs.FileSystem,
        root: str,
        uri_scheme: str | None = None,
        where: str = "",
    ):
        self.fs = filesystem
        self.root = root.rstrip("/") if root not in ("", "/") else root
        self.uri_scheme = uri_scheme
        self.where = where  # e.g. " at endpoint http://127.0.0.1:9000", for messages
        if uri_scheme is not None:
            register_filesystem(uri_scheme, filesystem)

    @classmethod
    def from_uri(cls, uri: str | Path, environ: Mapping[str, str] | None = None) -> FsLake:
        """A lake at ``uri``: ``s3://bucket/prefix``, ``gs://bucket/prefix``,
        ``file:///abs/path`` or a local path (created if missing). An object-store
        lake is probed once (:meth:`probe`)."""
        text = str(uri)
        if "://" not in text:
            path = Path(text).resolve()
            path.mkdir(parents=True, exist_ok=True)
            return cls(pafs.LocalFileSystem(), path.as_posix())
        name = scheme(text)
        if name == "s3" and "@" in text:
            # not echoed: a secret with a '/' in it breaks URL parsing, and so scrubbing
            raise ValueError(
                "cannot open the lake: the s3:// URI carries credentials; put S3 settings "
                "and credentials in the environment (AWS_ENDPOINT_URL, AWS_REGION, "
                "AWS_ACCESS_KEY_ID, ...), not in the lake URI"
            )
        shown = strip_credentials(text)
        try:
            if name == "s3":
                parts = urllib.parse.urlsplit(text)
                if parts.query:
                    raise ValueError(
                        "put S3 settings and credentials in the environment (AWS_ENDPOINT_URL, "
                        "AWS_REGION, AWS_ACCESS_KEY_ID, ...), not in the lake URI"
                    )
                fs = s3_filesystem(environ)
                root = f"{parts.netloc}{parts.path}".rstrip("/")
                if not parts.netloc:
                    raise ValueError("the URI names no bucket")
            else:
                fs, root = pafs.FileSystem.from_uri(text)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as exc:
            raise ValueError(f"cannot open the lake at {shown!r}: {scrub(exc)}") from None
        except OSError as exc:
            raise LakeError(f"cannot open the lake at {shown!r}: {scrub(exc)}") from None
        if isinstance(fs, pafs.LocalFileSystem):
            return cls(fs, root)
        lake = cls(fs, root, uri_scheme=name, where=describe_endpoint(environ))
        lake.probe()
        return lake

    # -- object-store plumbing

    def _path(self, location: str) -> str:
        """The filesystem path of a location (a URI's scheme removed)."""
        text = str(location)
        if self.uri_scheme is not None and text.startswith(f"{self.uri_scheme}://"):
            return text[len(self.uri_scheme) + 3 :]
        return text

    def _location(self, path: str) -> str:
        return f"{self.uri_scheme}://{path}" if self.uri_scheme is not None else path

    @property
    def url(self) -> str:
        """The lake's root as a URL (or local path)."""
        return self._location(self.root)

    @contextlib.contextmanager
    def _io(self, action: str, path: str) -> Iterator[None]:
        """Turn a filesystem error into a :class:`LakeError` naming the URL."""
        try:
            yield
        except (FileNotFoundError, LakeError):
            raise
        except OSError as exc:
            raise LakeError(
                f"lake {self.url}{self.where}: {action} {self._location(path)} failed: {scrub(exc)}"
            ) from None

    def probe(self) -> None:
        """Check that the bucket is reachable with these credentials; :class:`LakeError`
        naming the URL otherwise."""
        bucket = self.root.split("/", 1)[0]
        with self._io("reading bucket", bucket):
            info = self.fs.get_file_info(bucket)
        if info.type == pafs.FileType.NotFound:
            raise LakeError(
                f"lake {self.url}{self.where}: bucket {bucket!r} does not exist "
                "(create it first; driftwarden never creates buckets)"
            )

    def _join(self, *parts: str) -> str:
        head = self.root if self.root else ""
        return "/".join(p for p in (head, *parts) if p)

    @staticmethod
    def date_key(date: dt.date) -> str:
        return date_key(date)

    # -- locations (plain paths locally, URIs on object stores)

    def dataset_location(self, model: str, dataset: str) -> str:
        return self._location(self._join(*lake_segments(model, dataset)))

    def partition_location(self, model: str, dataset: str, key: str) -> str:
        return self._location(self._join(*lake_segments(model, dataset, key)))

    def file_location(self, model: str, dataset: str, key: str) -> str:
        return self._location(self._join(*lake_segments(model, dataset, key), PART_FILE))

    def day_location(self, model: str, dataset: str, date: dt.date) -> str:
        return self.file_location(model, dataset, date_key(date))

    def glob(self, model: str, dataset: str) -> str:
        """A glob DuckDB's read_parquet understands (on a ``scan_connection``)."""
        return f"{self.dataset_location(model, dataset)}/date=*/*.parquet"

    def exists(self, location: str) -> bool:
        path = self._path(location)
        with self._io("reading", path):
            return self.fs.get_file_info(path).type != pafs.FileType.NotFound

    def has_partition(self, model: str, dataset: str, key: str) -> bool:
        path = self._join(*lake_segments(model, dataset, key), PART_FILE)
        with self._io("reading", path):
            return self.fs.get_file_info(path).type == pafs.FileType.File

    def has_day(self, model: str, dataset: str, date: dt.date) -> bool:
        return self.has_partition(model, dataset, date_key(date))

    def open_input(self, location: str) -> BinaryIO:
        path = self._path(location)
        with self._io("reading", path):
            return self.fs.open_input_stream(path)

    # -- writes and reads

    def stage(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> FsStagedPartition:
        """Write ``frame`` under a staging path without touching the current copy."""
        final = self._join(*lake_segments(model, dataset, key))
        base = self._join(*lake_segments(model, dataset))
        staging = f"{base}/.{key}.staging-{uuid.uuid4().hex}"
        table = pa.Table.from_pandas(frame, preserve_index=False)
        with self._io("writing", staging):
            if _has_rename(self.fs):
                self.fs.create_dir(staging, recursive=True)
            try:
                pq.write_table(
                    table, f"{staging}/{PART_FILE}", compression="zstd", filesystem=self.fs
                )
            except BaseException:
                with contextlib.suppress(OSError):
                    self.fs.delete_dir(staging)
                raise
        return FsStagedPartition(self, staging, final)

    def write(self, model: str, dataset: str, key: str, frame: pd.DataFrame) -> str:
        """Replace partition ``key`` (e.g. ``date=2026-06-01``) with ``frame``; return the file."""
        return self.stage(model, dataset, key, frame).commit()

    def write_day(self, model: str, dataset: str, date: dt.date, frame: pd.DataFrame) -> str:
        return self.write(model, dataset, date_key(date), frame)

    def _read(self, location: str) -> pd.DataFrame:
        path = self._path(location)
        with self._io("reading", path):
            return pq.read_table(path, filesystem=self.fs).to_pandas()

    def read_partition(self, model: str, dataset: str, key: str) -> pd.DataFrame:
        location = self.file_location(model, dataset, key)
        if not self.has_partition(model, dataset, key):
            raise FileNotFoundError(
                f"no {dataset} partition {key} for model {model!r}: {location} is missing"
            )
        return self._read(location)

    def read_day(self, model: str, dataset: str, date: dt.date) -> pd.DataFrame:
        location = self.day_location(model, dataset, date)
        if not self.has_day(model, dataset, date):
            raise FileNotFoundError(
                f"no {dataset} partition for model {model!r} on {date}: {location} is missing"
            )
        return self._read(location)

    def days(self, model: str, dataset: str) -> list[dt.date]:
        """The days that have a partition file, ascending (staging keys are not listed)."""
        base = self._join(*lake_segments(model, dataset))
        selector = pafs.FileSelector(base, allow_not_found=True, recursive=True)
        out = []
        with self._io("listing", base):
            infos = self.fs.get_file_info(selector)
        for info in infos:
            rel = info.path[len(base) + 1 :]
            folder, _, name = rel.partition("/")
            if info.type == pafs.FileType.File and name == PART_FILE and folder.startswith("date="):
                out.append(dt.date.fromisoformat(folder[len("date=") :]))
        return sorted(out)

    def put_bytes(self, location: str, data: bytes) -> str:
        """Write a whole small file (a report) at ``location``; one upload, all or nothing."""
        path = self._path(location)
        with self._io("writing", path):
            with self.fs.open_output_stream(path) as out:
                out.write(data)
        return self._location(path)

    def dataset(self, model: str, dataset: str) -> pads.Dataset:
        """Every partition of ``dataset`` as one Arrow dataset with a ``date`` column (Hive)."""
        files = [
            self._path(self.day_location(model, dataset, d)) for d in self.days(model, dataset)
        ]
        base = self._join(*lake_segments(model, dataset))
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
            partition_base_dir=base,
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
