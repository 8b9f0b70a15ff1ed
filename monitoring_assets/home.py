"""Former address of :class:`~monitoring_assets.core.home.Home`, kept while callers move.

New code imports ``Home`` from :mod:`monitoring_assets.core.home`; this module goes
when the last importer (the stream CLI, tests' fixtures, the backfill bench) has moved.
"""

from monitoring_assets.core.home import Home

__all__ = ["Home"]
