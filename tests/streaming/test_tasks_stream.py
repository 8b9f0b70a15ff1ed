"""Regression and multiclass models on the stream, without a broker: message validation,
windows equal to the batch profile of the same events, prediction drift by task, and a
model the stream cannot monitor refused at start."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from monitoring_assets.core.monitor import DriftMonitor
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.streaming.consumer import StreamConsumer, reference_profile
from monitoring_assets.streaming.messages import MessageSchema, StreamUnsupported
from monitoring_assets.streaming.processor import StreamProcessor
from monitoring_assets.streaming.producer import event_messages, simulated_frame
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import WindowSpec, window_columns, window_monitor
from tests.streaming.test_core import feed
from tests.tasks.conftest import task_model

SHIFT = [{"kind": "covariate_shift", "day": 1, "feature": "monthly_charges", "magnitude": 1.5}]


@pytest.fixture(scope="module", params=["regression", "multiclass"])
def task(request):
    model = task_model(request.param, SHIFT, days=2, rows_per_day=1500, reference_rows=4000)
    return model, reference_profile(model, None)


def test_outputs_are_validated_by_task(task):
    model, _ = task
    schema = MessageSchema(model)
    c = model.columns
    if model.task == "regression":
        row = schema.output_row({c.id: "r", c.prediction: 12.75, c.target: 10})
        assert row[1][0] == 12.75 and row[2] == 10.0
        assert schema.output_row({c.id: "r", c.prediction: "12"}).code == "wrong_type"
        assert schema.output_row({c.id: "r", c.prediction: float("inf")}).code == "bad_value"
        return
    probs = {col: 1 / 3 for col in model.probability_columns.values()}
    row = schema.output_row({c.id: "r", c.prediction: 2, **probs, c.target: 1})
    assert row[1][:4] == [2, 1 / 3, 1 / 3, 1 / 3] and row[2] == 1
    assert schema.output_row({c.id: "r", c.prediction: 3}).code == "bad_value"
    assert schema.output_row({c.id: "r", c.prediction: 1.5}).code == "bad_value"
    assert schema.output_row({c.id: "r", c.target: 7}).code == "bad_value"
    bad = {**probs, model.probability_columns[0]: "high"}
    assert schema.output_row({c.id: "r", c.prediction: 0, **bad}).code == "wrong_type"


def test_window_equals_batch_profile_and_judges_the_prediction_by_task(task):
    model, reference = task
    frame = simulated_frame(model, [model.first_date, model.first_date + dt.timedelta(days=1)])
    frame = frame.iloc[-1200:]  # the shifted day
    kinds, _ = window_columns(model)
    spec = WindowSpec(kind="count", size=1000)
    settings = StreamSettings(windows=[spec], evaluate_every_events=600, evaluate_every_seconds=0)
    proc = StreamProcessor(model, window_monitor(model, reference), settings)
    results = feed(proc, list(event_messages(model, frame)), batch=250)
    assert [r.events_seen for r in results] == [600, 1200]
    expected = frame.iloc[-1000:].copy()
    if model.task == "multiclass":
        expected[model.columns.prediction] = expected[model.columns.prediction].astype("int64")
    batch = profile_frame(expected[list(kinds)], kinds)
    stream = proc.state.windows[0].profile()
    for col in kinds:
        a, b = stream[col], batch[col]
        assert (a.count, a.missing, a.dtype) == (b.count, b.missing, b.dtype), col
        assert np.array_equal(a.values, b.values) and np.array_equal(a.counts, b.counts), col
    last = results[-1].result
    theirs = DriftMonitor(model, prediction=model.columns.prediction).fit(reference)
    theirs = theirs.calculate(batch)
    assert last.prediction.score == pytest.approx(theirs.prediction.score, rel=1e-9)
    assert last.verdict() == theirs.verdict()
    assert "monthly_charges" in results[-1].drifted
    pred = last.prediction
    if model.task == "regression":  # the continuous prediction: a numerical method
        assert pred.method not in ("chisquare", "z") and len(stream[pred.column].values) > 50
    else:  # the class distribution
        assert pred.method in ("chisquare", "jensenshannon")  # categorical methods
        assert list(stream[pred.column].values) == [0, 1, 2]


def test_a_model_the_stream_cannot_monitor_is_refused_at_start(task, tmp_path):
    model, reference = task
    other = model.model_copy(update={"task": "ranking"})
    with pytest.raises(StreamUnsupported, match=r"model '.+': the stream monitors tasks"):
        StreamConsumer(other, StreamSettings(), tmp_path / "lake", reference=reference)
    assert not (tmp_path / "lake").exists()  # nothing was written


# --------------------------------------------------------------------------- realized


def _sklearn(model, y, pred, probs):
    """The task's metrics by scikit-learn (the oracle)."""
    from sklearn import metrics as skm

    y, pred = np.asarray(y), np.asarray(pred)
    if model.task == "regression":
        nz = y != 0
        return {
            "mae": skm.mean_absolute_error(y, pred),
            "rmse": float(np.sqrt(skm.mean_squared_error(y, pred))),
            "mape": skm.mean_absolute_percentage_error(y[nz], pred[nz]),
            "r2": skm.r2_score(y, pred),
            "mean_error": float(np.mean(pred - y)),
        }
    labels = list(model.classes)
    out = {"accuracy": skm.accuracy_score(y, pred)}
    if model.task == "multiclass":
        for avg in ("macro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(
                y, pred, labels=labels, average=avg, zero_division=0
            )
            out.update({f"{avg}_precision": p, f"{avg}_recall": r, f"{avg}_f1": f})
        del out["weighted_precision"], out["weighted_recall"]
        out["macro_roc_auc"] = skm.roc_auc_score(
            y, probs, multi_class="ovr", average="macro", labels=labels
        )
        return out
    out["precision"] = skm.precision_score(y, pred, zero_division=0)
    out["recall"] = skm.recall_score(y, pred, zero_division=0)
    out["f1"] = skm.f1_score(y, pred, zero_division=0)
    out["roc_auc"] = skm.roc_auc_score(y, probs[:, 0])
    return out


