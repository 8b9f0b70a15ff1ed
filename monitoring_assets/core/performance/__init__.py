"""Model performance: realized metrics with late labels, concept drift, and CBPE estimates.

Pure Python (no Dagster import); ``monitoring_assets.monitors.performance`` wraps it.
The statistics are exported here; the monitor's steps live in their own modules:

- :mod:`.references` — which model version a day is measured against (the registry);
- :mod:`.daily` — one day's realized / estimated performance as rows, a range written once;
- :mod:`.checks` — the performance checks and how a stored day is judged;
- :mod:`.bands` — calibrated performance bands from the version's validation split;
- :mod:`.store` — lake and warehouse reads and writes (labeled windows, stored rows);
- :mod:`.scorecard` — the demo scorecard's performance columns.
"""

from monitoring_assets.core.performance.cbpe import CBPE, EstimatedPerformance
from monitoring_assets.core.performance.concept_drift import (
    ConceptDriftResult,
    McNemarResult,
    cohens_h,
    mcnemar_paired,
    realized_vs_estimated,
)
from monitoring_assets.core.performance.labels import (
    DataIssue,
    LabeledDay,
    PerformanceInputError,
    join_labels,
)
from monitoring_assets.core.performance.metrics import (
    ECE_BINS,
    Metrics,
    PerformanceReport,
    classification_metrics,
    evaluate_day,
    expected_calibration_error,
)

__all__ = [
    "CBPE",
    "ECE_BINS",
    "ConceptDriftResult",
    "DataIssue",
    "EstimatedPerformance",
    "LabeledDay",
    "McNemarResult",
    "Metrics",
    "PerformanceInputError",
    "PerformanceReport",
    "classification_metrics",
    "cohens_h",
    "evaluate_day",
    "expected_calibration_error",
    "join_labels",
    "mcnemar_paired",
    "realized_vs_estimated",
]
