"""``dagster definitions validate`` and ``dagster dev`` in a fresh copy of the project root,
with no ``DAGSTER_HOME`` or ``DRIFTWARDEN_*`` variable set: the first commands a Dagster
user types. Without ``DAGSTER_HOME`` Dagster reads the working directory's dagster.yaml
over a temporary ``.tmp_dagster_home_*`` folder; the instance must still keep its files
in ``.driftwarden/dagster``, where ``driftwarden ui`` finds them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from monitoring_assets.instance import (
    HomeConsolidatedSqliteEventLogStorage,
    HomeSqliteRunStorage,
    instance_folder,
)
from tests.production.conftest import REPO, free_port

DAGSTER = [sys.executable, "-m", "dagster"]
STORAGE_FILES = ("runs.db", "event_log.db", "schedules.db")


def _copy_checkout(dest: Path) -> Path:
    """The project as a fresh clone has it: every file git tracks or would add."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        rel = raw.decode()
        src, dst = REPO / rel, dest / rel
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the working tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    return dest


def _clean_env(checkout: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DAGSTER_", "DRIFTWARDEN_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = str(checkout)  # the copy's code, not an installed one
    return env


def _group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes of process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(text.split(" ", 1)[0])
    return members


SCHEDULE = """
query($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { description scheduleState { status } }
    ... on PythonError { message }
  }
}
"""


def _schedule(port: int, name: str) -> dict:
    selector = {
        "repositoryLocationName": "driftwarden",
        "repositoryName": "__repository__",
        "scheduleName": name,
    }
    body = json.dumps({"query": SCHEDULE, "variables": {"selector": selector}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    deadline = time.monotonic() + 90  # the webserver answers before the location loads
    while True:
        with urllib.request.urlopen(request, timeout=30) as resp:
            found = json.loads(resp.read())["data"]["scheduleOrError"]
        if found["__typename"] == "Schedule" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found["__typename"] == "Schedule", found
    return found


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return _copy_checkout(tmp_path_factory.mktemp("clone") / "driftwarden")


def test_validate_in_root_without_environment(checkout):
    proc = subprocess.run(
        [*DAGSTER, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=checkout,
        env=_clean_env(checkout),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All code locations passed validation" in proc.stderr + proc.stdout
    folder = checkout / ".driftwarden" / "dagster"
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".db") == sorted(STORAGE_FILES)
    # The folder is a complete DAGSTER_HOME: the commands that need one see this instance.
    assert (folder / "dagster.yaml").read_bytes() == (checkout / "dagster.yaml").read_bytes()
    assert not list(checkout.glob(".tmp_dagster_home_*"))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups in /proc")
@pytest.mark.timeout(180)
def test_dev_in_root_serves_the_ui_and_stops(checkout, tmp_path):
    port = free_port()
    log = (tmp_path / "dev.log").open("wb")

    def default_signals() -> None:  # a child of a shell job may inherit ignored SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    proc = subprocess.Popen(
        [*DAGSTER, "dev", "-w", "workspace.yaml", "-p", str(port)],
        cwd=checkout,
        env=_clean_env(checkout),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=default_signals,
    )
    pgid = proc.pid
    try:
        info = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/server_info", timeout=5
                ) as resp:
                    info = json.loads(resp.read())
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert info is not None, (tmp_path / "dev.log").read_text()[-3000:]
        assert info["dagster_version"] == dg.__version__
        folder = checkout / ".driftwarden" / "dagster"
        for name in STORAGE_FILES:
            assert (folder / name).is_file(), name
        # The temporary home Dagster makes holds nothing of the instance.
        temp_homes = list(checkout.glob(".tmp_dagster_home_*"))
        assert [list(t.iterdir()) for t in temp_homes] == [[] for _ in temp_homes]

        # The schedule starts stopped, says so, and the command its description gives
        # turns it on in the running instance.
        schedule = _schedule(port, "monitor_churn_daily")
        assert schedule["scheduleState"]["status"] == "STOPPED"
        assert "Starts stopped" in schedule["description"]
        started = subprocess.run(
            [*DAGSTER, "schedule", "start", "monitor_churn_daily", "-w", "workspace.yaml"],
            cwd=checkout,
            env={**_clean_env(checkout), "DAGSTER_HOME": str(folder)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        assert _schedule(port, "monitor_churn_daily")["scheduleState"]["status"] == "RUNNING"
    finally:
        # Ctrl-C in a terminal: SIGINT to the whole foreground group.
        if proc.poll() is None:
            os.killpg(pgid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait()
            pytest.fail("dagster dev did not exit within 60 s of SIGINT")
        finally:
            log.close()
        deadline = time.monotonic() + 30
        while _group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _group_members(pgid)
        if left:
            os.killpg(pgid, signal.SIGKILL)
        assert left == [], f"processes of dagster dev still running: {left}"
    assert not list(checkout.glob(".tmp_dagster_home_*"))


def test_instance_folder_rule(tmp_path, monkeypatch):
    """$DAGSTER_HOME when set, else $DRIFTWARDEN_HOME/dagster, else ./.driftwarden/dagster;
    the root's dagster.yaml read over any other folder stores there."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv("DRIFTWARDEN_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert instance_folder() == tmp_path / ".driftwarden" / "dagster"
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(tmp_path / "dw"))
    assert instance_folder() == tmp_path / "dw" / "dagster"
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    assert instance_folder() == tmp_path / "dh"
    monkeypatch.delenv("DAGSTER_HOME")

    elsewhere = tmp_path / "temp_home"
    elsewhere.mkdir()
    ref = InstanceRef.from_dir(str(elsewhere), config_dir=str(REPO))
    with dg.DagsterInstance.from_ref(ref) as instance:
        assert isinstance(instance.run_storage, HomeSqliteRunStorage)
        assert isinstance(instance.event_log_storage, HomeConsolidatedSqliteEventLogStorage)
        assert Path(instance.root_directory) == tmp_path / "dw" / "dagster"
        assert dg.materialize([_one], instance=instance).success
    kept = tmp_path / "dw" / "dagster"
    assert {p.name for p in kept.iterdir()} >= {*STORAGE_FILES, "storage"}
    # The step's stdout, captured by the compute log manager, is kept there too.
    assert any("a step's stdout" in p.read_text() for p in (kept / "storage").rglob("*.out"))
    assert list(elsewhere.iterdir()) == []


@dg.asset
def _one() -> int:
    print("a step's stdout")
    return 1
