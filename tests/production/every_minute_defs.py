"""Test-only code location: the project's definitions plus a schedule that ticks every minute.

The daily schedules tick at 01:00; the daemon test cannot wait for that, so this module
adds ``monitor_<model>_every_minute`` for the first model's last partition. It is stopped
by default: the schedule test starts it and stops it once it has its run, so it does not
take the run queue from the backfill or load the machine through later tests.
Everything else is the real ``build_definitions()``.
"""

import dagster as dg

from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from monitoring_assets.monitors.inference import partitions_for

PROJECT = load_project()
MODEL = PROJECT.models[0]
SCHEDULE_NAME = f"monitor_{MODEL.name}_every_minute"


@dg.schedule(
    name=SCHEDULE_NAME,
    cron_schedule="* * * * *",
    job_name=f"monitor_{MODEL.name}",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def every_minute(context: dg.ScheduleEvaluationContext):
    last = partitions_for(MODEL).get_last_partition_key()
    return dg.RunRequest(
        run_key=f"{SCHEDULE_NAME}-{context.scheduled_execution_time.isoformat()}",
        partition_key=last,
        tags={"driftwarden/trigger": "schedule"},
    )


defs = dg.Definitions.merge(build_definitions(PROJECT), dg.Definitions(schedules=[every_minute]))
