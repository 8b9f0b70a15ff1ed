"""The embedded Dagster instance under DRIFTWARDEN_HOME/dagster."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from monitoring_assets.core.home import Home

# The repository's dagster.yaml is the instance template (installed editable, the
# package sits beside it).
INSTANCE_TEMPLATE = Path(__file__).resolve().parents[1] / "dagster.yaml"


def prepare_dagster_home(home: Home) -> Path:
    """Point DAGSTER_HOME at ``home``'s instance folder, with the project's dagster.yaml."""
    home.ensure()
    target = home.dagster_home / "dagster.yaml"
    if not INSTANCE_TEMPLATE.exists():
        raise FileNotFoundError(
            f"instance template {INSTANCE_TEMPLATE} is missing; install driftwarden from its "
            "repository with `pip install -e .`"
        )
    if not target.exists() or target.read_bytes() != INSTANCE_TEMPLATE.read_bytes():
        shutil.copyfile(INSTANCE_TEMPLATE, target)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ["DRIFTWARDEN_HOME"] = str(home.root)
    return home.dagster_home
