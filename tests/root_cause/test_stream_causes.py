"""Stream findings carry feature causes: the failing window's per-feature drift, ranked by
drift alone (the stream consumer does not score the model)."""

from __future__ import annotations

import json

import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.drift import ColumnDrift
from monitoring_assets.core.root_cause.causes import drift_causes
from monitoring_assets.streaming.findings import FindingsSink
from monitoring_assets.streaming.processor import StreamProcessor
from monitoring_assets.streaming.producer import event_messages, simulated_frame
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import WindowSpec, window_monitor
from resources.warehouse import Warehouse
from tests.conftest import churn_yaml

SHIFT = "[{kind: covariate_shift, feature: monthly_charges, day: 1, magnitude: 1.5}]"


def test_drift_causes_rank_by_drift_alone_and_keep_features_only():
    cols = {
        "a": ColumnDrift("a", "numerical", "wasserstein", 0.1, 0.4, True),
        "b": ColumnDrift("b", "numerical", "wasserstein", 0.1, 0.1, True),
        "prediction": ColumnDrift("prediction", "numerical", "wasserstein", 0.1, 0.9, True),
    }
    causes = drift_causes(cols, ["a", "b"], {"window": "count_1000"})
    assert [c.name for c in causes] == ["a", "b"]
    assert [round(c.score, 3) for c in causes] == [0.8, 0.2]  # 4× and 1× the threshold
    assert causes[0].numbers["window"] == "count_1000"
    assert "ranked by drift alone" in causes[0].text


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "churn.yaml"
    path.write_text(churn_yaml(days=2, rows=2000, seed=5, events=SHIFT))
    return load_project(path).models[0]


def test_a_stream_alert_names_the_shifted_feature_first(tmp_path, model):
    from monitoring_assets.streaming.consumer import reference_profile

    frame = simulated_frame(
        model, [model.first_date, model.first_date.fromordinal(model.first_date.toordinal() + 1)]
    )
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=1000)],
        evaluate_every_events=1000,
        evaluate_every_seconds=0,
    )
    wh = Warehouse(tmp_path / "wh.duckdb")
    sink = FindingsSink(model, wh)
    proc = StreamProcessor(model, window_monitor(model, reference_profile(model, None)), settings)
    msgs = list(event_messages(model, frame))
    for i in range(0, len(msgs), 500):
        b = msgs[i : i + 500]
        ins = [(a, k, 0, i + j) for j, (k, a, _) in enumerate(b)]
        outs = [(o, k, 0, i + j) for j, (k, _, o) in enumerate(b)]
        _, results = proc.ingest(ins, outs)
        sink.publish(results, proc.state.severity)
    alerts = wh.query("SELECT status, causes FROM alerts WHERE status = 'firing'")
    assert len(alerts) == 1
    causes = json.loads(alerts.causes.iloc[0])
    assert causes[0]["kind"] == "feature" and causes[0]["name"] == "monthly_charges"
    assert causes[0]["numbers"]["window"] == "count_1000"
    assert "ranked by drift alone" in causes[0]["text"]
