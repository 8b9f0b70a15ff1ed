"""Real files for a ``source: {kind: files}`` model: a generator shared by the tests in
this folder and ``bench/bench_files.py``.

The model ``shop`` has two numerical and one categorical feature, a probability, and a
binary target ``bought``. Days start on 2026-02-01.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

START = dt.date(2026, 2, 1)

MODEL = """
models:
  - name: shop
    version: v1
    features:
      - {{name: price, type: numerical}}
      - {{name: visits, type: numerical}}
      - {{name: channel, type: categorical}}
    columns: {{id: request_id, timestamp: timestamp, target: bought, probability: probability, latency: null}}
    label_delay_days: 1
    start_date: {start}
    end_date: {end}
    source:
      kind: files
      format: {fmt}
      reference: {reference}
      inference: "{inference}"
      labels: "{labels}"
{extra}"""


def days(n: int) -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range(n)]


def inference_frame(date: dt.date, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` predictions spread over ``date``."""
    rng = np.random.default_rng(seed + date.toordinal())
    start = pd.Timestamp(date)
    prob = rng.uniform(0, 1, rows)
    return pd.DataFrame(
        {
            "request_id": [f"{date.isoformat()}-{i}" for i in range(rows)],
            "timestamp": start + pd.to_timedelta(np.linspace(0, 86_000, rows), unit="s"),
            "price": rng.normal(50, 10, rows).round(2),
            "visits": rng.integers(1, 20, rows).astype(float),
            "channel": rng.choice(["web", "app", "store"], rows),
            "prediction": (prob > 0.5).astype(int),
            "probability": prob.round(4),
        }
    )


def labels_frame(inference: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """One 0/1 label (int) per prediction."""
    rng = np.random.default_rng(seed + len(inference))
    flip = rng.uniform(0, 1, len(inference)) < 0.2
    bought = np.where(flip, 1 - inference["prediction"], inference["prediction"])
    return pd.DataFrame({"request_id": inference["request_id"], "bought": bought.astype(int)})


def reference_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """A training snapshot whose labels are stored as floats (0.0/1.0), as many
    training pipelines write them."""
    ref = inference_frame(START - dt.timedelta(days=30), rows, seed)
    return ref.assign(bought=labels_frame(ref, seed)["bought"].astype(float))


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


def make_files(
    root: Path,
    n_days: int,
    rows_per_day: int,
    *,
    fmt: str = "csv",
    layout: str = "daily",
    reference_rows: int = 600,
    extra: str = "",
) -> Path:
    """Write reference, inference and label files under ``root`` and the model file;
    ``layout`` is ``daily`` (one ``{date}`` file per day) or ``single`` (one file each
    for all inference and all labels). Returns the model file's path."""
    root.mkdir(parents=True, exist_ok=True)
    ds = days(n_days)
    inf = {d: inference_frame(d, rows_per_day) for d in ds}
    lab = {d: labels_frame(f) for d, f in inf.items()}
    _write(reference_frame(reference_rows), root / f"reference.{fmt}", fmt)
    if layout == "daily":
        for d in ds:
            _write(inf[d], root / "logs" / f"{d.isoformat()}.{fmt}", fmt)
            _write(lab[d], root / "labels" / f"{d.isoformat()}.{fmt}", fmt)
        inference, labels = f"{root}/logs/{{date}}.{fmt}", f"{root}/labels/{{date}}.{fmt}"
    else:
        _write(pd.concat(inf.values(), ignore_index=True), root / f"inference.{fmt}", fmt)
        _write(pd.concat(lab.values(), ignore_index=True), root / f"labels.{fmt}", fmt)
        inference, labels = f"{root}/inference.{fmt}", f"{root}/labels.{fmt}"
    path = root / "models.yaml"
    path.write_text(
        MODEL.format(
            start=ds[0].isoformat(),
            end=(ds[-1] + dt.timedelta(days=1)).isoformat(),
            fmt=fmt,
            reference=f"{root}/reference.{fmt}",
            inference=inference,
            labels=labels,
            extra=extra,
        )
    )
    return path
