"""The model registry: every model version, its metrics, training window, trigger and status.

:class:`ModelRegistry` is the interface, defined in :mod:`monitoring_assets.core.registry`
with its value types and re-exported here; :class:`LocalModelRegistry` keeps everything
under one folder (``Home.registry`` by default);
:class:`resources.model_registry_fs.FsModelRegistry` keeps the same layout on object
storage, and :class:`resources.model_registry_fs.ModelRegistryResource` exposes either to
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

Trust boundary: an artifact is a pickle, and unpickling runs code, so the registry
folder must be as trusted as the code itself. To catch a file swapped or altered after
it was registered, :meth:`LocalModelRegistry.register` records the artifact's sha256 in
the index and :meth:`LocalModelRegistry.load_artifact` refuses a file whose hash differs
(or that has no recorded hash) before unpickling it. A registry written before hashes
were recorded is refused version by version until someone who trusts the files records
their hashes explicitly::

    python -m resources.model_registry trust <registry folder> <model> <version>

Names that become folders (model, version, artifact names) follow the safe-name rule of
:mod:`monitoring_assets.core.names`.

Local layout::

    {root}/{model}/registry.json          versions (with artifact sha256), champions, triggers
    {root}/{model}/{version}/model.pkl    the pickled estimator
    {root}/{model}/{version}/{name}.json  extra artifacts (e.g. the CBPE calibration)
    {root}/{model}/{version}/{name}.parquet  tables (reference data, validation set)
    {root}/{model}/{version}/{name}.pkl   fitted objects (e.g. the regression loss
                                          estimator), sha256 in the index's ``objects``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitoring_assets.core.names import check_safe_name
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
ARTIFACT = "model.pkl"


def _safe(value: str, what: str) -> str:
    try:
        return check_safe_name(value, what)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class LocalModelRegistry(ModelRegistry):
    """A registry in a local folder: JSON index per model plus pickled artifacts.

    Writes take an exclusive file lock and replace the index by rename, so concurrent
    runs (two sensors firing the same trigger) see a consistent registry. Artifacts are
    loaded only when their sha256 matches the one recorded at registration (see the
    module docstring).
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---------------------------------------------------------------- storage
    def _dir(self, model: str) -> Path:
        return self.root / _safe(model, "model name")

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
            _safe(version, "version")
            data = pickle.dumps(artifact, protocol=pickle.HIGHEST_PROTOCOL)
            self._store_artifact(model, version, data)
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
                sha256=hashlib.sha256(data).hexdigest(),
            )
            index["versions"].append(mv.to_json())
        return mv

    def _store_artifact(self, model: str, version: str, data: bytes) -> None:
        vdir = self._dir(model) / version
        vdir.mkdir(parents=True, exist_ok=True)
        tmp = vdir / f".{ARTIFACT}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, vdir / ARTIFACT)

    def _artifact_bytes(self, model: str, version: str) -> bytes | None:
        try:
            return self.artifact_path(model, version).read_bytes()
        except FileNotFoundError:
            return None

    def versions(self, model: str) -> list[ModelVersion]:
        return [ModelVersion.from_json(v) for v in self._read(model)["versions"]]

    def artifact_path(self, model: str, version: str) -> Path:
        """Where the pickled estimator of ``model`` ``version`` lives."""
        return self._dir(model) / _safe(version, "version") / ARTIFACT

    def load_artifact(self, model: str, version: str) -> Any:
        recorded = self.get(model, version).sha256
        path = self.artifact_path(model, version)
        data = self._artifact_bytes(model, version)
        if data is None:
            raise RegistryError(f"model {model!r} version {version!r}: artifact {path} is missing")
        if recorded is None:
            raise RegistryError(
                f"model {model!r} version {version!r}: no sha256 is recorded for {path} "
                "(registered before the registry recorded hashes), so it is not unpickled. "
                "If you trust this file, record its hash with: python -m "
                f"resources.model_registry trust {self.root} {model} {version}"
            )
        # Hash the bytes that are unpickled (not the file again): nothing can change between.
        found = hashlib.sha256(data).hexdigest()
        if found != recorded:
            raise RegistryError(
                f"model {model!r} version {version!r}: artifact {path} has sha256 "
                f"{found[:12]}…, but {recorded[:12]}… was recorded when it was registered; "
                "the file was changed after registration and is not unpickled. Restore the "
                "registered file, or register the new one as a new version"
            )
        return pickle.loads(data)  # the registry folder is a trust boundary: module docstring

    def trust_artifact(self, model: str, version: str) -> str:
        """Record the sha256 of the artifact file as it is now (for versions registered
        before hashes were recorded, or a file deliberately replaced); returns the hash.
        Only for a file you trust: from then on, loading it unpickles it."""
        self.get(model, version)
        path = self.artifact_path(model, version)
        if not path.exists():
            raise RegistryError(f"model {model!r} version {version!r}: artifact {path} is missing")
        digest = file_sha256(path)
        with self._locked(model) as index:
            self._find(index, model, version)["sha256"] = digest
        return digest

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

    def put_object(self, model: str, version: str, name: str, obj: Any) -> str:
        self.get(model, version)
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        digest = hashlib.sha256(data).hexdigest()
        with self._locked(model) as index:  # file and digest change together
            self._put_bytes(self._artifact(model, version, name, "pkl"), data)
            index.setdefault("objects", {}).setdefault(version, {})[name] = digest
        return digest

    def get_object(self, model: str, version: str, name: str) -> Any | None:
        location = self._artifact(model, version, name, "pkl")
        data = self._get_bytes(location)
        if data is None:
            return None
        recorded = self._read(model).get("objects", {}).get(version, {}).get(name)
        found = hashlib.sha256(data).hexdigest()
        if recorded != found:
            raise RegistryError(
                f"model {model!r} version {version!r}: {location} has sha256 {found[:12]}…, "
                + (f"but {recorded[:12]}… was recorded" if recorded else "and none is recorded")
                + " when it was stored; it is not unpickled. Delete the file to have it "
                "computed again"
            )
        return pickle.loads(data)  # the registry folder is a trust boundary: module docstring

    def _put_bytes(self, location: Any, data: bytes) -> None:
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def _get_bytes(self, location: Any) -> bytes | None:
        try:
            return Path(location).read_bytes()
        except FileNotFoundError:
            return None

    def _artifact(self, model: str, version: str, name: str, ext: str) -> Path:
        return (
            self._dir(model) / _safe(version, "version") / f"{_safe(name, 'artifact name')}.{ext}"
        )


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


def main(argv: list[str] | None = None) -> int:
    """``python -m resources.model_registry trust ROOT MODEL VERSION``: record the
    artifact's current sha256 (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m resources.model_registry")
    sub = parser.add_subparsers(dest="command", required=True)
    trust = sub.add_parser("trust", help="record the sha256 of an artifact you trust")
    trust.add_argument("root", help="the registry folder (Home.registry: <home>/registry)")
    trust.add_argument("model")
    trust.add_argument("version")
    args = parser.parse_args(argv)
    registry = LocalModelRegistry(args.root)
    try:
        digest = registry.trust_artifact(args.model, args.version)
    except RegistryError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{registry.artifact_path(args.model, args.version)}: recorded sha256 {digest}")
    return 0


__all__ = [
    "LocalModelRegistry",
    "ModelRegistry",
    "ModelStatus",
    "ModelVersion",
    "RegistryError",
    "TriggerClaim",
    "file_sha256",
]


if __name__ == "__main__":
    raise SystemExit(main())
