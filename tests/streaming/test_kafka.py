"""Against a real Kafka-protocol broker (tansu): dead letters, SIGKILL recovery, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from confluent_kafka import Consumer, Producer

from monitoring_assets.streaming.checkpoint import read_checkpoint
from monitoring_assets.streaming.consumer import ensure_topics
from monitoring_assets.streaming.landing import StreamLanding, read_watermarks
from monitoring_assets.streaming.producer import publish, simulated_frame

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ["inference_inputs", "inference_outputs", "inference_dead_letter"]


def start_consumer(
    home: Path, model_file: Path, bootstrap: str, settings: dict
) -> subprocess.Popen:
    sfile = home / "stream_settings.json"
    sfile.write_text(json.dumps(settings))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = open(home / "consumer.log", "ab")  # noqa: SIM115
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "monitoring_assets.cli",
            "--home",
            str(home),
            "stream",
            "--models",
            str(model_file),
            "--bootstrap",
            bootstrap,
            "--settings",
            str(sfile),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"consumer exited ({proc.returncode}) while waiting for {what}")
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def landed_rows(home: Path, model: str) -> int:
    wms = read_watermarks(home / "data", model)
    return sum(info["rows"] for wm in wms for info in wm["days"].values())


SETTINGS = {
    "windows": [{"kind": "count", "size": 100000}],
    "evaluate_every_events": 1000,
    "evaluate_every_seconds": 0,
    "commit_every_events": 400,
    "commit_every_seconds": 0.3,
    "batch_size": 200,
    "session_timeout_ms": 6000,
    "alerts": False,
    "metrics": False,
    "health_port": 0,
}


def test_sigkill_mid_stream_loses_nothing_and_counts_nothing_twice(
    tmp_path, broker, model, model_file, day0
):
    home = tmp_path / "home"
    home.mkdir()
    ensure_topics(broker.bootstrap, TOPICS)
    frame = simulated_frame(model, [day0])  # 2000 events
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    # The stream arrives in two halves; the consumer is killed -9 during the first, once
    # some checkpoints are durable, so the day is never complete when it dies (however
    # fast it consumes). The second half is published while it is down.
    half = len(frame) // 2
    publish(producer, model, frame.iloc[:half])
    proc = start_consumer(home, model_file, broker.bootstrap, {**SETTINGS, "health_port": 0})
    wait_for(lambda: landed_rows(home, model.name) >= 400, 60, "first checkpoints", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    partial = landed_rows(home, model.name)
    assert 0 < partial <= half, partial
    publish(producer, model, frame.iloc[half:])
    proc = start_consumer(home, model_file, broker.bootstrap, SETTINGS)
    try:
        wait_for(lambda: landed_rows(home, model.name) == len(frame), 60, "all events", proc)
        time.sleep(1.0)  # anything double-consumed would land within this
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (home / "consumer.log").read_text()[-3000:]
    landing = StreamLanding(home / "data", model)
    landed = landing.read_day(day0)
    assert len(landed) == len(frame) and landed.request_id.is_unique
    assert set(landed.request_id) == set(frame.request_id)
    state = read_checkpoint(landing.checkpoint_path("driftwarden-churn"), model.name)
    window = state.windows[0]
    assert window.rows == len(frame) and state.counters.joined == len(frame)
    assert window.profile()["tenure"].count == frame.tenure.notna().sum()


def test_poison_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(
    tmp_path, broker, model, model_file, day0
):
    home = tmp_path / "home"
    home.mkdir()
    ensure_topics(broker.bootstrap, TOPICS)
    frame = simulated_frame(model, [day0]).iloc[:300]
    p = Producer({"bootstrap.servers": broker.bootstrap})
    good = {
        "request_id": "ok-1",
        "timestamp": "2026-03-01T00:00:00",
        "tenure": 1,
        "monthly_charges": 20.0,
        "total_charges": 20.0,
        "num_services": 1,
        "contract_type": "one_year",
        "payment_method": "credit_card",
        "internet_service": "dsl",
    }
    poison = [
        ("inference_inputs", b"this is not json"),
        ("inference_inputs", json.dumps({**good, "request_id": "p1", "tenure": "x"}).encode()),
        ("inference_inputs", json.dumps({"request_id": "p2"}).encode()),
        ("inference_inputs", b'{"request_id": "' + b"z" * 70_000 + b'"}'),
        ("inference_outputs", json.dumps({"request_id": "p3", "prediction": 9}).encode()),
    ]
    publish(p, model, frame.iloc[:150])
    for topic, value in poison:
        p.produce(topic, key=b"poison", value=value)
    p.flush(10)
    publish(p, model, frame.iloc[150:])
    proc = start_consumer(home, model_file, broker.bootstrap, {**SETTINGS, "health_port": 0})
    try:
        wait_for(lambda: landed_rows(home, model.name) == 300, 60, "good events", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    c = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "dlq-reader",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    c.subscribe(["inference_dead_letter"])
    got = []
    deadline = time.monotonic() + 120
    while len(got) < len(poison) and time.monotonic() < deadline:
        for m in c.consume(100, 1.0):
            if m.error() is None:
                got.append(json.loads(m.value()))
    c.close()
    reasons = sorted(g["reason"].split(":")[0] for g in got)
    assert reasons == ["bad_value", "missing_field", "not_json", "oversized", "wrong_type"], got
    assert all(g["topic"] in ("inference_inputs", "inference_outputs") for g in got)


def test_sigterm_commits_and_health_endpoint_answers(tmp_path, broker, model, model_file, day0):
    home = tmp_path / "home"
    home.mkdir()
    ensure_topics(broker.bootstrap, TOPICS)
    frame = simulated_frame(model, [day0]).iloc[:500]
    publish(Producer({"bootstrap.servers": broker.bootstrap}), model, frame)
    settings = {**SETTINGS, "commit_every_events": 100000, "commit_every_seconds": 3600}
    settings["health_port"] = port = __import__(
        "monitoring_assets.streaming.broker", fromlist=["free_port"]
    ).free_port()
    proc = start_consumer(home, model_file, broker.bootstrap, settings)
    url = f"http://127.0.0.1:{port}/health"

    def health():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                body = json.loads(r.read())
                return body if body["counters"]["joined"] == 500 else None
        except OSError:
            return None

    body = wait_for(health, 60, "health with 500 joined events", proc)
    assert body["healthy"] and body["state"] == "running"
    assert landed_rows(home, model.name) == 0  # nothing checkpointed yet (long interval)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert landed_rows(home, model.name) == 500  # the shutdown checkpoint landed everything
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "driftwarden-churn"})
    from confluent_kafka import TopicPartition

    committed = c.committed([TopicPartition("inference_inputs", 0)], timeout=10)
    c.close()
    assert committed[0].offset == 500
