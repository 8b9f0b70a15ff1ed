"""Where driftwarden keeps its state, and where a deployment moved parts of it.

One ``DRIFTWARDEN_HOME`` folder (default ``./.driftwarden``) holds the embedded
warehouse (a DuckDB file), the Parquet lake, reports, the model registry and the
Dagster instance. A deployment may move the warehouse (``DRIFTWARDEN_WAREHOUSE``: a
``postgresql://`` URL or another DuckDB file) and the lake (``DRIFTWARDEN_LAKE``: a
folder or an ``s3://``/``gs://``/``file://`` URI).

:meth:`Home.from_env` is the only reader of those three variables. A ``Home`` built
from a folder alone is exactly the embedded layout, whatever the environment says;
which adapter serves a location is decided by ``resources.warehouse.open_warehouse``
and ``resources.lake.open_lake``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from monitoring_assets.core.lake_io import Location, scheme

HOME_ENV = "DRIFTWARDEN_HOME"
WAREHOUSE_ENV = "DRIFTWARDEN_WAREHOUSE"
LAKE_ENV = "DRIFTWARDEN_LAKE"
DEFAULT_HOME = ".driftwarden"


@dataclass(frozen=True)
class Home:
    """Paths under DRIFTWARDEN_HOME, and the warehouse and lake locations in force.

    ``warehouse_url`` and ``lake_url`` are a deployment's overrides (``None``: the
    embedded file and folder under ``root``).
    """

    root: Path
    warehouse_url: str | None = None
    lake_url: str | None = None

    @classmethod
    def from_env(
        cls, root: str | Path | None = None, environ: Mapping[str, str] | None = None
    ) -> Home:
        """The home named by ``root`` (default ``$DRIFTWARDEN_HOME``, else
        ``./.driftwarden``), with ``$DRIFTWARDEN_WAREHOUSE``/``$DRIFTWARDEN_LAKE``."""
        env = os.environ if environ is None else environ
        folder = root if root is not None else env.get(HOME_ENV) or DEFAULT_HOME
        return cls(
            Path(folder).resolve(),
            warehouse_url=env.get(WAREHOUSE_ENV) or None,
            lake_url=env.get(LAKE_ENV) or None,
        )

    @property
    def warehouse(self) -> Path:
        """The embedded DuckDB file."""
        return self.root / "warehouse.duckdb"

    @property
    def warehouse_location(self) -> str:
        """The warehouse in force: the deployment's URL or file, else the embedded file."""
        return self.warehouse_url or str(self.warehouse)

    @property
    def lake(self) -> Path:
        """The embedded Parquet lake folder."""
        return self.root / "data"

    @property
    def lake_location(self) -> str:
        """The lake in force: the deployment's folder or URI, else the embedded folder."""
        return self.lake_url or str(self.lake)

    @property
    def lake_is_remote(self) -> bool:
        """Whether the lake is a URI (``s3://``, ``gs://``): then reports and the model
        registry live in it too, and nothing of the lake is kept under ``root``."""
        return scheme(self.lake_location) is not None

    @property
    def reports(self) -> Path | Location:
        """Where Evidently reports go: ``root/reports``, or ``<lake>/_reports`` for a
        remote lake (a :class:`Location` that joins with ``/`` like a ``Path``)."""
        if self.lake_is_remote:
            return Location(self.lake_location) / "_reports"
        return self.root / "reports"

    @property
    def registry(self) -> Path | Location:
        """The model registry: ``root/registry``, or ``<lake>/_registry`` for a remote lake."""
        if self.lake_is_remote:
            return Location(self.lake_location) / "_registry"
        return self.root / "registry"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> Home:
        """Create the home's local folders. With a remote lake and a warehouse URL there
        is nothing local to create; with a remote lake alone, only ``root`` (the DuckDB
        file's folder)."""
        if not self.lake_is_remote:
            for p in (self.root, self.lake, self.reports, self.registry, self.dagster_home):
                p.mkdir(parents=True, exist_ok=True)
        elif scheme(self.warehouse_location) is None:
            Path(self.warehouse_location).parent.mkdir(parents=True, exist_ok=True)
        return self
