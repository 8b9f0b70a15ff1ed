"""Regression and multiclass models end to end against a real Kafka-protocol broker (tansu):
``driftwarden simulate --to-kafka --labels`` publishes a simulated day, the ``driftwarden
stream`` consumer lands every event and label with the task's types, judges its windows
and reports the realized metrics of the labelled events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import yaml

from monitoring_assets.core.config import load_project
from monitoring_assets.streaming.checkpoint import read_checkpoint
from monitoring_assets.streaming.consumer import ensure_topics
from monitoring_assets.streaming.landing import LABELS, StreamLanding
from monitoring_assets.streaming.producer import simulated_frame, simulated_labels
from tests.streaming.test_kafka import ROOT, SETTINGS, TOPICS, landed_rows, start_consumer, wait_for
from tests.tasks.conftest import EXAMPLES, MODELS

ROWS = 600


def _model_file(tmp_path, task):
    data = yaml.safe_load((MODELS / f"{EXAMPLES[task]}.yaml").read_text())
    data["models"][0]["source"]["scenario"].update(
        name="stream", days=2, rows_per_day=ROWS, reference_rows=3000, events=[]
    )
    path = tmp_path / f"{task}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, load_project(path).models[0]


def _cli(home, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "monitoring_assets.cli", "--home", str(home), *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_task_model_streams_end_to_end(tmp_path, broker, task):
    home = tmp_path / "home"
    home.mkdir()
    path, model = _model_file(tmp_path, task)
    ensure_topics(broker.bootstrap, TOPICS)
    sent = _cli(
        home, "simulate", "--to-kafka", "--models", str(path), "--bootstrap", broker.bootstrap,
        "--labels",
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr[-2000:]
    assert f"published {ROWS} events of {model.name}" in sent.stdout
    settings = {**SETTINGS, "evaluate_every_events": 300, "labelled_window_size": 400}
    proc = start_consumer(home, path, broker.bootstrap, settings)
    try:
        wait_for(lambda: landed_rows(home, model.name) == ROWS, 90, "all events", proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, (home / "consumer.log").read_text()[-3000:]
    log = (home / "consumer.log").read_text()
    c = model.columns
    landing = StreamLanding(home / "data", model)
    landed = landing.read_day(model.first_date)
    labels = landing.read_day(model.first_date, LABELS)
    frame = simulated_frame(model, [model.first_date])
    truth = simulated_labels(model, [model.first_date]).set_index(c.id)
    assert len(landed) == ROWS and landed[c.id].is_unique and len(labels) == ROWS
    got = landed.set_index(c.id).loc[frame[c.id]]
    assert (got[c.prediction].to_numpy() == frame[c.prediction].to_numpy()).all()
    assert (labels.set_index(c.id)[c.target].loc[truth.index] == truth[c.target]).all()
    if task == "regression":
        assert str(landed[c.prediction].dtype) == "float64"
        assert str(labels[c.target].dtype) == "float64"
        assert "realized over the last 400 labelled events: mae " in log
    else:
        for col in model.probability_columns.values():
            assert (got[col].to_numpy() == frame[col].to_numpy()).all(), col
        assert "realized over the last 400 labelled events: accuracy " in log
    assert "macro_roc_auc" in log or task == "regression"
    state = read_checkpoint(landing.checkpoint_path(f"driftwarden-{model.name}"), model.name)
    assert state.windows[0].rows == ROWS and state.counters.dead_letters == 0
