"""The monitors: thin Dagster files, one per concern, each a builder of one model's
asset and check definitions that calls into :mod:`monitoring_assets.core`.

:mod:`.inference` holds the per-model graph (:class:`~.inference.ModelGraph`) and the
foundation assets; :mod:`.drift` and :mod:`.performance` add their monitors. Which
monitors every model gets is listed once, in :data:`monitoring_assets.definitions.MONITORS`;
importing this package registers nothing.
"""
