"""``driftwarden validate`` on a files source checks the files, not only the YAML."""

from __future__ import annotations

import pandas as pd
import pytest

from monitoring_assets.cli import main
from tests.files.data import days, make_files


@pytest.fixture
def files(tmp_path):
    return tmp_path / "data"


def _validate(path, capsys):
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_good_files_pass_and_every_check_is_printed(files, capsys):
    path = make_files(files, 2, 20)
    code, out, err = _validate(path, capsys)
    assert code == 0, err
    assert "path placeholders: {date} in inference and labels" in out
    assert f"reference {files}/reference.csv: 600 rows, every declared column present" in out
    assert f"inference file {files}/logs/{days(1)[0]}.csv" in out
    assert f"label file {files}/labels/{days(1)[0]}.csv" in out and "id and target" in out


def test_an_unknown_placeholder_is_refused(files, capsys):
    path = make_files(files, 1, 20)
    path.write_text(path.read_text().replace("logs/{date}", "logs/{day}"))
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert "brace that is not the {date} placeholder" in err and "inference" in err


def test_a_placeholder_in_the_reference_is_refused(files, capsys):
    path = make_files(files, 1, 20)
    path.write_text(path.read_text().replace("reference.csv", "reference-{date}.csv"))
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert "source.reference" in err and "takes no {date}" in err


def test_a_missing_reference_is_named(files, capsys):
    path = make_files(files, 1, 20)
    (files / "reference.csv").unlink()
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert f"reference {files}/reference.csv: no such file" in err


def test_a_reference_without_a_declared_column_is_named(files, capsys):
    path = make_files(files, 1, 20)
    ref = files / "reference.csv"
    pd.read_csv(ref).drop(columns=["visits"]).to_csv(ref, index=False)
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert "['visits']" in err and str(ref) in err


def test_label_files_without_the_target_column_are_named(files, capsys):
    path = make_files(files, 2, 20)
    for d in days(2):
        lab = files / "labels" / f"{d}.csv"
        pd.read_csv(lab).rename(columns={"bought": "label"}).to_csv(lab, index=False)
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert f"label file {files}/labels/{days(1)[0]}.csv lacks column(s) ['bought']" in err


def test_inference_files_without_a_declared_column_are_named(files, capsys):
    path = make_files(files, 1, 20, layout="single")
    inf = files / "inference.csv"
    pd.read_csv(inf).drop(columns=["channel"]).to_csv(inf, index=False)
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert f"inference file {inf} lacks declared column(s) ['channel']" in err


def test_a_files_model_without_a_trainer_is_told_retraining_is_off(files, capsys):
    path = make_files(files, 1, 20)
    code, out, err = _validate(path, capsys)
    assert code == 0, err
    assert "note retraining: off" in out and "training: {entry_point" in out


def test_a_trainer_that_does_not_import_fails_validate(files, capsys):
    path = make_files(files, 1, 20)
    text = path.read_text()
    assert "    source:" in text
    path.write_text(
        text.replace("    source:", "    training: {entry_point: 'no_such_pkg.mod:fit'}\n    source:", 1)
    )
    code, _, err = _validate(path, capsys)
    assert code == 2
    assert "retraining: BROKEN" in err and "no_such_pkg" in err
