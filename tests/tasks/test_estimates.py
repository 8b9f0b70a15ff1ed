"""Label-free estimates against realized values on simulated days.

Without concept drift the estimate must track the realized value (regression: MAE within
10 %; multiclass: accuracy within 0.02), also under covariate shift; with concept drift
it must not (it cannot see a change of P(y | x)), which shows the comparison can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring_assets.core.performance.multiclass import MulticlassCBPE, multiclass_metrics
from monitoring_assets.core.performance.regression import DirectLossEstimator, regression_metrics
from monitoring_assets.core.simulator_tasks import task_simulator
from tests.tasks.conftest import day, task_model

DAYS = 6
SHIFT = [
    {"kind": "covariate_shift", "day": 2, "feature": "tenure", "magnitude": 0.8},
    {"kind": "covariate_shift", "day": 2, "feature": "monthly_charges", "magnitude": 0.8},
]
CONCEPT = [{"kind": "concept_drift", "day": 0, "magnitude": 1.0}]


def _realized_and_estimated_mae(model, dle):
    sim = task_simulator(model)
    out = []
    for i in range(DAYS):
        inf, lab = sim.inference_day(day(model, i)), sim.labels_day(day(model, i))
        assert (inf[model.columns.id] == lab[model.columns.id]).all()
        real = regression_metrics(lab[model.columns.target], inf[model.columns.prediction])
        est = dle.estimate(inf)
        assert est.n_estimated == len(inf)
        out.append((real.mae, est.mae, real.rmse, est.rmse))
    return np.array(out)


@pytest.fixture(scope="module")
def regression_dle():
    model = task_model("regression", [], days=DAYS, rows_per_day=2000)
    val = task_simulator(model).validation()
    dle = DirectLossEstimator(model.numerical, model.categorical, model.columns.prediction)
    return model, val, dle.fit(val, val[model.columns.target])


def test_dle_estimates_mae_within_10_percent_without_concept_drift(regression_dle):
    model, val, dle = regression_dle
    got = _realized_and_estimated_mae(model, dle)
    rel_mae = got[:, 1] / got[:, 0] - 1
    rel_rmse = got[:, 3] / got[:, 2] - 1
    assert np.abs(rel_mae).max() < 0.10, rel_mae
    assert np.abs(rel_rmse).max() < 0.10, rel_rmse
    # The estimate is a per-row model, not the validation MAE repeated.
    assert np.ptp(got[:, 1]) > 0


def test_dle_holds_under_covariate_shift(regression_dle):
    _, val, dle = regression_dle
    shifted = task_model("regression", SHIFT, days=DAYS, rows_per_day=2000)
    # Same seed and reference period: the same validation split the estimator learned.
    pd.testing.assert_frame_equal(task_simulator(shifted).validation(), val)
    got = _realized_and_estimated_mae(shifted, dle)
    assert np.abs(got[:, 1] / got[:, 0] - 1).max() < 0.10


def test_dle_cannot_see_concept_drift(regression_dle):
    _, _, dle = regression_dle
    drifted = task_model("regression", CONCEPT, days=DAYS, rows_per_day=2000)
    got = _realized_and_estimated_mae(drifted, dle)
    assert (got[:, 1] / got[:, 0] - 1 < -0.2).all()  # realized MAE far above the estimate


def _accuracies(model):
    sim = task_simulator(model)
    val = sim.validation()
    cols = [model.probability_columns[c] for c in model.classes]
    cbpe = MulticlassCBPE(list(model.classes)).fit(val[model.columns.target], val[cols].to_numpy())
    rows = []
    for i in range(DAYS):
        inf, lab = sim.inference_day(day(model, i)), sim.labels_day(day(model, i))
        real = multiclass_metrics(
            lab[model.columns.target], inf[model.columns.prediction], list(model.classes)
        )
        est = cbpe.estimate(inf[cols].to_numpy(), inf[model.columns.prediction].to_numpy())
        rows.append((real.accuracy, est.accuracy, est.accuracy_std, len(inf)))
    return np.array(rows)


@pytest.mark.parametrize("events", [[], SHIFT], ids=["no_drift", "covariate_shift"])
def test_multiclass_cbpe_accuracy_within_0_02(events):
    model = task_model("multiclass", events, days=DAYS, rows_per_day=2000)
    got = _accuracies(model)
    realized = np.average(got[:, 0], weights=got[:, 3])
    estimated = np.average(got[:, 1], weights=got[:, 3])
    assert abs(estimated - realized) < 0.02, (estimated, realized)
    # Each day's gap is within 3 of its own sampling standard deviations.
    assert (np.abs(got[:, 1] - got[:, 0]) < 3 * got[:, 2]).all(), got


def test_multiclass_cbpe_cannot_see_concept_drift():
    got = _accuracies(task_model("multiclass", CONCEPT, days=DAYS, rows_per_day=2000))
    assert (got[:, 1] - got[:, 0] > 0.03).all(), got
