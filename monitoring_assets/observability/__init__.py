"""Observability: the Prometheus exporter (:mod:`.exporter`, ``driftwarden serve-metrics``)
and the warehouse reading it serves (:mod:`.snapshot`).

Metric names, types, help texts and labels come from the catalogue in
:mod:`monitoring_assets.core.metrics`, which the alerting rules and the Grafana
generator under ``deploy/`` share. This package imports nothing itself: import the
module you need.
"""
