"""Where driftwarden keeps its state: one DRIFTWARDEN_HOME folder (default ``./.driftwarden``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Home:
    """Paths under DRIFTWARDEN_HOME."""

    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("DRIFTWARDEN_HOME", ".driftwarden")).resolve())

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def warehouse_location(self) -> str:
        """``$DRIFTWARDEN_WAREHOUSE`` (a ``postgresql://`` URL or a DuckDB file), else the
        embedded DuckDB file."""
        return os.environ.get("DRIFTWARDEN_WAREHOUSE") or str(self.warehouse)

    @property
    def lake_location(self) -> str:
        """``$DRIFTWARDEN_LAKE`` (a folder or an ``s3://``/``gs://``/``file://`` URI), else
        the embedded folder."""
        return os.environ.get("DRIFTWARDEN_LAKE") or str(self.lake)

    @property
    def lake(self) -> Path:
        return self.root / "data"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    def ensure(self) -> Home:
        for p in (self.root, self.lake, self.reports, self.registry, self.dagster_home):
            p.mkdir(parents=True, exist_ok=True)
        return self
