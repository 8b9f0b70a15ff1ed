"""Definitions for the secrets test's daemon tick: the alert sensor, resources from the
environment (``DW_TEST_WAREHOUSE``, ``DRIFTWARDEN_ALERT_POLICY`` and the secrets)."""

import dagster as dg

from resources.notifiers import AlertingResource
from resources.warehouse import WarehouseResource
from sensors.alerts import build_alert_definitions
from tests.alerts.conftest import toy_model

_alerts = build_alert_definitions([toy_model()], minimum_interval_seconds=1)

defs = dg.Definitions(
    assets=_alerts.assets,
    sensors=_alerts.sensors,
    jobs=_alerts.jobs,
    resources={
        "warehouse": WarehouseResource(path=dg.EnvVar("DW_TEST_WAREHOUSE")),
        "alerting": AlertingResource.from_env(),
    },
)
