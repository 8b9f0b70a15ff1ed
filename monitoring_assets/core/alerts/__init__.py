"""Tiered alerts from check failures, Dagster-free: policy, lineage, routing (the episode
state machine), notification planning, recording, the store and its outbox, delivery,
channel health, the channel port, the digest and scrubbing.

``record.record_events`` is the one path from check events to stored alerts and queued
messages; the ``check_failure_alerts`` sensor and the stream consumer both call it. The
Dagster definitions (sensor, schedules, the ``alerts`` asset) are built by
``sensors.alerts.build_alert_definitions``; the channels live in ``resources.notifiers``
and the ``driftwarden alerts`` command in ``monitoring_assets.cli.alerts``.
"""
