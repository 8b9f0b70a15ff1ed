"""The model file's task keys: tasks, classes per task, per-class probability columns."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from monitoring_assets.core.config import ConfigError, load_project
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.monitor import prediction_column
from monitoring_assets.core.schema import SchemaError, inference_columns, validate_inference
from monitoring_assets.core.simulator_tasks import task_simulator
from tests.tasks.conftest import MODELS, day, task_model

FEATURES = """
    features:
      - {name: tenure, type: numerical}
      - {name: contract_type, type: categorical}
"""


def _load(tmp_path, body: str):
    path = tmp_path / "models.yaml"
    path.write_text(
        "models:\n  - name: m\n" + textwrap.indent(textwrap.dedent(body), "    ") + FEATURES
    )
    return load_project(path).model("m")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("task: multiclass\n", "classes: task multiclass needs 'classes' with at least 3"),
        ("task: multiclass\nclasses: [0, 1]\n", "at least 3 classes, got [0, 1]"),
        (
            "task: multiclass\nclasses: [0, 1, 2]\ncolumns: {probability: {0: p0, 1: p1}}\n",
            "columns.probability: no column for class(es) [2]",
        ),
        (
            "task: multiclass\nclasses: [0, 1, 2]\ncolumns: {probability: {0: p0, 1: p1, 2: p2, 5: p5}}\n",
            "columns.probability: class(es) [5] are not in classes",
        ),
        (
            "task: multiclass\nclasses: [0, 1, 2]\ncolumns: {probability: p}\n",
            "columns.probability: task multiclass needs a mapping",
        ),
        ("task: multiclass\nclasses: [0, 1, 1]\n", "classes: [0, 1, 1] has duplicates"),
        ("classes: [0, 1, 2]\n", "binary_classification needs exactly 2 classes"),
        (
            "columns: {probability: {0: p0, 1: p1}}\n",
            "a mapping class -> column is for task multiclass",
        ),
        ("task: regression\nclasses: [0, 1]\n", "classes: task regression has no classes"),
        ("task: regression\ncolumns: {probability: p}\n", "task regression logs no probability"),
        ("task: ranking\n", "task"),
        (
            "task: multiclass\nclasses: [0, 1, 2]\ncolumns: {probability: {0: p0, 1: p0, 2: p2}}\n",
            "are the same column",
        ),
    ],
)
def test_bad_task_config_is_refused_naming_the_key(tmp_path, body, message):
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, body)
    assert message in str(err.value)
    assert "models.yaml" in str(err.value)


def test_task_defaults(tmp_path):
    binary = _load(tmp_path, "version: v1\n")
    assert binary.task == "binary_classification" and binary.classes == (0, 1)
    assert binary.probability_columns == {1: "probability"}
    reg = _load(tmp_path, "task: regression\n")
    assert reg.classes is None and reg.columns.probability is None
    assert reg.probability_columns == {} and reg.target_kind == "numerical"
    mc = _load(tmp_path, "task: multiclass\nclasses: [3, 5, 7]\n")
    assert mc.classes == (3, 5, 7) and mc.probability_columns == {}
    assert mc.target_kind == "categorical"


def test_the_shipped_example_files_load_one_per_task():
    tasks = {}
    for path in sorted(MODELS.glob("*.yaml")):
        for m in load_project(path).models:
            tasks[m.task] = m
    assert set(tasks) == {"binary_classification", "regression", "multiclass"}
    mc = tasks["multiclass"]
    assert mc.probability_columns == {0: "p_basic", 1: "p_standard", 2: "p_premium"}
    assert load_project(MODELS / "churn.yaml").model("churn").task == "binary_classification"


def test_prediction_is_profiled_and_drift_checked_as_the_task_says():
    reg = task_model("regression", [], days=3, rows_per_day=50)
    mc = task_model("multiclass", [], days=3, rows_per_day=50)
    assert profiled_columns(reg)[reg.columns.prediction] == "numerical"
    assert prediction_column(reg) == reg.columns.prediction
    kinds = profiled_columns(mc)
    assert kinds[mc.columns.prediction] == "categorical"
    assert all(kinds[c] == "numerical" for c in mc.probability_columns.values())
    assert prediction_column(mc) == mc.columns.prediction
    assert inference_columns(mc)[-4:] == ["p_basic", "p_standard", "p_premium", "latency_ms"]


def test_schema_checks_a_regression_prediction_is_a_number_and_a_class_otherwise():
    reg = task_model("regression", [], days=3, rows_per_day=50)
    frame = task_simulator(reg).inference_day(day(reg, 0))
    ok = validate_inference(frame, reg)
    assert str(ok[reg.columns.prediction].dtype) == "float64"
    bad = frame.assign(**{reg.columns.prediction: "high"})
    with pytest.raises(SchemaError, match="expected a number \\(task regression\\)"):
        validate_inference(bad, reg)
    mc = task_model("multiclass", [], days=3, rows_per_day=50)
    frame = task_simulator(mc).inference_day(day(mc, 0))
    validate_inference(frame, mc)
    with pytest.raises(SchemaError, match="outside the classes \\[0, 1, 2\\]"):
        validate_inference(frame.assign(**{mc.columns.prediction: 4}), mc)
    with pytest.raises(SchemaError, match="missing column\\(s\\) \\['p_premium'\\]"):
        validate_inference(frame.drop(columns=["p_premium"]), mc)


def test_task_simulator_is_deterministic_and_concept_drift_touches_only_the_target():
    plain = task_model("regression", [], days=3, rows_per_day=200)
    drifted = task_model(
        "regression",
        [{"kind": "concept_drift", "day": 1, "magnitude": 1.0}],
        days=3,
        rows_per_day=200,
    )
    a, b = task_simulator(plain), task_simulator(drifted)
    d = day(plain, 2)
    pd.testing.assert_frame_equal(a.inference_day(d), task_simulator(plain).inference_day(d))
    pd.testing.assert_frame_equal(a.inference_day(d), b.inference_day(d))
    ya, yb = a.labels_day(d)[plain.columns.target], b.labels_day(d)[plain.columns.target]
    assert (ya != yb).mean() > 0.9
    assert b.truth(d).columns == (plain.columns.target,)
    mc = task_model(
        "multiclass",
        [{"kind": "broken_feature", "day": 0, "feature": "tenure"}],
        days=3,
        rows_per_day=50,
    )
    cols = task_simulator(mc).truth(day(mc, 0)).columns
    assert cols == (
        "tenure",
        "total_charges",
        "predicted_tier",
        "p_basic",
        "p_standard",
        "p_premium",
        "plan_tier",
    )
    labels = task_simulator(mc).labels_day(day(mc, 0))[mc.columns.target]
    assert set(labels) == {0, 1, 2}


def test_the_stream_takes_regression_and_multiclass_models_and_refuses_others_by_name():
    from monitoring_assets.streaming.messages import MessageSchema, StreamUnsupported

    for task in ("regression", "multiclass"):
        model = task_model(task, [], days=2, rows_per_day=10)
        assert MessageSchema(model).model is model
        other = model.model_copy(update={"task": "ranking"})
        with pytest.raises(StreamUnsupported, match=f"model '{model.name}'.*not 'ranking'"):
            MessageSchema(other)


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_regression_and_multiclass_models_request_no_retraining(task):
    from monitoring_assets.core.trainer import has_trainer, retraining_note
    from monitoring_assets.monitors.retraining import retraining_jobs

    model = task_model(task, [], days=3, rows_per_day=50)
    assert model.source.kind == "simulator"  # a source that has a built-in binary trainer
    assert not has_trainer(model)
    assert retraining_jobs(model) == []
    assert f"retraining of {task} models is not built yet" in retraining_note(model)
