"""The detection bench's measuring rules, on hand-made evaluations and episodes."""

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from monitoring_assets.core.config import ScenarioEvent, load_project

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_detection", ROOT / "bench/bench_detection.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_detection"] = bench  # dataclasses look their module up
_spec.loader.exec_module(bench)

START = dt.date(2026, 6, 1)


def _result(events, evaluations=(), episodes=(), days=40, label_delay=7):
    return bench.RunResult(
        name="demo",
        mode="fixed",
        days=days,
        wall_s=1.0,
        status=0,
        model="churn",
        start=START,
        label_delay=label_delay,
        events=[ScenarioEvent(**e) for e in events],
        evaluations=list(evaluations),
        episodes=list(episodes),
    )


def _ev(i, asset, check, day, passed):
    return bench.Evaluation(i, asset, check, START + dt.timedelta(days=day), passed, "WARN")


def test_delay_counts_the_first_new_failure_and_skips_checks_an_earlier_event_broke():
    evals = [
        # drift_share fails from day 5 on (an earlier event): masked for the shock on day 20
        *[
            _ev(i, "data_drift", "drift_share_below_threshold", d, d < 5)
            for i, d in enumerate(range(30))
        ],
        # critical features start failing 2 days after the shock
        *[
            _ev(100 + d, "data_drift", "critical_features_not_drifted", d, d < 22)
            for d in range(30)
        ],
        # an unrelated check failing on the shock's day does not count
        _ev(200, "data_quality", "row_count_stable", 20, False),
    ]
    rows = bench.event_rows(_result([{"kind": "sudden_shock", "day": 20}], evals))
    assert rows[0]["check_delay"] == 2
    assert rows[0]["check"] == "data_drift/critical_features_not_drifted"
    assert rows[0]["verdict"] == "MISSED"  # a shock must show on its first day


def test_a_re_evaluated_partition_counts_by_its_newest_evaluation():
    evals = [
        _ev(1, "data_quality", "no_unseen_categories", 10, False),
        _ev(2, "data_quality", "no_unseen_categories", 10, True),  # rerun passed
        _ev(3, "data_quality", "no_unseen_categories", 11, False),
    ]
    event = {"kind": "new_category", "day": 10, "feature": "payment_method", "value": "x"}
    row = bench.event_rows(_result([event], evals))[0]
    assert row["check_delay"] == 1


def test_label_checks_count_from_the_day_labels_arrive_and_alerts_from_their_opening():
    evals = [_ev(d, "model_performance", "concept_drift", d, d < 31) for d in range(40)]
    episodes = [
        bench.Episode(
            "a1", "model_performance", "concept_drift", "warning", START + dt.timedelta(days=33)
        ),
        bench.Episode(
            "a0", "model_performance", "concept_drift", "warning", START + dt.timedelta(days=2)
        ),
    ]
    row = bench.event_rows(_result([{"kind": "concept_drift", "day": 30}], evals, episodes))[0]
    assert row["check_delay"] == 1 + 7
    assert row["alert_delay"] == 3 + 7  # the episode opened before the event is not its alert
    assert row["verdict"] == "MISSED"  # 8 > the 7 days labels take


def test_a_ramp_is_detected_within_its_ramp_and_events_past_the_run_are_not_run():
    evals = [
        _ev(d, "prediction_drift", "prediction_drift_below_threshold", d, d < 14) for d in range(40)
    ]
    events = [
        {"kind": "covariate_shift", "day": 10, "feature": "tenure", "ramp_days": 20},
        {"kind": "traffic_drop", "day": 45, "magnitude": 0.5},
    ]
    ramp, late = bench.event_rows(_result(events, evals))
    assert (ramp["check_delay"], ramp["verdict"]) == (4, "ok")
    assert late["verdict"] == "not run"


def test_control_rows_count_episodes_per_100_days_and_failing_days():
    evals = [
        _ev(1, "data_drift", "drift_share_below_threshold", 3, False),
        _ev(2, "data_quality", "row_count_stable", 3, False),
        _ev(3, "data_quality", "row_count_stable", 9, False),
        _ev(4, "data_quality", "row_count_stable", 10, True),
    ]
    episodes = [
        bench.Episode("a", "data_drift", "drift_share_below_threshold", "critical", START),
        bench.Episode("b", "data_quality", "row_count_stable", "warning", START),
        bench.Episode("c", "data_quality", "row_count_stable", "warning", START),
    ]
    row = bench.control_row(_result([], evals, episodes, days=20))
    assert row["episodes"] == 3 and row["episodes_per_100_days"] == 15.0
    assert (row["critical"], row["warning"], row["info"]) == (1, 2, 0)
    assert row["failing_check_days_per_100"] == 10.0  # days 3 and 9 of 20


@pytest.mark.parametrize("existing", [None, "fixed", {"mode": "auto", "calibration": {"k": 4}}])
def test_with_mode_sets_the_threshold_mode_and_keeps_the_rest(tmp_path, existing):
    src = ROOT / "bench" / "scenarios" / "control_50.yaml"
    doc = yaml.safe_load(src.read_text())
    if existing is not None:
        doc["models"][0]["thresholds"] = existing
    (tmp_path / "in.yaml").write_text(yaml.safe_dump(doc))
    out = bench.with_mode(tmp_path / "in.yaml", "calibrated", tmp_path / "out.yaml")
    model = load_project(out).models[0]
    assert model.thresholds.mode == "calibrated"
    if isinstance(existing, dict):
        assert model.thresholds.calibration.k == 4
    assert model.source.scenario.rows_per_day == 50


def test_every_control_file_is_a_valid_model_file_with_nothing_injected():
    files = sorted((ROOT / "bench" / "scenarios").glob("control_*.yaml"))
    assert len(files) == 8
    volumes = set()
    for f in files:
        scenario = load_project(f).models[0].source.scenario
        assert scenario.events == [] and scenario.days == 120
        assert (scenario.seasonality.weekly > 0) == f.stem.endswith("_weekly")
        volumes.add(scenario.rows_per_day)
    assert volumes == {50, 200, 2000, 20000}


def test_the_default_rows_are_the_default_mode(tmp_path):
    """The row labelled default is what a model file without ``thresholds`` gets."""
    doc = yaml.safe_load(bench.SCENARIOS.joinpath("control_50.yaml").read_text())
    assert "thresholds" not in doc["models"][0]
    default = load_project(bench.SCENARIOS / "control_50.yaml").models[0].thresholds.mode
    assert bench.MODES == ("fixed", default)
    assert bench.mode_label(default) == f"{default} (default)"
    assert bench.mode_label("calibrated") == "calibrated"
