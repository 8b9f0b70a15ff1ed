"""Fixtures for the production tests: Dagster instances on Postgres (each in a fresh schema),
free ports, a daemon + webserver stack."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml

from tests.postgres import (
    PG_DB,
    PG_HOST,
    PG_PORT,
    PG_USER,
    create_schema,
    drop_schema,
    new_schema_name,
)

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_INSTANCE = REPO / "deploy" / "dagster" / "dagster.yaml"


def production_instance_config(schema: str, compute_logs: bool = False) -> dict:
    """The shipped production dagster.yaml with its Postgres storage pointed at ``schema``;
    its step logs on S3 only with ``compute_logs`` (they need a bucket), else Dagster's
    local default."""
    config = yaml.safe_load(PRODUCTION_INSTANCE.read_text())
    if not compute_logs:
        config.pop("compute_logs")
    db = config["storage"]["postgres"]["postgres_db"]
    db["params"] = {"options": f"-csearch_path={schema}"}
    return config


@pytest.fixture
def pg_instance(postgres, monkeypatch):
    """A Dagster instance built from deploy/dagster/dagster.yaml on a fresh Postgres schema."""
    import dagster as dg

    schema = new_schema_name("dw_dg")
    create_schema(schema)
    for key, value in {
        "DAGSTER_PG_HOST": PG_HOST,
        "DAGSTER_PG_PORT": str(PG_PORT),
        "DAGSTER_PG_DB": PG_DB,
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "",
    }.items():
        monkeypatch.setenv(key, value)
    try:
        with dg.instance_for_test(overrides=production_instance_config(schema)) as instance:
            yield instance
    finally:
        drop_schema(schema)


def duplicate_keys(warehouse) -> dict[str, int]:
    """Rows beyond the first per key, per registered table (0 everywhere when nothing is
    duplicated)."""
    from resources.warehouse import TABLES

    out = {}
    for name, spec in TABLES.items():
        key = list(spec.key) or list(spec.columns)
        frame = warehouse.query(
            f"SELECT count(*) AS n FROM (SELECT {', '.join(key)} FROM {name} "
            f"GROUP BY {', '.join(key)} HAVING count(*) > 1) d"
        )
        out[name] = int(frame.n.iloc[0])
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url_quote(text: str) -> str:
    return quote(text, safe="")


LOCATION = "driftwarden_test"
# A shock from day 5 and a broken feature on days 7-8: drift checks fail on those days.
STACK_EVENTS = (
    "[{kind: sudden_shock, day: 5, magnitude: 1.35, share: 0.5}, "
    "{kind: broken_feature, day: 7, feature: total_charges, mode: unit, duration_days: 2}]"
)
STACK_DAYS = [f"2026-03-{d:02d}" for d in range(1, 11)]


WORKSPACE = """
query {
  workspaceOrError {
    ... on Workspace {
      locationEntries {
        name loadStatus
        locationOrLoadError { __typename ... on PythonError { message } }
      }
    }
  }
}
"""


SCHEDULE_STATE = """
query($s: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $s) {
    __typename
    ... on Schedule { scheduleState { id status } }
  }
}
"""

START_SCHEDULE = """
mutation($s: ScheduleSelector!) {
  startSchedule(scheduleSelector: $s) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""

STOP_SCHEDULE = """
mutation($id: String!) {
  stopRunningSchedule(id: $id) {
    __typename
    ... on ScheduleStateResult { scheduleState { status } }
    ... on PythonError { message }
  }
}
"""


class DagsterStack:
    """A running ``dagster-daemon`` and ``dagster-webserver`` on one SQLite instance."""

    def __init__(self, root: Path, env: dict[str, str], port: int):
        self.root = root
        self.env = env
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.procs: list = []
        self.logs: dict[str, Path] = {}
        self.reports_base = ""  # where the reports folder is served

    def start(self, name: str, args: list[str]) -> None:
        import subprocess

        log = self.root / f"{name}.log"
        self.logs[name] = log
        handle = log.open("wb")
        self.procs.append(
            subprocess.Popen(
                args,
                cwd=REPO,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: teardown ends its run workers too
            )
        )

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
        import json
        import urllib.request

        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(
            f"{self.base}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            payload = json.loads(resp.read())
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def wait_loaded(self, timeout: float = 300) -> None:
        """Wait until the webserver has loaded the code location; fail with its error."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            entries = self.graphql(WORKSPACE)["workspaceOrError"]["locationEntries"]
            for entry in entries:
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    pytest.fail(f"code location failed to load: {loaded['message']}")
                if entry["loadStatus"] == "LOADED" and loaded:
                    return
            time.sleep(1)
        pytest.fail(f"code location not loaded after {timeout:.0f}s\n{self.tail()}")

    def schedule_selector(self, name: str) -> dict:
        return {
            "repositoryLocationName": LOCATION,
            "repositoryName": "__repository__",
            "scheduleName": name,
        }

    def schedule_status(self, name: str) -> tuple[str, str]:
        """(instigation state id, RUNNING or STOPPED) of schedule ``name``."""
        data = self.graphql(SCHEDULE_STATE, {"s": self.schedule_selector(name)})
        schedule = data["scheduleOrError"]
        assert schedule["__typename"] == "Schedule", schedule
        return schedule["scheduleState"]["id"], schedule["scheduleState"]["status"]

    def start_schedule(self, name: str) -> None:
        result = self.graphql(START_SCHEDULE, {"s": self.schedule_selector(name)})
        started = result["startSchedule"]
        assert started.get("scheduleState", {}).get("status") == "RUNNING", started

    def stop_schedule(self, name: str) -> None:
        """Stop schedule ``name`` of the test location (if running): it launches no more runs."""
        state_id, status = self.schedule_status(name)
        if status != "RUNNING":
            return
        stopped = self.graphql(STOP_SCHEDULE, {"id": state_id})["stopRunningSchedule"]
        assert stopped.get("scheduleState", {}).get("status") == "STOPPED", stopped

    def tail(self, lines: int = 40) -> str:
        out = []
        for name, path in self.logs.items():
            text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
            out.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        import signal
        import subprocess

        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="session")
def dagster_stack(tmp_path_factory) -> Iterator[DagsterStack]:
    """Daemon + webserver on a fresh demo instance (SQLite, temp DRIFTWARDEN_HOME), loading
    ``tests/production/every_minute_defs.py`` over a 10-day churn model."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from monitoring_assets.instance import INSTANCE_TEMPLATE
    from tests.conftest import churn_yaml

    root = tmp_path_factory.mktemp("stack")
    home = root / "dwhome"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(INSTANCE_TEMPLATE, dagster_home / "dagster.yaml")
    models = root / "models.yaml"
    models.write_text(churn_yaml(events=STACK_EVENTS))
    workspace = root / "workspace.yaml"
    workspace.write_text(
        yaml.safe_dump(
            {
                "load_from": [
                    {
                        "python_module": {
                            "module_name": "tests.production.every_minute_defs",
                            "working_directory": str(REPO),
                            "location_name": LOCATION,
                        }
                    }
                ]
            }
        )
    )
    # The reports folder served over HTTP, as a deployment serves it (the UI links to it).
    reports = ReportsServer(home / "reports")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DRIFTWARDEN_HOME": str(home),
        "DRIFTWARDEN_REPORTS_URL": reports.base,
        "DRIFTWARDEN_UI_URL": f"http://127.0.0.1:{port}",
        "DRIFTWARDEN_MODELS": str(models),
        "PYTHONPATH": str(REPO),
        "PYTHONWARNINGS": "ignore",
    }
    bin_dir = Path(sys.executable).parent
    # Create the instance's SQLite schema first: a daemon and a webserver starting on a
    # fresh instance both create it, and the loser fails ("table instigators already
    # exists").
    subprocess.run(
        [str(bin_dir / "dagster"), "instance", "migrate"],
        env=env,
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=180,
    )
    stack = DagsterStack(root, env, port)
    stack.reports_base = reports.base
    try:
        stack.start("daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", str(workspace)])
        stack.start(
            "webserver",
            [
                str(bin_dir / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(stack.port),
                "-w",
                str(workspace),
            ],
        )
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{stack.base}/server_info", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in stack.procs):
                    pytest.fail(f"dagster-webserver did not come up:\n{stack.tail()}")
                time.sleep(0.5)
        stack.wait_loaded()
        yield stack
    finally:
        stack.stop()
        reports.stop()


class ReportsServer:
    """A static HTTP server for a reports folder on an ephemeral 127.0.0.1 port."""

    def __init__(self, folder: Path):
        import functools
        import http.server
        import threading

        folder.mkdir(parents=True, exist_ok=True)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args, **kwargs) -> None:
                pass

        handler = functools.partial(Quiet, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


LAUNCH_BACKFILL = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
  }
}
"""

ASSET_NODES = """
query { assetNodes { assetKey { path } groupName isPartitioned isExecutable } }
"""


@pytest.fixture(scope="session")
def history_backfill(dagster_stack) -> str:
    """Launch, through the webserver's GraphQL API, a backfill of the churn group's assets
    over its whole history; returns the backfill id (not yet finished)."""
    nodes = dagster_stack.graphql(ASSET_NODES)["assetNodes"]
    # The whole group: reference_data and monitoring_report (unpartitioned, once) and every
    # daily asset; not the alerts asset, which the sensor observes (nothing executes it).
    keys = [n["assetKey"] for n in nodes if n["groupName"] == "churn" and n["isExecutable"]]
    assert any(k["path"] == ["churn", "inference_logs"] for k in keys), keys
    result = dagster_stack.graphql(
        LAUNCH_BACKFILL,
        {
            "params": {
                "assetSelection": keys,
                "partitionNames": STACK_DAYS,
                "fromFailure": False,
                "tags": [{"key": "driftwarden/trigger", "value": "backfill"}],
            }
        },
    )["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]
