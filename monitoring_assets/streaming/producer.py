"""``driftwarden simulate --to-kafka``: publish simulator days as an inference stream.

Each inference becomes one message on the inputs topic (id, timestamp, features) and
one on the outputs topic (id, prediction, probabilities, latency; with ``labels`` also
the ground truth), keyed by request id, in timestamp order, at ``rate`` events per
second (0: as fast as possible). Any task the stream monitors: a class and the
probability of each logged class, or a regression model's continuous prediction.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.streaming.messages import check_streamable, encode, output_columns


def event_messages(
    model: ModelConfig, frame: pd.DataFrame, labels: pd.DataFrame | None = None
) -> Iterator[tuple[bytes, bytes, bytes]]:
    """``(key, input value, output value)`` per row of a validated inference frame."""
    check_streamable(model)
    c = model.columns
    outcome = float if model.task == "regression" else int
    target = None
    if labels is not None:
        values = labels[c.target].astype(outcome).tolist()
        target = dict(zip(labels[c.id].astype(str), values))
    feats = model.feature_names
    ids = frame[c.id].astype(str).tolist()
    stamps = pd.to_datetime(frame[c.timestamp]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").tolist()
    cols = {f: _plain(frame[f]) for f in feats}
    preds = frame[c.prediction].astype(outcome).tolist()
    numbers = {n: _plain(frame[n]) for n in output_columns(model)[1:] if n in frame}
    for i, rid in enumerate(ids):
        inp = {c.id: rid, c.timestamp: stamps[i]}
        for f in feats:
            inp[f] = cols[f][i]
        out: dict = {c.id: rid, c.prediction: preds[i]}
        for n, v in numbers.items():
            out[n] = v[i]
        if target is not None and rid in target:
            out[c.target] = target[rid]
        key = rid.encode()
        yield key, encode(inp), encode(out)


def _plain(series: pd.Series) -> list:
    out = series.astype(object).where(series.notna(), None).tolist()
    return [None if isinstance(v, float) and math.isnan(v) else _py(v) for v in out]


def _py(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def simulated_frame(model: ModelConfig, days: Sequence[dt.date]) -> pd.DataFrame:
    """The simulator's inference logs of ``days``, concatenated in time order."""
    from monitoring_assets.core.schema import validate_inference
    from monitoring_assets.core.simulator_tasks import task_simulator

    sim = task_simulator(model)
    frames = [validate_inference(sim.inference_day(d), model) for d in days]
    return pd.concat(frames, ignore_index=True).sort_values(model.columns.timestamp, kind="stable")


def simulated_labels(model: ModelConfig, days: Sequence[dt.date]) -> pd.DataFrame:
    """The simulator's labels of ``days``, concatenated."""
    from monitoring_assets.core.simulator_tasks import task_simulator

    sim = task_simulator(model)
    return pd.concat([sim.labels_day(d) for d in days], ignore_index=True)


def publish(
    producer,
    model: ModelConfig,
    frame: pd.DataFrame,
    inputs_topic: str = "inference_inputs",
    outputs_topic: str = "inference_outputs",
    rate: float = 0.0,
    labels: pd.DataFrame | None = None,
    outputs_first: bool = False,
) -> int:
    """Produce every row of ``frame``; returns the number of events sent (after flush)."""
    start = time.monotonic()
    n = 0
    for key, inp, out in event_messages(model, frame, labels):
        pairs = ((outputs_topic, out), (inputs_topic, inp))
        for topic, value in pairs if outputs_first else reversed(pairs):
            while True:
                try:
                    producer.produce(topic, key=key, value=value)
                    break
                except BufferError:
                    producer.poll(0.05)
        n += 1
        if rate > 0 and n % 100 == 0:
            ahead = n / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
        if n % 10_000 == 0:
            producer.poll(0)
    left = producer.flush(60)
    if left:
        raise RuntimeError(f"{left} message(s) were not acknowledged by the broker")
    return n
