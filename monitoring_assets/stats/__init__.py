"""Statistics core: profiles, Evidently-compatible drift and data quality (no Dagster)."""

from monitoring_assets.stats.drift import (
    DEFAULT_THRESHOLDS,
    METHODS,
    ColumnDrift,
    DatasetDrift,
    column_drift,
    dataset_drift,
    default_method,
)
from monitoring_assets.stats.profile import (
    EXACT_CAP,
    PROFILE_ROW_COLUMNS,
    SIG_DIGITS,
    ColumnProfile,
    DatasetProfile,
    empty_profile,
    merge_profiles,
    profile_frame,
    profile_from_rows,
    profile_partitions,
    profile_to_rows,
)
from monitoring_assets.stats.quality import QUALITY_RULES, QualityFinding, data_quality

__all__ = [
    "DEFAULT_THRESHOLDS",
    "EXACT_CAP",
    "METHODS",
    "PROFILE_ROW_COLUMNS",
    "QUALITY_RULES",
    "SIG_DIGITS",
    "ColumnDrift",
    "ColumnProfile",
    "DatasetDrift",
    "DatasetProfile",
    "QualityFinding",
    "column_drift",
    "data_quality",
    "dataset_drift",
    "default_method",
    "empty_profile",
    "merge_profiles",
    "profile_frame",
    "profile_from_rows",
    "profile_partitions",
    "profile_to_rows",
]
