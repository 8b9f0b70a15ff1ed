"""The model registry's interface: versions, statuses, champion history and retraining triggers.

:class:`ModelRegistry` is what the core needs from a model registry (the retraining
decision, version references); adapters in ``resources/`` implement it
(:class:`resources.model_registry.LocalModelRegistry` keeps everything under one folder;
MLflow, S3 or a database could implement the same methods).

Statuses: ``champion`` (the version monitored and served), ``challenger`` (trained,
evaluated, not promoted yet), ``pending_review`` (waiting for a person),
``rejected`` (not better, or turned down in review), ``retired`` (a former champion).

Which version is the reference of a partition comes from the champion history:
a promotion records the first partition date it applies to (``effective_from``), so
later partitions follow the new version while earlier ones keep theirs
(:meth:`ModelRegistry.champion_for`).

Retraining is idempotent per trigger: :meth:`ModelRegistry.claim_trigger` atomically
records that a trigger is being handled, so the same trigger twice trains once.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd


class ModelStatus(StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"
    PENDING_REVIEW = "pending_review"
    REJECTED = "rejected"
    RETIRED = "retired"


class RegistryError(RuntimeError):
    """A registry operation is not possible; the message names the model and version."""


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    model: str
    version: str
    status: ModelStatus
    created_at: str
    trigger: str | None = None
    training_window: tuple[str, str] | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    effective_from: str | None = None
    note: str = ""
    sha256: str | None = None  # of the artifact file, recorded when it was written

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        d["training_window"] = list(self.training_window) if self.training_window else None
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModelVersion:
        tw = d.get("training_window")
        return cls(
            model=d["model"],
            version=d["version"],
            status=ModelStatus(d["status"]),
            created_at=d["created_at"],
            trigger=d.get("trigger"),
            training_window=tuple(tw) if tw else None,  # type: ignore[arg-type]
            metrics=dict(d.get("metrics") or {}),
            parent=d.get("parent"),
            effective_from=d.get("effective_from"),
            note=d.get("note", ""),
            sha256=d.get("sha256"),
        )


@dataclass(frozen=True)
class TriggerClaim:
    """The registry's record of a retraining trigger."""

    trigger: str
    state: str  # "running" | "done" | "failed"
    version: str | None = None
    outcome: str | None = None
    claimed_at: str = ""


class ModelRegistry(ABC):
    """What driftwarden needs from a model registry."""

    @abstractmethod
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
        """Store a new version (``version=None``: the next ``vN``) with its artifact."""

    @abstractmethod
    def versions(self, model: str) -> list[ModelVersion]:
        """Every version of ``model``, oldest first."""

    @abstractmethod
    def load_artifact(self, model: str, version: str) -> Any:
        """The stored estimator of ``model`` ``version``, after checking the file is the one
        registered (:class:`RegistryError` otherwise)."""

    @abstractmethod
    def set_status(
        self, model: str, version: str, status: ModelStatus, note: str = ""
    ) -> ModelVersion:
        """Change a version's status (not to champion: use :meth:`promote`)."""

    @abstractmethod
    def update_metrics(self, model: str, version: str, metrics: Mapping[str, Any]) -> ModelVersion:
        """Merge ``metrics`` into a version's stored metrics."""

    @abstractmethod
    def promote(
        self, model: str, version: str, effective_from: dt.date, note: str = ""
    ) -> ModelVersion:
        """Make ``version`` the champion for partitions from ``effective_from`` on; the
        previous champion is retired."""

    @abstractmethod
    def champion_history(self, model: str) -> list[tuple[dt.date, str]]:
        """(effective_from, version) pairs, in promotion order."""

    @abstractmethod
    def claim_trigger(self, model: str, trigger: str) -> tuple[bool, TriggerClaim]:
        """Atomically claim ``trigger``; ``(False, existing)`` if it was claimed before
        and did not fail."""

    @abstractmethod
    def finish_trigger(
        self, model: str, trigger: str, *, version: str | None, outcome: str, failed: bool = False
    ) -> TriggerClaim:
        """Record how a claimed trigger ended (a failed one may be claimed again)."""

    @abstractmethod
    def put_json(self, model: str, version: str, name: str, payload: Mapping[str, Any]) -> None:
        """Attach a JSON artifact (e.g. a fitted calibration) to a version."""

    @abstractmethod
    def get_json(self, model: str, version: str, name: str) -> dict[str, Any] | None:
        """A JSON artifact of a version, or None."""

    @abstractmethod
    def put_frame(self, model: str, version: str, name: str, frame: pd.DataFrame) -> None:
        """Attach a table to a version (e.g. its reference data or validation set)."""

    @abstractmethod
    def get_frame(self, model: str, version: str, name: str) -> pd.DataFrame | None:
        """A table attached to a version, or None."""

    @abstractmethod
    def put_object(self, model: str, version: str, name: str, obj: Any) -> str:
        """Attach a fitted object (e.g. a label-free estimator) to a version, pickled, and
        record its sha256 in the index; returns the sha256."""

    @abstractmethod
    def get_object(self, model: str, version: str, name: str) -> Any | None:
        """An object attached with :meth:`put_object`, or None when none is stored;
        :class:`RegistryError` when the stored file is not the one recorded (it is then
        not unpickled)."""

    # ---------------------------------------------------------------- derived
    def get(self, model: str, version: str) -> ModelVersion:
        """One version; :class:`RegistryError` if unknown."""
        for v in self.versions(model):
            if v.version == version:
                return v
        known = [v.version for v in self.versions(model)]
        raise RegistryError(f"model {model!r} has no version {version!r}; registered: {known}")

    def current_champion(self, model: str) -> str | None:
        """The version promoted last (the reference for partitions from now on)."""
        hist = self.champion_history(model)
        return hist[-1][1] if hist else None

    def champion_for(self, model: str, partition_date: dt.date) -> str | None:
        """The champion for a partition: the last promotion effective on or before it.
        Partitions before the first promotion belong to the first champion."""
        hist = self.champion_history(model)
        if not hist:
            return None
        chosen = hist[0][1]
        for start, version in hist:
            if start <= partition_date:
                chosen = version
        return chosen

    def by_trigger(self, model: str, trigger: str) -> ModelVersion | None:
        """The version trained for ``trigger``, if any."""
        return next((v for v in self.versions(model) if v.trigger == trigger), None)

    def ensure_initial(
        self,
        model: str,
        version: str,
        artifact: Any,
        effective_from: dt.date,
        metrics: Mapping[str, Any] | None = None,
        training_window: tuple[dt.date, dt.date] | None = None,
    ) -> ModelVersion:
        """Register the configured version as the first champion, once."""
        existing = {v.version: v for v in self.versions(model)}
        if version in existing:
            return existing[version]
        if existing:
            raise RegistryError(
                f"model {model!r} already has versions {sorted(existing)} but not the configured "
                f"{version!r}; set 'version' in the model file to one of them"
            )
        try:
            self.register(
                model,
                artifact,
                status=ModelStatus.CHALLENGER,
                version=version,
                metrics=metrics,
                training_window=training_window,
                note="initial version from the model file",
            )
        except RegistryError:
            # Two steps of one run may bootstrap at once; the other one won.
            if version not in {v.version for v in self.versions(model)}:
                raise
        return self.promote(model, version, effective_from, note="initial champion")


__all__ = [
    "ModelRegistry",
    "ModelStatus",
    "ModelVersion",
    "RegistryError",
    "TriggerClaim",
]
