"""Observability: the Prometheus exporter and the metric catalogue it shares with
the alerting rules and the Grafana dashboards under ``deploy/``."""

from monitoring_assets.observability.exporter import (
    MetricsServer,
    WarehouseCollector,
    add_cli,
    push_if_configured,
    push_metrics,
    serve_metrics,
    start_metrics_server,
)
from monitoring_assets.observability.snapshot import (
    LATENCY_HISTOGRAM,
    Snapshot,
    SnapshotUnavailable,
    read_snapshot,
)

__all__ = [
    "LATENCY_HISTOGRAM",
    "MetricsServer",
    "Snapshot",
    "SnapshotUnavailable",
    "WarehouseCollector",
    "add_cli",
    "push_if_configured",
    "push_metrics",
    "read_snapshot",
    "serve_metrics",
    "start_metrics_server",
]
