"""A run whose process is killed ends as FAILURE, and a rerun replaces its partitions.

``driftwarden demo`` executes the monitoring run in its own process; the test SIGKILLs
that process mid-run, which leaves the run STARTED on the embedded instance (nothing
records its end). Then each mechanism ends it for real: the next ``driftwarden demo``
start, and the daemon's run monitoring with the instance's ``LocalRunLauncher``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from monitoring_assets.instance import (
    INSTANCE_TEMPLATE,
    dead_run_reason,
    fail_dead_runs,
    process_alive,
)
from resources.lake import Lake
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml
from tests.production.conftest import REPO, duplicate_keys

DAYS, ROWS = 10, 300
JOB = "monitor_churn"

pytestmark = pytest.mark.timeout(600)


class Demo:
    """A DRIFTWARDEN_HOME with a 10-day churn model, and ``driftwarden demo`` on it."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "dwhome"
        self.dagster_home = self.home / "dagster"
        self.dagster_home.mkdir(parents=True)
        shutil.copyfile(INSTANCE_TEMPLATE, self.dagster_home / "dagster.yaml")
        self.models = root / "models.yaml"
        self.models.write_text(churn_yaml(days=DAYS, rows=ROWS))
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DRIFTWARDEN_", "DAGSTER_"))  # only what the command sets
        }
        self.env.update(PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore")
        self.logs = 0

    def command(self) -> list[str]:
        return [
            *(sys.executable, "-m", "monitoring_assets.cli"),
            *("--home", str(self.home), "demo", "--models", str(self.models)),
        ]

    def start(self) -> tuple[subprocess.Popen, Path]:
        self.logs += 1
        log = self.root / f"demo-{self.logs}.log"
        proc = subprocess.Popen(
            self.command(),
            cwd=REPO,
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return proc, log

    @contextlib.contextmanager
    def instance(self):
        old = os.environ.get("DAGSTER_HOME")
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)  # the template reads it
        try:
            with dg.DagsterInstance.from_config(str(self.dagster_home)) as instance:
                yield instance
        finally:
            if old is None:
                os.environ.pop("DAGSTER_HOME", None)
            else:
                os.environ["DAGSTER_HOME"] = old


def status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    run = instance.get_run_by_id(run_id)
    assert run is not None, run_id
    return run.status


def kill_mid_run(demo: Demo, instance: dg.DagsterInstance) -> tuple[str, int]:
    """Start ``driftwarden demo``, SIGKILL it once its run has materialized something and
    is still going; return the run id and the pid killed."""
    proc, log = demo.start()
    deadline = time.monotonic() + 300
    try:
        while True:
            assert proc.poll() is None, f"the demo ended before the kill:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"no run materialized:\n{log.read_text()}"
            started = instance.get_run_records(
                dg.RunsFilter(job_name=JOB, statuses=[dg.DagsterRunStatus.STARTED])
            )
            if started:
                run_id = started[0].dagster_run.run_id
                made = instance.get_records_for_run(
                    run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1
                ).records
                if made:
                    break
            time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    # The defect being fixed: nothing has recorded the end of the killed run.
    assert status(instance, run_id) == dg.DagsterRunStatus.STARTED
    return run_id, proc.pid


def failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert len(records) == 1, records
    return records[0].event_log_entry.dagster_event.message or ""


def wait_for_failure(instance: dg.DagsterInstance, run_id: str, timeout: float, why) -> float:
    """Seconds until run ``run_id`` is FAILURE; fails after ``timeout`` with ``why()``."""
    started = time.monotonic()
    while status(instance, run_id) != dg.DagsterRunStatus.FAILURE:
        if time.monotonic() - started > timeout:
            pytest.fail(f"run {run_id} is still {status(instance, run_id)}:\n{why()}")
        time.sleep(0.5)
    return time.monotonic() - started


def test_process_alive_sees_the_pid_only_while_that_process_runs():
    now = time.time()
    assert process_alive(os.getpid(), now)
    # A process that started after the pid was recorded reuses the pid: not the same one.
    assert not process_alive(os.getpid(), now - 3600)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_alive(child.pid, time.time())
        child.kill()
        deadline = time.monotonic() + 10
        while process_alive(child.pid, time.time()):  # a zombie until reaped: not alive
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        child.kill()
        child.wait()
    assert not process_alive(child.pid, time.time())
    with pytest.raises(ValueError, match="pid must be positive"):
        process_alive(0, now)


@pytest.mark.parametrize("start_timeout, failed", [(3600, False), (0, True)])
def test_a_run_that_never_recorded_a_process_fails_after_the_start_timeout(start_timeout, failed):
    overrides = {"run_monitoring": {"enabled": True, "start_timeout_seconds": start_timeout}}
    with dg.instance_for_test(overrides=overrides) as instance:
        run = instance.add_run(
            dg.DagsterRun(job_name=JOB, run_id="r1", status=dg.DagsterRunStatus.STARTED)
        )
        time.sleep(0.1)
        reason = dead_run_reason(instance, run.run_id)
        assert (reason is not None) == failed
        assert fail_dead_runs(instance) == (["r1"] if failed else [])
        assert status(instance, "r1") == (
            dg.DagsterRunStatus.FAILURE if failed else dg.DagsterRunStatus.STARTED
        )
    if failed:
        assert "without a process executing it" in reason


def test_next_demo_fails_the_killed_run_and_its_rerun_replaces_the_partitions(tmp_path):
    demo = Demo(tmp_path)
    with demo.instance() as instance:
        killed, pid = kill_mid_run(demo, instance)
        rerun, log = demo.start()
        try:
            took = wait_for_failure(instance, killed, 120, log.read_text)
            assert rerun.wait(timeout=400) == 0, log.read_text()
        finally:
            if rerun.poll() is None:
                os.killpg(rerun.pid, signal.SIGKILL)
                rerun.wait()
        output = log.read_text()
        assert f"run {killed} was in progress but its process is gone" in output
        assert f"pid {pid}" in failure_message(instance, killed)
        runs = {
            r.dagster_run.run_id: r.dagster_run.status
            for r in instance.get_run_records(dg.RunsFilter(job_name=JOB))
        }
        assert len(runs) == 2 and runs.pop(killed) == dg.DagsterRunStatus.FAILURE
        ((rerun_id, rerun_status),) = runs.items()
        assert rerun_status == dg.DagsterRunStatus.SUCCESS
    print(f"\nkilled run {killed} FAILURE {took:.1f}s after the next `driftwarden demo` began")

    # The rerun replaced every partition the killed run had written: one copy of each row.
    wh = Warehouse(demo.home / "warehouse.duckdb")
    assert set(duplicate_keys(wh).values()) == {0}
    log_rows = wh.query("SELECT asset, partition_date, run_id FROM partition_log")
    assert (log_rows.groupby("asset").size() == DAYS).all(), log_rows
    assert killed not in set(log_rows.run_id)
    requests = wh.query(
        "SELECT value, run_id FROM monitor_metrics WHERE metric = 'model_inference_requests'"
    )
    assert len(requests) == DAYS and set(requests.value) == {float(ROWS)}
    assert set(requests.run_id) == {rerun_id}
    assert killed not in set(wh.query("SELECT DISTINCT run_id FROM monitor_metrics").run_id)
    lake = Lake(demo.home / "data")
    first = dt.date(2026, 3, 1)
    for i in range(DAYS):
        assert len(lake.read_day("churn", "inference_logs", first + dt.timedelta(days=i))) == ROWS


def test_daemon_run_monitoring_fails_a_run_killed_while_it_watches(tmp_path):
    demo = Demo(tmp_path)
    with demo.instance() as instance:
        poll = instance.run_monitoring_poll_interval_seconds
        assert instance.run_monitoring_enabled and poll <= 60
        log = tmp_path / "daemon.log"
        daemon = subprocess.Popen(
            [str(Path(sys.executable).parent / "dagster-daemon"), "run", "--empty-workspace"],
            cwd=REPO,
            env={**demo.env, "DAGSTER_HOME": str(demo.dagster_home)},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            killed, pid = kill_mid_run(demo, instance)
            assert daemon.poll() is None, log.read_text()
            # Within one poll interval (plus a pass over the runs on a loaded machine).
            took = wait_for_failure(instance, killed, poll + 90, log.read_text)
        finally:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()
        message = failure_message(instance, killed)
    assert f"pid {pid}" in message and "is gone" in message, message
    print(f"\nkilled run {killed} FAILURE {took:.1f}s after the kill (daemon poll {poll}s)")
