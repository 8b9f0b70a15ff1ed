"""DRIFTWARDEN_HOME as a Dagster resource: the folders reports and the registry live in.

:class:`~monitoring_assets.core.home.Home` is the Dagster-free description of the
home; this resource only carries its folder into a run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from monitoring_assets.core.home import Home


class HomeResource(dg.ConfigurableResource):
    """``root`` is the DRIFTWARDEN_HOME folder; ``warehouse`` and ``lake`` the
    deployment's overrides (``Home.warehouse_url``/``Home.lake_url``), if any. With a
    remote lake, reports live in it and nothing is created under ``root``."""

    root: str
    warehouse: str | None = None
    lake: str | None = None

    def get(self) -> Home:
        return Home(Path(self.root), warehouse_url=self.warehouse, lake_url=self.lake).ensure()
