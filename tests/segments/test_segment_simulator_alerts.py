"""The simulator's segment columns and segment-restricted events; per-segment alert events."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from monitoring_assets.core.alerts.lineage import CheckEvent, build_lineage, summarize
from monitoring_assets.core.alerts.segments import per_segment, with_segment_causes
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.segment_checks import SEGMENT_DETAILS, SEGMENT_VERDICTS
from monitoring_assets.core.simulator import Simulator
from tests.segments.helpers import day, segment_model


def _without_segments(model: ModelConfig, events=None) -> ModelConfig:
    data = model.model_dump(mode="json")
    data["source"]["scenario"]["segments"] = {}
    data["source"]["scenario"]["events"] = events or []
    data["segments"] = []
    return ModelConfig.model_validate(data)


def test_segment_columns_leave_every_other_column_byte_identical():
    seg = segment_model(days=3, rows=500)
    plain = _without_segments(seg)
    for i in range(3):
        a, b = (
            Simulator(seg).inference_day(day(seg, i)),
            Simulator(plain).inference_day(day(seg, i)),
        )
        assert list(a.columns) == [*b.columns, "country"]
        pd.testing.assert_frame_equal(a.drop(columns="country"), b)
        la, lb = Simulator(seg).labels_day(day(seg, i)), Simulator(plain).labels_day(day(seg, i))
        pd.testing.assert_frame_equal(la, lb)
    ra, rb = Simulator(seg).reference(), Simulator(plain).reference()
    pd.testing.assert_frame_equal(ra.drop(columns="country"), rb)
    assert set(ra.country) == {"DE", "FR", "ES", "IT", "NL", "BE"}


def test_an_event_restricted_to_a_segment_changes_only_its_rows():
    shock = {"kind": "sudden_shock", "day": 1, "magnitude": 1.35, "segment": {"country": "DE"}}
    seg = segment_model(days=3, rows=800, events=[shock])
    calm = segment_model(days=3, rows=800)
    a = Simulator(seg).inference_day(day(seg, 2))
    b = Simulator(calm).inference_day(day(seg, 2))
    de = a.country == "DE"
    pd.testing.assert_frame_equal(a[~de], b[~de])
    ratio = (a[de].monthly_charges / b[de].monthly_charges).round(2)
    assert (ratio.between(1.34, 1.36)).mean() > 0.95
    assert Simulator(seg).truth(day(seg, 2)).columns  # the truth still names the columns


def test_a_segment_event_must_name_a_known_segment_value():
    with pytest.raises(ValidationError, match="segment country='XX' is not a value"):
        segment_model(
            days=2,
            events=[
                {"kind": "traffic_drop", "day": 0, "magnitude": 0.5, "segment": {"country": "XX"}}
            ],
        )


def _event(passed: bool, verdicts: dict, **meta) -> CheckEvent:
    return CheckEvent(
        event_id=7,
        asset_key=("churn", "segment_drift"),
        check="segments_not_drifted",
        passed=passed,
        severity="WARN",
        timestamp=dt.datetime(2026, 6, 5, tzinfo=dt.UTC),
        partition="2026-06-05",
        metadata={
            SEGMENT_VERDICTS: verdicts,
            SEGMENT_DETAILS: {s: {"rows": 10, "drift_share": 0.5} for s in verdicts},
            **meta,
        },
        description="country=DE drifted (features monthly_charges, 1 day); country=ES drifted (x)",
    )


def test_a_segment_check_splits_into_one_event_per_segment_with_its_own_key():
    e = _event(False, {"country=DE": False, "country=ES": False, "country=FR": True})
    parts = {p.segment: p for p in per_segment(e)}
    assert set(parts) == {"country=DE", "country=ES", "country=FR"}
    assert not parts["country=DE"].passed and parts["country=FR"].passed
    assert parts["country=DE"].description.startswith("country=DE drifted (features monthly")
    assert parts["country=DE"].metadata["drift_share"] == 0.5
    assert SEGMENT_VERDICTS not in parts["country=DE"].metadata
    assert len({p.fingerprint for p in parts.values()}) == 3
    plain = CheckEvent(
        7,
        ("churn", "data_drift"),
        "drift_share_below_threshold",
        False,
        "WARN",
        e.timestamp,
        "2026-06-05",
    )
    assert per_segment(plain) == [plain]  # no verdicts: unchanged, the old fingerprint
    lineage = build_lineage(parts["country=DE"], "v1", "warning", "http://ui").to_dict()
    assert lineage["segment"] == "country=DE"
    assert "· country=DE" in summarize(lineage)


def test_drift_alerts_get_the_days_segment_causes():
    causes = [{"kind": "segment", "segment": "country=DE", "share": 0.9}]
    ts = dt.datetime(2026, 6, 5, tzinfo=dt.UTC)
    failed = CheckEvent(
        1, ("churn", "data_drift"), "drift_share_below_threshold", False, "WARN", ts, "2026-06-05"
    )
    passed = CheckEvent(
        2, ("churn", "data_drift"), "drift_share_below_threshold", True, "WARN", ts, "2026-06-05"
    )
    other = CheckEvent(
        3, ("churn", "data_quality"), "row_count_stable", False, "WARN", ts, "2026-06-05"
    )
    got = with_segment_causes(
        [failed, passed, other], lambda m, p, k: causes if k == "drift" else []
    )
    assert got[0].metadata["causes"] == causes and got[0].fingerprint == failed.fingerprint
    assert "causes" not in got[1].metadata and "causes" not in got[2].metadata
    lineage = build_lineage(got[0], "v1", "warning", "http://ui").to_dict()
    assert lineage["causes"] == causes
    assert summarize(lineage).endswith("top causes: country=DE 90%")
