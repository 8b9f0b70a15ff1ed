"""The day-closing sensor reads the consumer's watermark and requests closed days."""

from __future__ import annotations

import json

import dagster as dg

from monitoring_assets.streaming.landing import StreamLanding
from resources.lake import LakeResource
from sensors.stream_days import build_stream_sensors, closed_days

US = 1_000_000
DAY = 86_400 * US


def _watermark(landing: StreamLanding, wm_us: int, days: dict) -> None:
    landing.write_watermark("g", {"watermark_us": wm_us, "close_grace_seconds": 900, "days": days})


def test_day_closes_after_grace_and_late_rows_rerun_it(tmp_path, model, day0):
    import datetime as dt

    landing = StreamLanding(tmp_path, model)
    d0 = (day0 - dt.date(1970, 1, 1)).days * DAY
    midnight = d0 + DAY
    (sensor,) = build_stream_sensors([model])
    lake = LakeResource(root=str(tmp_path))
    instance = dg.DagsterInstance.ephemeral()

    def tick(cursor=None):
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"lake": lake})
        return sensor(ctx), ctx.cursor

    days = {day0.isoformat(): {"rows": 10, "parts": 1}}
    _watermark(landing, midnight + 899 * US, days)  # inside the grace period
    result, cursor = tick()
    assert isinstance(result, dg.SkipReason)
    _watermark(landing, midnight + 900 * US, days)
    result, cursor = tick(cursor)
    assert [r.partition_key for r in result] == [day0.isoformat()]
    assert result[0].run_key.endswith("-10") and json.loads(cursor) == {day0.isoformat(): 10}
    result, cursor = tick(cursor)
    assert isinstance(result, dg.SkipReason)  # nothing new
    days[day0.isoformat()]["rows"] = 12  # late events landed
    _watermark(landing, midnight + 2000 * US, days)
    result, cursor = tick(cursor)
    assert [r.run_key for r in result] == [f"stream-{model.name}-{day0.isoformat()}-12"]


def test_closed_days_ignores_days_outside_the_model():
    wm = {"watermark_us": 40 * DAY, "close_grace_seconds": 0, "days": {"1970-01-02": {"rows": 3}}}
    import datetime as dt

    assert closed_days([wm], dt.date(1970, 1, 1), None) == {"1970-01-02": 3}
    assert closed_days([wm], dt.date(1970, 1, 5), None) == {}
