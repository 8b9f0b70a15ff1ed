"""The stream's core without a broker: validation, windows vs batch, joins, checkpoints."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from monitoring_assets.core.drift import dataset_drift
from monitoring_assets.core.monitor import DATA_DRIFT_CHECKS, DriftMonitor
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.streaming.findings import STREAM_ASSET, FindingsSink
from monitoring_assets.streaming.landing import INFERENCE, StreamLanding
from monitoring_assets.streaming.messages import MessageSchema, decode_values
from monitoring_assets.streaming.processor import StreamProcessor
from monitoring_assets.streaming.producer import event_messages, simulated_frame
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import (
    SlidingWindow,
    WindowSpec,
    window_columns,
    window_monitor,
)

GOOD = {
    "request_id": "r1",
    "timestamp": "2026-03-01T00:00:01",
    "tenure": 3,
    "monthly_charges": 50.5,
    "total_charges": 151.5,
    "num_services": 2,
    "contract_type": "one_year",
    "payment_method": "credit_card",
    "internet_service": "dsl",
}


def raws(messages, start=0):
    return [(v, k, 0, start + i) for i, (k, v) in enumerate(messages)]


def feed(proc, msgs, batch=500):
    results = []
    for i in range(0, len(msgs), batch):
        b = msgs[i : i + batch]
        dead, r = proc.ingest(
            raws([(k, a) for k, a, _ in b], i), raws([(k, o) for k, _, o in b], i)
        )
        assert not dead, dead[:3]
        results.extend(r)
    return results


@pytest.mark.parametrize(
    "value, code",
    [
        (b"{not json", "not_json"),
        (b"[1, 2]", "not_object"),
        (json.dumps({**GOOD, "tenure": "ten"}).encode(), "wrong_type"),
        (json.dumps({**GOOD, "contract_type": 7}).encode(), "wrong_type"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "tenure"}).encode(), "missing_field"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "request_id"}).encode(),
            "missing_field",
        ),
        (json.dumps({**GOOD, "surprise": 1}).encode(), "unexpected_field"),
        (json.dumps({**GOOD, "tenure": True}).encode(), "wrong_type"),
        (b'{"request_id": "' + b"x" * 70_000 + b'"}', "oversized"),
    ],
)
def test_poison_inputs_are_rejected_with_a_reason(model, value, code):
    schema = MessageSchema(model)
    good = json.dumps(GOOD).encode()
    objs = decode_values([good, value, good], 64 * 1024)
    assert schema.input_row(objs[0])[0] == "r1"  # a broken neighbour does not spoil the batch
    got = objs[1] if code in ("not_json", "oversized") else schema.input_row(objs[1])
    assert got.code == code, got


@pytest.mark.parametrize(
    "out, code",
    [
        ({"request_id": "r1", "prediction": 2}, "bad_value"),
        ({"request_id": "r1", "prediction": "1"}, "wrong_type"),
        ({"request_id": "r1", "probability": 0.3}, "missing_field"),
        ({"request_id": "r1", "prediction": 1, "probability": "high"}, "wrong_type"),
    ],
)
def test_poison_outputs_are_rejected(model, out, code):
    assert MessageSchema(model).output_row(out).code == code


@pytest.mark.parametrize(
    "spec",
    [WindowSpec(kind="count", size=1500), WindowSpec(kind="time", seconds=6 * 3600)],
    ids=["count", "time"],
)
def test_window_equals_batch_profile_and_drift(model, reference, day0, spec):
    """Sliding over a shock (day 1), the window's results equal the batch ones: the same
    DriftMonitor over the batch profile of the same events, and the drift statistics of
    the batch functions, to 1e-9."""
    import datetime as dt

    frame = simulated_frame(model, [day0, day0 + dt.timedelta(days=1)])
    frame = frame.iloc[1000:3300]  # day 0's end and day 1's (shocked) start
    kinds, _ = window_columns(model)
    settings = StreamSettings(windows=[spec], evaluate_every_events=700, evaluate_every_seconds=0)
    monitor = window_monitor(model, reference)
    proc = StreamProcessor(model, monitor, settings)
    results = feed(proc, list(event_messages(model, frame)), batch=333)
    assert [r.events_seen for r in results] == [700, 1400, 2100]
    window = proc.state.windows[0]
    cols, ts = window.events()
    if spec.kind == "count":
        expected = frame.iloc[-1500:]
    else:
        newest = frame[model.columns.timestamp].max()
        expected = frame[frame[model.columns.timestamp] >= newest - np.timedelta64(6, "h")]
    assert window.rows == len(expected) == len(ts)
    batch = profile_frame(expected[list(kinds)], kinds)
    stream = window.profile()
    for c in kinds:
        a, b = stream[c], batch[c]
        assert (a.count, a.missing, a.dtype) == (b.count, b.missing, b.dtype), c
        assert np.array_equal(a.values, b.values) and np.array_equal(a.counts, b.counts), c
        if a.mean is not None:
            assert math.isclose(a.mean, b.mean, rel_tol=1e-12), c
    # The stream evaluates its window now: the shared monitor's calculation over it.
    (now,) = proc.evaluate()
    last = now.result
    ours = last.dataset
    # A batch partition of the same events, through a DriftMonitor fitted as the batch
    # assets fit theirs, and through the plain batch statistics.
    batch_result = DriftMonitor(model).fit(reference).calculate(batch)
    plain = dataset_drift(
        reference,
        batch,
        columns=model.feature_names,
        drift_share=model.thresholds.drift.drift_share,
    )
    for theirs in (batch_result.dataset, plain):
        assert ours.n_drifted == theirs.n_drifted
        for c in model.feature_names:
            assert ours.columns[c].method == theirs.columns[c].method
            assert ours.columns[c].score == pytest.approx(
                theirs.columns[c].score, rel=1e-9, abs=1e-12
            )
            assert ours.columns[c].drifted == theirs.columns[c].drifted
    # Same rules, same outcomes and verdict.
    for check in DATA_DRIFT_CHECKS:
        a, b = last.outcome(check), batch_result.outcome(check)
        assert (a.passed, a.severity) == (b.passed, b.severity), check
        assert a.metadata.keys() == b.metadata.keys(), check
        for k, v in a.metadata.items():
            assert v == pytest.approx(b.metadata[k], rel=1e-9, abs=1e-12), (check, k)
    assert now.verdict == batch_result.verdict()


def test_count_window_evicts_in_o1_chunks_across_blocks():
    w = SlidingWindow(WindowSpec(kind="count", size=5), {"x": "numerical", "c": "categorical"})
    w.add({"x": [1.0, 2.0, 3.0], "c": ["a", "b", None]}, [1, 2, 3])
    w.add({"x": [4.0, float("nan"), 2.0, 7.0], "c": ["a", "a", "b", "c"]}, [4, 5, 6, 7])
    p = w.profile()
    assert w.rows == 5 and p["x"].count == 4 and p["x"].nan == 1
    # The window holds x = [3, 4, nan, 2, 7] and c = [None, a, a, b, c].
    assert p["x"].values.tolist() == [2.0, 3.0, 4.0, 7.0] and p["x"].counts.tolist() == [1] * 4
    assert p["c"].values.tolist() == ["a", "b", "c"] and p["c"].counts.tolist() == [2, 1, 1]
    assert p["c"].missing == 1 and p["x"].min == 2.0 and p["x"].max == 7.0
    assert 1.0 not in w.counters["x"] and len(w.counters["x"]) == 5  # 1.0 left the window


def test_shock_alerts_within_one_evaluation_interval(tmp_path, model, reference, day0):
    """Day 0 is clean, day 1 shocked; the first evaluation after the shock fires an alert
    into the outbox, and the one before it does not."""
    import datetime as dt

    from monitoring_assets.core.alerts.outbox import AlertStore
    from resources.warehouse import Warehouse

    frame = simulated_frame(model, [day0, day0 + dt.timedelta(days=1)])
    every = 1000
    shock_at = 2000  # day 1 starts at event 2000 (2000 rows per day)
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=every)],
        evaluate_every_events=every,
        evaluate_every_seconds=0,
    )
    wh = Warehouse(tmp_path / "wh.duckdb")
    sink = FindingsSink(model, wh)
    proc = StreamProcessor(model, window_monitor(model, reference), settings)
    msgs = list(event_messages(model, frame))
    fired_at = None
    for i in range(0, len(msgs), 250):
        b = msgs[i : i + 250]
        _, results = proc.ingest(raws([(k, a) for k, a, _ in b]), raws([(k, o) for k, _, o in b]))
        sink.publish(results, proc.state.severity)
        for r in results:
            if r.verdict != "OK" and fired_at is None:
                fired_at = r.events_seen
    assert fired_at is not None and shock_at < fired_at <= shock_at + every
    df = wh.query("SELECT asset_key, check_name, status, severity FROM alerts")
    assert (df.asset_key == f"{model.name}/{STREAM_ASSET}").any(), df
    assert (df.status == "firing").any()
    assert len(AlertStore(wh).active_alerts()) == 1  # one episode, not one per evaluation
    live = wh.query("SELECT metric, value FROM monitor_metrics WHERE metric LIKE 'ml_stream_%'")
    assert set(live.metric) >= {"ml_stream_drift_score", "ml_stream_window_events"}


def test_join_dedup_and_checkpoint_restore(tmp_path, model, reference, day0):
    """Outputs before inputs, duplicates of both, a crash after landing but before the
    checkpoint: every event lands once and the window counts it once."""
    frame = simulated_frame(model, [day0]).iloc[:1200]
    msgs = list(event_messages(model, frame))
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=10_000)],
        evaluate_every_events=0,
        evaluate_every_seconds=60,
    )
    state = tmp_path / "state"

    def fresh():
        p = StreamProcessor(
            model,
            window_monitor(model, reference),
            settings,
            StreamLanding(tmp_path / "lake", model),
            state,
        )
        p.restore()
        return p

    p = fresh()
    outs = raws([(k, o) for k, _, o in msgs[:600]])
    ins = raws([(k, a) for k, a, _ in msgs[:600]])
    p.ingest([], outs)  # outputs first: they wait
    assert p.state.counters.joined == 0 and len(p.state.pending_out) == 600
    p.ingest(ins[:300] + ins[:50], outs[:10])  # duplicates on both sides
    c = p.state.counters
    assert c.joined == 300 and c.duplicate_messages == 60 and c.duplicate_events == 50
    assert c.input_messages == 350 and c.output_messages == 610
    p.checkpoint({("inference_inputs", 0): 300})
    p.ingest(ins[300:], [])
    # Crash after the parts of checkpoint 2 landed, before its state was written:
    p.landing.write(INFERENCE, 2, p._buffer[INFERENCE])
    p = fresh()
    assert p.state.seq == 1 and p.state.counters.joined == 300
    assert len(p.state.pending_out) == 300  # the unmatched half survived the crash
    p.ingest(ins[250:], outs[250:])  # the replay overlaps what checkpoint 1 holds
    p.ingest(raws([(k, a) for k, a, _ in msgs[600:]]), raws([(k, o) for k, _, o in msgs[600:]]))
    p.checkpoint({("inference_inputs", 0): 1200})
    landed = p.landing.read_day(day0)
    assert len(landed) == 1200 and landed.request_id.is_unique
    assert sorted(landed.request_id) == sorted(frame.request_id)
    assert p.state.windows[0].rows == 1200
    kinds, _ = window_columns(model)
    batch = profile_frame(frame[list(kinds)], kinds)
    assert p.state.windows[0].profile()["total_charges"].counts.tolist() == (
        batch["total_charges"].counts.tolist()
    )
    assert p.state.days[day0.isoformat()]["rows"] == 1200
