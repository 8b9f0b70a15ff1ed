"""Retraining core: challenger vs champion on one holdout, promotion rules, idempotency."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from monitoring_assets.core.challenger import (
    InsufficientLabels,
    RetrainingError,
    RetrainPolicy,
    review_decision,
    split_window,
)
from monitoring_assets.core.performance import CBPE
from monitoring_assets.core.retraining import retrain
from monitoring_assets.core.simulator import FEATURES, Simulator
from resources.model_registry import LocalModelRegistry, ModelStatus
from tests.performance.conftest import churn_model, day

SHOCK_DAY = 10


@pytest.fixture(scope="module")
def shock():
    """A sudden price shock on day 10 of 30 and the labeled post-shock window."""
    model = churn_model(
        [{"kind": "sudden_shock", "day": SHOCK_DAY, "magnitude": 1.35, "share": 0.5}],
        days=30,
        rows_per_day=1000,
    )
    sim = Simulator(model)
    frames = []
    for i in range(SHOCK_DAY, SHOCK_DAY + 14):
        date = day(model, i)
        rows = sim.inference_day(date).merge(
            sim.labels_day(date)[["request_id", "churn"]], on="request_id"
        )
        frames.append(rows.assign(partition_date=date))
    return model, sim, pd.concat(frames, ignore_index=True)


def _registry(tmp_path, model, sim) -> LocalModelRegistry:
    reg = LocalModelRegistry(tmp_path / "registry")
    reg.ensure_initial(model.name, model.version, sim.estimator, model.first_date)
    return reg


def _run(reg, model, window, trigger="evt-1", **kw):
    return retrain(
        model=model.name,
        registry=reg,
        window=window,
        features=FEATURES,
        target="churn",
        trigger=trigger,
        effective_from=day(model, 25),
        **kw,
    )


def test_shock_challenger_beats_champion_and_is_promoted(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)
    out = _run(reg, model, window)
    assert out.decision == "promoted" and out.trained
    cmp = out.comparison
    assert cmp.n_holdout == 7000
    assert cmp.deltas["accuracy"] > 0.03  # measured: +0.049
    assert cmp.mcnemar.better == "b" and cmp.mcnemar.p_value < 1e-10
    assert out.training_window == (day(model, 10), day(model, 16))
    assert out.holdout_window == (day(model, 17), day(model, 23))
    assert reg.current_champion(model.name) == out.challenger == "v2"
    assert reg.champion_for(model.name, day(model, 24)) == "v1"
    assert reg.champion_for(model.name, day(model, 25)) == "v2"
    v2 = reg.get(model.name, "v2")
    assert v2.trigger == "evt-1" and v2.parent == "v1"
    assert v2.metrics["delta_accuracy"] == pytest.approx(cmp.deltas["accuracy"])
    # monitoring can follow the new version
    assert len(reg.get_frame(model.name, "v2", "reference")) == 7000
    val = reg.get_frame(model.name, "v2", "validation")
    est = CBPE.from_state(reg.get_json(model.name, "v2", "cbpe"))
    e = est.estimate(val["probability"], val["prediction"])
    assert e.accuracy == pytest.approx(cmp.challenger.accuracy, abs=0.01)


def test_same_trigger_twice_trains_once(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)
    calls = []

    def trainer(x, y, champion):
        calls.append(len(x))
        from sklearn.base import clone

        return clone(champion).fit(x, y)

    first = _run(reg, model, window, trainer=trainer)
    second = _run(reg, model, window, trainer=trainer)
    assert len(calls) == 1
    assert first.decision == "promoted"
    assert second.decision == "already_handled" and not second.trained
    assert second.challenger == first.challenger
    assert [v.version for v in reg.versions(model.name)] == ["v1", "v2"]


def test_review_mode_stops_before_promotion(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)
    out = _run(reg, model, window, review=True)
    assert out.decision == "pending_review"
    assert reg.get(model.name, out.challenger).status == ModelStatus.PENDING_REVIEW
    assert reg.current_champion(model.name) == "v1"
    status = review_decision(
        reg, model.name, out.challenger, approve=True, effective_from=day(model, 26)
    )
    assert status == "champion" and reg.current_champion(model.name) == "v2"


def test_margin_not_met_is_rejected(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)
    out = _run(reg, model, window, policy=RetrainPolicy(min_improvement=0.5))
    assert out.decision == "rejected"
    assert reg.get(model.name, out.challenger).status == ModelStatus.REJECTED
    assert reg.current_champion(model.name) == "v1"
    assert "not better" in out.reason


def test_no_shift_no_promotion(tmp_path) -> None:
    model = churn_model([], days=14, rows_per_day=1000)
    sim = Simulator(model)
    frames = [
        sim.inference_day(day(model, i))
        .merge(sim.labels_day(day(model, i))[["request_id", "churn"]], on="request_id")
        .assign(partition_date=day(model, i))
        for i in range(14)
    ]
    reg = _registry(tmp_path, model, sim)
    out = _run(reg, model, pd.concat(frames))
    assert out.decision == "rejected"
    assert abs(out.comparison.deltas["accuracy"]) < 0.01


def test_too_few_labels_skip_without_claiming_the_trigger(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)
    out = _run(reg, model, window, policy=RetrainPolicy(min_train_rows=10**6))
    assert out.decision == "skipped" and not out.trained
    assert out.reason.startswith("skipped: labeled window too small: 7000 training rows")
    three = window[pd.to_datetime(window.partition_date).dt.date <= day(model, SHOCK_DAY + 2)]
    out = _run(reg, model, three)
    assert out.reason == (
        "skipped: only 3 labelled day(s) (< 8: 7 to hold out and at least one to train on)"
    )
    assert [v.version for v in reg.versions(model.name)] == [model.version]
    assert _run(reg, model, window).decision == "promoted"


def test_failure_releases_the_trigger(tmp_path, shock) -> None:
    model, sim, window = shock
    reg = _registry(tmp_path, model, sim)

    def broken(features, target, champion):
        raise RuntimeError("trainer broke")

    with pytest.raises(RuntimeError, match="trainer broke"):
        _run(reg, model, window, trainer=broken)
    assert _run(reg, model, window).decision == "promoted"


def test_split_window_needs_enough_days() -> None:
    w = pd.DataFrame({"partition_date": [dt.date(2026, 6, d) for d in (1, 2, 3)]})
    train, hold = split_window(w, "partition_date", 1)
    assert len(train) == 2 and len(hold) == 1
    with pytest.raises(InsufficientLabels, match="only 3 labelled day"):
        split_window(w, "partition_date", 3)
    with pytest.raises(RetrainingError, match="'day'"):
        split_window(w, "day", 1)


def test_policy_rejects_unknown_metric() -> None:
    with pytest.raises(ValueError, match="metric must be"):
        RetrainPolicy(metric="latency")  # type: ignore[arg-type]
