"""Root-cause bench: does the injected feature rank first on every event day?

For each single-cause event (a covariate shift of one numerical feature; a broken
feature: all null, or ×100), a simulator scenario injects it into one feature from day
``--onset``; every day from the onset is profiled and judged by the model's drift
monitor against the training reference, and explained
(:func:`~monitoring_assets.core.root_cause.explain.explain_profiles`) with the served
model's permutation importances (computed once on the validation split) and contribution
shifts. Printed per event: event days, the rank-1 rate (days the injected feature is the
first cause) and the mean share the first cause explains; then the same without
importances (drift scores alone), the named baseline. In process, no Dagster.

A day on which the event leaves the feature's values unchanged (a shift smaller than
half a unit of an integer feature rounds away: num_services at 0.25 sd) is not an event
day: it is counted apart ("unchanged") and left out of the rates.

Usage (from the repository root)::

    python bench/bench_root_cause.py                 # 2000 rows/day, 14 days, onset day 4
    python bench/bench_root_cause.py --rows 500 --days 8
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from monitoring_assets.core.config import ProjectConfig  # noqa: E402
from monitoring_assets.core.day_profiles import profiled_columns  # noqa: E402
from monitoring_assets.core.monitor import DriftMonitor  # noqa: E402
from monitoring_assets.core.profile_build import profile_frame  # noqa: E402
from monitoring_assets.core.root_cause.explain import explain_profiles  # noqa: E402
from monitoring_assets.core.root_cause.importance import (  # noqa: E402
    REPEATS,
    Reliance,
    permutation_importance,
)
from monitoring_assets.core.simulator import FEATURES, NUMERICAL, Simulator  # noqa: E402

EVENTS: list[dict] = (
    [{"kind": "covariate_shift", "feature": f, "magnitude": 1.0} for f in NUMERICAL]
    + [{"kind": "covariate_shift", "feature": f, "magnitude": 0.5} for f in NUMERICAL]
    + [{"kind": "covariate_shift", "feature": f, "magnitude": 0.25} for f in NUMERICAL]
    + [{"kind": "broken_feature", "feature": f, "mode": "nulls"} for f in FEATURES]
    + [{"kind": "broken_feature", "feature": f, "mode": "unit"} for f in NUMERICAL]
)


def model_for(event: dict, days: int, rows: int, onset: int, seed: int):
    features = [
        {"name": f, "type": "numerical" if f in NUMERICAL else "categorical"} for f in FEATURES
    ]
    doc = {
        "models": [
            {
                "name": "rc",
                "version": "v1",
                "features": features,
                "columns": {"target": "churn"},
                "label_delay_days": 3,
                "source": {
                    "kind": "simulator",
                    "scenario": {
                        "start_date": "2026-03-01",
                        "days": days,
                        "rows_per_day": rows,
                        "volume_jitter": 0.15,
                        "day_variation": 0.03,
                        "reference_rows": 20000,
                        "seed": seed,
                        "events": [{**event, "day": onset}],
                    },
                },
            }
        ]
    }
    return ProjectConfig.model_validate(yaml.safe_load(yaml.safe_dump(doc))).models[0]


def label(event: dict) -> str:
    extra = event.get("mode") or f"{event['magnitude']:g} sd"
    return f"{event['kind']} {event['feature']} ({extra})"


def run_event(event: dict, days: int, rows: int, onset: int, seed: int) -> dict:
    model = model_for(event, days, rows, onset, seed)
    sim = Simulator(model)
    kinds = profiled_columns(model)
    ref = profile_frame(sim.reference()[[c for c in kinds]], kinds)
    monitor = DriftMonitor(model).fit(ref, "training v1")
    val = sim.validation()
    imp, output, used = permutation_importance(sim.estimator, val, model.feature_names)
    reliance = Reliance(model.name, model.version, imp, output, used, REPEATS)
    control = Simulator(
        model_for({**event, "kind": "traffic_drop", "magnitude": 1.0}, days, rows, onset, seed)
    )
    hits = hits_alone = 0
    share = 0.0
    n = unchanged = 0
    for i in range(onset, days):
        date = model.first_date + dt.timedelta(days=i)
        frame = sim.inference_day(date)
        if frame[event["feature"]].equals(control.inference_day(date)[event["feature"]]):
            unchanged += 1
            continue
        prof = profile_frame(frame[[c for c in kinds if c in frame]], kinds)
        drift = monitor.calculate(prof).features
        causes = explain_profiles(model, drift, prof, reliance, sim.estimator, val)
        alone = explain_profiles(model, drift, prof)
        n += 1
        hits += causes[0].name == event["feature"]
        hits_alone += alone[0].name == event["feature"]
        share += causes[0].score
    return {
        "event": label(event),
        "days": n,
        "unchanged": unchanged,
        "rank1": hits / n if n else float("nan"),
        "rank1_alone": hits_alone / n if n else float("nan"),
        "share": share / n if n else float("nan"),
    }


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{x:.0%}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--onset", type=int, default=4)
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    results = [run_event(e, args.days, args.rows, args.onset, args.seed) for e in EVENTS]
    print(
        f"root cause on the simulator: {args.rows} rows/day, event from day {args.onset} "
        f"of {args.days}, seed {args.seed}; baseline: drift scores alone (no importances)\n"
    )
    print(f"| {'event':<42} | days | unchanged | rank-1 rate | rank-1, drift alone | top share |")
    print(f"|{'-' * 44}|------|-----------|-------------|---------------------|-----------|")
    total = sum(r["days"] for r in results)
    for r in results:
        print(
            f"| {r['event']:<42} | {r['days']:>4} | {r['unchanged']:>9} | {_pct(r['rank1']):>11} | "
            f"{_pct(r['rank1_alone']):>19} | {_pct(r['share']):>9} |"
        )
    counted = [r for r in results if r["days"]]
    all1 = sum(r["rank1"] * r["days"] for r in counted) / total
    alone1 = sum(r["rank1_alone"] * r["days"] for r in counted) / total
    skipped = sum(r["unchanged"] for r in results)
    print(
        f"| {'all single-cause events':<42} | {total:>4} | {skipped:>9} | {all1:>11.1%} | "
        f"{alone1:>19.1%} |{'':>11}|"
    )
    print(f"\n{time.perf_counter() - t0:.1f} s in process")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
