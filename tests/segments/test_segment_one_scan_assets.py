"""A segmented model's day is scanned once: ``feature_profiles`` stores the segment
profiles with the day's, ``segment_drift`` judges from them without reading the logs,
and its results equal those of the per-segment scan (``profile_segments``)."""

from __future__ import annotations

import math
import os

import dagster as dg
import pytest
import yaml

from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.segment_causes import drift_causes
from monitoring_assets.core.segment_days import reference_frame
from monitoring_assets.core.segment_drift import SegmentCalibration, judge_segments
from monitoring_assets.core.segments import plan_segments, profile_segment_days, profile_segments
from monitoring_assets.definitions import build_definitions, build_resources
from monitoring_assets.history import range_tags
from resources.lake import open_lake
from resources.warehouse import open_warehouse
from tests.segments.helpers import day, segment_model

DAYS = 6
SHOCK = 3
COMPARED = [
    "segment",
    "rows",
    "window_rows",
    "window",
    "share",
    "reference_share",
    "mix_z",
    "mix_shift",
    "tested_features",
    "drifted_features",
    "drift_share",
    "prediction_score",
    "prediction_threshold",
    "prediction_drifted",
    "missing_share",
    "threshold_mode",
    "judged",
    "drifted",
    "reason",
]


@pytest.fixture
def project(tmp_path, monkeypatch):
    events = [
        {"kind": "sudden_shock", "day": SHOCK, "magnitude": 1.4, "segment": {"country": "DE"}}
    ]
    # 400 rows a day: the small countries' segments need trailing days in their windows
    model = segment_model(days=DAYS, rows=400, events=events, name="churn")
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": [model.model_dump(mode="json", exclude_none=True)]}))
    monkeypatch.setenv("DRIFTWARDEN_MODELS", str(path))
    return load_project(path)


def _run(project, home, instance, wanted):
    defs = build_definitions(project, home)
    model = project.models[0]
    keys = [day(model, i).isoformat() for i in range(DAYS)]
    selection = [
        k
        for k in defs.resolve_asset_graph().get_all_asset_keys()
        if k.path[0] == model.name and k.path[-1] in wanted
    ]
    result = dg.materialize(
        [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
        selection=selection,
        instance=instance,
        resources=build_resources(home),
        tags=range_tags(keys),
        raise_on_error=False,
    )
    assert result.success, result.get_run_failure_event()
    return result


def _two_pass_rows(lake, model):
    """segment_results as the per-segment scan of every day computes them."""
    ref = reference_frame(lake, model)
    plans = plan_segments(ref, model)
    ref_profiles = {k: p for (_, k), p in profile_segments(ref, model, plans).items()}
    dates = [day(model, i) for i in range(DAYS)]
    profiles = profile_segment_days(lake, model, plans, dates)
    calibration = SegmentCalibration(model, ref, plans)
    out = {}
    for d in dates:
        for r in judge_segments(model, d, profiles, ref_profiles, calibration, plans):
            row = r.row()
            out[(d, r.segment)] = {c: row.get(c) for c in COMPARED}
        today = {k: p for (dd, k), p in profiles.items() if dd == d}
        out[(d, "causes")] = drift_causes(ref_profiles, today, list(profiled_columns(model)))
    return out


def _same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _stored_rows(wh, model):
    df = wh.query("SELECT * FROM segment_results WHERE model = ?", [model.name])
    out = {}
    for rec in df.to_dict("records"):
        d = rec["partition_date"]
        d = d.date() if hasattr(d, "date") else d
        out[(d, rec["segment"])] = {c: rec[c] for c in COMPARED}
    return out


def _assert_equal(stored, expected):
    want = {k: v for k, v in expected.items() if k[1] != "causes"}
    assert set(stored) == set(want)
    for key, row in want.items():
        got = stored[key]
        diff = {c: (got[c], row[c]) for c in COMPARED if not _same(_norm(got[c]), _norm(row[c]))}
        assert not diff, (key, diff)


def _norm(v):
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, int) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, float) and math.isnan(v):
        return None  # the warehouse stores a missing number as NaN
    return v


def test_segment_drift_equals_the_two_pass_scan_and_reads_no_log(project, home):
    model = project.models[0]
    with dg.instance_for_test() as instance:
        _run(project, home, instance, {"reference_data", "inference_logs", "feature_profiles"})
        lake = open_lake(home.lake_location)
        wh = open_warehouse(home.warehouse_location)
        stored = wh.query(
            "SELECT DISTINCT partition_date FROM segment_profiles WHERE model = ?", [model.name]
        )
        assert len(stored) == DAYS  # feature_profiles stored every day's segment profiles
        expected = _two_pass_rows(lake, model)
        # the logs gone: segment_drift can only have read the stored profiles
        for i in range(DAYS):
            path = lake.day_location(model.name, "inference_logs", day(model, i))
            os.rename(path, path + ".moved")
        _run(project, home, instance, {"segment_drift"})
        _assert_equal(_stored_rows(wh, model), expected)
        drifted = wh.query(
            "SELECT partition_date FROM segment_results WHERE model = ? AND segment = ? "
            "AND drifted ORDER BY 1",
            [model.name, "country=DE"],
        )
        assert len(drifted) >= 1  # the shock limited to DE is seen through the stored profiles


def test_a_day_without_stored_segment_profiles_is_scanned_and_logged(project, home):
    model = project.models[0]
    with dg.instance_for_test() as instance:
        _run(project, home, instance, {"reference_data", "inference_logs", "feature_profiles"})
        lake = open_lake(home.lake_location)
        wh = open_warehouse(home.warehouse_location)
        expected = _two_pass_rows(lake, model)
        # a day profiled before segment profiles were stored with the day's
        gone = day(model, 2)
        wh.execute(
            "DELETE FROM segment_profiles WHERE model = ? AND partition_date = ?",
            [model.name, gone],
        )
        result = _run(project, home, instance, {"segment_drift"})
        logs = [
            e.message
            for e in instance.all_logs(result.run_id)
            if "no stored segment profiles" in (e.message or "")
        ]
        assert logs and f"1 day(s) ({gone} .. {gone})" in logs[0]
        _assert_equal(_stored_rows(wh, model), expected)
        again = wh.query(
            "SELECT count(*) AS n FROM segment_profiles WHERE model = ? AND partition_date = ?",
            [model.name, gone],
        )
        assert int(again.n.iloc[0]) > 0  # the scanned day's profiles are stored
