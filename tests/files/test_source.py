"""The files source reader on real files: one read per file per run, day splitting."""

from __future__ import annotations

import pytest

from monitoring_assets.core.config import load_project
from monitoring_assets.core.schema import SchemaError
from resources.sources import FileAdapter
from tests.files.data import days, make_files


def test_a_single_file_is_read_once_for_every_day(tmp_path):
    project = load_project(make_files(tmp_path, 4, 50, layout="single"))
    adapter = FileAdapter(project.models[0])
    first = adapter.inference_day(days(1)[0])
    labels = adapter.labels_day(days(1)[0])
    # Gone after the first day: the other days come from the one read.
    (tmp_path / "inference.csv").unlink()
    (tmp_path / "labels.csv").unlink()
    counts = [len(adapter.inference_day(d)) for d in days(4)]
    assert len(first) == 50 and counts == [50, 50, 50, 50]
    assert len(labels) == 50
    assert [len(adapter.labels_day(d)) for d in days(4)] == [50, 50, 50, 50]
    assert set(adapter.inference_day(days(4)[3]).request_id.str[:10]) == {days(4)[3].isoformat()}


def test_a_day_absent_from_a_single_file_is_named(tmp_path):
    project = load_project(make_files(tmp_path, 2, 50, layout="single"))
    adapter = FileAdapter(project.models[0])
    with pytest.raises(FileNotFoundError, match=r"no row of 2026-03-01 in .*inference.csv"):
        adapter.inference_day(days(1)[0].replace(month=3))


def test_a_bad_timestamp_names_the_file_and_column(tmp_path):
    project = load_project(make_files(tmp_path, 1, 10, layout="single"))
    path = tmp_path / "inference.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[1], "yesterday-ish")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SchemaError, match=r"'timestamp' in inference file\(s\) .*inference.csv"):
        FileAdapter(project.models[0]).inference_day(days(1)[0])
