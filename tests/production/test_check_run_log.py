"""A monitoring run's log: check ops record every evaluation per day and check, and Dagster
does not report their outputs as missing ("did not yield or return expected outputs")."""

from __future__ import annotations

import dagster as dg
import pytest

from monitoring_assets.definitions import build_definitions
from monitoring_assets.history import materialize_history
from tests.conftest import churn_yaml
from tests.drift.helpers import Scenario

DAYS = 4


@pytest.fixture(scope="module")
def monitoring_run(tmp_path_factory):
    scenario = Scenario(tmp_path_factory.mktemp("checklog"), churn_yaml(days=DAYS, rows=200))
    with scenario.activated() as instance:
        defs = build_definitions(scenario.project, scenario.home)
        keys = scenario.keys()
        result = materialize_history(defs, instance, scenario.model.name, keys, log_level="ERROR")
        assert result.success
        records = instance.get_records_for_run(result.run_id, limit=100_000).records
        yield scenario, defs, keys, [r.event_log_entry for r in records]


def test_no_missing_output_messages(monitoring_run):
    _, _, _, entries = monitoring_run
    messages = [e.user_message for e in entries if "did not yield or return" in e.user_message]
    assert messages == []
    # The run did log its check ops' steps: the assertion above has something to read.
    assert any(e.dagster_event and e.step_key and e.step_key.endswith("_checks") for e in entries)


def test_every_check_evaluated_per_partition(monitoring_run):
    scenario, defs, keys, entries = monitoring_run
    name = scenario.model.name
    job = defs.resolve_job_def(f"monitor_{name}")
    declared = set(job.asset_layer.asset_graph.asset_check_keys)
    # Daily (partitioned) checks are those of the per-day check ops.
    evaluations = [
        e.dagster_event.event_specific_data
        for e in entries
        if e.dagster_event
        and e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    per_day = {(ev.asset_check_key, ev.partition) for ev in evaluations if ev.partition is not None}
    daily = {key for key, _ in per_day}
    assert len(daily) >= 5, daily
    assert daily <= declared
    for key in daily:
        for day in keys:
            assert (key, day) in per_day, f"{key.to_user_string()} has no evaluation for {day}"
    # Exactly one evaluation per partition and check.
    assert len([ev for ev in evaluations if ev.partition is not None]) == len(per_day)


def test_check_outputs_add_no_evaluations(monitoring_run):
    """The outputs the check ops yield record nothing: every evaluation of a daily check
    carries its day, and each check output is logged once, with no materialization."""
    _, _, _, entries = monitoring_run
    evaluations = [
        e.dagster_event.event_specific_data
        for e in entries
        if e.dagster_event
        and e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    daily = {ev.asset_check_key for ev in evaluations if ev.partition is not None}
    undated = [ev.asset_check_key for ev in evaluations if ev.partition is None]
    assert not daily & set(undated), sorted(k.to_user_string() for k in undated)
    check_steps = {e.step_key for e in entries if e.step_key and e.step_key.endswith("_checks")}
    materialized_in_check_steps = [
        e
        for e in entries
        if e.step_key in check_steps
        and e.dagster_event
        and e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    ]
    assert materialized_in_check_steps == []
