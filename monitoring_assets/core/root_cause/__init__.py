"""Root cause of alerts: ranked, typed causes with numbers (see :mod:`.causes`).

- :mod:`.causes` — :class:`Cause`, drift severity across methods, feature ranking
- :mod:`.importance` — permutation importance per model version (kept in the
  registry) and the shift of each feature's contribution to the prediction
- :mod:`.explain` — the causes of one alert from the warehouse and the registry
"""

from monitoring_assets.core.root_cause.causes import (
    TOP_CAUSES,
    Cause,
    cause_lines,
    feature_causes,
    rank_causes,
    severity,
)

__all__ = ["TOP_CAUSES", "Cause", "cause_lines", "feature_causes", "rank_causes", "severity"]
