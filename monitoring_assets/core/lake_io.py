"""Reading and writing lake locations, local or on object storage, from the core.

A lake location is a string: a local path for the embedded lake, a URI
(``s3://bucket/prefix/...``) for an object-store lake. The core reads Parquet at a
location with DuckDB (:func:`scan_connection`) and writes small files (reports) with
:func:`write_bytes`, without knowing which it is.

The object-store adapter (``resources.lake_fs.FsLake``) registers its pyarrow filesystem
here under its URI scheme when it is opened (:func:`register_filesystem`); a DuckDB
connection from :func:`scan_connection` then reads ``s3://`` locations through that
filesystem (DuckDB's fsspec hook), so no DuckDB extension and no download is needed.
With nothing registered (the embedded lake) :func:`scan_connection` is a plain
``duckdb.connect()`` and :func:`write_bytes` writes a local file by rename: the local
behaviour is unchanged.

One filesystem per scheme per process: opening a second ``s3://`` lake with other
settings in the same process replaces the first for scans.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb

_LOCK = threading.Lock()
_FILESYSTEMS: dict[str, Any] = {}  # scheme -> pyarrow FileSystem


class Location(str):
    """A lake location that joins with ``/`` like a ``Path`` (``loc / "model" / "x.html"``),
    for URIs as well as local paths."""

    def __truediv__(self, other: object) -> Location:
        return Location(f"{self.rstrip('/')}/{other}")

    @property
    def parent(self) -> Location:
        return Location(self.rstrip("/").rsplit("/", 1)[0])

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]


def scheme(location: str | os.PathLike) -> str | None:
    """``"s3"`` for ``s3://...``; ``None`` for a local path."""
    text = str(location)
    head, sep, _ = text.partition("://")
    return head if sep and head.isalnum() else None


def register_filesystem(name: str, filesystem: Any) -> None:
    """Serve locations ``<name>://...`` with the pyarrow ``filesystem`` (whose paths are
    ``bucket/key``)."""
    with _LOCK:
        _FILESYSTEMS[name] = filesystem


def filesystem_for(location: str | os.PathLike) -> tuple[Any, str]:
    """The pyarrow filesystem of a URI location and the path within it."""
    name = scheme(location)
    with _LOCK:
        fs = _FILESYSTEMS.get(name) if name else None
    if fs is None:
        raise ValueError(
            f"no lake is open for {str(location)!r}: open it with resources.lake.open_lake first"
        )
    return fs, str(location)[len(name) + 3 :]


def fsspec_filesystem(name: str, filesystem: Any) -> Any:
    """The pyarrow ``filesystem`` as an fsspec filesystem answering ``<name>://`` paths
    (what DuckDB's ``register_filesystem`` takes; also gives ``glob``)."""
    from fsspec.implementations.arrow import ArrowFSWrapper

    prefix = f"{name}://"

    class _Scan(ArrowFSWrapper):
        protocol = name
        root_marker = ""

        @classmethod
        def _strip_protocol(cls, path: Any) -> Any:
            if isinstance(path, list):
                return [cls._strip_protocol(p) for p in path]
            text = str(path)
            return (text[len(prefix) :] if text.startswith(prefix) else text).rstrip("/")

        def unstrip_protocol(self, name: str) -> str:
            return prefix + name

    return _Scan(filesystem, skip_instance_cache=True)


def scan_connection() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection that reads every lake location
    (``read_parquet(location)``, local or on a registered object store)."""
    con = duckdb.connect()
    with _LOCK:
        registered = dict(_FILESYSTEMS)
    for name, fs in registered.items():
        con.register_filesystem(fsspec_filesystem(name, fs))
    return con


def write_bytes(location: str | os.PathLike, data: bytes, mode: int | None = None) -> str:
    """Write ``data`` to ``location`` whole or not at all: a local file is written beside
    its place and renamed in (with permissions ``mode`` when given); an object is one
    upload that becomes visible when complete."""
    text = str(location)
    if scheme(text) is None:
        path = Path(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return text
    fs, key = filesystem_for(text)
    with fs.open_output_stream(key) as out:
        out.write(data)
    return text


def read_bytes(location: str | os.PathLike) -> bytes | None:
    """The bytes at ``location``, or ``None`` if there is nothing there."""
    text = str(location)
    if scheme(text) is None:
        try:
            return Path(text).read_bytes()
        except FileNotFoundError:
            return None
    import pyarrow.fs as pafs

    fs, key = filesystem_for(text)
    if fs.get_file_info(key).type != pafs.FileType.File:
        return None
    with fs.open_input_stream(key) as fh:
        return fh.read()
