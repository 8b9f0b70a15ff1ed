"""Which monitors every model gets: the builders plugged into the per-model graph.

Import order matters only here: factory.py holds the list, each monitor module
builds on factory.py, and this module joins them (so no module imports in a circle).
"""

from monitoring_assets.monitors.drift import build_drift_monitor
from monitoring_assets.monitors.inference import MONITOR_BUILDERS, MonitorBuilder
from monitoring_assets.monitors.performance import build_performance_monitor

MONITORS: tuple[MonitorBuilder, ...] = (build_drift_monitor, build_performance_monitor)

for _builder in MONITORS:
    if _builder not in MONITOR_BUILDERS:
        MONITOR_BUILDERS.append(_builder)
