"""One outbox delivery pass at a time per warehouse, across processes.

The ``check_failure_alerts`` sensor and the stream consumer (``driftwarden stream``) both
deliver the alert outbox. A message is marked delivered only after its channel accepted
it, so two passes running at the same time could both send it. :func:`deliver_exclusively`
runs :func:`~monitoring_assets.core.alerts.delivery.deliver_pending` under a lock held for
the whole pass: an OS file lock beside a DuckDB warehouse file (``<file>.delivery.lock``),
a session advisory lock on a Postgres warehouse. A pass that finds the lock taken does
nothing: the holder is delivering everything that is due, and the next pass picks up what
is left.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from monitoring_assets.core.alerts.channels import Channel
from monitoring_assets.core.alerts.delivery import DeliveryReport, deliver_pending
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import AlertPolicy
from monitoring_assets.core.alerts.rows import utcnow

log = logging.getLogger("driftwarden.alerts")


def _pg_key(schema: str) -> int:
    digest = hashlib.sha256(f"driftwarden-outbox-delivery:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def delivery_lock(warehouse) -> Iterator[bool]:
    """Try to take the warehouse's delivery lock without waiting; yields whether it is held."""
    from resources.warehouse import Warehouse as DuckWarehouse

    if isinstance(warehouse, DuckWarehouse):
        path = Path(warehouse.path).resolve()
        lock_path = path.with_name(path.name + ".delivery.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return
    schema = getattr(warehouse, "schema", None)
    if schema is not None and hasattr(warehouse, "dsn"):  # Postgres
        with warehouse.connect() as con:
            key = _pg_key(schema)
            held = bool(con.execute("SELECT pg_try_advisory_lock(?)", [key]).fetchone()[0])
            try:
                yield held
            finally:
                if held:
                    con.execute("SELECT pg_advisory_unlock(?)", [key])
        return
    yield True  # an in-memory or test warehouse: one process only


def deliver_exclusively(
    store: AlertStore,
    channels: Mapping[str, Channel],
    policy: AlertPolicy,
    now: Callable[[], dt.datetime] = utcnow,
    missing: Mapping[str, str] | None = None,
) -> DeliveryReport | None:
    """``deliver_pending`` under :func:`delivery_lock`; ``None`` when another process
    holds the lock (it is delivering; nothing was sent here)."""
    with delivery_lock(store.warehouse) as held:
        if not held:
            log.info("outbox delivery skipped: another process is delivering")
            return None
        return deliver_pending(store, channels, policy, now, missing)
