"""Push the warehouse's latest metrics to a Pushgateway after each successful run.

Only when ``DRIFTWARDEN_PUSHGATEWAY=host:port`` is set; the scrape exporter
(`driftwarden serve-metrics`) is the primary path and needs no push.
"""

import dagster as dg

from monitoring_assets.observability.exporter import push_if_configured
from resources.warehouse import WarehouseResource


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="push_metrics_after_run",
    description="Push latest monitoring metrics to $DRIFTWARDEN_PUSHGATEWAY after a run succeeds.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def push_metrics_after_run(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    if push_if_configured(warehouse.path):
        context.log.info(f"pushed metrics after run {context.dagster_run.run_id}")
