"""The embedded Dagster instance under DRIFTWARDEN_HOME/dagster, and how its killed runs end.

A run executes in one process: the ``driftwarden demo`` process itself, or a run worker
that a code server starts for the daemon or the UI. When that process is killed
(SIGKILL, the OOM killer, a closed terminal), nothing records the end of the run and
Dagster shows it STARTED forever. Dagster's run monitoring ends such runs only if the run
launcher can check its workers, which the ``DefaultRunLauncher`` cannot. So, on this
instance:

- :class:`LocalRunLauncher` is the ``DefaultRunLauncher`` with a worker health check:
  the process a run recorded when it began executing (Dagster's engine events carry its
  pid) must still be alive. ``dagster.yaml`` turns run monitoring on with it, so a daemon
  (``driftwarden ui``, ``dagster dev``) fails a killed run within one poll interval.
- :func:`fail_dead_runs` makes the same check once; ``driftwarden demo`` and
  ``driftwarden ui`` call it when they start, for runs killed while no daemon ran.

Where the instance keeps its files is :func:`instance_folder`: ``$DAGSTER_HOME`` when set
(``driftwarden demo`` and ``driftwarden ui`` set it to ``DRIFTWARDEN_HOME/dagster``),
else ``DRIFTWARDEN_HOME/dagster`` (default ``./.driftwarden/dagster``). ``dagster.yaml``
names the ``Home*`` storage classes below, which default their ``base_dir`` to that
folder, so ``dagster dev`` and ``dagster definitions validate`` work in the project root
with no environment set. Without ``DAGSTER_HOME`` those commands read the root's
``dagster.yaml`` and make a temporary ``.tmp_dagster_home_*`` folder in the working
directory, removed on exit; with these classes nothing is kept there, and the runs,
event log, schedules and step logs land where ``driftwarden ui`` finds them: one
instance per home.

Both health checks rely on the runs' processes living on the checker's host. The embedded SQLite
instance implies it, and :func:`fail_dead_runs` acts on no other; a Postgres instance whose
daemon and run workers share one host may use :class:`LocalRunLauncher` too
(deploy/dagster/dagster.yaml); on Kubernetes the ``K8sRunLauncher`` checks each run's Job.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TextIO

import dagster as dg
from dagster._config import Field, StringSource
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from dagster._core.storage.root import LocalArtifactStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._serdes import ConfigurableClassData

from monitoring_assets.core.home import Home

# The instance template: the repository's dagster.yaml, which the package links to
# (monitoring_assets/dagster.yaml) so that a built wheel ships a copy of it.
INSTANCE_TEMPLATE = Path(__file__).resolve().parent / "dagster.yaml"

# Statuses of a run whose process should be alive.
IN_PROGRESS = (dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
# The pid a run records comes from one of its first engine events; read this many.
_PID_EVENTS_SCANNED = 50
# A recorded pid names the same process only if that process started before the record;
# /proc start times are whole clock ticks after a whole-second boot time.
_START_TIME_SLACK_S = 2.0


def instance_folder() -> Path:
    """The folder of the embedded instance: ``$DAGSTER_HOME`` when set, else the
    ``dagster`` folder of :meth:`Home.from_env` (``$DRIFTWARDEN_HOME/dagster``, default
    ``./.driftwarden/dagster``). Every process of one ``dagster dev`` (webserver, daemon,
    code server, run workers) starts in the same working directory and environment, so
    they all resolve the same folder."""
    dagster_home = os.environ.get("DAGSTER_HOME")
    if dagster_home:
        return Path(dagster_home).expanduser().resolve()
    return Home.from_env().dagster_home


def install_template(folder: Path) -> None:
    """Make ``folder/dagster.yaml`` the project's instance template (unless it already is),
    so that ``folder`` works as a ``DAGSTER_HOME``. The file is replaced atomically: several
    processes of one ``dagster dev`` may do this at once."""
    if not INSTANCE_TEMPLATE.exists():
        raise FileNotFoundError(
            f"instance template {INSTANCE_TEMPLATE} is missing; reinstall driftwarden "
            "(the package ships it)"
        )
    target = folder / "dagster.yaml"
    template = INSTANCE_TEMPLATE.read_bytes()
    if target.exists() and target.read_bytes() == template:
        return
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".dagster.yaml.{os.getpid()}"
    partial.write_bytes(template)
    os.replace(partial, target)


def prepare_dagster_home(home: Home) -> Path:
    """Point DAGSTER_HOME at ``home``'s instance folder, with the project's dagster.yaml."""
    home.ensure()
    install_template(home.dagster_home)
    os.environ["DAGSTER_HOME"] = str(home.dagster_home)
    os.environ["DRIFTWARDEN_HOME"] = str(home.root)
    return home.dagster_home


def open_dagster_home(home: Home, out: TextIO = sys.stderr) -> Path:
    """:func:`prepare_dagster_home`, then open the instance once before anything else does:
    that creates its SQLite schema (a daemon and a webserver started together would both
    try, and one fails), and reports as failed the runs killed since the last start."""
    dagster_home = prepare_dagster_home(home)
    with dg.DagsterInstance.get() as instance:
        for run_id in fail_dead_runs(instance):
            print(
                f"driftwarden: run {run_id} was in progress but its process is gone; "
                "marked it failed (rerun its partitions to replace what it wrote)",
                file=out,
            )
    return dagster_home


# ---------------------------------------------------------------------- storage

# ``base_dir`` may be left out of dagster.yaml: it then defaults to the instance folder.
_OPTIONAL_BASE_DIR = {"base_dir": Field(StringSource, is_required=False)}


def _base_dir(config_value: dict, *under: str) -> str:
    if config_value.get("base_dir"):
        return str(config_value["base_dir"])
    return str(instance_folder().joinpath(*under))


class _HomeBaseDir:
    """Mixin: ``base_dir`` optional in dagster.yaml, defaulting to :func:`instance_folder`.
    A subclass says how its Dagster base class is built from a folder (``_open``)."""

    @classmethod
    def config_type(cls):
        return _OPTIONAL_BASE_DIR

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value):
        return cls._open(_base_dir(config_value), inst_data)

    @classmethod
    def _open(cls, base_dir: str, inst_data: ConfigurableClassData | None):
        return cls(base_dir, inst_data=inst_data)  # type: ignore[call-arg]


class HomeSqliteRunStorage(_HomeBaseDir, SqliteRunStorage):
    """``SqliteRunStorage`` whose ``base_dir`` defaults to :func:`instance_folder`."""

    @classmethod
    def _open(cls, base_dir, inst_data):
        return cls.from_local(base_dir, inst_data=inst_data)


class HomeConsolidatedSqliteEventLogStorage(_HomeBaseDir, ConsolidatedSqliteEventLogStorage):
    """``ConsolidatedSqliteEventLogStorage`` whose ``base_dir`` defaults to
    :func:`instance_folder`."""


class HomeSqliteScheduleStorage(_HomeBaseDir, SqliteScheduleStorage):
    """``SqliteScheduleStorage`` whose ``base_dir`` defaults to :func:`instance_folder`."""

    @classmethod
    def _open(cls, base_dir, inst_data):
        return cls.from_local(base_dir, inst_data=inst_data)


class HomeLocalArtifactStorage(_HomeBaseDir, LocalArtifactStorage):
    """``LocalArtifactStorage`` (the instance's root directory) whose ``base_dir`` defaults
    to :func:`instance_folder`. With no ``DAGSTER_HOME`` set (``dagster dev`` in the
    project root), it also puts the instance template in that folder, which makes the
    folder a ``DAGSTER_HOME`` for the commands that require one (``dagster schedule
    start``, ``dagster run list``) and see the same instance."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value):
        if not config_value.get("base_dir") and not os.environ.get("DAGSTER_HOME"):
            install_template(Path(_base_dir(config_value)))
        return super().from_config_value(inst_data, config_value)


class HomeLocalComputeLogManager(LocalComputeLogManager):
    """``LocalComputeLogManager`` (the steps' stdout and stderr) whose ``base_dir``
    defaults to ``storage`` in :func:`instance_folder`, where Dagster keeps them by default."""

    @classmethod
    def config_type(cls):
        return {**LocalComputeLogManager.config_type(), **_OPTIONAL_BASE_DIR}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value):
        return cls(
            _base_dir(config_value, "storage"),
            polling_timeout=config_value.get("polling_timeout"),
            inst_data=inst_data,
        )


