"""The Dagster code location, and the one place its parts are chosen.

- :data:`MONITORS`: which monitors every model gets, in order (an explicit list;
  importing a monitor registers nothing).
- :func:`build_resources`: every resource the assets, checks, sensors and jobs use.
  Where the warehouse and the lake live comes from the :class:`Home` in force
  (:meth:`Home.from_env` reads ``DRIFTWARDEN_HOME``, ``DRIFTWARDEN_WAREHOUSE`` and
  ``DRIFTWARDEN_LAKE``); which backend serves a location (DuckDB or Postgres, a local
  folder or a pyarrow filesystem) is decided by ``resources.warehouse.open_warehouse``
  and ``resources.lake.open_lake``, the same two functions the CLI, the demo, the
  exporter and the stream consumer call.
- :func:`build_definitions`: one asset graph per model in the model file, the alert
  sensors and schedules, the stream sensors, and those resources. Every asset of a
  model (its ``alerts`` asset too) carries the model's ``alerting.owners``
  (``monitors/owners.py`` says how they become Dagster owners). The alert sensor gets
  the root-cause explainer (:func:`build_explainer`) built on the same resources.

Loading this module reads the model file and builds definitions only; it trains,
reads and imports nothing heavy (evidently is imported inside the assets that use it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from monitoring_assets.core.config import ModelConfig, ProjectConfig, load_project
from monitoring_assets.core.home import Home
from monitoring_assets.core.root_cause.explain import AlertExplainer, validation_loader
from monitoring_assets.core.trend_report import REPORT_NAME
from monitoring_assets.monitors.drift import build_drift_monitor
from monitoring_assets.monitors.inference import (
    MonitorBuilder,
    MonitorDefs,
    build_foundation,
    build_model,
)
from monitoring_assets.monitors.multivariate import build_multivariate_monitor
from monitoring_assets.monitors.owners import dagster_owners, with_owners
from monitoring_assets.monitors.performance import build_performance_monitor
from monitoring_assets.monitors.retraining import served_estimator
from monitoring_assets.monitors.segments import build_segment_monitor
from monitoring_assets.monitors.trends import build_monitoring_report
from resources.home import HomeResource
from resources.lake import LakeResource
from resources.model_registry_fs import ModelRegistryResource
from resources.notifiers import AlertingResource
from resources.report_store import ReportStoreResource
from resources.warehouse import WarehouseResource
from sensors.alerts import build_alert_definitions
from sensors.metrics_push import push_metrics_after_run
from sensors.stream_days import build_stream_sensors

#: The monitors every model gets, in order: the foundation (reference data, inference
#: logs, ground truth) first, then drift and data quality, then performance, then
#: segments (models with ``segments:`` only), then multivariate drift (models with a
#: ``multivariate`` section only).
MONITORS: tuple[MonitorBuilder, ...] = (
    build_foundation,
    build_drift_monitor,
    build_performance_monitor,
    build_segment_monitor,
    build_multivariate_monitor,
)


def build_resources(home: Home) -> dict[str, Any]:
    """Every resource of the code location, for ``home``: ``warehouse``, ``lake``,
    ``home``, ``model_registry``, ``reports`` (the report store) and ``alerting``
    (channels and secrets from the environment, see ``resources.notifiers``)."""
    return {
        "reports": ReportStoreResource.for_folder(home.reports),
        "warehouse": WarehouseResource(path=home.warehouse_location),
        "lake": LakeResource(root=home.lake_location),
        "home": HomeResource(root=str(home.root), warehouse=home.warehouse_url, lake=home.lake_url),
        "model_registry": ModelRegistryResource(root=str(home.registry)),
        "alerting": AlertingResource.from_env(),
    }


class _OpenedOnUse:
    """A client opened by ``open_`` on its first attribute access."""

    def __init__(self, open_: Callable[[], Any]):
        self._open = open_
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            self._client = self._open()
        return getattr(self._client, name)


def build_explainer(models: Sequence[ModelConfig], resources: dict[str, Any]) -> AlertExplainer:
    """The root cause of alerts, from the same registry and lake as every asset: model
    reliance from the registry, validation splits from the lake (opened on first use),
    and the source's served estimator before the registry knows the model."""
    # Opened on first use: loading the definitions touches no store (an unreachable
    # object store then fails the step that needs it, naming the URL).
    registry: Any = _OpenedOnUse(resources["model_registry"].get)
    return AlertExplainer(
        {m.name: m for m in models},
        registry,
        validation_loader(resources["lake"].get, registry),
        served=lambda m: served_estimator(m)(),
    )


def build_definitions(
    project: ProjectConfig | None = None,
    home: Home | None = None,
    monitors: tuple[MonitorBuilder, ...] = MONITORS,
) -> dg.Definitions:
    """Definitions for every model in ``project`` (default: the model file in force),
    with the resources of ``home`` (default: :meth:`Home.from_env`)."""
    project = project or load_project()
    home = home or Home.from_env()
    everything = MonitorDefs()
    resources = build_resources(home)
    reports = resources["reports"]
    checked: dict[str, list[dg.AssetKey]] = {}
    report_jobs = []
    for model in project.models:
        graph, defs = build_model(model, monitors)
        # The monitors whose checks feed the alerts, in the order they were built.
        checked[model.name] = list(
            dict.fromkeys(k.asset_key for c in defs.checks for k in c.check_keys)
        )
        report, report_job = build_monitoring_report(graph, checked[model.name])
        report = with_owners(report, dagster_owners(model))
        defs.assets = [*_linked(defs.assets, reports, model.name), report]
        report_jobs.append(report_job)
        everything.extend(defs)
    retrain_jobs = [j for j in everything.jobs if j.name.startswith("retrain_")]
    alerts = build_alert_definitions(
        project.models,
        retrain_jobs=retrain_jobs,
        explainer=build_explainer(project.models, resources),
        deps_by_model=checked,
        report_jobs=report_jobs,
        report_url=lambda name: reports.get().url(name, REPORT_NAME),
    )
    owners = {model.name: dagster_owners(model) for model in project.models}
    alert_assets = [with_owners(a, owners.get(a.key.path[0], [])) for a in alerts.assets]
    return dg.Definitions(
        assets=[*everything.assets, *alert_assets],
        asset_checks=everything.checks,
        jobs=[*everything.jobs, *alerts.jobs, *report_jobs],
        sensors=[
            *everything.sensors,
            *alerts.sensors,
            *build_stream_sensors(project.models),
            push_metrics_after_run,
        ],
        schedules=[*everything.schedules, *alerts.schedules],
        resources=resources,
    )


#: Assets whose page links to the model's monitoring report.
REPORT_LINKED = ("data_drift", "model_performance")


def _linked(assets: list, reports: ReportStoreResource, model: str) -> list:
    """``assets`` with a ``monitoring_report`` URL in the definition metadata of the
    assets named in :data:`REPORT_LINKED`."""
    url = dg.MetadataValue.url(reports.get().url(model, REPORT_NAME))

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        if spec.key.path[-1] not in REPORT_LINKED:
            return spec
        return spec.replace_attributes(metadata={**spec.metadata, "monitoring_report": url})

    return [a.map_asset_specs(add) if isinstance(a, dg.AssetsDefinition) else a for a in assets]


defs = build_definitions()
