"""``data_quality``: the asset's spec, its per-day metadata and its six checks.

The findings are computed in the drift monitor's multi-asset step (from the same day
profiles as drift, see :mod:`monitoring_assets.monitors.drift`) by
:func:`monitoring_assets.core.quality.day_quality`; the checks judge the stored findings
with :func:`monitoring_assets.core.quality.quality_outcomes`, one evaluation per day and
check.
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from monitoring_assets.core.checks import CheckDeclaration
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import TRAILING_DAYS, TRAILING_WEEKS
from monitoring_assets.core.profile import DatasetProfile
from monitoring_assets.core.quality import (
    MISSING_SHARE,
    MISSING_SHARE_WITHIN_LIMIT,
    NO_DUPLICATE_REQUEST_IDS,
    NO_UNSEEN_CATEGORIES,
    ROW_COUNT_STABLE,
    SCHEMA_MATCHES_REFERENCE,
    STATUS_ORDER,
    VALUES_WITHIN_REFERENCE_RANGE,
    QualityFinding,
    quality_checks,
    quality_outcomes,
)
from monitoring_assets.core.results import finite, quality_markdown, stored_rows
from monitoring_assets.core.tables import QUALITY_TABLE
from monitoring_assets.monitors.daily_checks import daily_checks
from monitoring_assets.monitors.inference import ModelGraph

DATA_QUALITY = "data_quality"


def data_quality_spec(graph: ModelGraph, profiles: dg.AssetKey) -> dg.AssetSpec:
    """The ``data_quality`` asset, computed from the day profiles ``profiles``."""
    identity = dg.IdentityPartitionMapping()
    return dg.AssetSpec(
        graph.key(DATA_QUALITY),
        deps=[
            dg.AssetDep(profiles, partition_mapping=identity),
            graph.key("reference_data"),
        ],
        description=(
            "Missing share, unseen categories, values outside the reference range, schema, "
            f"row count vs the trailing {TRAILING_DAYS} days, duplicate request ids."
        ),
        kinds={"duckdb"},
        tags={"driftwarden/model": graph.name},
        metadata={"warehouse_table": QUALITY_TABLE.name},
        partitions_def=graph.partitions_def,
        group_name=graph.group,
    )


def quality_metadata(current: DatasetProfile, findings: Sequence[QualityFinding]) -> dict:
    """One day's ``data_quality`` metadata: rows, the findings table, the numbers."""
    meta: dict[str, Any] = {
        "rows": dg.MetadataValue.int(current.rows),
        "findings": dg.MetadataValue.md(quality_markdown(findings)),
    }
    for f in findings:
        value = finite(f.value)
        if value is None:
            continue
        if f.rule == MISSING_SHARE:
            meta[f"missing_share/{f.column}"] = dg.MetadataValue.float(value)
        elif not f.column:
            meta[f.rule] = dg.MetadataValue.float(value)
    for status in STATUS_ORDER:
        n = sum(f.status == status for f in findings)
        meta[f"findings_{status}"] = dg.MetadataValue.int(n)
    return meta


def build_quality_checks(graph: ModelGraph) -> dg.AssetChecksDefinition:
    """The per-day checks of ``data_quality``, from its stored findings."""
    model = graph.model

    applies = set(quality_checks(model).values())

    def evaluate(ctx: dg.AssetCheckExecutionContext, keys: Sequence[str]):
        rows = stored_rows(ctx.resources.warehouse.get(), QUALITY_TABLE, model, keys)
        for pk in keys:
            if pk in rows:
                for o in quality_outcomes(rows[pk], model):
                    yield pk, o

    return daily_checks(
        name=f"{model.name}_data_quality_checks",
        asset_key=graph.key(DATA_QUALITY),
        partitions_def=graph.partitions_def,
        checks=[c for c in _declarations(model) if c.name in applies],
        evaluate=evaluate,
        required_resource_keys={"warehouse"},
    )


def _declarations(model: ModelConfig) -> list[CheckDeclaration]:
    q = model.thresholds.quality
    return [
        CheckDeclaration(
            MISSING_SHARE_WITHIN_LIMIT,
            f"missing share per feature <= {q.missing_share_warn} "
            f"(ERROR above {q.missing_share_error})",
        ),
        CheckDeclaration(
            NO_UNSEEN_CATEGORIES,
            "share of categorical values unseen in the reference <= "
            f"{q.unseen_category_share_warn} (ERROR above {q.unseen_category_share_error})",
        ),
        CheckDeclaration(
            VALUES_WITHIN_REFERENCE_RANGE,
            "share of numerical values outside the reference range <= "
            f"{q.out_of_range_share_warn} (ERROR above {q.out_of_range_share_error})",
        ),
        CheckDeclaration(
            SCHEMA_MATCHES_REFERENCE, "every feature present with the reference's type"
        ),
        CheckDeclaration(
            ROW_COUNT_STABLE,
            f"row count within {q.row_count_change_warn:.0%} of the trailing "
            f"{TRAILING_DAYS}-day median (ERROR beyond {q.row_count_change_error:.0%}); "
            + (
                "once two weeks exist, of the same weekday's median over the last "
                f"{TRAILING_WEEKS} weeks; "
                if model.thresholds.mode_for(ROW_COUNT_STABLE) != "fixed"
                else ""
            )
            + "not applicable (passes) before any trailing day exists",
        ),
        CheckDeclaration(
            NO_DUPLICATE_REQUEST_IDS,
            f"duplicate request id share <= {q.duplicate_id_share_warn} "
            f"(ERROR above {q.duplicate_id_share_error})",
        ),
    ]
