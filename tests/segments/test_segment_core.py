"""Segments in the core, on real DuckDB and the simulator: profiles, judging, causes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.profile import merge_profiles
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.segment_causes import drift_causes, performance_causes
from monitoring_assets.core.segment_drift import SegmentCalibration, judge_segments
from monitoring_assets.core.segments import (
    OTHER,
    bin_labels,
    plan_segments,
    profile_segments,
)
from monitoring_assets.core.simulator import Simulator
from tests.segments.helpers import day, segment_model

SHOCK_DAY = 5
DAYS = 25


def _shock(segment="DE"):
    return [
        {
            "kind": "sudden_shock",
            "day": SHOCK_DAY,
            "magnitude": 1.35,
            "segment": {"country": segment},
        }
    ]


def _run(model, days):
    sim = Simulator(model)
    ref = sim.reference()
    plans = plan_segments(ref, model)
    refp = {k: p for (_, k), p in profile_segments(ref, model, plans).items()}
    profiles = {}
    for i in range(days):
        d = day(model, i)
        for (_, k), p in profile_segments(sim.inference_day(d), model, plans).items():
            profiles[(d, k)] = p
    return sim, ref, plans, refp, profiles


def test_segment_profiles_merge_into_the_day_profile():
    model = segment_model(days=2, rows=800)
    sim = Simulator(model)
    frame = sim.inference_day(day(model, 0))
    plans = plan_segments(sim.reference(), model)
    parts = profile_segments(frame, model, plans)
    assert {k for _, k in parts} == {f"country={c}" for c in ("DE", "FR", "ES", "IT", "NL", "BE")}
    merged = merge_profiles(list(parts.values()))
    whole = profile_frame(frame, profiled_columns(model))
    assert merged.rows == whole.rows == len(frame)
    for name, col in whole.columns.items():
        m = merged.columns[name]
        assert m.count == col.count and m.missing == col.missing
        assert np.array_equal(m.values, col.values) and np.array_equal(m.counts, col.counts)
    # each segment's rows are exactly the frame's rows of that country
    assert parts[("", "country=DE")].rows == int((frame.country == "DE").sum())


def test_top_k_pools_the_rest_as_other_and_bins_label_numbers():
    model = segment_model(days=1, settings={"top_k": 2})
    sim = Simulator(model)
    (plan,) = plan_segments(sim.reference(), model)
    assert plan.values == ("DE", "FR") and plan.pooled
    frame = sim.inference_day(day(model, 0))
    parts = profile_segments(frame, model, [plan])
    assert parts[("", f"country={OTHER}")].rows == int((~frame.country.isin(["DE", "FR"])).sum())
    assert bin_labels([0, 30, 50]) == ["<0", "[0, 30)", "[30, 50)", ">=50"]


def test_numeric_segment_with_bins_and_a_missing_value():
    data = segment_model(days=1).model_dump(mode="json")
    data["features"] = [f for f in data["features"] if f["name"] != "tenure"] + [
        {"name": "tenure", "type": "numerical"}
    ]
    data["segments"] = [{"column": "tenure", "bins": [12, 36]}]
    model = ModelConfig.model_validate(data)
    frame = pd.DataFrame(
        {
            "request_id": [str(i) for i in range(6)],
            "tenure": [1.0, 12.0, 20.0, 36.0, 70.0, None],
            **{c: [1.0] * 6 for c in ("monthly_charges", "total_charges", "num_services")},
            **{c: ["a"] * 6 for c in ("contract_type", "payment_method", "internet_service")},
            "prediction": [0] * 6,
            "probability": [0.1] * 6,
        }
    )
    plans = plan_segments(frame, model)
    parts = profile_segments(frame, model, plans)
    got = {k: p.rows for (_, k), p in parts.items()}
    assert got == {"tenure=<12": 1, "tenure=[12, 36)": 2, "tenure=>=36": 2, "tenure=(missing)": 1}


def test_a_segment_with_one_row_is_profiled_and_not_judged():
    model = segment_model(days=1)
    sim = Simulator(model)
    frame = sim.inference_day(day(model, 0))
    frame = pd.concat([frame[frame.country != "BE"], frame[frame.country == "BE"].head(1)])
    plans = plan_segments(sim.reference(), model)
    parts = profile_segments(frame, model, plans)
    assert parts[("", "country=BE")].rows == 1
    profiles = {(day(model, 0), k): p for (_, k), p in parts.items()}
    refp = {k: p for (_, k), p in profile_segments(sim.reference(), model, plans).items()}
    cal = SegmentCalibration(model, sim.reference(), plans)
    (be,) = [
        r
        for r in judge_segments(model, day(model, 0), profiles, refp, cal, plans)
        if r.segment == "country=BE"
    ]
    assert be.rows == 1 and not be.judged and not be.drifted
    assert be.reason.startswith("insufficient data (1 rows < segment_settings.min_rows")


@pytest.mark.parametrize(
    "segments, words",
    [
        (["tenure"], "numerical feature; give its bins"),
        ([{"column": "contract_type", "bins": [1]}], "bins apply to numerical columns only"),
        (["country", "country"], "listed twice"),
        (["request_id"], "is the id column"),
        ([{"column": "age", "bins": [3, 1]}], "strictly increasing"),
    ],
)
def test_bad_segments_are_refused_with_the_reason(segments, words):
    data = segment_model(days=1).model_dump(mode="json")
    data["segments"] = segments
    with pytest.raises(ValidationError, match=words):
        ModelConfig.model_validate(data)


def test_injected_segment_ranks_first_on_95_percent_of_event_days():
    """A shock restricted to one country: that country is the top cause on ≥ 95 % of the
    event days, for each of three countries and two seeds (60 event days)."""
    firsts = total = 0
    for seed, country in ((3, "DE"), (4, "ES"), (5, "IT")):
        model = segment_model(days=DAYS, rows=2000, events=_shock(country), seed=seed)
        _, _, _, refp, profiles = _run(model, DAYS)
        columns = list(profiled_columns(model))
        for i in range(SHOCK_DAY, DAYS):
            d = day(model, i)
            today = {k: p for (dd, k), p in profiles.items() if dd == d}
            causes = drift_causes(refp, today, columns)
            total += 1
            firsts += causes[0].segment == f"country={country}"
            assert abs(sum(c.share for c in drift_causes(refp, today, columns, top=99)) - 1) < 1e-9
    assert total == 60
    print(f"segment ranked first on {firsts}/{total} event days")
    assert firsts / total >= 0.95


def test_shocked_segment_drifts_and_controls_stay_quiet_at_small_volumes():
    """At 600 rows a day the smallest countries hold ~20-60 rows a day: they are judged
    over windows, with thresholds calibrated for the window, and never fire on the
    unchanged days; the shocked country fires on every event day."""
    model = segment_model(days=DAYS, rows=600, events=_shock("DE"))
    _, ref, plans, refp, profiles = _run(model, DAYS)
    cal = SegmentCalibration(model, ref, plans)
    fired_control = judged_control = shocked = 0
    windows = set()
    for i in range(DAYS):
        d = day(model, i)
        for r in judge_segments(model, d, profiles, refp, cal, plans):
            if r.segment == "country=DE" and i >= SHOCK_DAY:
                shocked += r.drifted
                continue
            judged_control += r.judged
            fired_control += r.drifted or r.mix_shift
            if r.judged and r.rows < model.segment_settings.min_rows:
                windows.add(r.segment)
    print(f"control false alarms {fired_control}/{judged_control}, shocked {shocked}")
    assert shocked == DAYS - SHOCK_DAY
    assert judged_control >= 80
    assert fired_control == 0
    assert {"country=NL", "country=IT"} <= windows  # small segments judged over windows


@pytest.mark.parametrize("seed", [11, 12])
def test_a_control_history_never_fires_per_segment(seed):
    """No event, 300 rows a day (segments of ~10-90 rows a day), 30 days, with day-to-day
    variation: no segment drifts or shifts."""
    model = segment_model(days=30, rows=300, seed=seed)
    data = model.model_dump(mode="json")
    data["source"]["scenario"].update(day_variation=0.05, volume_jitter=0.2)
    model = ModelConfig.model_validate(data)
    _, ref, plans, refp, profiles = _run(model, 30)
    cal = SegmentCalibration(model, ref, plans)
    results = [
        r
        for i in range(30)
        for r in judge_segments(model, day(model, i), profiles, refp, cal, plans)
    ]
    judged = [r for r in results if r.judged]
    fired = [(r.segment, r.window) for r in results if r.drifted or r.mix_shift]
    print(f"seed {seed}: {len(fired)} false alarms in {len(judged)} judged segment-days")
    assert len(judged) >= 60
    assert fired == []


def test_mix_shift_of_a_segment_is_a_finding():
    drop = [{"kind": "traffic_drop", "day": 3, "magnitude": 0.3, "segment": {"country": "FR"}}]
    model = segment_model(days=6, rows=1500, events=drop)
    _, ref, plans, refp, profiles = _run(model, 6)
    cal = SegmentCalibration(model, ref, plans)
    shifted = {
        (i, r.segment)
        for i in range(6)
        for r in judge_segments(model, day(model, i), profiles, refp, cal, plans)
        if r.mix_shift
    }
    assert {(i, "country=FR") for i in (3, 4, 5)} <= shifted
    assert all(i >= 3 for i, _ in shifted)


def test_performance_causes_split_the_accuracy_drop_exactly():
    ref = {"c=A": (1000, 0.9), "c=B": (1000, 0.9), "c=C": (500, 0.8)}
    cur = {"c=A": (1000, 0.6), "c=B": (1000, 0.9), "c=C": (500, 0.8)}
    causes = performance_causes(ref, cur, top=3)
    assert causes[0].segment == "c=A"
    assert causes[0].share == pytest.approx(1.0)
    assert causes[0].change == pytest.approx(-0.3)
    # a mix change alone: more traffic to the weaker segment
    cur2 = {"c=A": (500, 0.9), "c=B": (500, 0.9), "c=C": (1500, 0.8)}
    total = sum(c.share for c in performance_causes(ref, cur2, top=9))
    assert total == pytest.approx(1.0)


def test_a_large_segment_calibrates_on_a_sample_of_its_reference(monkeypatch):
    import monitoring_assets.core.segment_drift as sd

    model = segment_model(days=1, rows=600)
    sim = Simulator(model)
    plans = plan_segments(sim.reference(), model)
    full = SegmentCalibration(model, sim.reference(), plans).for_rows("country=DE", 300)
    monkeypatch.setattr(sd, "CALIBRATION_ROWS", 1000)  # DE holds ~4,300 reference rows
    sampled = SegmentCalibration(model, sim.reference(), plans).for_rows("country=DE", 300)
    assert not full.reason and not sampled.reason
    assert set(sampled.columns) == set(full.columns)
    for name, t in sampled.columns.items():
        # the same statistic from fewer rows: the same order (40 chunks give σ to ~±25 %)
        assert 0.5 < t.threshold / full.columns[name].threshold < 2.0, name


@pytest.mark.parametrize("n_keys", [2, 21, 300])
def test_counting_values_of_several_partitions_matches_counting_each(n_keys):
    from monitoring_assets.core.profile_build import _sorted_counts

    rng = np.random.default_rng(n_keys)
    keys = rng.integers(0, n_keys, 50_000)
    values = np.round(rng.normal(size=50_000), 2)
    got = list(_sorted_counts(keys, values, n_keys))
    assert [k for k, _, _ in got] == sorted(set(keys.tolist()))
    for k, vals, cnts in got:
        want_v, want_c = np.unique(values[keys == k], return_counts=True)
        assert np.array_equal(vals, want_v) and np.array_equal(cnts, want_c)
