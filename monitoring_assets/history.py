"""Running a model's history in process: what ``driftwarden run`` and ``driftwarden demo`` share.

- :func:`materialize_history`: ``monitor_<model>`` over a range of days as one run.
- :func:`backfill_runs`: the runs of a backfill of those days under the model's backfill
  policy (``backfill.partitions_per_run``), planned as Dagster's backfill daemon plans
  them, in phases (reference, ingestion, monitors) whose runs are independent;
  :func:`materialize_backfill` executes them one after another.
- :func:`evaluate_alerts`: the ``check_failure_alerts`` sensor (the daemon's own function),
  ticked until it has read every check evaluation, its observations of each model's
  ``alerts`` asset recorded in the instance as the daemon records them. Its cursor lives in the Dagster
  instance under the sensor's selector, where the daemon keeps it, so a daemon started
  later (``driftwarden ui``) goes on from there instead of reading the same evaluations
  again.
- :func:`launch_requested`: the runs the sensor requested, executed in process and tagged
  as the sensor's (``dagster/sensor_name`` and ``dagster/run_key``), which is how the
  daemon recognises a run key it must not launch again.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.definitions.automation_tick_evaluation_context import (
    build_run_requests_with_backfill_policies,
)
from dagster._core.definitions.events import AssetKeyPartitionKey
from dagster._core.definitions.repository_definition import SINGLETON_REPOSITORY_NAME
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
)
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from monitoring_assets.instance import INSTANCE_TEMPLATE
from sensors.alerts import SENSOR_NAME

#: The workspace the daemon and the UI load (``driftwarden ui``); its location name is
#: part of the key under which the daemon stores a sensor's cursor.
WORKSPACE = INSTANCE_TEMPLATE.parent / "workspace.yaml"
DEFINITIONS_MODULE = "monitoring_assets.definitions"
DEFAULT_LOCATION = "driftwarden"
#: The run tag naming what started a run (``demo``, ``run``, or a retraining trigger).
TRIGGER_TAG = "driftwarden/trigger"


RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def range_tags(keys: list[str]) -> dict[str, str]:
    """Run tags that make one run cover a range of partitions (single-run backfill)."""
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def materialize_history(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    model_name: str,
    keys: list[str],
    log_level: str = "INFO",
    trigger: str = "demo",
    asset_selection: list[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run ``monitor_<model>`` over ``keys`` as one run on ``instance`` (only
    ``asset_selection`` of its assets, when given)."""
    job = defs.resolve_job_def(f"monitor_{model_name}")
    return job.execute_in_process(
        instance=instance,
        tags={**range_tags(keys), TRIGGER_TAG: trigger},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        asset_selection=asset_selection,
        raise_on_error=False,
    )


#: The assets a backfill ingests first: every day's logs and labels are in the lake and
#: their row counts in the warehouse before any monitor runs, so each chunk of days is
#: judged against the same trailing history whichever chunk runs first.
INGESTION = ("inference_logs", "ground_truth")


def backfill_runs(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    model_name: str,
    keys: list[str],
) -> list[list[dg.RunRequest]]:
    """The runs of a backfill of every asset of ``monitor_<model>`` over ``keys``, in
    phases: the unpartitioned assets (the reference), then the ingestion (:data:`INGESTION`),
    then the monitors. Within a phase the runs are independent (the daemon may launch them
    side by side, each its own process or pod); a phase starts when the one before it
    finished. Each phase is Dagster's own planning (the function its backfill daemon
    calls): assets grouped by partitions and backfill policy, each range split into runs
    of at most ``partitions_per_run`` days."""
    job = defs.resolve_job_def(f"monitor_{model_name}")
    graph = job.asset_layer.asset_graph
    reference, ingestion, monitors = [], [], []
    for key in graph.executable_asset_keys:
        if graph.get(key).partitions_def is None:
            reference.append(AssetKeyPartitionKey(key, None))
            continue
        phase = ingestion if key.path[-1] in INGESTION else monitors
        phase.extend(AssetKeyPartitionKey(key, day) for day in keys)
    phases = []
    for wanted in (reference, ingestion, monitors):
        if wanted:
            requests = build_run_requests_with_backfill_policies(wanted, graph, instance)
            phases.append(sorted(requests, key=lambda r: r.tags.get(RANGE_START_TAG, "")))
    return phases


def materialize_backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    model_name: str,
    keys: list[str],
    log_level: str = "INFO",
    trigger: str = "backfill",
) -> list[dg.ExecuteInProcessResult]:
    """Execute the runs of :func:`backfill_runs` in this process, phase by phase, one
    after another (the runs of a phase may also run side by side, each in its own
    process or pod); stops at the first failed run and returns the results so far."""
    job = defs.resolve_job_def(f"monitor_{model_name}")
    results = []
    for request in [r for phase in backfill_runs(defs, instance, model_name, keys) for r in phase]:
        result = job.execute_in_process(
            instance=instance,
            tags={**request.tags, TRIGGER_TAG: trigger},
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            asset_selection=list(request.asset_selection or []),
            raise_on_error=False,
        )
        results.append(result)
        if not result.success:
            break
    return results


# --------------------------------------------------------------------------- the sensor's state


def location_name(workspace: Path = WORKSPACE) -> str:
    """The code location name the workspace gives ``monitoring_assets.definitions``."""
    try:
        entries = (yaml.safe_load(workspace.read_text()) or {}).get("load_from") or []
    except (OSError, yaml.YAMLError):
        return DEFAULT_LOCATION
    for entry in entries:
        target = (entry or {}).get("python_module") or {}
        if isinstance(target, dict) and target.get("module_name") == DEFINITIONS_MODULE:
            return str(target.get("location_name") or DEFAULT_LOCATION)
    return DEFAULT_LOCATION


