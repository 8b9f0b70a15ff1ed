"""DRIFTWARDEN_HOME as a Dagster resource: the folders reports and the registry live in.

:class:`~monitoring_assets.core.home.Home` is the Dagster-free description of the
home; this resource only carries its folder into a run.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from monitoring_assets.core.home import Home


class HomeResource(dg.ConfigurableResource):
    """``root`` is the DRIFTWARDEN_HOME folder."""

    root: str

    def get(self) -> Home:
        return Home(Path(self.root)).ensure()
