"""A history backfill split into runs (``backfill: {partitions_per_run: N}``): every
partitioned asset of the model carries the same multi-run policy, Dagster's backfill
planning splits the range into runs of at most N days, and executing those runs, in any
order, gives the same warehouse rows, check evaluations and alerts as one run."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.home import Home
from monitoring_assets.definitions import build_definitions
from monitoring_assets.history import (
    RANGE_END_TAG,
    RANGE_START_TAG,
    backfill_runs,
    evaluate_alerts,
)
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml
from tests.production.test_postgres_demo import snapshot

DAYS = 7
KEYS = [f"2026-03-{d:02d}" for d in range(1, DAYS + 1)]
SHOCK = "[{kind: sudden_shock, day: 3, magnitude: 1.35, share: 0.5}]"
ALERT_COLUMNS = ["model", "asset_key", "check_name", "partition_key", "severity", "tier", "status"]


def _project(folder, per_run: int | None):
    text = churn_yaml(days=DAYS, rows=250, events=SHOCK)
    if per_run is not None:
        text += f"    backfill: {{partitions_per_run: {per_run}}}\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "models.yaml"
    path.write_text(text)
    return load_project(path)


def _evaluations(instance: dg.DagsterInstance) -> pd.DataFrame:
    """Every stored check evaluation: check, day, passed, severity, description."""
    rows = []
    for record in instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ):
        ev = record.event_log_entry.dagster_event.event_specific_data
        rows.append(
            {
                "check": ev.asset_check_key.to_user_string(),
                "partition": ev.partition,
                "passed": ev.passed,
                "severity": ev.severity.value,
                "description": ev.description,
            }
        )
    return pd.DataFrame(rows).sort_values(["check", "partition"], ignore_index=True)


def test_every_partitioned_asset_has_the_model_policy(tmp_path):
    project = _project(tmp_path, per_run=3)
    defs = build_definitions(project, Home(tmp_path / "home"))
    graph = defs.resolve_job_def("monitor_churn").asset_layer.asset_graph
    partitioned = [k for k in graph.executable_asset_keys if graph.get(k).partitions_def]
    assert len(partitioned) >= 8, partitioned
    policies = {k.to_user_string(): graph.get(k).backfill_policy for k in partitioned}
    assert set(policies.values()) == {dg.BackfillPolicy.multi_run(3)}, policies


def test_default_policy_is_one_run(tmp_path):
    project = _project(tmp_path, per_run=None)
    defs = build_definitions(project, Home(tmp_path / "home"))
    with dg.instance_for_test() as instance:
        phases = backfill_runs(defs, instance, "churn", KEYS)
    ranges = [[(r.tags.get(RANGE_START_TAG), r.tags.get(RANGE_END_TAG)) for r in p] for p in phases]
    whole = [(KEYS[0], KEYS[-1])]
    assert ranges == [[(None, None)], whole, whole]


def test_a_bad_partitions_per_run_names_the_key(tmp_path):
    with pytest.raises(Exception, match="partitions_per_run"):
        _project(tmp_path, per_run=0)


def _run(project, home, runs_in_reverse: bool):
    """Backfill ``KEYS`` on a fresh instance, phase by phase; within a phase the runs are
    executed last-first when asked (side-by-side runs finish in any order). Returns the
    warehouse, the check evaluations and the monitors' runs."""
    defs = build_definitions(project, home)
    job = defs.resolve_job_def("monitor_churn")
    with dg.instance_for_test() as instance:
        phases = backfill_runs(defs, instance, "churn", KEYS)
        ranged = phases[-1]
        order = [r for phase in phases for r in (phase[::-1] if runs_in_reverse else phase)]
        for request in order:
            result = job.execute_in_process(
                instance=instance,
                tags=dict(request.tags),
                asset_selection=list(request.asset_selection or []),
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
                raise_on_error=False,
            )
            assert result.success, request.tags
        evaluate_alerts(defs, instance, persist=False)
        evaluations = _evaluations(instance)
    return Warehouse(home.warehouse), evaluations, ranged


def test_split_backfill_equals_one_run(tmp_path):
    one_home = Home(tmp_path / "one" / "home")
    split_home = Home(tmp_path / "split" / "home")
    one, one_evals, one_runs = _run(_project(tmp_path / "one", None), one_home, False)
    split, split_evals, split_runs = _run(_project(tmp_path / "split", 3), split_home, True)

    assert len(one_runs) == 1
    assert [(r.tags[RANGE_START_TAG], r.tags[RANGE_END_TAG]) for r in split_runs] == [
        ("2026-03-01", "2026-03-03"),
        ("2026-03-04", "2026-03-06"),
        ("2026-03-07", "2026-03-07"),
    ]

    left, right = snapshot(one), snapshot(split)
    assert len(left["drift_results"]) > 0
    alert_tables = {"alerts", "alert_check_state", "alert_outbox", "alert_actions"}
    for name in sorted(set(left) - alert_tables):
        pd.testing.assert_frame_equal(
            left[name], right[name], check_dtype=False, obj=f"table {name}", rtol=1e-9
        )

    # One evaluation per check and day, with the same verdicts, in both.
    daily = one_evals[one_evals.partition.notna()]
    assert set(daily.partition) == set(KEYS)
    assert not daily.duplicated(["check", "partition"]).any()
    assert (~daily.passed).any(), "the shock should fail some checks"
    pd.testing.assert_frame_equal(
        daily.reset_index(drop=True),
        split_evals[split_evals.partition.notna()].reset_index(drop=True),
        obj="daily check evaluations",
    )

    cols = ", ".join(ALERT_COLUMNS)
    alerts_one = one.query(f"SELECT {cols} FROM alerts ORDER BY ALL")
    alerts_split = split.query(f"SELECT {cols} FROM alerts ORDER BY ALL")
    assert len(alerts_one) > 0
    pd.testing.assert_frame_equal(alerts_one, alerts_split, check_dtype=False, obj="alerts")