def sensor_origin(sensor_name: str = SENSOR_NAME) -> RemoteInstigatorOrigin:
    """The sensor's origin as the workspace's code location names it. The daemon finds a
    sensor's stored state by its selector (location, repository, sensor name), which this
    origin shares with the daemon's own."""
    code_location = ManagedGrpcPythonEnvCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name=DEFINITIONS_MODULE,
            working_directory=str(WORKSPACE.parent),
        ),
        location_name=location_name(),
    )
    return RemoteInstigatorOrigin(
        RemoteRepositoryOrigin(code_location, SINGLETON_REPOSITORY_NAME), sensor_name
    )


def sensor_selector_id(sensor_name: str = SENSOR_NAME) -> str:
    """The id under which the instance stores the sensor's state (cursor, status)."""
    return InstigatorSelector(
        location_name=location_name(), repository_name=SINGLETON_REPOSITORY_NAME, name=sensor_name
    ).get_id()


def stored_cursor(instance: dg.DagsterInstance, sensor_name: str = SENSOR_NAME) -> str | None:
    """The sensor's cursor as the instance holds it (None before its first tick)."""
    origin = sensor_origin(sensor_name)
    state = instance.get_instigator_state(origin.get_id(), sensor_selector_id(sensor_name))
    data = state.instigator_data if state else None
    return data.cursor if isinstance(data, SensorInstigatorData) else None


def store_cursor(
    instance: dg.DagsterInstance, sensor: dg.SensorDefinition, cursor: str | None
) -> None:
    """Save ``cursor`` as the sensor's, keeping the rest of its stored state (its status:
    a sensor stopped in the UI stays stopped)."""
    origin = sensor_origin(sensor.name)
    state = instance.get_instigator_state(origin.get_id(), sensor_selector_id(sensor.name))
    if state is None:
        running = sensor.default_status == dg.DefaultSensorStatus.RUNNING
        instance.add_instigator_state(
            InstigatorState(
                origin,
                InstigatorType.SENSOR,
                InstigatorStatus.DECLARED_IN_CODE if running else InstigatorStatus.STOPPED,
                SensorInstigatorData(
                    min_interval=sensor.minimum_interval_seconds,
                    cursor=cursor,
                    sensor_type=sensor.sensor_type,
                ),
            )
        )
        return
    old = state.instigator_data
    assert isinstance(old, SensorInstigatorData)
    instance.update_instigator_state(
        state.with_data(
            SensorInstigatorData(
                last_tick_timestamp=old.last_tick_timestamp,
                last_run_key=old.last_run_key,
                min_interval=old.min_interval,
                cursor=cursor,
                last_tick_start_timestamp=old.last_tick_start_timestamp,
                last_sensor_start_timestamp=old.last_sensor_start_timestamp,
                sensor_type=old.sensor_type,
                last_tick_success_timestamp=old.last_tick_success_timestamp,
            )
        )
    )


# --------------------------------------------------------------------------- ticking it


def evaluate_alerts(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    max_ticks: int = 200,
    persist: bool = True,
) -> list[dg.RunRequest]:
    """Tick the ``check_failure_alerts`` sensor until it has read every check evaluation
    (as the daemon would, tick after tick); return the runs it requested.

    With ``persist`` the ticks start from the cursor stored in ``instance`` and store the
    new one there after each tick, as the daemon does."""
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    resources = defs.resources or {}
    cursor: str | None = stored_cursor(instance) if persist else None
    requests: list[dg.RunRequest] = []
    for _ in range(max_ticks):
        with dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources=resources
        ) as context:
            result = sensor(context)
            new_cursor = context.cursor
        if isinstance(result, dg.SensorResult):
            requests.extend(result.run_requests or [])
            new_cursor = result.cursor or new_cursor
            # What the daemon does with a tick's asset events: record them in the instance
            # (the alerts asset's observations, shown on its page in the UI).
            for event in result.asset_events or []:
                instance.report_runless_asset_event(event)
        if new_cursor == cursor:
            break
        cursor = new_cursor
        if persist:
            store_cursor(instance, sensor, cursor)
    seen: set[str | None] = set()
    return [r for r in requests if not (r.run_key in seen or seen.add(r.run_key))]


def launch_requested(
    defs: dg.Definitions, instance: dg.DagsterInstance, requests: list[dg.RunRequest]
) -> list[tuple[dg.RunRequest, dg.ExecuteInProcessResult]]:
    """Run what the alert sensor requested, in process, tagged as the sensor's run for its
    run key; returns each request run with its result. A run key that already has a run
    of the sensor is not run again (as the daemon would not)."""
    results = []
    for req in requests:
        if req.run_key and instance.get_runs(
            dg.RunsFilter(tags={RUN_KEY_TAG: req.run_key, SENSOR_NAME_TAG: SENSOR_NAME}), limit=1
        ):
            continue
        job = defs.resolve_job_def(req.job_name)
        tags = {**(req.tags or {}), RUN_KEY_TAG: req.run_key or "", SENSOR_NAME_TAG: SENSOR_NAME}
        results.append(
            (
                req,
                job.execute_in_process(
                    instance=instance,
                    tags=tags,
                    run_config=req.run_config or None,
                    partition_key=req.partition_key,
                    raise_on_error=False,
                ),
            )
        )
    return results
