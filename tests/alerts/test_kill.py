"""A real process killed between a channel accepting a message and the outbox recording it.

The child (``deliver_child.py``) runs the sensor's tick against local servers speaking
the Slack, PagerDuty, Alertmanager, webhook and SMTP shapes. When a channel has taken
a message (state changed, answer not yet sent), the server tells the test, which
SIGKILLs the child; only then does the server answer. A fresh child reruns the tick
from the same cursor. Each channel is killed once this way.

What repeats, exactly (the outbox is at-least-once):

- PagerDuty: the event is sent again with the same ``dedup_key``: one incident.
- Alertmanager: the alerts are posted again with the same label sets: held once.
- webhook: posted again with the same ``Idempotency-Key``: the receiver drops it.
- Slack: the message is posted a second time (``chat.postMessage`` has no
  idempotency key), identical to the first.
- e-mail: sent a second time with the same ``Message-ID``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dagster as dg

from monitoring_assets.core.alerts.outbox import AlertStore
from resources.warehouse import Warehouse
from tests.alerts.conftest import PD_KEY, SLACK_TOKEN, Toy

REPO = Path(__file__).parents[2]
KILLABLE = {"slack", "pagerduty", "alertmanager", "webhook", "email"}


def test_killed_between_accept_and_record_repeats_only_where_documented(
    tmp_path, slack, pagerduty, fake_alertmanager, webhook, smtp
):
    box, smtp_port = smtp
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        Toy(instance).run("2026-06-02", failing={"f1", "f2", "f3"})
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"""\
freshness: {{enabled: false}}
page_window: 3650d
tiers:
  warning: {{channels: [slack, pagerduty, alertmanager, webhook, email]}}
channels:
  slack: {{base_url: "{slack.url}/api/"}}
  pagerduty: {{url: "{pagerduty.url}/v2/enqueue"}}
  alertmanager: {{url: "{fake_alertmanager.url}"}}
  webhook: {{url: "{webhook.url}/hook"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, sender: dw@example.com, to: [oncall@example.com]}}
"""
    )
    wh_path = tmp_path / "wh.duckdb"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DW_TEST_WAREHOUSE": str(wh_path),
        "DRIFTWARDEN_ALERT_POLICY": str(policy),
        "DRIFTWARDEN_SLACK_TOKEN": SLACK_TOKEN,
        "DRIFTWARDEN_PAGERDUTY_ROUTING_KEY": PD_KEY,
        "PYTHONPATH": str(REPO),
    }

    accepted: queue.Queue[str] = queue.Queue()
    to_kill = set(KILLABLE)
    gate = {"release": threading.Event()}

    def hold(channel: str) -> None:
        # Runs in the server after the channel took the message, before it answers.
        if channel in to_kill:
            to_kill.discard(channel)
            release = gate["release"]
            accepted.put(channel)
            release.wait(60)

    for svc in (slack, pagerduty, fake_alertmanager, webhook):
        svc.before_answer = lambda s, record: hold(s.kind)
    box.before_answer = lambda b, msg: hold("email")

    killed: list[str] = []
    for _ in range(len(KILLABLE) + 2):
        gate["release"] = threading.Event()
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.alerts.deliver_child"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 120
        channel = None
        while child.poll() is None and time.monotonic() < deadline:
            try:
                channel = accepted.get(timeout=0.05)
            except queue.Empty:
                continue
            child.send_signal(signal.SIGKILL)
            break
        child.wait(30)
        gate["release"].set()  # the answer now goes to a dead socket
        _, err = child.communicate()
        if channel is None:
            assert child.returncode == 0, err.decode()[-3000:]
            break
        assert child.returncode == -signal.SIGKILL
        killed.append(channel)
        # the channel has the message, the outbox does not know it
        row = AlertStore(Warehouse(wh_path)).outbox().set_index("channel").loc[channel]
        assert row.status == "pending" and row.attempts == 0, channel

    assert sorted(killed) == sorted(KILLABLE)
    store = AlertStore(Warehouse(wh_path))
    assert len(store.list_alerts()) == 3  # re-read events made no duplicate alerts
    out = store.outbox()
    assert len(out) == 5 and set(out.status) == {"delivered"}
    assert set(out.attempts) == {1}  # the killed attempt was never recorded

    # PagerDuty: sent twice, one incident
    pd = pagerduty.ok_bodies()
    assert len(pd) == 2 and pd[0]["dedup_key"] == pd[1]["dedup_key"]
    assert pagerduty.incidents_opened == 1
    # Alertmanager: posted twice, three alerts held once each
    posts = [r for r in fake_alertmanager.requests if r.get("answer") == 200]
    assert len(posts) == 2
    assert [a["labels"] for a in posts[0]["body"]] == [a["labels"] for a in posts[1]["body"]]
    assert len(fake_alertmanager.am_alerts) == 3
    # webhook: posted twice with one Idempotency-Key
    keys = [r["headers"]["Idempotency-Key"] for r in webhook.requests if r.get("answer") == 200]
    assert len(keys) == 2 and len(set(keys)) == 1
    # Slack repeats (documented): two identical posts, no thread replies
    posts = slack.ok_bodies()
    assert len(posts) == 2 and posts[0] == posts[1] and slack.threads == {}
    # e-mail repeats (documented): two messages, one Message-ID
    assert len(box.messages) == 2
    assert box.messages[0]["Message-ID"] == box.messages[1]["Message-ID"]
