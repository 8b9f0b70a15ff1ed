"""``driftwarden stream`` as an operator runs it against a real broker (tansu): findings
are delivered by the consumer itself, the log tells what happens, the status counts
events where events are meant."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from confluent_kafka import Producer

from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.streaming.broker import free_port
from monitoring_assets.streaming.consumer import ensure_topics
from monitoring_assets.streaming.producer import publish, simulated_frame
from resources.warehouse import open_warehouse
from tests.streaming.test_kafka import TOPICS, wait_for
from tests.streaming.webhook import Receiver, webhook_policy

ROOT = Path(__file__).resolve().parents[2]


def test_stream_delivers_its_findings_logs_verdicts_and_counts_events(
    tmp_path, broker, model, model_file, day0
):
    home = tmp_path / "home"
    home.mkdir()
    receiver = Receiver()
    policy = webhook_policy(tmp_path / "policy.yaml", receiver.url)
    ensure_topics(broker.bootstrap, TOPICS)
    calm = simulated_frame(model, [day0]).iloc[:1000]
    import datetime as dt

    shock = simulated_frame(model, [day0 + dt.timedelta(days=1)]).iloc[:1000]
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    publish(producer, model, calm)
    publish(producer, model, shock)
    publish(producer, model, shock.iloc[:50])  # 50 events sent again
    producer.produce("inference_inputs", key=b"poison", value=b"this is not json")
    producer.flush(10)

    port = free_port()
    settings = {
        "windows": [{"kind": "count", "size": 1000}],
        "evaluate_every_events": 500,
        "evaluate_every_seconds": 0,
        "commit_every_seconds": 0.3,
        "batch_size": 200,
        "session_timeout_ms": 6000,
        "log_every_seconds": 0.5,
    }
    (home / "settings.json").write_text(json.dumps(settings))
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env.update(PYTHONPATH=str(ROOT), DRIFTWARDEN_ALERT_POLICY=str(policy))
    log_path = home / "consumer.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "monitoring_assets.cli", "--home", str(home)),
                *("stream", "--models", str(model_file), "--bootstrap", broker.bootstrap),
                *("--settings", str(home / "settings.json")),
                *("--health-host", "0.0.0.0", "--health-port", str(port)),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    url = f"http://127.0.0.1:{port}/status"

    def status():
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                body = json.loads(r.read())
        except OSError:
            return None
        c = body["counters"]
        return body if c["joined"] == 2000 and c["duplicate_events"] == 50 else None

    try:
        body = wait_for(status, 90, "2000 events joined, 50 duplicates", proc)
        wait_for(lambda: receiver.keys(), 60, "the finding at the webhook", proc)
        time.sleep(1.0)  # a second send of the same message would arrive within this
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        receiver.close()
    text = log_path.read_text()
    assert rc == 0, text[-3000:]

    # 2: delivered by the consumer alone (no daemon runs), once per message.
    keys = receiver.keys()
    assert len(keys) == len(set(keys)), keys
    outbox = AlertStore(open_warehouse(home / "warehouse.duckdb")).outbox()
    assert len(outbox) == len(keys) and set(outbox.status) == {"delivered"}
    assert "stream_drift" in json.dumps(receiver.received[0]["body"])

    # 4: counters say events where events are meant; messages are named so.
    c = body["counters"]
    assert c["duplicate_events"] == 50 and c["duplicate_messages"] == 100
    assert c["input_messages"] == 2051 and c["output_messages"] == 2050
    assert c["dead_letters"] == 1 and c["dead_letter_reasons"] == {"not_json": 1}
    assert body["caught_up"] is True and body["event_lag_seconds"] > 0

    # 4: each evaluation's verdict and a periodic summary are in the log; health on 0.0.0.0.
    assert f"health endpoint on http://0.0.0.0:{port}/health" in text
    verdicts = [ln for ln in text.splitlines() if "INFO window count_1000:" in ln]
    assert len(verdicts) == 4, verdicts  # every 500 events
    assert "OK" in verdicts[0] and "ERROR" in verdicts[-1]
    summaries = [ln for ln in text.splitlines() if "events/s" in ln]
    assert summaries and "not_json 1" in summaries[-1] and "50 duplicate events" in summaries[-1]
    assert "alert outbox: delivered" in text


def test_health_is_on_by_default():
    from monitoring_assets.streaming.settings import StreamSettings

    s = StreamSettings()
    assert s.health_port == 8080 and s.health_host == "127.0.0.1"
