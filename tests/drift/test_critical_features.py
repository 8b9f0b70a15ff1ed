"""``critical_features_not_drifted`` with calibrated thresholds: an ERROR-only check
judged at the error level of each critical feature, so that the noise of small days
does not page, while a broken critical feature still fails on its first day."""

from __future__ import annotations

import datetime as dt

import numpy as np

from monitoring_assets.core.calibration import ReferenceCalibration
from monitoring_assets.core.config import load_project
from monitoring_assets.core.day_profiles import profiled_columns
from monitoring_assets.core.monitor import (
    CRITICAL_FEATURES_NOT_DRIFTED,
    DRIFT_SHARE_BELOW_THRESHOLD,
    DriftMonitor,
)
from monitoring_assets.core.profile_build import profile_frame
from monitoring_assets.core.simulator import Simulator
from resources.warehouse import Warehouse
from tests.drift.test_calibration import _Calibrated, _draw, _model, _profile, _reference


def _critical_model():
    base = _model()
    return base.model_copy(
        update={"features": [f.model_copy(update={"critical": True}) for f in base.features]}
    )


CONTROL_50 = """
models:
  - name: control_50
    version: v1
    features:
      - {name: tenure, type: numerical}
      - {name: monthly_charges, type: numerical, critical: true}
      - {name: total_charges, type: numerical}
      - {name: num_services, type: numerical}
      - {name: contract_type, type: categorical, critical: true}
      - {name: payment_method, type: categorical}
      - {name: internet_service, type: categorical}
    columns:
      id: request_id
      timestamp: timestamp
      prediction: prediction
      probability: probability
      target: churn
      latency: latency_ms
    source:
      kind: simulator
      scenario:
        name: control_50
        start_date: 2026-06-01
        days: 60
        rows_per_day: 50
        volume_jitter: 0.15
        day_variation: 0.03
        reference_rows: 2000
        reference_days: 28
        seed: 11
        events: []
    reference: {kind: training}
"""


def test_a_50_row_control_never_fails_the_critical_check(tmp_path):
    """Nothing injected: 60 simulated days of about 50 rows, a reference spread over 28
    days that differ a little. Judged at the warn level (3σ of 14 day chunks),
    monthly_charges crossed it by chance on two days, each a critical alert; at the
    error level no day fails, while the drift share still sees those crossings."""
    (tmp_path / "models.yaml").write_text(CONTROL_50)
    model = load_project(tmp_path / "models.yaml").models[0]
    sim = Simulator(model)
    kinds = profiled_columns(model)
    ref = sim.reference()
    ref.to_parquet(tmp_path / "reference.parquet", index=False)
    profile = profile_frame(ref[[c for c in kinds if c in ref]], kinds)
    cal = ReferenceCalibration(
        Warehouse(tmp_path / "wh.duckdb"), model, profile, str(tmp_path / "reference.parquet"), "d"
    )
    monitor = DriftMonitor(model, calibration=cal).fit(profile)
    results = []
    for i in range(60):
        day = sim.inference_day(model.first_date + dt.timedelta(days=i))
        results.append(monitor.calculate(profile_frame(day[[c for c in kinds if c in day]], kinds)))
    critical = [r.features[n] for r in results for n in ("monthly_charges", "contract_type")]
    assert all(c.threshold_mode == "calibrated" for c in critical)
    above_warn = sum(c.drifted for c in critical)
    failed = [
        i for i, r in enumerate(results) if not r.outcome(CRITICAL_FEATURES_NOT_DRIFTED).passed
    ]
    print(f"\n60 control days: {above_warn} critical feature-days above warn; failed {failed}")
    assert above_warn > 0  # the scenario does reach the warn level by chance
    assert failed == []


def test_a_broken_critical_feature_fails_on_its_first_day(tmp_path):
    """A unit change (x100) or a +3σ shift of a critical feature, on one 50-row day."""
    model = _critical_model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=400, days=30, timestamps=False))
    rng = np.random.default_rng(9)
    broken = _draw(rng, 50)
    broken["amount"] = broken["amount"] * 100.0
    shifted = _draw(rng, 50, shift=3.0)
    for frame in (broken, shifted):
        res = env.monitor.calculate(_profile(model, frame))
        out = res.outcome(CRITICAL_FEATURES_NOT_DRIFTED)
        assert not out.passed and out.severity == "ERROR"
        assert res.critical_drifted == ("amount",)
        assert "amount" in out.description and "error level" in out.description
        amount = res.features["amount"]
        assert amount.threshold_mode == "calibrated"
        assert amount.score >= amount.threshold_error


def test_the_drift_share_check_still_judges_at_the_warn_level(tmp_path):
    """A shift between warn and error of one critical feature: not a critical alert,
    still a drifted feature (the share check and the per-feature result say so)."""
    model = _critical_model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=400, days=30, timestamps=False))
    rng = np.random.default_rng(3)
    for _ in range(200):
        res = env.monitor.calculate(_profile(model, _draw(rng, 50, shift=0.6)))
        a = res.features["amount"]
        if a.threshold <= a.score < a.threshold_error:
            break
    else:
        raise AssertionError("no day between the warn and the error level")
    assert "amount" in res.drifted
    assert res.outcome(CRITICAL_FEATURES_NOT_DRIFTED).passed
    assert res.outcome(DRIFT_SHARE_BELOW_THRESHOLD).metadata["drifted_features"] >= 1


def test_fixed_mode_keeps_evidentlys_verdict_for_critical_features(tmp_path):
    model = _critical_model()
    env = _Calibrated(tmp_path, model, _reference(rows_per_day=400, days=30, timestamps=False))
    rng = np.random.default_rng(4)
    for _ in range(50):
        res = env.fixed.calculate(_profile(model, _draw(rng, 50)))
        if res.drifted:
            break
    assert res.drifted  # fixed thresholds at 50 rows flag noise (Evidently parity)
    assert set(res.critical_drifted) == set(res.drifted)
    assert not res.outcome(CRITICAL_FEATURES_NOT_DRIFTED).passed
