"""`driftwarden init` on generated files: what it infers, what it writes, what it refuses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import yaml

from monitoring_assets.cli import main
from monitoring_assets.core.config import load_project
from tests.onboarding.data import START, write_files


def init(tmp_path, *extra: str, name: str = "fraud", root=None, fmt: str = "parquet") -> int:
    root = root or tmp_path / "data"
    args = ["init", "--name", name, "--reference", str(root / f"reference.{fmt}")]
    return main(args + list(extra))


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path / "data")


def _model(path):
    return yaml.safe_load(path.read_text())["models"][0]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_init_writes_a_model_file_that_validates(tmp_path, capsys, fmt):
    root = write_files(tmp_path / "data", fmt=fmt)
    out = tmp_path / "fraud.yaml"
    rc = init(
        tmp_path,
        "--logs",
        str(root / "logs" / f"{{date}}.{fmt}"),
        "--labels",
        str(root / "labels" / f"{{date}}.{fmt}"),
        "-o",
        str(out),
        fmt=fmt,
    )
    assert rc == 0, capsys.readouterr().err
    m = _model(out)
    types = {f["name"]: f["type"] for f in m["features"]}
    # The generator's design: floats and many-valued integers are numerical; a boolean,
    # a 5-valued integer and 4 country codes are categorical; the per-row merchant id and
    # the sentences are not features.
    assert types == {
        "amount": "numerical",
        "account_age_days": "numerical",
        "n_items": "categorical",
        "country": "categorical",
        "is_new_device": "categorical",
    }
    assert m["columns"] == {
        "id": "request_id",
        "timestamp": "event_time",
        "prediction": "prediction",
        "probability": "score",
        "target": "is_fraud",
        "latency": "latency_ms",
    }
    assert m["task"] == "binary_classification" and m["classes"] == [0, 1]
    assert m["start_date"] == START
    assert m["source"]["format"] == fmt
    assert m["allow_extra_columns"] is True  # merchant_id and note are in the logs
    text = out.read_text()
    assert "#   merchant_id: an identifier" in text
    assert "#   note: free text" in text
    assert "Reference: 2000 rows" in text
    assert "missing 0.0%" in text
    assert "by name and content" in text and "the first log partition" in text
    capsys.readouterr()
    assert main(["validate", str(out)]) == 0
    assert "fraud v1: 5 features, source files" in capsys.readouterr().out
    project = load_project(out)
    assert project.models[0].source.kind == "files"


def test_missing_share_and_inferred_roles_are_comments(tmp_path, files, capsys):
    ref = pd.read_parquet(files / "reference.parquet")
    ref.loc[ref.index[:500], "amount"] = None  # 500 of 2000 rows: 25.0%
    ref.to_parquet(files / "reference.parquet")
    assert init(tmp_path, "--logs", str(files / "logs"), "-o", "-") == 0
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if '"amount"' in x)
    assert "missing 25.0%" in line
    # Logs as a folder of plain files: the start is the first timestamp.
    assert f"start_date: {START}  # the first 'event_time'" in text
    # No labels, and the target is not named like one: the reference's one column
    # that the logs lack.
    assert 'target: "is_fraud"  # the only column of' in text


def test_a_role_given_by_flag_is_taken_and_said(tmp_path, files, capsys):
    out = tmp_path / "m.yaml"
    assert (
        init(
            tmp_path,
            "--logs",
            str(files / "logs/{date}.parquet"),
            "--probability",
            "score",
            "--latency",
            "latency_ms",
            "-o",
            str(out),
        )
        == 0
    )
    text = out.read_text()
    assert 'probability: "score"  # given with --probability' in text


def test_two_candidates_for_a_role_are_an_error_asking_for_the_flag(tmp_path, files, capsys):
    for p in [files / "reference.parquet", *sorted((files / "logs").iterdir())]:
        df = pd.read_parquet(p)
        df["created_at"] = df["event_time"]
        df["eventtime"] = df["event_time"]  # same rank as event_time
        df.to_parquet(p)
    out = tmp_path / "m.yaml"
    rc = init(tmp_path, "--logs", str(files / "logs/{date}.parquet"), "-o", str(out))
    err = capsys.readouterr().err
    assert rc == 2
    assert "more than one column could be the timestamp" in err
    assert "'event_time'" in err and "'eventtime'" in err and "--timestamp COLUMN" in err
    assert not out.exists()
    assert (
        init(
            tmp_path,
            "--logs",
            str(files / "logs/{date}.parquet"),
            "--timestamp",
            "event_time",
            "--exclude",
            "created_at",
            "--exclude",
            "eventtime",
            "-o",
            str(out),
        )
        == 0
    )


def test_a_reference_without_the_prediction_says_it_needs_one(tmp_path, files, capsys):
    pd.read_parquet(files / "reference.parquet").drop(columns=["prediction"]).to_parquet(
        files / "reference.parquet"
    )
    assert init(tmp_path, "--logs", str(files / "logs/{date}.parquet"), "-o", "-") == 2
    err = capsys.readouterr().err
    assert "the logs have the prediction column 'prediction'" in err
    assert str(files / "reference.parquet") in err


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda ref: ref.assign(amount=None), "column 'amount' is entirely null"),
        (
            lambda ref: ref[["request_id", "event_time", "prediction", "score", "note"]],
            "no usable feature column",
        ),
    ],
)
def test_bad_reference_names_the_file_and_column(tmp_path, files, capsys, spoil, message):
    ref = files / "reference.parquet"
    spoil(pd.read_parquet(ref)).to_parquet(ref)
    out = tmp_path / "m.yaml"
    assert init(tmp_path, "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert message in err and str(ref) in err
    assert not out.exists()


def test_not_parquet_or_csv_and_empty_glob_are_named(tmp_path, files, capsys):
    bad = files / "reference.bin"
    bad.write_bytes(b"\x00\x01 not a table")
    assert main(["init", "--name", "x", "--reference", str(bad), "-o", "-"]) == 2
    assert f"{bad} is not a Parquet or CSV file" in capsys.readouterr().err
    fake = files / "fake.parquet"
    fake.write_text("a,b\n1,2\n")
    assert main(["init", "--name", "x", "--reference", str(fake), "-o", "-"]) == 2
    assert f"reference file {fake} is not a readable parquet file" in capsys.readouterr().err
    pattern = str(files / "nowhere" / "{date}.parquet")
    assert init(tmp_path, "--logs", pattern, "-o", "-") == 2
    assert f"the pattern {pattern!r} matches no file" in capsys.readouterr().err
    assert init(tmp_path, "--logs", str(files / "logs" / "*.csv"), "-o", "-") == 2
    assert "the glob matches nothing" in capsys.readouterr().err


def test_labels_without_the_id_are_named(tmp_path, files, capsys):
    for p in sorted((files / "labels").iterdir()):
        pd.read_parquet(p).rename(columns={"request_id": "rid"}).to_parquet(p)
    assert (
        init(
            tmp_path,
            "--logs",
            str(files / "logs/{date}.parquet"),
            "--labels",
            str(files / "labels/{date}.parquet"),
            "-o",
            "-",
        )
        == 2
    )
    assert "have no id column 'request_id'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "target, task",
    [
        (lambda n, rng: rng.normal(100, 20, n), "regression"),
        (lambda n, rng: rng.integers(0, 4, n), "multiclass"),
    ],
)
def test_a_task_the_model_file_does_not_accept_yet_is_refused(
    tmp_path, files, capsys, target, task
):
    rng = np.random.default_rng(0)
    for p in sorted((files / "labels").iterdir()):
        df = pd.read_parquet(p)
        df["is_fraud"] = target(len(df), rng)
        df.to_parquet(p)
    from monitoring_assets.core.onboarding import supported_tasks

    rc = init(
        tmp_path,
        "--logs",
        str(files / "logs/{date}.parquet"),
        "--labels",
        str(files / "labels/{date}.parquet"),
        "-o",
        "-",
    )
    if task in supported_tasks():  # the schema learnt it: the file names it
        out = capsys.readouterr().out
        assert rc == 0 and f"task: {task}" in out
        assert "probability: null" in out  # a binary model's single probability column
        if task == "multiclass":
            assert "classes: [0, 1, 2, 3]" in out
    else:
        assert rc == 2
        err = capsys.readouterr().err
        assert f"looks like a {task} task" in err and "not support yet" in err


def test_an_existing_file_is_kept_without_force(tmp_path, files, capsys):
    out = tmp_path / "m.yaml"
    out.write_text("mine\n")
    assert init(tmp_path, "-o", str(out)) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert out.read_text() == "mine\n"
    assert init(tmp_path, "-o", str(out), "--force") == 0
    assert "models:" in out.read_text()


def test_no_logs_starts_today_and_says_so(tmp_path, files, capsys):
    assert init(tmp_path, "-o", "-") == 0
    text = capsys.readouterr().out
    today = dt.datetime.now(dt.UTC).date()
    assert f"start_date: {today}  # no logs given" in text
    # Nothing to tell the target by: the default name, said so, and no silent pick.
    assert "target: target  # no labels given" in text
    assert "is_fraud" in text  # listed, as a feature, for the reader to judge


def test_odd_column_names_stay_in_their_comments(tmp_path, files, capsys):
    ref = pd.read_parquet(files / "reference.parquet")
    ref["free\nform # text"] = ref["note"]
    ref.to_parquet(files / "reference.parquet")
    out = tmp_path / "m.yaml"
    assert init(tmp_path, "-o", str(out)) == 0, capsys.readouterr().err
    assert "#   free\\nform # text: free text" in out.read_text()
    assert main(["validate", str(out)]) == 0


def test_a_pattern_starting_with_the_date_is_made_absolute(tmp_path, files, monkeypatch, capsys):
    monkeypatch.chdir(files / "logs")
    assert init(tmp_path, "--logs", "{date}.parquet", "-o", str(tmp_path / "m.yaml")) == 0
    source = _model(tmp_path / "m.yaml")["source"]
    assert source["inference"] == f"{files / 'logs'}/{{date}}.parquet"


def test_a_name_the_model_file_refuses_is_named_with_the_file_it_would_write(
    tmp_path, files, capsys
):
    out = tmp_path / "m.yaml"
    assert init(tmp_path, "-o", str(out), name="Fraud Model") == 2
    err = capsys.readouterr().err
    assert f"{out}:5: models.0.name" in err and "'Fraud Model'" in err
    assert not out.exists()