# ---------------------------------------------------------------------- processes


def _boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise OSError("/proc/stat has no btime line")


def process_alive(pid: int, since: float) -> bool:
    """Whether ``pid`` is a running process that already existed at ``since`` (epoch
    seconds). A zombie, or a newer process that reused the pid, is not alive. Without
    ``/proc`` (macOS) only the pid's existence is checked."""
    if pid <= 0:
        raise ValueError(f"pid must be positive, got {pid}")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    if not Path("/proc/self/stat").exists():
        return True  # no procfs: the pid exists, which is all that can be told
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False  # it exited since os.kill
    boot = _boot_time()
    # Fields after the parenthesised command name: state is field 3, starttime field 22.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return False
    started = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started <= since + _START_TIME_SLACK_S


# ---------------------------------------------------------------------- runs


def run_process(instance: dg.DagsterInstance, run_id: str) -> tuple[int, float] | None:
    """The pid of the process executing run ``run_id`` and when it was recorded, from the
    run's first engine event that carries a pid (the run worker's "Started process" or
    the executor's "Executing steps"); None if the run has recorded none yet."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=_PID_EVENTS_SCANNED
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value), record.event_log_entry.timestamp
    return None


def dead_run_reason(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Why run ``run_id``, in progress, has no live process; None while it may have one.

    A run that recorded a pid is dead when that process is gone. A run that recorded
    none is dead once it has been in progress longer than the instance's
    ``run_monitoring.start_timeout_seconds`` (its process died before executing).
    """
    record = instance.get_run_record_by_id(run_id)
    if record is None or record.dagster_run.status not in IN_PROGRESS:
        return None
    found = run_process(instance, run_id)
    if found is not None:
        pid, recorded_at = found
        if process_alive(pid, recorded_at):
            return None
        return (
            f"the run's process (pid {pid}) on this host is gone: it was killed or crashed "
            "without recording the end of the run; rerun its partitions"
        )
    waited = time.time() - (record.start_time or record.create_timestamp.timestamp())
    timeout = instance.run_monitoring_start_timeout_seconds
    if waited > timeout:
        return (
            f"the run has been {record.dagster_run.status.value} for {waited:.0f}s (more than "
            f"start_timeout_seconds={timeout}) without a process executing it"
        )
    return None


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Report as failed every in-progress run of ``instance`` whose process is gone;
    returns their run ids. Only on a SQLite instance, whose runs all ran on this host."""
    if not isinstance(instance.run_storage, SqliteRunStorage):
        return []
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=list(IN_PROGRESS))):
        run = record.dagster_run
        reason = dead_run_reason(instance, run.run_id)
        if reason is None:
            continue
        instance.report_run_failed(run, f"driftwarden marked this run failed: {reason}")
        failed.append(run.run_id)
    return failed


class LocalRunLauncher(dg.DefaultRunLauncher):
    """The ``DefaultRunLauncher``, plus the worker health check that lets the daemon's run
    monitoring fail a run whose process was killed (see the module docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        reason = dead_run_reason(self._instance, run.run_id)
        if reason is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, reason)
