"""The ``driftwarden`` command as an operator runs it: the global ``--home`` reaches every
subcommand, and an unreachable broker is one clear line and a non-zero exit."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitoring_assets.cli import main
from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.policy import load_policy
from monitoring_assets.core.alerts.record import record_events
from monitoring_assets.core.home import HOME_ENV, Home
from monitoring_assets.streaming.broker import free_port
from resources.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parents[2]


def _one_alert(home: Path, model) -> None:
    event = CheckEvent(
        event_id=1,
        asset_key=(model.name, "stream_drift"),
        check="drift_share_below_threshold",
        passed=False,
        severity="ERROR",
        timestamp=dt.datetime.now(dt.UTC),
        partition=model.first_date.isoformat(),
        metadata={},
        description="a failing check",
    )
    store = AlertStore(open_warehouse(Home.from_env(root=str(home)).warehouse_location))
    record_events(store, load_policy(), {model.name: model}, [event], dt.datetime.now(dt.UTC))


def test_global_home_reaches_a_plugin_subcommand(tmp_path, monkeypatch, capsys, model):
    home = tmp_path / "operator-home"
    _one_alert(home, model)
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv("DRIFTWARDEN_WAREHOUSE", raising=False)
    assert main(["--home", str(home), "alerts", "list"]) == 0
    out = capsys.readouterr().out
    assert "no alerts" not in out.lower()
    assert model.name in out and "drift_share_below_threshold" in out
    assert not (elsewhere / ".driftwarden").exists()  # nothing created in the current folder
    assert os.environ[HOME_ENV] == str(home.resolve())  # processes it starts see it too


def _run_cli(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRIFTWARDEN_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "monitoring_assets.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("command", ["stream", "simulate"])
def test_no_broker_is_one_clear_line_and_a_non_zero_exit(tmp_path, model_file, command):
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    # simulate with a short --connect-timeout; stream with its default (10 s).
    extra = (
        ["--to-kafka", "--limit", "5", "--connect-timeout", "2"] if command == "simulate" else []
    )
    started = time.monotonic()
    done = _run_cli(
        "--home",
        str(tmp_path / "home"),
        command,
        *extra,
        "--models",
        str(model_file),
        "--bootstrap",
        address,
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    assert done.returncode != 0
    err = done.stderr
    assert "Traceback" not in err and "KafkaException" not in err and "RuntimeError" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len([ln for ln in lines if address in ln]) == 1, err
    assert len(lines) <= 3, err  # no librdkafka FAIL lines
    assert "could not reach" in err.lower(), err
    assert took < 60, took
