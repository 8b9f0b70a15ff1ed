"""The Dagster code location: one asset graph per model in the model file.

Loading this module reads the model file and builds definitions only; it trains,
reads and imports nothing heavy (evidently is imported inside the assets that use it).
"""

from __future__ import annotations

import dagster as dg

import monitoring_assets.monitors  # noqa: F401  (plugs the monitors into the factory)
from monitoring_assets.core.config import ProjectConfig, load_project
from monitoring_assets.home import Home
from monitoring_assets.monitors.inference import MonitorDefs, build_model
from resources.home import HomeResource
from resources.lake import LakeResource
from resources.model_registry import ModelRegistryResource
from resources.warehouse import WarehouseResource


def build_resources(home: Home) -> dict:
    """Resources chosen by configuration; the embedded default keeps everything under
    DRIFTWARDEN_HOME. ``DRIFTWARDEN_WAREHOUSE`` and ``DRIFTWARDEN_LAKE`` move the warehouse
    and the Parquet lake elsewhere (see docs/deployment.md)."""
    return {
        "warehouse": WarehouseResource(path=home.warehouse_location),
        "lake": LakeResource(root=home.lake_location),
        "home": HomeResource(root=str(home.root)),
        "model_registry": ModelRegistryResource(root=str(home.registry)),
    }


def build_definitions(
    project: ProjectConfig | None = None, home: Home | None = None
) -> dg.Definitions:
    """Definitions for every model in ``project`` (default: the model file in force)."""
    project = project or load_project()
    home = home or Home.from_env()
    everything = MonitorDefs()
    for model in project.models:
        _, defs = build_model(model)
        everything.extend(defs)
    from sensors.alerts import build_alert_definitions
    from sensors.metrics_push import push_metrics_after_run
    from sensors.stream_days import build_stream_sensors

    retrain_jobs = [j for j in everything.jobs if j.name.startswith("retrain_")]
    alerts = build_alert_definitions(project.models, retrain_jobs=retrain_jobs)
    return dg.Definitions(
        assets=[*everything.assets, *alerts.assets],
        asset_checks=everything.checks,
        jobs=[*everything.jobs, *alerts.jobs],
        sensors=[
            *everything.sensors,
            *alerts.sensors,
            *build_stream_sensors(project.models),
            push_metrics_after_run,
        ],
        schedules=[*everything.schedules, *alerts.schedules],
        resources={**build_resources(home), **alerts.resources},
    )


defs = build_definitions()
