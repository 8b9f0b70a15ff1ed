import pytest

from monitoring_assets.core.config import ConfigError, load_project
from tests.conftest import churn_yaml, write


def test_default_model_file_is_the_churn_model():
    project = load_project()
    churn = project.model("churn")
    assert churn.feature_names == [
        "tenure",
        "monthly_charges",
        "total_charges",
        "num_services",
        "contract_type",
        "payment_method",
        "internet_service",
    ]
    assert churn.columns.target == "churn"
    assert churn.source.kind == "simulator"
    assert churn.source.scenario.days == 120
    # the demo must contain a shock around day 80
    assert any(e.kind == "sudden_shock" and 75 <= e.day <= 85 for e in churn.source.scenario.events)


@pytest.mark.parametrize(
    "text, fragments",
    [
        (
            churn_yaml().replace("label_delay_days: 3", "label_delay_dayz: 3"),
            ["models.yaml:", "label_delay_dayz", "Extra inputs"],
        ),
        (
            churn_yaml()
            .replace("type: numerical}}", "type: numeric}}")
            .replace("{name: tenure, type: numerical}", "{name: tenure, type: numeric}"),
            ["models.0.features.0.type", "numerical", ":6:"],
        ),
        (churn_yaml().replace("days: 10", "days: -1"), ["scenario.days", "greater than or equal"]),
        (
            churn_yaml().replace("name: churn", "name: Churn Model"),
            ["models.0.name", "not a valid model name", "lowercase letter"],
        ),
        ("models: [\n", ["not valid YAML"]),
        ("", ["is empty"]),
    ],
)
def test_bad_model_file_names_file_key_and_line(tmp_path, text, fragments):
    path = write(tmp_path / "models.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_project(path)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message


def test_duplicate_models_and_features_are_rejected(tmp_path):
    body = churn_yaml()
    twice = body + body.split("models:\n", 1)[1]
    with pytest.raises(ConfigError, match="duplicate model names"):
        load_project(write(tmp_path / "a.yaml", twice))
    dup_feature = body.replace(
        "{name: num_services, type: numerical}", "{name: tenure, type: numerical}"
    )
    with pytest.raises(ConfigError, match="duplicate feature names"):
        load_project(write(tmp_path / "b.yaml", dup_feature))


def test_file_source_requires_start_date(tmp_path):
    text = """
models:
  - name: fraud
    features: [{name: amount, type: numerical}]
    source: {kind: files, reference: ref.parquet, inference: "logs/{date}.parquet"}
"""
    with pytest.raises(ConfigError, match="start_date"):
        load_project(write(tmp_path / "m.yaml", text))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_project(tmp_path / "nope.yaml")


def _with_thresholds(block: str) -> str:
    # the thresholds block goes right after label_delay_days (line 14 of the file)
    return churn_yaml().replace("    label_delay_days: 3\n", "    label_delay_days: 3\n" + block)


@pytest.mark.parametrize(
    "block, fragments",
    [
        (
            "    thresholds: {calibration: {k: 0}}\n",
            ["models.0.thresholds.calibration.k", "greater than 0", ":15:"],
        ),
        (
            "    thresholds: {calibration: {k: -1.5}}\n",
            ["models.0.thresholds.calibration.k", "greater than 0"],
        ),
        (
            "    thresholds: {calibration: {k: 4, k_error: 3}}\n",
            ["models.0.thresholds.calibration", "k_error (3.0) is below k (4.0)", ":15:"],
        ),
        (
            "    thresholds:\n      drift: {prediction_drift_score_warn: 0.3, "
            "prediction_drift_score_error: 0.2}\n",
            ["models.0.thresholds.drift", "prediction_drift_score_warn (0.3) is above", ":16:"],
        ),
        (
            "    thresholds: {calibration: {min_chunks: 50, max_chunks: 20}}\n",
            ["max_chunks (20) is below min_chunks (50)"],
        ),
        (
            "    thresholds: {mode: sometimes}\n",
            ["models.0.thresholds.mode", "auto", "calibrated", "fixed"],
        ),
        (
            "    window: {days: 7, min_rows: 500}\n",
            ["models.0.window", "'days' or 'min_rows', not both", ":15:"],
        ),
    ],
)
def test_bad_threshold_and_window_settings_name_key_and_line(tmp_path, block, fragments):
    path = write(tmp_path / "models.yaml", _with_thresholds(block))
    with pytest.raises(ConfigError) as err:
        load_project(path)
    message = str(err.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
