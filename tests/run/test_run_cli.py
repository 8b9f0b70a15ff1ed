"""``driftwarden run`` from a clean home, as a user would: no DAGSTER_HOME, a files model."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import TickStatus

from monitoring_assets.cli import main
from monitoring_assets.cli.run import RunInputError, plan_days
from monitoring_assets.core.home import Home
from monitoring_assets.history import WORKSPACE, sensor_origin, sensor_selector_id, stored_cursor
from resources.warehouse import open_warehouse
from sensors.alerts import SENSOR_NAME, parse_cursor
from tests.run.files_model import DAYS, DRIFTED, write_model

DRIFT_CHECKS = ("drift_share_below_threshold", "critical_features_not_drifted")
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The command in ``cwd``, with neither DAGSTER_HOME nor DRIFTWARDEN_HOME set: the
    home is ``cwd/.driftwarden``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "DRIFTWARDEN_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "monitoring_assets.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _alerts(capsys) -> list[dict]:
    """``driftwarden alerts list --json`` in this process (cwd: the home's folder)."""
    capsys.readouterr()
    assert main(["alerts", "list", "--json", "--limit", "500"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.fixture
def no_homes(monkeypatch):
    """Neither DAGSTER_HOME nor DRIFTWARDEN_* set; what a command sets is undone after."""
    for var in ("DAGSTER_HOME", "DRIFTWARDEN_HOME", "DRIFTWARDEN_MODELS"):
        monkeypatch.setenv(var, "unset")
        monkeypatch.delenv(var)


def test_run_from_a_clean_home_then_alerts_then_run_again(
    tmp_path, monkeypatch, capsys, no_homes
) -> None:
    models = write_model(tmp_path)
    monkeypatch.chdir(tmp_path)
    home = tmp_path / ".driftwarden"
    first = _cli("run", "--models", str(models), cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "reference_data: materialized" in out
    assert f"{DAYS[0]} .. {DAYS[-1]}: 6 day(s) in one run" in out
    assert "Warning" not in first.stderr and "preview" not in first.stderr, first.stderr
    # The drifted days (amount +4σ, the country mix reversed) fail the drift checks.
    summary = out[out.index("\nsummary") :]
    assert "fraud: 6 day(s) 2026-01-01..2026-01-06," in summary
    drifted = int(summary.split(" drifted day(s)")[0].rsplit(", ", 1)[1])
    assert len(DRIFTED) <= drifted <= len(DAYS), summary
    assert "ERROR" in summary

    alerts = _alerts(capsys)
    assert alerts, "alerts list shows no alerts after driftwarden run"
    firing_drift = {
        a["partition"]
        for a in alerts
        if a["tier"] == "critical" and a["status"] == "firing" and a["check"] in DRIFT_CHECKS
    }
    assert firing_drift and firing_drift <= set(DRIFTED), alerts
    assert f"alerts opened: {len(alerts)} (" in summary

    # A files model has no trainer: critical drift requests no retraining run.
    assert "retrain_fraud" not in out
    h = Home(home)
    # This process opens the instance too (its dagster.yaml reads DAGSTER_HOME); the
    # commands above and below run without it.
    monkeypatch.setenv("DAGSTER_HOME", str(h.dagster_home))
    with dg.DagsterInstance.from_config(str(h.dagster_home)) as instance:
        jobs = {r.dagster_run.job_name for r in instance.get_run_records()}
        cursor = stored_cursor(instance)
        assert not any(j.startswith("retrain_") for j in jobs), jobs
        # the monitoring run, and the report rebuilt because the alerts changed
        assert jobs == {"monitor_fraud", "report_fraud"}, jobs
    # The sensor's cursor sits in the instance where the daemon reads it.
    assert cursor is not None and parse_cursor(cursor) > 0
    wh = open_warehouse(h.warehouse_location)
    assert len(wh.query("SELECT * FROM alert_actions")) == 0

    # The daemon's sensor loop, on this instance, goes on from that cursor: no
    # evaluation read twice, nothing requested.
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(h.root))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(models))
    with dg.DagsterInstance.from_config(str(h.dagster_home)) as instance:
        ticks = _daemon_sensor_tick(instance)
        assert stored_cursor(instance) == cursor
    assert [(t.status, t.cursor) for t in ticks] == [(TickStatus.SKIPPED, cursor)]
    assert _alerts(capsys) == alerts
    monkeypatch.delenv("DRIFTWARDEN_HOME")
    monkeypatch.delenv("DRIFTWARDEN_MODELS")

    # Again, for the last day (in this process): nothing new, nothing opened twice.
    monkeypatch.delenv("DAGSTER_HOME")
    capsys.readouterr()
    assert main(["run", "--models", str(models), "--day", DAYS[-1]]) == 0
    again = capsys.readouterr().out
    assert "reference_data: up to date (v1)" in again
    assert "alerts opened: 0;" in again
    after = _alerts(capsys)
    assert sorted(a["alert_id"] for a in after) == sorted(a["alert_id"] for a in alerts)
    with dg.DagsterInstance.from_config(str(h.dagster_home)) as instance:
        assert parse_cursor(stored_cursor(instance)) > parse_cursor(cursor)


def _daemon_sensor_tick(instance: dg.DagsterInstance) -> list:
    """One iteration of the daemon's sensor loop over the workspace's code location (a
    code server process, as ``dagster dev`` starts); returns the alert sensor's ticks."""
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.sensor import execute_sensor_iteration

    target = ModuleTarget(
        module_name="monitoring_assets.definitions",
        attribute=None,
        working_directory=str(WORKSPACE.parent),
        location_name="driftwarden",
    )
    with create_test_daemon_workspace_context(target, instance) as context:
        list(execute_sensor_iteration(context, logging.getLogger("daemon"), None, None))
    return instance.get_ticks(sensor_origin().get_id(), sensor_selector_id())


def test_the_cursor_is_stored_under_the_daemons_selector() -> None:
    """The daemon finds a sensor's state by its selector; the one the workspace's code
    location gives the sensor is where ``driftwarden run`` keeps the cursor."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.remote_representation.code_location import InProcessCodeLocation
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            module_name="monitoring_assets.definitions", working_directory=str(WORKSPACE.parent)
        ),
        location_name="driftwarden",
    )
    with (
        dg.instance_for_test() as instance,
        InProcessCodeLocation(origin, instance=instance) as loc,
    ):
        (repo,) = loc.get_repositories().values()
        assert repo.get_sensor(SENSOR_NAME).selector_id == sensor_selector_id()


# --------------------------------------------------------------------------- bad input


@pytest.fixture
def model_file(tmp_path, monkeypatch, no_homes) -> Path:
    monkeypatch.chdir(tmp_path)
    return write_model(tmp_path)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "no model named 'nope' in the model file; configured: fraud"),
        (["--day", "2026-02-30"], "--day '2026-02-30' is not a date (YYYY-MM-DD)"),
        (["--from", "yesterday"], "--from 'yesterday' is not a date"),
        (["--from", "2025-12-01", "--to", "2026-01-02"], "--from 2025-12-01 is before model"),
        (
            ["--day", "2025-12-31"],
            "--day 2025-12-31 is before model 'fraud''s first day 2026-01-01",
        ),
        (
            ["--to", "2026-01-09"],
            "--to 2026-01-09 is after model 'fraud''s last complete day 2026-01-06",
        ),
        (
            ["--from", "2026-01-04", "--to", "2026-01-02"],
            "--from 2026-01-04 is after --to 2026-01-02",
        ),
        (["--day", "2026-01-02", "--from", "2026-01-01"], "give --day or --from/--to, not both"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(model_file, capsys, args, message) -> None:
    assert main(["run", "--models", str(model_file), *args]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (model_file.parent / ".driftwarden").exists()  # nothing ran, nothing written


def test_a_bad_model_file_is_exit_2(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  - name: x\n    features: []\n")
    assert main(["run", "--models", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err


KEYS = [f"2026-01-0{i}" for i in range(1, 8)]


def test_default_range_is_the_models_start_to_its_last_complete_day() -> None:
    first = dt.date(2026, 1, 1)
    assert plan_days("m", first, KEYS) == KEYS
    assert plan_days("m", first, KEYS, start="2026-01-03") == KEYS[2:]
    assert plan_days("m", first, KEYS, end="2026-01-02") == KEYS[:2]
    assert plan_days("m", first, KEYS, day="2026-01-05") == ["2026-01-05"]
    with pytest.raises(RunInputError, match="no complete day yet"):
        plan_days("m", first, [])
