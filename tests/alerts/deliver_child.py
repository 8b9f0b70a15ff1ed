"""One alert tick in a fresh process, as the sensor would run it (the kill test's child).

Reads ``DAGSTER_HOME``, ``DW_TEST_WAREHOUSE``, ``DRIFTWARDEN_ALERT_POLICY`` and the
channel secrets from the environment; always starts from cursor 0, as a sensor
whose process died before its cursor was stored.
"""

import os

import dagster as dg

from resources.notifiers import AlertingResource
from resources.warehouse import Warehouse
from sensors.alerts import alert_tick
from tests.alerts.conftest import toy_model


def main() -> None:
    instance = dg.DagsterInstance.get()
    warehouse = Warehouse(os.environ["DW_TEST_WAREHOUSE"])
    # Resolved as Dagster would: the secrets are EnvVars until then.
    with dg.build_resources({"alerting": AlertingResource.from_env()}) as resources:
        alerting = resources.alerting
    result = alert_tick(instance, warehouse, alerting, [toy_model()], 0)
    d = result.delivery
    print(f"delivered {d.delivered} retrying {d.retrying} failed {d.failed}", flush=True)


if __name__ == "__main__":
    main()
