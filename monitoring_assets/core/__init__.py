"""The Dagster-free core: configuration, statistics, performance, the retraining
decision, alert policy/routing/outbox and the ports the resources implement.

Nothing under this package imports Dagster, the monitors, the resources or the
sensors (tests/core/test_import_graph.py checks it)."""
