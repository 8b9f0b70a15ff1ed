"""Core input errors as Dagster failures: the one place the drift shell translates them.

The core raises :class:`~monitoring_assets.core.day_profiles.MonitorInputError` when a
monitor's input is missing or unreadable (a day of ``inference_logs``, the reference
snapshot); an asset wraps its reads in :func:`input_failures`, so the run fails with the
same message and metadata and the error says what to materialize.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from monitoring_assets.core.day_profiles import MonitorInputError


@contextmanager
def input_failures() -> Iterator[None]:
    """Re-raise a :class:`MonitorInputError` of the block as ``dg.Failure``."""
    try:
        yield
    except MonitorInputError as exc:
        raise dg.Failure(description=str(exc), metadata=exc.metadata or None) from exc
