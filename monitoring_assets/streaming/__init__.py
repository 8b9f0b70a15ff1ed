"""Streaming drift detection over Kafka: ``driftwarden stream``.

- :mod:`.messages` — message formats and validation against the model file
- :mod:`.windows` — sliding windows with incremental aggregates, judged by the batch
  monitor's own :class:`~monitoring_assets.core.monitor.DriftMonitor`
- :mod:`.processor` — join, de-duplication, windows, landing buffers, checkpoints
- :mod:`.landing` — Parquet micro-batches the daily assets read
- :mod:`.consumer` — the Kafka loop (commit after durability, SIGTERM, health)
- :mod:`.findings` — verdicts to the alert outbox and ``monitor_metrics``
- :mod:`.producer` — ``driftwarden simulate --to-kafka``
- :mod:`.broker` — a local tansu broker for demos and tests
"""
