"""``stream_days_<model>``: request a model's daily partition when the stream closes a day.

The stream consumer writes a watermark file beside its landed parts (see
:mod:`monitoring_assets.streaming.landing`): the newest event time it has made durable
and, per day, the rows and parts landed. A day D is *closed* when the watermark has
passed midnight after D by the consumer's ``close_grace_seconds``. For each closed day
the sensor requests ``monitor_<model>`` for partition D, with a run key that includes
the landed row count: a late event that lands after the request produces a new key and
one more (idempotent) run of that day.
"""

import datetime as dt
import json

import dagster as dg

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.streaming.landing import read_watermarks
from resources.lake import LakeResource

_US = 1_000_000


def closed_days(watermarks: list[dict], first: dt.date, end: dt.date | None) -> dict[str, int]:
    """Closed days (ISO) with rows landed, merged over consumer groups -> total rows."""
    out: dict[str, int] = {}
    for wm in watermarks:
        us = wm.get("watermark_us")
        if us is None:
            continue
        grace = float(wm.get("close_grace_seconds", 0.0))
        for day, info in (wm.get("days") or {}).items():
            d = dt.date.fromisoformat(day)
            if d < first or (end is not None and d >= end):
                continue
            midnight = (d + dt.timedelta(days=1) - dt.date(1970, 1, 1)).days * 86_400 * _US
            if us >= midnight + grace * _US and int(info.get("rows", 0)) > 0:
                out[day] = out.get(day, 0) + int(info["rows"])
    return out


def build_stream_sensor(model: ModelConfig) -> dg.SensorDefinition:
    """The day-closing sensor of one model (targets the job ``monitor_<model>``)."""

    @dg.sensor(
        name=f"stream_days_{model.name}",
        job_name=f"monitor_{model.name}",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Requests {model.name}'s daily partition when the stream consumer's watermark "
            "closes a day (and again if late events land in it)."
        ),
    )
    def stream_days(context: dg.SensorEvaluationContext, lake: LakeResource):
        done: dict[str, int] = json.loads(context.cursor) if context.cursor else {}
        days = closed_days(
            read_watermarks(lake.root, model.name), model.first_date, model.last_date_exclusive
        )
        requests = []
        for day, rows in sorted(days.items()):
            if done.get(day) == rows:
                continue
            requests.append(
                dg.RunRequest(
                    run_key=f"stream-{model.name}-{day}-{rows}",
                    partition_key=day,
                    tags={"driftwarden/trigger": "stream", "driftwarden/stream_rows": str(rows)},
                )
            )
            done[day] = rows
        if not requests:
            return dg.SkipReason(f"no newly closed stream day for {model.name}")
        context.update_cursor(json.dumps(done, sort_keys=True))
        return requests

    return stream_days


def build_stream_sensors(models: list[ModelConfig]) -> list[dg.SensorDefinition]:
    """One :func:`build_stream_sensor` per model."""
    return [build_stream_sensor(m) for m in models]
