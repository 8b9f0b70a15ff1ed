"""``driftwarden serve-metrics``: the Prometheus exporter's CLI entry point.

The exporter lives in :mod:`monitoring_assets.observability`; this module is the name
the ``driftwarden`` command loads its subcommand from.
"""

from monitoring_assets.observability.exporter import (
    add_cli,
    push_if_configured,
    push_metrics,
    serve_metrics,
    start_metrics_server,
)

__all__ = ["add_cli", "push_if_configured", "push_metrics", "serve_metrics", "start_metrics_server"]
