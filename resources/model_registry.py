"""The model registry: every model version, its metrics, training window, trigger and status.

:class:`ModelRegistry` is the interface, defined in :mod:`monitoring_assets.core.registry`
with its value types and re-exported here; :class:`LocalModelRegistry` keeps everything
under one folder (``Home.registry`` by default) and another store (MLflow, S3, a
database) can implement the same methods. :class:`ModelRegistryResource` exposes it to
Dagster.

Statuses: ``champion`` (the version monitored and served), ``challenger`` (trained,
evaluated, not promoted yet), ``pending_review`` (waiting for a person),
``rejected`` (not better, or turned down in review), ``retired`` (a former champion).

Which version is the reference of a partition comes from the champion history:
a promotion records the first partition date it applies to (``effective_from``), so
later partitions follow the new version while earlier ones keep theirs
(:meth:`ModelRegistry.champion_for`).

Retraining is idempotent per trigger: :meth:`ModelRegistry.claim_trigger` atomically
records that a trigger is being handled, so the same trigger twice trains once.

Local layout::

    {root}/{model}/registry.json          versions, champion history, triggers
    {root}/{model}/{version}/model.pkl    the pickled estimator
    {root}/{model}/{version}/{name}.json  extra artifacts (e.g. the CBPE calibration)
    {root}/{model}/{version}/{name}.parquet  tables (reference data, validation set)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import pickle
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.core.registry import (  # the interface this adapter implements
    ModelRegistry,
    ModelStatus,
    ModelVersion,
    RegistryError,
    TriggerClaim,
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")


_VERSION = re.compile(r"^v(\d+)$")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class LocalModelRegistry(ModelRegistry):
    """A registry in a local folder: JSON index per model plus pickled artifacts.

    Writes take an exclusive file lock and replace the index by rename, so concurrent
    runs (two sensors firing the same trigger) see a consistent registry.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---------------------------------------------------------------- storage
    def _dir(self, model: str) -> Path:
        if not _SAFE.match(model):
            raise RegistryError(f"model name {model!r} is not a safe folder name")
        return self.root / model

    def _index_path(self, model: str) -> Path:
        return self._dir(model) / "registry.json"

    def _read(self, model: str) -> dict[str, Any]:
        path = self._index_path(model)
        if not path.exists():
            return {"model": model, "versions": [], "champions": [], "triggers": {}}
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise RegistryError(f"registry index {path} is not valid JSON: {exc}") from exc

    def _write(self, model: str, index: dict[str, Any]) -> None:
        path = self._index_path(model)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".registry.", suffix=".json")
        with os.fdopen(fd, "w") as fh:
            json.dump(index, fh, indent=2, sort_keys=True)
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _locked(self, model: str) -> Iterator[dict[str, Any]]:
        d = self._dir(model)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                index = self._read(model)
                yield index
                self._write(model, index)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @staticmethod
    def _find(index: dict[str, Any], model: str, version: str) -> dict[str, Any]:
        for v in index["versions"]:
            if v["version"] == version:
                return v
        known = [v["version"] for v in index["versions"]]
        raise RegistryError(f"model {model!r} has no version {version!r}; registered: {known}")

    # ---------------------------------------------------------------- interface
    def register(
        self,
        model: str,
        artifact: Any,
        *,
        status: ModelStatus = ModelStatus.CHALLENGER,
        version: str | None = None,
        trigger: str | None = None,
        training_window: tuple[dt.date, dt.date] | None = None,
        metrics: Mapping[str, Any] | None = None,
        parent: str | None = None,
        note: str = "",
    ) -> ModelVersion:
        if status == ModelStatus.CHAMPION:
            raise RegistryError(f"model {model!r}: register as challenger, then promote()")
        with self._locked(model) as index:
            taken = {v["version"] for v in index["versions"]}
            if version is None:
                nums = [int(m.group(1)) for t in taken if (m := _VERSION.match(t))]
                version = f"v{max(nums, default=0) + 1}"
            if version in taken:
                raise RegistryError(f"model {model!r} already has a version {version!r}")
            if not _SAFE.match(version):
                raise RegistryError(f"version {version!r} is not a safe folder name")
            vdir = self._dir(model) / version
            vdir.mkdir(parents=True, exist_ok=True)
            tmp = vdir / ".model.pkl.tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(artifact, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, vdir / "model.pkl")
            mv = ModelVersion(
                model=model,
                version=version,
                status=status,
                created_at=_now(),
                trigger=trigger,
                training_window=(
                    (training_window[0].isoformat(), training_window[1].isoformat())
                    if training_window
                    else None
                ),
                metrics=_jsonable(dict(metrics or {})),
                parent=parent,
                note=note,
            )
            index["versions"].append(mv.to_json())
        return mv

    def versions(self, model: str) -> list[ModelVersion]:
        return [ModelVersion.from_json(v) for v in self._read(model)["versions"]]

    def load_artifact(self, model: str, version: str) -> Any:
        self.get(model, version)
        path = self._dir(model) / version / "model.pkl"
        if not path.exists():
            raise RegistryError(f"model {model!r} version {version!r}: artifact {path} is missing")
        with open(path, "rb") as fh:
            return pickle.load(fh)  # the registry folder is trusted, like a model store

    def set_status(
        self, model: str, version: str, status: ModelStatus, note: str = ""
    ) -> ModelVersion:
        if status == ModelStatus.CHAMPION:
            raise RegistryError(
                f"model {model!r} version {version!r}: use promote() to make a champion"
            )
        with self._locked(model) as index:
            v = self._find(index, model, version)
            if v["status"] == ModelStatus.CHAMPION and status != ModelStatus.RETIRED:
                raise RegistryError(
                    f"model {model!r} version {version!r} is the champion; promote another version first"
                )
            v["status"] = str(status)
            if note:
                v["note"] = note
            out = ModelVersion.from_json(v)
        return out

    def update_metrics(self, model: str, version: str, metrics: Mapping[str, Any]) -> ModelVersion:
        with self._locked(model) as index:
            v = self._find(index, model, version)
            v["metrics"] = {**v.get("metrics", {}), **_jsonable(dict(metrics))}
            out = ModelVersion.from_json(v)
        return out

    def promote(
        self, model: str, version: str, effective_from: dt.date, note: str = ""
    ) -> ModelVersion:
        with self._locked(model) as index:
            target = self._find(index, model, version)
            if target["status"] in (ModelStatus.REJECTED, ModelStatus.RETIRED):
                raise RegistryError(
                    f"model {model!r} version {version!r} is {target['status']}; it cannot be promoted"
                )
            champions = index["champions"]
            if champions and champions[-1]["version"] == version:
                return ModelVersion.from_json(target)
            if (
                champions
                and dt.date.fromisoformat(champions[-1]["effective_from"]) > effective_from
            ):
                raise RegistryError(
                    f"model {model!r}: cannot promote {version!r} effective {effective_from}, "
                    f"before the current champion's start {champions[-1]['effective_from']}"
                )
            for v in index["versions"]:
                if v["status"] == ModelStatus.CHAMPION:
                    v["status"] = str(ModelStatus.RETIRED)
            target["status"] = str(ModelStatus.CHAMPION)
            target["effective_from"] = effective_from.isoformat()
            if note:
                target["note"] = note
            champions.append(
                {"version": version, "effective_from": effective_from.isoformat(), "at": _now()}
            )
            out = ModelVersion.from_json(target)
        return out

    def champion_history(self, model: str) -> list[tuple[dt.date, str]]:
        return [
            (dt.date.fromisoformat(c["effective_from"]), c["version"])
            for c in self._read(model)["champions"]
        ]

    def claim_trigger(self, model: str, trigger: str) -> tuple[bool, TriggerClaim]:
        if not trigger:
            raise RegistryError(f"model {model!r}: a retraining trigger id must not be empty")
        with self._locked(model) as index:
            existing = index["triggers"].get(trigger)
            if existing is not None and existing["state"] != "failed":
                return False, TriggerClaim(trigger=trigger, **existing)
            rec = {"state": "running", "version": None, "outcome": None, "claimed_at": _now()}
            index["triggers"][trigger] = rec
        return True, TriggerClaim(trigger=trigger, **rec)

    def finish_trigger(
        self, model: str, trigger: str, *, version: str | None, outcome: str, failed: bool = False
    ) -> TriggerClaim:
        with self._locked(model) as index:
            rec = index["triggers"].get(trigger)
            if rec is None:
                raise RegistryError(f"model {model!r}: trigger {trigger!r} was never claimed")
            rec.update(state="failed" if failed else "done", version=version, outcome=outcome)
            out = TriggerClaim(trigger=trigger, **rec)
        return out

    def put_json(self, model: str, version: str, name: str, payload: Mapping[str, Any]) -> None:
        self.get(model, version)
        path = self._artifact(model, version, name, "json")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_jsonable(dict(payload)), sort_keys=True))
        os.replace(tmp, path)

    def get_json(self, model: str, version: str, name: str) -> dict[str, Any] | None:
        path = self._artifact(model, version, name, "json")
        return json.loads(path.read_text()) if path.exists() else None

    def put_frame(self, model: str, version: str, name: str, frame: pd.DataFrame) -> None:
        self.get(model, version)
        path = self._artifact(model, version, name, "parquet")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp, compression="zstd")
        os.replace(tmp, path)

    def get_frame(self, model: str, version: str, name: str) -> pd.DataFrame | None:
        path = self._artifact(model, version, name, "parquet")
        return pq.read_table(path).to_pandas() if path.exists() else None

    def _artifact(self, model: str, version: str, name: str, ext: str) -> Path:
        if not _SAFE.match(name) or not _SAFE.match(version):
            raise RegistryError(f"artifact {version!r}/{name!r} is not a safe file name")
        return self._dir(model) / version / f"{name}.{ext}"


def _jsonable(value: Any) -> Any:
    """Plain JSON types (numpy scalars and dates become floats/ints/strings)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value


class ModelRegistryResource(dg.ConfigurableResource):
    """The model registry as a Dagster resource; ``root`` is the local store's folder
    (``Home.registry`` by default)."""

    root: str

    def get(self) -> ModelRegistry:
        """The registry this resource points at."""
        return LocalModelRegistry(self.root)


__all__ = [
    "LocalModelRegistry",
    "ModelRegistry",
    "ModelRegistryResource",
    "ModelStatus",
    "ModelVersion",
    "RegistryError",
    "TriggerClaim",
]
