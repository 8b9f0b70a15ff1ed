"""`driftwarden demo`: build a scenario's whole history through Dagster and score the monitors."""

from __future__ import annotations

import datetime as dt
import sys
import time

import dagster as dg

from monitoring_assets.config import ProjectConfig, load_project
from monitoring_assets.home import Home
from monitoring_assets.instance import prepare_dagster_home
from monitoring_assets.scorecard import render, scorecard
from resources.warehouse import Warehouse


def range_tags(keys: list[str]) -> dict[str, str]:
    """Run tags that make one run cover a range of partitions (single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": keys[0],
        "dagster/asset_partition_range_end": keys[-1],
    }


def materialize_history(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    model_name: str,
    keys: list[str],
    log_level: str = "INFO",
) -> dg.ExecuteInProcessResult:
    """Run ``monitor_<model>`` over ``keys`` as one run on ``instance``."""
    job = defs.resolve_job_def(f"monitor_{model_name}")
    return job.execute_in_process(
        instance=instance,
        tags={**range_tags(keys), "driftwarden/trigger": "demo"},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        raise_on_error=False,
    )


def run_demo(
    home: Home | None = None,
    project: ProjectConfig | None = None,
    days: int | None = None,
    out=sys.stdout,
) -> int:
    """Materialize every model's history and print its scorecard; returns an exit code."""
    from monitoring_assets.definitions import build_definitions

    home = (home or Home.from_env()).ensure()
    prepare_dagster_home(home)
    project = project or load_project()
    defs = build_definitions(project, home)
    wh = Warehouse(home.warehouse)
    wh.migrate()
    status = 0
    with dg.DagsterInstance.get() as instance:
        for model in project.models:
            pdef = defs.resolve_assets_def(
                dg.AssetKey([model.name, "inference_logs"])
            ).partitions_def
            keys = pdef.get_partition_keys()
            if days is not None:
                keys = keys[:days]
            print(
                f"driftwarden demo: {model.name} {model.version}, {len(keys)} days "
                f"({keys[0]} .. {keys[-1]}) in one run on {home.dagster_home}",
                file=out,
                flush=True,
            )
            started = time.monotonic()
            result = materialize_history(defs, instance, model.name, keys)
            took = time.monotonic() - started
            if not result.success:
                status = 1
                failure = result.get_run_failure_event()
                print(
                    f"run {result.run_id} FAILED after {took:.1f}s: "
                    f"{failure.message if failure else 'see the run in the UI'}",
                    file=out,
                )
                continue
            print(f"run {result.run_id} succeeded in {took:.1f}s\n", file=out, flush=True)
            dates = [dt.date.fromisoformat(k) for k in keys]
            print(render(scorecard(wh, model, dates)), file=out)
            print(file=out)
    print(
        "Open the UI on this instance:\n"
        f"  DAGSTER_HOME={home.dagster_home} DRIFTWARDEN_HOME={home.root} "
        "dagster dev -w workspace.yaml\n"
        "or simply: driftwarden ui",
        file=out,
    )
    return status
