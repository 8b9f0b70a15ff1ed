"""Per-day asset check evaluations that survive single-run range backfills.

A plain partitioned ``@asset_check`` records one evaluation *without* a partition when
a run covers a range of days, so a 365-day backfill would leave one result instead of
365. This module is the one place that knows how to do better on Dagster 1.13: a
``@multi_asset_check`` over partitioned ``AssetCheckSpec``s (a preview API) that yields
one ``AssetCheckEvaluation(partition=day, target_materialization_data=...)`` per day and
check, pointing at that day's materialization so the UI's per-partition check status
fills in. Dagster counts only ``AssetCheckResult``s (which carry no partition) as the
op's outputs, so after a check's evaluations the op also yields that check's output
(``Output(None)``, never stored): without it the run log says "did not yield or return
expected outputs" for every check op, which reads as if the checks were skipped.
A Dagster upgrade should only need to touch this file.

Monitors supply an ``evaluate(context, partition_keys)`` function yielding
``(partition_key, CheckOutcome)`` pairs computed from what their asset stored.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dagster as dg

# Not exported at the top level on 1.13; this module is the one place that imports it.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from monitoring_assets.core.checks import CheckDeclaration, CheckOutcome, verdict

Evaluator = Callable[
    [dg.AssetCheckExecutionContext, Sequence[str]], Iterable[tuple[str, CheckOutcome]]
]


def run_partition_keys(context: dg.AssetCheckExecutionContext) -> list[str]:
    """The partition keys the current run covers (one key, a range, or none)."""
    run = context.run
    tags = run.tags if run else {}
    start = tags.get("dagster/asset_partition_range_start")
    end = tags.get("dagster/asset_partition_range_end")
    single = tags.get("dagster/partition")
    pdef = _partitions_def(context)
    if start and end and pdef is not None:
        return list(pdef.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    if single:
        return [single]
    return []


def _partitions_def(context: dg.AssetCheckExecutionContext) -> dg.PartitionsDefinition | None:
    return getattr(context, "_driftwarden_partitions_def", None)


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition_key: str
) -> dg.EventLogRecord | None:
    """The newest materialization record of ``asset_key`` for ``partition_key``."""
    result = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition_key]), limit=1
    )
    return result.records[0] if result.records else None


def target_data(
    record: dg.EventLogRecord | None,
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """Point a check evaluation at the materialization it judged."""
    if record is None:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
    )


def daily_checks(
    *,
    name: str,
    asset_key: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition,
    checks: Sequence[CheckDeclaration],
    evaluate: Evaluator,
    required_resource_keys: set[str] | None = None,
    additional_deps: Sequence[dg.AssetKey] = (),
) -> dg.AssetChecksDefinition:
    """Build one multi-check over ``asset_key`` that records one evaluation per day and check.

    ``evaluate(context, partition_keys)`` yields ``(partition_key, CheckOutcome)``; outcomes
    for checks not selected in the run are dropped, and a selected check that yields
    nothing for a day is recorded as failed ('not evaluated') so it can never pass silently.
    """
    specs = [
        dg.AssetCheckSpec(
            c.name,
            asset=asset_key,
            description=c.description,
            partitions_def=partitions_def,
            additional_deps=list(additional_deps),
        )
        for c in checks
    ]
    names = {c.name for c in checks}

    @dg.multi_asset_check(
        specs=specs,
        can_subset=True,
        name=name,
        required_resource_keys=required_resource_keys or set(),
    )
    def _checks(context: dg.AssetCheckExecutionContext):
        context._driftwarden_partitions_def = partitions_def  # type: ignore[attr-defined]
        keys = run_partition_keys(context)
        selected = {k.name for k in context.selected_asset_check_keys if k.asset_key == asset_key}
        seen: set[tuple[str, str]] = set()
        targets: dict[str, Any] = {}
        for pk, outcome in evaluate(context, keys):
            if outcome.check not in names:
                raise ValueError(f"check {outcome.check!r} is not declared on {asset_key}")
            if outcome.check not in selected:
                continue
            seen.add((pk, outcome.check))
            if pk not in targets:
                targets[pk] = target_data(latest_materialization(context.instance, asset_key, pk))
            yield _evaluation(asset_key, pk, outcome, targets[pk])
        for pk in keys:
            for check_name in sorted(selected):
                if (pk, check_name) not in seen:
                    if pk not in targets:
                        targets[pk] = target_data(
                            latest_materialization(context.instance, asset_key, pk)
                        )
                    yield _evaluation(
                        asset_key,
                        pk,
                        CheckOutcome(
                            check_name,
                            passed=False,
                            severity="WARN",
                            description=f"not evaluated: no result stored for {pk}",
                        ),
                        targets[pk],
                    )
        # Every selected check has now recorded its evaluations: mark its output produced.
        assets_def = context.op_execution_context.assets_def
        for check_name in sorted(selected):
            key = dg.AssetCheckKey(asset_key, check_name)
            yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(key))

    return _checks


#: Metadata keys that name settings (thresholds, limits), shown as text, not plotted.
_SETTING_KEY = re.compile(
    r"(threshold|floor|ceiling|limit|significance|min_gap|max_|min_|_max|_min|_warn$|_error$"
    r"|^warn$|^error$)",
    re.I,
)


def shown_metadata(outcome: CheckOutcome) -> dict[str, Any]:
    """The outcome's metadata as the UI shows it: only signals stay numbers (the UI plots
    numbers); thresholds and counts (ints) become text; ``severity`` says as text what the
    result means (``OK``, ``WARN`` or ``ERROR``)."""
    out: dict[str, Any] = {}
    for key, value in outcome.metadata.items():
        raw = getattr(value, "value", value)
        number = isinstance(raw, int | float) and not isinstance(raw, bool)
        if number and (isinstance(raw, int) or _SETTING_KEY.search(key)):
            out[key] = dg.MetadataValue.text(f"{raw:.6g}" if isinstance(raw, float) else str(raw))
        else:
            out[key] = value
    out["severity"] = dg.MetadataValue.text(verdict(outcome))
    return out


def described(outcome: CheckOutcome) -> str:
    """The description headed by what the result means: ``[ERROR] 5 of 7 features…``."""
    text = outcome.description or ("passed" if outcome.passed else "failed")
    return f"[{verdict(outcome)}] {text}"


def _evaluation(
    asset_key: dg.AssetKey, pk: str, outcome: CheckOutcome, target: Any
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=outcome.check,
        passed=outcome.passed,
        metadata=shown_metadata(outcome),
        severity=dg.AssetCheckSeverity(outcome.severity),
        description=described(outcome),
        partition=pk,
        target_materialization_data=target,
    )
