"""Shared by the end-to-end task tests: the example model file made small, one monitor run."""

from __future__ import annotations

import datetime as dt

import yaml

from monitoring_assets.core.config import load_project
from monitoring_assets.definitions import build_definitions
from monitoring_assets.demo import range_tags
from tests.tasks.conftest import EXAMPLES, MODELS

DAYS = 6
PERF = ("model_performance", "estimated_performance")


def task_project(tmp_path, monkeypatch, task: str, events: list[dict], **extra):
    name = EXAMPLES[task]
    data = yaml.safe_load((MODELS / f"{name}.yaml").read_text())
    m = data["models"][0]
    m["source"]["scenario"].update(
        name="test", days=DAYS, rows_per_day=300, reference_rows=10000, events=events
    )
    m["label_delay_days"] = 1
    m.update(extra)
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path).model(name)


def monitor_run(model, home, monkeypatch, instance):
    # Labels of day i arrive on day i + 1: on the last day all but the last are in.
    today = model.first_date + dt.timedelta(days=DAYS - 1)
    monkeypatch.setenv("DRIFTWARDEN_TODAY", today.isoformat())
    defs = build_definitions(load_project(), home)
    keys = [(model.first_date + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    result = defs.resolve_job_def(f"monitor_{model.name}").execute_in_process(
        instance=instance,
        tags=range_tags(keys),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
    )
    assert result.success, result.get_run_failure_event()
    evals = {
        (e.partition, e.check_name): e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.path[-1] in PERF
    }
    return defs, keys, evals


def stored_rows(wh, table: str, model: str):
    frame = wh.query(f"SELECT * FROM {table} WHERE model = ?", [model])
    frame["partition_date"] = frame["partition_date"].map(
        lambda v: v.date() if hasattr(v, "date") else v
    )
    return frame
