"""Secrets never leave: every channel fails while its server echoes the secrets it was sent,
then every output is searched for any 6-character piece of any secret.

Outputs searched: Python logs (root logger, DEBUG), every file under the Dagster
instance's home (event log and run SQLite files, the daemon sensor tick and its
captured log), every column of every warehouse table and the warehouse files'
raw bytes, the Prometheus exporter's exposition, ``driftwarden alerts list/show``,
the demo's alert printout and the console channel's output.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import (
    InProcessTestWorkspaceLoadTarget,
    create_test_daemon_workspace_context,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.sensor import execute_sensor_iteration
from prometheus_client import generate_latest

from monitoring_assets.cli.alerts import add_cli
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.home import Home
from monitoring_assets.demo import print_alerts
from monitoring_assets.observability.exporter import WarehouseCollector, build_registry
from resources.notifiers import AlertingResource
from resources.warehouse import Warehouse
from sensors.alerts import alert_tick
from tests.alerts.conftest import Clock, Fault, Toy, free_port, toy_model

SLACK_TOKEN = "xoxb-Q7RZ4-wq81-Vt6KpNmX3yHs"
PD_KEY = "pdRk9Fz2Lq8Wm4Xc7Vb1Nt5Hy3Gj6Ds0"
SMTP_PASSWORD = "smtpPw-Jx4Ke9Lr2Qa"
WEBHOOK_TOKEN = "whTok-Mz5Qa8Yn3Ub6"
AM_USER, AM_PASSWORD = "amUser-Tc7Ps2", "amPass-Gw5Hd9Rk4"
HOOK_PATH = ("T0HOOKSECRET", "B0Zx8Cv4Nm6Lp")  # a Slack-style secret webhook path
SECRETS = [
    SLACK_TOKEN,
    PD_KEY,
    SMTP_PASSWORD,
    WEBHOOK_TOKEN,
    AM_USER,
    AM_PASSWORD,
    base64.b64encode(f"{AM_USER}:{AM_PASSWORD}".encode()).decode(),
    *HOOK_PATH,
]
PIECE = 6
DEFS = Path(__file__).with_name("secrets_defs.py")


def leaks(text: str | bytes, where: str) -> list[str]:
    """Every piece (``PIECE`` characters or more) of a secret found in ``text``."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    found = []
    for secret in SECRETS:
        for i in range(len(secret) - PIECE + 1):
            if secret[i : i + PIECE] in text:
                found.append(f"{where}: {secret[i : i + PIECE]!r} of {secret[:3]}…")
                break
    return found