def _labelled_days(model, n):
    from monitoring_assets.streaming.producer import simulated_labels

    days = [model.first_date, model.first_date + dt.timedelta(days=1)]
    frame = simulated_frame(model, days)
    return frame.iloc[:n], simulated_labels(model, days)


@pytest.mark.parametrize("labels_later", [False, True], ids=["with_prediction", "later"])
def test_realized_window_metrics_equal_scikit_learn(task, labels_later):
    """Labels joined on the stream (in the prediction's message, or in later messages of
    their own): the last ``labelled_window_size`` labelled events, measured as
    scikit-learn measures them."""
    _check_realized(*task, labels_later)


def test_binary_realized_window_metrics_equal_scikit_learn(model, reference):
    _check_realized(model, reference, labels_later=False)


def _check_realized(model, reference, labels_later):
    from monitoring_assets.streaming.producer import encode

    frame, labels = _labelled_days(model, 900)
    size = 500
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=5000)],
        evaluate_every_events=100_000,  # evaluated below, once every label is in
        evaluate_every_seconds=0,
        labelled_window_size=size,
    )
    proc = StreamProcessor(model, window_monitor(model, reference), settings)
    c = model.columns
    if labels_later:
        feed(proc, list(event_messages(model, frame)), batch=300)
        by_id = labels.set_index(c.id).loc[frame[c.id]]
        outs = [
            (str(rid).encode(), encode({c.id: str(rid), c.target: _py(t)}))
            for rid, t in zip(by_id.index, by_id[c.target])
        ]
        for i in range(0, len(outs), 250):
            dead, _ = proc.ingest(
                [], [(v, k, 0, i + j) for j, (k, v) in enumerate(outs[i : i + 250])]
            )
            assert not dead
    else:
        feed(proc, list(event_messages(model, frame, labels)), batch=300)
    (result,) = proc.evaluate()
    assert result.labelled == size
    last = frame.iloc[-size:]
    y = labels.set_index(c.id).loc[last[c.id], c.target].to_numpy()
    probs = None
    if model.probability_columns:
        cols = [model.probability_columns[k] for k in sorted(model.probability_columns)]
        probs = last[cols].to_numpy(dtype=float)
    expected = _sklearn(model, y, last[c.prediction].to_numpy(), probs)
    assert set(result.realized) == set(expected)
    for k, v in expected.items():
        assert result.realized[k] == pytest.approx(v, rel=1e-9, abs=1e-12), k


def _py(v):
    return v.item() if hasattr(v, "item") else v
