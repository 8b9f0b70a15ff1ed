"""Label-free estimates of regression and multiclass models against realized values.

For each scenario of the example models (no drift, covariate shift of tenure and monthly
charges by 0.8 σ from day 2, concept drift from day 0) it simulates ``--days`` days of
``--rows`` rows, fits the estimator once on the validation split, and prints per scenario
the worst day and the pooled gap between estimate and realized value, beside the named
baseline "reference carried forward" (the validation split's value used as every day's
estimate, what a monitor without an estimator would assume).

Regression: Direct Loss Estimation of MAE and RMSE (relative gap). Multiclass: multiclass
CBPE accuracy (absolute gap). Also the estimator's fit time (in-process).

    python bench/bench_task_estimates.py [--days 10] [--rows 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

from monitoring_assets.core.config import ModelConfig, load_project  # noqa: E402
from monitoring_assets.core.performance.multiclass import (  # noqa: E402
    MulticlassCBPE,
    multiclass_metrics,
)
from monitoring_assets.core.performance.regression import (  # noqa: E402
    DirectLossEstimator,
    regression_metrics,
)
from monitoring_assets.core.simulator_tasks import task_simulator  # noqa: E402

MODELS = Path(__file__).resolve().parents[1] / "monitoring_assets" / "models"
SCENARIOS = {
    "no drift": [],
    "covariate shift": [
        {"kind": "covariate_shift", "day": 2, "feature": "tenure", "magnitude": 0.8},
        {"kind": "covariate_shift", "day": 2, "feature": "monthly_charges", "magnitude": 0.8},
    ],
    "concept drift": [{"kind": "concept_drift", "day": 0, "magnitude": 1.0}],
}


def model(name: str, events: list[dict], days: int, rows: int) -> ModelConfig:
    data = load_project(MODELS / f"{name}.yaml").model(name).model_dump()
    data["source"]["scenario"].update(name="bench", days=days, rows_per_day=rows, events=events)
    return ModelConfig.model_validate(data)


def regression(days: int, rows: int) -> None:
    print(f"\nregression (spend.yaml), {days} days x {rows} rows; gap = estimate / realized - 1")
    print(
        f"{'scenario':<16} {'metric':<5} {'DLE worst day':>14} {'DLE pooled':>11} "
        f"{'carried fwd worst':>18} {'carried fwd pooled':>19}"
    )
    dle = fit_s = None
    for scen, events in SCENARIOS.items():
        m = model("spend", events, days, rows)
        sim = task_simulator(m)
        val = sim.validation()
        if dle is None:  # same seed and reference period: one validation split
            t = time.perf_counter()
            dle = DirectLossEstimator(m.numerical, m.categorical, m.columns.prediction)
            dle.fit(val, val[m.columns.target])
            fit_s = time.perf_counter() - t
        ref = regression_metrics(val[m.columns.target], val[m.columns.prediction])
        got = []
        for i in range(days):
            d = m.first_date + dt.timedelta(days=i)
            inf, lab = sim.inference_day(d), sim.labels_day(d)
            r = regression_metrics(lab[m.columns.target], inf[m.columns.prediction])
            e = dle.estimate(inf)
            got.append((r.mae, e.mae, r.rmse, e.rmse))
        g = np.array(got)
        for name, real, est, base in (
            ("mae", g[:, 0], g[:, 1], ref.mae),
            ("rmse", g[:, 2], g[:, 3], ref.rmse),
        ):
            rel = est / real - 1
            brel = base / real - 1
            print(
                f"{scen:<16} {name:<5} {rel[np.argmax(abs(rel))]:>+14.3%} "
                f"{est.mean() / real.mean() - 1:>+11.3%} {brel[np.argmax(abs(brel))]:>+18.3%} "
                f"{base / real.mean() - 1:>+19.3%}"
            )
    print(f"DLE fit on the validation split ({len(val)} rows): {fit_s:.1f} s")


def multiclass(days: int, rows: int) -> None:
    print(
        f"\nmulticlass (plan_tier.yaml), {days} days x {rows} rows; gap = estimate - realized accuracy"
    )
    print(
        f"{'scenario':<16} {'CBPE worst day':>15} {'CBPE pooled':>12} {'carried fwd worst':>18} "
        f"{'carried fwd pooled':>19}"
    )
    for scen, events in SCENARIOS.items():
        m = model("plan_tier", events, days, rows)
        sim = task_simulator(m)
        val = sim.validation()
        cols = [m.probability_columns[c] for c in m.classes]
        t = time.perf_counter()
        cbpe = MulticlassCBPE(list(m.classes)).fit(val[m.columns.target], val[cols].to_numpy())
        fit_s = time.perf_counter() - t
        ref = multiclass_metrics(val[m.columns.target], val[m.columns.prediction], list(m.classes))
        got = []
        for i in range(days):
            d = m.first_date + dt.timedelta(days=i)
            inf, lab = sim.inference_day(d), sim.labels_day(d)
            r = multiclass_metrics(
                lab[m.columns.target], inf[m.columns.prediction], list(m.classes)
            )
            e = cbpe.estimate(inf[cols].to_numpy(), inf[m.columns.prediction].to_numpy())
            got.append((r.accuracy, e.accuracy))
        g = np.array(got)
        gap, bgap = g[:, 1] - g[:, 0], ref.accuracy - g[:, 0]
        print(
            f"{scen:<16} {gap[np.argmax(abs(gap))]:>+15.4f} {gap.mean():>+12.4f} "
            f"{bgap[np.argmax(abs(bgap))]:>+18.4f} {bgap.mean():>+19.4f}"
        )
    print(f"multiclass CBPE fit on the validation split ({len(val)} rows): {fit_s:.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=10)
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()
    regression(args.days, args.rows)
    multiclass(args.days, args.rows)


if __name__ == "__main__":
    main()