class EchoSMTP:
    """An SMTP server that refuses with the credentials it was given in the reply.

    ``mode``: ``auth`` (535 naming user and password), ``mail`` (accept the login,
    then refuse MAIL FROM naming the password).
    """

    def __init__(self) -> None:
        self.mode = "auth"
        self.seen: list[str] = []
        box = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                password = ""
                self.wfile.write(b"220 echo ESMTP\r\n")
                for raw in self.rfile:
                    line = raw.decode(errors="replace").strip()
                    verb = line.split(" ")[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250-echo\r\n250 AUTH PLAIN\r\n")
                    elif verb == "AUTH":
                        _, user, password = base64.b64decode(line.split()[-1]).decode().split("\0")
                        box.seen.append(password)
                        if box.mode == "auth":
                            reply = f"535 5.7.8 bad credentials user={user} password={password}"
                            self.wfile.write(reply.encode() + b"\r\n")
                        else:
                            self.wfile.write(b"235 2.7.0 ok\r\n")
                    elif verb == "MAIL":
                        reply = f"554 5.7.1 refused: password {password} is on a blocklist"
                        self.wfile.write(reply.encode() + b"\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def echo_smtp() -> Iterator[EchoSMTP]:
    s = EchoSMTP()
    yield s
    s.close()


def policy_text(slack, pagerduty, am_url, hook_url, smtp_port) -> str:
    return f"""\
freshness: {{enabled: false}}
page_window: 3650d
tiers:
  warning: {{channels: [slack, pagerduty, alertmanager, webhook, email, console]}}
delivery: {{timeout: 1s, inline_retry_after_max: 0.2s, base_backoff: 1s, max_backoff: 2s,
            max_attempts: 1, max_age: 0s}}
channels:
  console: {{stream: stdout}}
  slack: {{base_url: "{slack}/api/"}}
  pagerduty: {{url: "{pagerduty}/v2/enqueue"}}
  alertmanager: {{url: "{am_url}"}}
  webhook: {{url: "{hook_url}"}}
  email: {{host: 127.0.0.1, port: {smtp_port}, username: dw-mailer, sender: dw@example.com,
           to: [oncall@example.com]}}
"""


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://{AM_USER}:{AM_PASSWORD}@")


def test_no_secret_reaches_any_output(
    tmp_path, monkeypatch, caplog, capsys, slack, pagerduty, fake_alertmanager, webhook, echo_smtp
):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "driftwarden", "dagster"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    home, dw_home = tmp_path / "dagster_home", tmp_path / "dw_home"
    home.mkdir()
    wh_path = dw_home / "warehouse.duckdb"
    hook = f"/services/{HOOK_PATH[0]}/{HOOK_PATH[1]}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        policy_text(
            slack.url,
            pagerduty.url,
            with_credentials(fake_alertmanager.url),
            webhook.url + hook,
            echo_smtp.port,
        )
    )
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    refused_policy = tmp_path / "refused.yaml"
    refused_policy.write_text(
        policy_text(closed, closed, with_credentials(closed), closed + hook, free_port())
    )
    for var, value in {
        "DW_TEST_WAREHOUSE": str(wh_path),
        "DRIFTWARDEN_ALERT_POLICY": str(policy),
        "DRIFTWARDEN_SLACK_TOKEN": SLACK_TOKEN,
        "DRIFTWARDEN_PAGERDUTY_ROUTING_KEY": PD_KEY,
        "DRIFTWARDEN_SMTP_PASSWORD": SMTP_PASSWORD,
        "DRIFTWARDEN_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    }.items():
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("DRIFTWARDEN_WAREHOUSE", raising=False)

    # Round 1: the real daemon sensor tick; every server echoes the request it got.
    slack.fault = Fault("echo", 200)  # a non-JSON Slack answer carrying the token
    pagerduty.fault = Fault("echo", 400)
    fake_alertmanager.fault = Fault("echo", 500)
    webhook.fault = Fault("echo", 401)
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        toy = Toy(instance)
        toy.run("2026-06-02", failing={"f1"})
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(python_file=str(DEFS), attribute="defs")
        )
        with create_test_daemon_workspace_context(
            InProcessTestWorkspaceLoadTarget(origin), instance
        ) as workspace:
            list(execute_sensor_iteration(workspace, logging.getLogger("daemon"), None, None))
        (state,) = instance.all_instigator_state()
        (sensor_tick,) = instance.get_ticks(state.instigator_origin_id, state.selector_id)
        assert sensor_tick.error is None and sensor_tick.cursor

        # Rounds 2 and 3 through the tick itself: 5xx echoes, a reset, SMTP refusing MAIL
        # FROM with the password; then every channel at a port where nothing listens.
        with dg.build_resources({"alerting": AlertingResource.from_env()}) as r:
            alerting = r.alerting
        clock = Clock(dt.datetime.now(dt.UTC))
        after = json.loads(sensor_tick.cursor)["after_id"]
        slack.fault, pagerduty.fault = Fault("echo", 500), Fault("echo", 503)
        fake_alertmanager.fault, webhook.fault = Fault("reset"), Fault("echo", 403)
        echo_smtp.mode = "mail"
        for alert_policy, day in ((policy, "2026-06-03"), (refused_policy, "2026-06-04")):
            toy.run(day, failing={"f1", "f2"} if day == "2026-06-03" else {"f3"})
            clock.advance(minutes=5)
            current = alerting.model_copy(update={"policy_file": str(alert_policy)})
            res = alert_tick(instance, Warehouse(wh_path), current, [toy_model()], after, clock)
            after = res.after_id
            assert res.delivery.failed >= 5, res.delivery
        store = AlertStore(Warehouse(wh_path))

        # The search means something only if the secrets were sent and echoed back.
        echoed = "".join(
            r["raw"] + str(r["headers"])
            for svc in (slack, pagerduty, fake_alertmanager, webhook)
            for r in svc.requests
        ) + "".join(echo_smtp.seen)
        for secret in (SLACK_TOKEN, PD_KEY, WEBHOOK_TOKEN, SMTP_PASSWORD, SECRETS[6], *HOOK_PATH):
            assert secret in echoed or secret in str([r["path"] for r in webhook.requests])
        assert {"echo", "reset"} <= {r["answer"] for r in fake_alertmanager.requests}
        failed = store.outbox("failed")
        assert set(failed.channel) >= {"slack", "pagerduty", "alertmanager", "webhook", "email"}
        reasons = " ".join(failed.last_error)
        for expected in ("non-JSON", "HTTP 400", "HTTP 401", "HTTP 500", "SMTP login refused"):
            assert expected in reasons, expected
        assert "SMTPSenderRefused" in reasons and "cannot reach" in reasons
        assert leaks(f"x{SLACK_TOKEN[4:12]}x", "canary")  # the search finds pieces

        # Every output.
        outputs: dict[str, str | bytes] = {"python logs": caplog.text}
        outputs["stdout/stderr (console channel, sensor log)"] = "".join(capsys.readouterr())
        for path in sorted(home.rglob("*")) + sorted(dw_home.rglob("*")):
            if path.is_file():
                outputs[str(path.relative_to(tmp_path))] = path.read_bytes()
        wh = Warehouse(wh_path)
        tables = wh.query("SELECT table_name FROM information_schema.tables").table_name
        for table in tables:
            outputs[f"table {table}"] = wh.query(f"SELECT * FROM {table}").to_csv()
        assert {"alerts", "alert_outbox", "alert_channel_health"} <= set(tables)
        registry = build_registry(WarehouseCollector(wh_path, max_reuse_seconds=0))
        outputs["exporter"] = generate_latest(registry)
        commands = [["list"], ["list", "--json"]]
        for a in store.list_alerts():
            commands += [["show", a.alert_id], ["show", a.alert_id, "--json"]]
        for args in commands:
            outputs[f"alerts {' '.join(args)}"] = run_cli(args, wh_path)
        demo = io.StringIO()
        print_alerts(Home(dw_home), instance, demo)
        outputs["demo alerts"] = demo.getvalue()

    # the failures are visible, with their (scrubbed) reasons
    shown = outputs[f"alerts show {store.list_alerts()[-1].alert_id}"]
    assert "message      slack firing failed" in shown and "non-JSON" in shown
    assert (
        "delivery to slack failing since" in outputs["stdout/stderr (console channel, sensor log)"]
    )
    found = [hit for where, text in outputs.items() for hit in leaks(text, where)]
    assert found == [], "\n".join(found)


def run_cli(argv: list[str], wh_path: Path) -> str:
    parser = argparse.ArgumentParser(prog="driftwarden")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["alerts", "--warehouse", str(wh_path), *argv])
    out = io.StringIO()
    args.func(args, out)
    return out.getvalue()
