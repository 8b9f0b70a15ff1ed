"""A team's own files, generated: a scored reference, daily inference logs and labels."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

START = dt.date(2026, 1, 1)


def frame(rows: int, day: dt.date, seed: int, prefix: str) -> pd.DataFrame:
    """Rows of a fraud model's log: every kind of column a real log has."""
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(day) + pd.to_timedelta(np.sort(rng.integers(0, 86_400, rows)), unit="s")
    amount = rng.lognormal(3.0, 1.0, rows)
    score = 1 / (1 + np.exp(-(amount - 40) / 20))
    return pd.DataFrame(
        {
            "request_id": [f"{prefix}-{i}" for i in range(rows)],
            "event_time": ts,
            "amount": amount,
            "n_items": rng.integers(1, 6, rows),  # few integers: categorical
            "account_age_days": rng.integers(0, 3000, rows),  # many integers: numerical
            "country": rng.choice(["DE", "FR", "ES", "IT"], rows),
            "is_new_device": rng.random(rows) < 0.2,
            "merchant_id": rng.integers(0, 10**6, rows),  # an identifier
            "note": [f"customer wrote a message number {i} about the order" for i in range(rows)],
            "prediction": (score > 0.5).astype("int64"),
            "score": score,
            "latency_ms": rng.gamma(2.0, 10.0, rows),
        }
    )


def write_files(root: Path, rows: int = 400, days: int = 3, fmt: str = "parquet") -> Path:
    """reference.<fmt>, logs/<date>.<fmt>, labels/<date>.<fmt> under ``root``."""
    (root / "logs").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)

    def save(df: pd.DataFrame, path: Path) -> None:
        df.to_parquet(path, index=False) if fmt == "parquet" else df.to_csv(path, index=False)

    ref = frame(rows * 5, START - dt.timedelta(days=30), 1, "ref")
    ref = ref.drop(columns=["latency_ms"])
    ref["is_fraud"] = (np.random.default_rng(9).random(len(ref)) < ref["score"]).astype("int64")
    save(ref, root / f"reference.{fmt}")
    for i in range(days):
        day = START + dt.timedelta(days=i)
        log = frame(rows, day, 100 + i, day.isoformat())
        save(log, root / "logs" / f"{day}.{fmt}")
        rng = np.random.default_rng(200 + i)
        labels = pd.DataFrame(
            {
                "request_id": log["request_id"],
                "is_fraud": (rng.random(rows) < log["score"]).astype("int64"),
            }
        )
        save(labels, root / "labels" / f"{day}.{fmt}")
    return root
