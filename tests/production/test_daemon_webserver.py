"""dagster-daemon and dagster-webserver for real, on a demo instance (SQLite).

The schedule ticks and its run succeeds; a backfill of the whole history, launched
through the webserver's GraphQL API, is run by the daemon to completion; the alert
sensor ticks after it.
"""

from __future__ import annotations

import time

import pytest

from resources.warehouse import Warehouse
from tests.production.conftest import LOCATION, STACK_DAYS
from tests.production.every_minute_defs import SCHEDULE_NAME

REPOSITORY = "__repository__"
# The stack's first user starts it (webserver, daemon, code location) and waits for the
# history backfill: minutes on a loaded machine.
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module", autouse=True)
def every_minute_schedule_stops_with_this_module(dagster_stack):
    """The stack lives for the session (the UI test uses it too); a running every-minute
    schedule would keep launching runs, and loading the machine, through every later test."""
    yield
    dagster_stack.stop_schedule(SCHEDULE_NAME)


SCHEDULE = """
query($s: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $s) {
    __typename
    ... on Schedule { scheduleState { status ticks(limit: 10) { status runIds error { message } } } }
  }
}
"""

SENSOR = """
query($s: SensorSelector!) {
  sensorOrError(sensorSelector: $s) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { status timestamp error { message } } } }
  }
}
"""

RUN = """
query($id: ID!) { runOrError(runId: $id) { __typename ... on Run { status tags { key value } } } }
"""

BACKFILL = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions runs(limit: 50) { runId status } }
  }
}
"""

DONE = {"SUCCESS", "FAILURE", "CANCELED"}


def wait_for(what: str, fetch, ready, stack, timeout: float):
    """Poll ``fetch()`` until ``ready(value)``; fail with the daemon's log tail otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = fetch()
        if ready(value):
            return value
        time.sleep(2)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}; last: {value}\n{stack.tail()}")


def test_backfill_launched_through_graphql_runs_to_completion(dagster_stack, history_backfill):
    started = time.monotonic()

    def fetch():
        return dagster_stack.graphql(BACKFILL, {"id": history_backfill})["partitionBackfillOrError"]

    backfill = wait_for(
        "the backfill to complete",
        fetch,
        lambda b: (
            b["status"] in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "COMPLETED_FAILED")
            and all(r["status"] in DONE for r in b["runs"])
        ),
        dagster_stack,
        timeout=420,
    )
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert backfill["numPartitions"] == len(STACK_DAYS)
    # Single-run backfill policy: the daily assets' history in a few runs (unpartitioned
    # assets such as reference_data and monitoring_report run on their own), never one
    # run per day (that would be at least one run per each of the 10 days).
    assert {r["status"] for r in backfill["runs"]} == {"SUCCESS"}
    assert 1 <= len(backfill["runs"]) < len(STACK_DAYS), backfill["runs"]
    print(f"\nbackfill of {len(STACK_DAYS)} days completed in {time.monotonic() - started:.0f}s")

    # The run wrote every day of the history into the warehouse.
    home = dagster_stack.env["DRIFTWARDEN_HOME"]
    log = Warehouse(f"{home}/warehouse.duckdb").query(
        "SELECT count(DISTINCT partition_date) AS days FROM partition_log WHERE asset = 'inference_logs'"
    )
    assert int(log.days.iloc[0]) == len(STACK_DAYS)


def test_schedule_ticks_and_its_run_succeeds(dagster_stack, history_backfill):
    selector = dagster_stack.schedule_selector(SCHEDULE_NAME)

    def fetch():
        return dagster_stack.graphql(SCHEDULE, {"s": selector})["scheduleOrError"]

    assert fetch()["scheduleState"]["status"] == "STOPPED"  # stopped in code, started here
    dagster_stack.start_schedule(SCHEDULE_NAME)
    try:
        schedule = wait_for(
            "a schedule tick that requested a run",
            fetch,
            lambda s: any(t["runIds"] for t in s["scheduleState"]["ticks"]),
            dagster_stack,
            timeout=240,
        )
        assert schedule["scheduleState"]["status"] == "RUNNING"
    finally:
        dagster_stack.stop_schedule(SCHEDULE_NAME)
    tick = next(t for t in schedule["scheduleState"]["ticks"] if t["runIds"])
    assert tick["status"] == "SUCCESS", tick
    run = wait_for(
        "the scheduled run to finish",
        lambda: dagster_stack.graphql(RUN, {"id": tick["runIds"][0]})["runOrError"],
        lambda r: r["status"] in DONE,
        dagster_stack,
        timeout=300,
    )
    assert run["status"] == "SUCCESS", run
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == STACK_DAYS[-1]
    assert tags["dagster/schedule_name"] == SCHEDULE_NAME


def test_alert_sensor_ticks_after_the_backfill(dagster_stack, history_backfill):
    from sensors.alerts import SENSOR_NAME

    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": SENSOR_NAME,
    }
    after = time.time()

    def fetch():
        return dagster_stack.graphql(SENSOR, {"s": selector})["sensorOrError"]

    sensor = wait_for(
        "an alert sensor tick after the backfill",
        fetch,
        lambda s: any(
            t["timestamp"] >= after and t["status"] in ("SUCCESS", "SKIPPED", "FAILURE")
            for t in s["sensorState"]["ticks"]
        ),
        dagster_stack,
        timeout=180,
    )
    assert sensor["sensorState"]["status"] == "RUNNING"
    latest = [t for t in sensor["sensorState"]["ticks"] if t["timestamp"] >= after]
    assert all(t["status"] != "FAILURE" for t in latest), latest
    home = dagster_stack.env["DRIFTWARDEN_HOME"]
    alerts = Warehouse(f"{home}/warehouse.duckdb").query("SELECT count(*) AS n FROM alerts")
    # The scenario injects a shock and a broken feature: drift checks fail, so alerts fire.
    assert int(alerts.n.iloc[0]) > 0
