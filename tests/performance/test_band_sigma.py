"""The σ a performance band judges one new day with: the chunks' σ is an estimate from
few chunks, and so is their mean; the band's edge must hold its false-alarm rate for a
new healthy day, not only for the chunks it was computed from."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from monitoring_assets.core.config import Calibration, load_project
from monitoring_assets.core.performance.bands import (
    Band,
    calibrate_bands,
    day_sigma_factor,
    size_bucket,
)
from monitoring_assets.core.performance.cbpe import CBPE
from monitoring_assets.core.simulator import Simulator

CAL = Calibration()  # k 3, k_error 6, rule sigma


def test_the_factor_is_the_upper_confidence_bound_of_sigma_and_the_means_spread():
    # independent oracle: (n-1)/chi2 quantile, read from the table of chi2 at 0.10
    chi2_010 = {10: 4.865, 12: 6.304, 20: 12.443, 30: 20.599}
    for n_minus_1, q in chi2_010.items():
        n = n_minus_1 + 1
        want = np.sqrt(n_minus_1 / q) * np.sqrt(1 + 1 / n)
        assert day_sigma_factor(n) == pytest.approx(want, rel=2e-3)
    with pytest.raises(ValueError):
        day_sigma_factor(1)


def test_a_band_of_11_chunks_keeps_its_false_alarm_rate_on_new_days():
    """Healthy days and chunks from the same normal: a new day below ``mean − 3σ̂`` of 11
    chunks happens about 0.8 % of the time (Student's t), six times the 0.135 % the
    3σ rule means. With the day σ the rate stays near the nominal one."""
    rng = np.random.default_rng(2026)
    trials = 20_000
    chunks = rng.normal(0.9, 0.01, size=(trials, 11))
    day = rng.normal(0.9, 0.01, size=trials)
    below = 0
    for values, d in zip(chunks, day):
        band = Band("accuracy", 1000, "rows", 11_000, tuple(values))
        below += d < band.edges(CAL)["warn"][0]
    rate = below / trials
    naive = stats.t.sf(3 / np.sqrt(1 + 1 / 11), 10)  # what mean − 3σ̂ would give
    print(f"\nfalse-alarm rate at the warn edge: {rate:.4%} (mean − 3σ̂ of the chunks: {naive:.2%})")
    assert naive > 0.006
    assert rate < 0.0027  # at most twice the nominal 0.135 %


CONTROL_2000 = """
models:
  - name: control_2000
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
        name: control_2000
        start_date: 2026-06-01
        days: 90
        rows_per_day: 2000
        volume_jitter: 0.15
        day_variation: 0.03
        reference_rows: 80000
        reference_days: 28
        seed: 11
        events: []
    reference: {kind: training}
"""


def test_the_estimate_of_a_2000_row_control_stays_inside_its_band(tmp_path):
    """Nothing injected, 90 days of about 2,000 rows judged alone: the validation split
    (24,000 rows) holds 11–16 chunks of a day's size. With the chunks' σ, four days fell
    below the warn edge (48, 62, 81, 87: each a false alert); with the day σ none does."""
    (tmp_path / "models.yaml").write_text(CONTROL_2000)
    model = load_project(Path(tmp_path / "models.yaml")).models[0]
    sim = Simulator(model)
    c = model.columns
    val = sim.validation()
    cbpe = CBPE(model.classes).fit(val[c.target].astype(int), val[c.probability])
    bands: dict[int, Band] = {}
    below = []
    for i in range(90):
        day = sim.inference_day(model.first_date + dt.timedelta(days=i))
        est = cbpe.estimate(day[c.probability].to_numpy(), day[c.prediction].astype(int))
        bucket = size_bucket(len(day))
        if bucket not in bands:
            bands[bucket] = calibrate_bands(val, model, "v1", bucket, cbpe, 200)[
                "estimated_accuracy"
            ]
        band = bands[bucket]
        assert band.n_chunks >= CAL.min_chunks
        if est.accuracy < band.edges(CAL)["warn"][0]:
            below.append(i)
    assert below == []
