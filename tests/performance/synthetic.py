"""A synthetic binary model with known behaviour, written to a real lake and warehouse.

One informative feature ``x``: P(y = 1 | x) = sigmoid(SLOPE·x). The model predicts
1[p >= 0.5] and logs p itself, so it is perfectly calibrated and its accuracy is
E[max(p, 1 − p)]: 0.83 for x ~ N(0, 1) (:data:`SLOPE`). ``noise`` is an uninformative
second feature.

- a *covariate shift* shrinks the spread of x (``x_scale`` < 1): more rows near the
  boundary, lower accuracy, and the same P(y | x), so the label-free estimate drops too;
- a *label flip* (``flip`` share of rows get the other label) changes P(y | x) and leaves
  the features, scores and the estimate untouched.

Days are written to the lake (``inference_logs``, ``ground_truth``) with the label log
marked ``arrived``, then measured by the monitor's own core functions against a DuckDB
warehouse and a local registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.performance.checks import evaluate_estimated, evaluate_performance
from monitoring_assets.core.performance.daily import estimate_range, measure_range
from monitoring_assets.core.performance.references import VersionReferences
from monitoring_assets.core.performance.store import GROUND_TRUTH, INFERENCE_LOGS
from monitoring_assets.core.ports import version_key
from resources.lake import Lake
from resources.model_registry import LocalModelRegistry
from resources.warehouse import Warehouse

#: E[max(p, 1 − p)] with p = sigmoid(SLOPE·x), x ~ N(0, 1), is 0.830 (checked in a test).
SLOPE = 2.87
START = dt.date(2026, 1, 1)


def model_config(**thresholds) -> ModelConfig:
    """A files-source model of the synthetic columns (the files are never read: the
    lake is written directly)."""
    return ModelConfig.model_validate(
        {
            "name": "synth",
            "version": "v1",
            "features": [
                {"name": "x", "type": "numerical"},
                {"name": "noise", "type": "numerical"},
            ],
            "columns": {"target": "y", "latency": None},
            "label_delay_days": 1,
            "start_date": START.isoformat(),
            "source": {
                "kind": "files",
                "reference": "unused.parquet",
                "inference": "unused-{date}.parquet",
                "labels": "unused-labels-{date}.parquet",
            },
            "thresholds": thresholds,
        }
    )


def rows(
    n: int, seed: int, *, x_scale: float = 1.0, flip: float = 0.0, prefix: str = "r"
) -> pd.DataFrame:
    """``n`` rows: features, prediction, probability and label ``y``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, x_scale, n)
    p = 1.0 / (1.0 + np.exp(-SLOPE * x))
    y = (rng.uniform(size=n) < p).astype("int64")
    flipped = rng.uniform(size=n) < flip
    y = np.where(flipped, 1 - y, y)
    return pd.DataFrame(
        {
            "request_id": [f"{prefix}-{seed}-{i}" for i in range(n)],
            "timestamp": pd.Timestamp("2025-12-01") + pd.to_timedelta(np.arange(n), unit="s"),
            "x": x,
            "noise": rng.normal(size=n),
            "prediction": (p >= 0.5).astype("int64"),
            "probability": p,
            "y": y,
        }
    )


@dataclass
class Stores:
    lake: Lake
    wh: Warehouse
    registry: LocalModelRegistry


def stores(root) -> Stores:
    s = Stores(Lake(root / "lake"), Warehouse(root / "wh.duckdb"), LocalModelRegistry(root / "reg"))
    s.wh.migrate()
    return s


def write_validation(s: Stores, model: ModelConfig, frame: pd.DataFrame) -> None:
    s.lake.write(model.name, "validation", version_key(model.version), frame)


def write_day(s: Stores, model: ModelConfig, date: dt.date, frame: pd.DataFrame) -> None:
    s.lake.write_day(model.name, INFERENCE_LOGS, date, frame.drop(columns=["y"]))
    s.lake.write_day(model.name, GROUND_TRUTH, date, frame[["request_id", "y"]])
    s.wh.log_partitions(model.name, GROUND_TRUTH, {date: (len(frame), "arrived")}, "test")


def run(s: Stores, model: ModelConfig, dates: list[dt.date]):
    """Measure and estimate ``dates`` and judge them: ({(day, check): outcome}, days)."""
    refs = VersionReferences(model, s.registry, s.lake, lambda: {"synthetic": True})
    days = measure_range(model, dates, s.lake, s.wh, refs, "test-run")
    estimate_range(model, dates, s.lake, s.wh, refs, "test-run")
    keys = [d.isoformat() for d in dates]
    out = {(pk, o.check): o for pk, o in evaluate_performance(s.wh, model, keys)}
    out.update({(pk, o.check): o for pk, o in evaluate_estimated(s.wh, model, keys)})
    return out, days
