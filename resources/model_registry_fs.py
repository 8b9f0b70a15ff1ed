"""The model registry on object storage, and the Dagster resource that opens either store.

The registry on object storage (``s3://bucket/prefix/_registry``), same layout
and contract as :class:`resources.model_registry.LocalModelRegistry`.

Every file is written whole: an object upload becomes visible only when complete, so a
killed writer leaves the previous index or artifact, never half of one. Artifacts are
checked against their recorded sha256 before unpickling, as locally.

Locking: object stores have no file lock. Writers in one process serialize on a lock;
across processes the registry relies on the Dagster instance running one retraining run
at a time (``deploy/dagster/dagster.yaml``: ``tag_concurrency_limits`` on
``driftwarden/retraining``), which is the only writer of a model's index.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.core.registry import RegistryError
from resources.lake_fs import FsLake
from resources.model_registry import (
    ARTIFACT,
    LocalModelRegistry,
    ModelRegistry,
    _jsonable,
    _safe,
)

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class FsModelRegistry(LocalModelRegistry):
    """A registry under a URI (``s3://bucket/prefix/_registry``) on the lake's filesystem."""

    def __init__(self, uri: str):
        self.uri = uri.rstrip("/")
        self.store = FsLake.from_uri(self.uri)
        self.root = self.uri  # named in messages

    # ---------------------------------------------------------------- storage
    def _loc(self, model: str, *parts: str) -> str:
        return "/".join([self.uri, _safe(model, "model name"), *parts])

    def _get(self, location: str) -> bytes | None:
        if not self.store.exists(location):
            return None
        with self.store.open_input(location) as fh:
            return fh.read()

    def _read(self, model: str) -> dict[str, Any]:
        location = self._loc(model, "registry.json")
        data = self._get(location)
        if data is None:
            return {"model": model, "versions": [], "champions": [], "triggers": {}}
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise RegistryError(f"registry index {location} is not valid JSON: {exc}") from exc

    def _write(self, model: str, index: dict[str, Any]) -> None:
        data = json.dumps(index, indent=2, sort_keys=True).encode()
        self.store.put_bytes(self._loc(model, "registry.json"), data)

    @contextlib.contextmanager
    def _locked(self, model: str) -> Iterator[dict[str, Any]]:
        key = self._loc(model)
        with _LOCKS_GUARD:
            lock = _LOCKS.setdefault(key, threading.Lock())
        with lock:
            index = self._read(model)
            yield index
            self._write(model, index)

    def _store_artifact(self, model: str, version: str, data: bytes) -> None:
        self.store.put_bytes(self._loc(model, version, ARTIFACT), data)

    def artifact_path(self, model: str, version: str) -> str:  # type: ignore[override]
        return self._loc(model, _safe(version, "version"), ARTIFACT)

    def _artifact_bytes(self, model: str, version: str) -> bytes | None:
        return self._get(self.artifact_path(model, version))

    def trust_artifact(self, model: str, version: str) -> str:
        self.get(model, version)
        data = self._artifact_bytes(model, version)
        if data is None:
            raise RegistryError(
                f"model {model!r} version {version!r}: artifact "
                f"{self.artifact_path(model, version)} is missing"
            )
        digest = hashlib.sha256(data).hexdigest()
        with self._locked(model) as index:
            self._find(index, model, version)["sha256"] = digest
        return digest

    def put_json(self, model: str, version: str, name: str, payload: Mapping[str, Any]) -> None:
        self.get(model, version)
        data = json.dumps(_jsonable(dict(payload)), sort_keys=True).encode()
        self.store.put_bytes(self._artifact(model, version, name, "json"), data)

    def get_json(self, model: str, version: str, name: str) -> dict[str, Any] | None:
        data = self._get(self._artifact(model, version, name, "json"))
        return json.loads(data) if data is not None else None

    def put_frame(self, model: str, version: str, name: str, frame: pd.DataFrame) -> None:
        self.get(model, version)
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf, compression="zstd")
        self.store.put_bytes(self._artifact(model, version, name, "parquet"), buf.getvalue())

    def get_frame(self, model: str, version: str, name: str) -> pd.DataFrame | None:
        data = self._get(self._artifact(model, version, name, "parquet"))
        return pq.read_table(pa.BufferReader(data)).to_pandas() if data is not None else None

    def _put_bytes(self, location: Any, data: bytes) -> None:
        self.store.put_bytes(str(location), data)

    def _get_bytes(self, location: Any) -> bytes | None:
        return self._get(str(location))

    def _artifact(self, model: str, version: str, name: str, ext: str) -> str:  # type: ignore[override]
        return self._loc(model, _safe(version, "version"), f"{_safe(name, 'artifact name')}.{ext}")


class ModelRegistryResource(dg.ConfigurableResource):
    """The model registry as a Dagster resource; ``root`` is the local store's folder
    (``Home.registry`` by default), or a URI (``s3://bucket/prefix/_registry``, the
    default beside a remote lake) served by
    :class:`resources.model_registry_fs.FsModelRegistry`."""

    root: str

    def get(self) -> ModelRegistry:
        """The registry this resource points at."""
        return open_registry(self.root)


def open_registry(root: str | Path) -> ModelRegistry:
    """The registry at ``root``: a local folder, or a URI on an object store."""
    if "://" in str(root):
        return FsModelRegistry(str(root))
    return LocalModelRegistry(root)


__all__ = ["FsModelRegistry", "ModelRegistryResource", "open_registry"]
