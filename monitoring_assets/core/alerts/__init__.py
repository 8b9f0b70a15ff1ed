"""Tiered alerts from check failures: policy, routing, outbox, lineage, digest, scrubbing, CLI.

The Dagster definitions (sensor, schedules, the ``alerts`` asset) are built by
``sensors.alerts.build_alert_definitions``.
"""
