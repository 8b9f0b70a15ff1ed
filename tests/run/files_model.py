"""A small files-source model for ``driftwarden run``: six days, the last three drifted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MODEL = """
models:
  - name: fraud
    features:
      - {{name: amount, type: numerical, critical: true}}
      - {{name: country, type: categorical, critical: true}}
    columns: {{target: is_fraud, latency: null, probability: score}}
    label_delay_days: 1
    start_date: 2026-01-01
    end_date: 2026-01-07
    source:
      kind: files
      reference: {root}/reference.parquet
      inference: "{root}/logs/{{date}}.parquet"
      labels: "{root}/labels/{{date}}.parquet"
{extra}"""

DAYS = [f"2026-01-0{i}" for i in range(1, 7)]
DRIFTED = DAYS[3:]


def frame(n: int, date: str, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.Timestamp(date)
    amount = rng.normal(100.0 + shift, 10.0, n)
    country = rng.choice(["DE", "FR", "NL"], n, p=[0.5, 0.3, 0.2] if not shift else [0.1, 0.2, 0.7])
    score = 1 / (1 + np.exp(-(amount - 100.0) / 10.0))
    return pd.DataFrame(
        {
            "request_id": [f"r{date}-{i}" for i in range(n)],
            "timestamp": [ts + pd.Timedelta(seconds=30 * i) for i in range(n)],
            "amount": amount,
            "country": country,
            "prediction": (score > 0.5).astype(int),
            "score": score,
        }
    )


def write_model(tmp: Path, extra: str = "", rows: int = 200) -> Path:
    """The data files and the model file (``extra``: more YAML for the model entry)."""
    root = tmp / "data"
    for sub in ("logs", "labels"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    ref = frame(1000, "2025-12-01", seed=1)
    rng = np.random.default_rng(2)
    ref["is_fraud"] = (rng.random(len(ref)) < ref.score).astype(int)
    ref.to_parquet(root / "reference.parquet")
    for i, d in enumerate(DAYS):
        day = frame(rows, d, seed=10 + i, shift=40.0 if d in DRIFTED else 0.0)
        day.to_parquet(root / "logs" / f"{d}.parquet")
        labels = day[["request_id"]].copy()
        labels["is_fraud"] = (np.random.default_rng(20 + i).random(rows) < day.score).astype(int)
        labels.to_parquet(root / "labels" / f"{d}.parquet")
    path = tmp / "fraud.yaml"
    path.write_text(MODEL.format(root=root, extra=extra))
    return path
