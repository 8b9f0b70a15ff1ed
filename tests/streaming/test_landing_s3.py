"""The stream landing on an object-store lake (moto's S3 server on 127.0.0.1): parts,
checkpoints and watermarks are objects; a crash between landing and checkpoint still
lands every event once; the day sensor reads the watermark from the bucket."""

from __future__ import annotations

import dagster as dg

from monitoring_assets.core.lake_io import Location
from monitoring_assets.streaming.checkpoint import read_checkpoint
from monitoring_assets.streaming.landing import INFERENCE, StreamLanding, read_watermarks
from monitoring_assets.streaming.processor import StreamProcessor
from monitoring_assets.streaming.producer import event_messages, simulated_frame
from monitoring_assets.streaming.settings import StreamSettings, WindowSpec
from monitoring_assets.streaming.windows import window_monitor
from resources.lake import LakeResource
from sensors.stream_days import build_stream_sensors
from tests.streaming.test_core import raws

US = 1_000_000
DAY = 86_400 * US


def test_landing_and_checkpoints_on_s3(tmp_path, model, reference, day0, s3_env):
    frame = simulated_frame(model, [day0]).iloc[:600]
    msgs = list(event_messages(model, frame))
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=10_000)],
        evaluate_every_events=0,
        evaluate_every_seconds=60,
    )

    def fresh():
        landing = StreamLanding(s3_env.url, model)
        p = StreamProcessor(
            model,
            window_monitor(model, reference),
            settings,
            landing,
            landing.checkpoint_path("g"),
        )
        p.restore()
        return p

    p = fresh()
    assert isinstance(p.state_path, Location)
    ins = raws([(k, a) for k, a, _ in msgs])
    outs = raws([(k, o) for k, _, o in msgs])
    p.ingest(ins[:300], outs[:300])
    p.checkpoint({("inference_inputs", 0): 300})
    p.ingest(ins[300:], outs[300:])
    # Crash after the parts of checkpoint 2 landed, before its state was written:
    p.landing.write(INFERENCE, 2, p._buffer[INFERENCE])
    keys = s3_env.keys(f"lake/{model.name}/stream/")
    assert any(k.endswith("part-000000000002.parquet") for k in keys), keys
    p = fresh()
    assert p.state.seq == 1 and p.state.counters.joined == 300
    assert not any(k.endswith("part-000000000002.parquet") for k in s3_env.keys("lake/"))
    p.ingest(ins[250:], outs[250:])  # the replay overlaps what checkpoint 1 holds
    p.checkpoint({("inference_inputs", 0): 600})
    landed = p.landing.read_day(day0)
    assert len(landed) == 600 and landed.request_id.is_unique
    assert sorted(landed.request_id) == sorted(frame.request_id)
    state = read_checkpoint(p.landing.checkpoint_path("g"), model.name)
    assert state.seq == p.state.seq
    assert f"lake/{model.name}/stream/_consumer/g.state" in s3_env.keys("lake/")
    assert not list(tmp_path.iterdir())  # nothing on local disk


def test_day_sensor_reads_the_watermark_from_s3(model, day0, s3_env):
    import datetime as dt

    landing = StreamLanding(s3_env.url, model)
    midnight = (day0 - dt.date(1970, 1, 1)).days * DAY + DAY
    days = {day0.isoformat(): {"rows": 10, "parts": 1}}
    landing.write_watermark(
        "g", {"watermark_us": midnight + 900 * US, "close_grace_seconds": 900, "days": days}
    )
    assert read_watermarks(s3_env.url, model.name)[0]["days"] == days
    (sensor,) = build_stream_sensors([model])
    ctx = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"lake": LakeResource(root=s3_env.url)}
    )
    result = sensor(ctx)
    assert [r.partition_key for r in result] == [day0.isoformat()]
