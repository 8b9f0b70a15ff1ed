"""Stream throughput with windowed drift on, against the seed's per-message Evidently design.

Both designs process the same simulated churn stream (JSON messages on
``inference_inputs``/``inference_outputs``) in the same run, on one core:

- **driftwarden**: :class:`StreamProcessor` (decode, validate, join by request id,
  de-duplicate, count window with incremental aggregates evaluated every N events
  against the reference profile with the batch drift rules, landing buffers). Fed
  either from the broker (messages pre-fetched with confluent-kafka into memory, then
  timed) — the consumer's processing loop minus network waits — or, with
  ``--no-broker``, from the same messages built in memory.
- **seed**: a 1000-event window; once full, every message re-runs an Evidently
  DataDriftPreset report on (reference sample, window). Timed on ``--seed-messages``
  messages and extrapolated to events per second.

Usage: ``python bench/bench_stream.py [--events 200000] [--no-broker]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
import warnings

warnings.filterwarnings("ignore")


def _pin_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=5_000, help="messages per micro-batch")
    ap.add_argument("--window", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=5_000, help="evaluate every N events")
    ap.add_argument("--seed-messages", type=int, default=20)
    ap.add_argument("--no-broker", action="store_true")
    args = ap.parse_args()
    _pin_one_core()

    import pandas as pd

    from monitoring_assets.core.config import load_project
    from monitoring_assets.streaming.consumer import reference_frame, reference_profile
    from monitoring_assets.streaming.processor import StreamProcessor, tune_gc_for_streaming
    from monitoring_assets.streaming.producer import event_messages, simulated_frame
    from monitoring_assets.streaming.settings import StreamSettings
    from monitoring_assets.streaming.windows import WindowSpec, window_monitor

    model = load_project().model("churn")
    per_day = model.source.scenario.rows_per_day  # type: ignore[union-attr]
    n_days = -(-args.events // per_day)
    total_days = model.source.scenario.days  # type: ignore[union-attr]
    first = max(0, min(78, total_days - n_days))  # the demo's day-80 shock inside the stream
    days = [model.first_date + dt.timedelta(days=first + i) for i in range(n_days)]
    frame = simulated_frame(model, days).iloc[: args.events].reset_index(drop=True)
    msgs = list(event_messages(model, frame))
    source = "in-memory messages"
    inputs = [(a, k, 0, i) for i, (k, a, _) in enumerate(msgs)]
    outputs = [(o, k, 0, i) for i, (k, _, o) in enumerate(msgs)]

    if not args.no_broker:
        from confluent_kafka import Consumer, Producer

        from monitoring_assets.streaming.broker import LocalBroker
        from monitoring_assets.streaming.consumer import ensure_topics
        from monitoring_assets.streaming.producer import publish

        with LocalBroker() as broker:
            ensure_topics(broker.bootstrap, ["inference_inputs", "inference_outputs"])
            publish(
                Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20}), model, frame
            )
            c = Consumer(
                {
                    "bootstrap.servers": broker.bootstrap,
                    "group.id": "bench",
                    "auto.offset.reset": "earliest",
                    "enable.auto.commit": False,
                    "session.timeout.ms": 6000,
                }
            )
            c.subscribe(["inference_inputs", "inference_outputs"])
            inputs, outputs = [], []
            t0 = time.perf_counter()
            while len(inputs) + len(outputs) < 2 * len(frame) and time.perf_counter() - t0 < 300:
                for m in c.consume(args.batch, 1.0):
                    if m.error() is None:
                        item = (m.value(), m.key(), m.partition(), m.offset())
                        (inputs if m.topic() == "inference_inputs" else outputs).append(item)
            fetch_s = time.perf_counter() - t0
            c.close()
        source = f"pre-fetched from the tansu broker ({fetch_s:.1f}s fetch incl. group join)"

    ref = reference_profile(model, None)
    settings = StreamSettings(
        windows=[WindowSpec(kind="count", size=args.window)],
        evaluate_every_events=args.every,
        evaluate_every_seconds=0,
    )
    proc = StreamProcessor(model, window_monitor(model, ref), settings)
    tune_gc_for_streaming()  # as `driftwarden stream` does at start
    half = args.batch // 2
    t0 = time.perf_counter()
    results = []
    for i in range(0, max(len(inputs), len(outputs)), half):
        _, r = proc.ingest(inputs[i : i + half], outputs[i : i + half])
        results.extend(r)
    ours_s = time.perf_counter() - t0
    ours = proc.state.counters.joined / ours_s
    first_alert = next((r.events_seen for r in results if r.verdict != "OK"), None)

    # ---- the seed's design: Evidently report per message over a 1000-event window
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref_frame = reference_frame(model, None)[model.feature_names]
    window = frame[model.feature_names].iloc[:1000]
    report = Report([DataDriftPreset()])
    t0 = time.perf_counter()
    for j in range(args.seed_messages):
        cur = pd.concat(
            [window.iloc[j + 1 :], frame[model.feature_names].iloc[1000 + j : 1001 + j]]
        )
        sample = ref_frame.sample(n=min(len(ref_frame), 5000), random_state=j)
        report.run(reference_data=sample, current_data=cur)
    seed_s = (time.perf_counter() - t0) / args.seed_messages
    seed = 1.0 / seed_s

    print(f"stream of {len(frame):,} events (input + output message each), source: {source}")
    print(
        f"window: count {args.window:,}, evaluated every {args.every:,} events "
        f"({len(results)} evaluations; first drift verdict at event {first_alert})"
    )
    print()
    print(f"| {'design':<58} | {'events/s':>12} | {'vs seed':>9} |")
    print(f"|{'-' * 60}|{'-' * 14}|{'-' * 11}|")
    print(
        f"| {'driftwarden StreamProcessor (1 core)':<58} | {ours:>12,.0f} | {ours / seed:>8,.0f}x |"
    )
    label = f"seed: Evidently per message, 1000-event window (n={args.seed_messages})"
    print(f"| {label:<58} | {seed:>12,.2f} | {1:>8}x |")
    print()
    print(f"target >= 50,000 events/s: {'met' if ours >= 50_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
