"""DRIFTWARDEN_HOME as a Dagster resource (report and registry folders live under it)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from monitoring_assets.home import Home


class HomeResource(dg.ConfigurableResource):
    """``root`` is the DRIFTWARDEN_HOME folder."""

    root: str

    def get(self) -> Home:
        return Home(Path(self.root)).ensure()
