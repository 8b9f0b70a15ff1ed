"""``driftwarden stream`` and ``driftwarden simulate --to-kafka``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path


def _model(args):
    from monitoring_assets.core.config import load_project

    project = load_project(args.models)
    if args.model:
        return project.model(args.model)
    if len(project.models) > 1:
        raise SystemExit(
            f"several models configured ({[m.name for m in project.models]}): pass --model"
        )
    return project.models[0]


def _home(args):
    from monitoring_assets.core.home import Home

    if getattr(args, "home", None):
        os.environ["DRIFTWARDEN_HOME"] = str(Path(args.home).resolve())
    return Home.from_env().ensure()


def _settings(args):
    from monitoring_assets.streaming.settings import StreamSettings
    from monitoring_assets.streaming.windows import WindowSpec

    data: dict = {}
    if args.settings:
        data = json.loads(Path(args.settings).read_text())
    s = StreamSettings(**data)
    over: dict = {"bootstrap_servers": args.bootstrap} if args.bootstrap else {}
    windows = [WindowSpec(kind="count", size=n) for n in args.count_window or []]
    windows += [WindowSpec(kind="time", seconds=t) for t in args.time_window or []]
    if windows:
        over["windows"] = windows
    for name in (
        "group_id",
        "evaluate_every_events",
        "evaluate_every_seconds",
        "commit_every_events",
        "commit_every_seconds",
        "health_port",
        "session_timeout_ms",
        "dead_letter_topic",
        "connect_timeout_seconds",
        "health_host",
        "log_every_seconds",
    ):
        value = getattr(args, name, None)
        if value is not None:
            over[name] = value
    if getattr(args, "no_health", False):
        over["health_port"] = None
    if getattr(args, "no_deliver", False):
        over["deliver_alerts"] = False
    return StreamSettings(**{**s.model_dump(), **over}) if over else s


def _stream(args) -> int:
    from monitoring_assets.streaming.broker import BrokerUnreachable
    from monitoring_assets.streaming.consumer import StreamConsumer, StreamStartError
    from monitoring_assets.streaming.messages import StreamUnsupported, check_streamable
    from resources.warehouse import open_warehouse

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    model = _model(args)
    try:
        check_streamable(model)
    except StreamUnsupported as exc:
        print(f"driftwarden stream: {exc}", file=sys.stderr)
        return 2
    home = _home(args)
    settings = _settings(args)
    # A short lock wait: the stream skips a write it cannot make rather than stall.
    warehouse = open_warehouse(home.warehouse_location, lock_timeout=2.0)
    consumer = StreamConsumer(model, settings, home.lake, warehouse)
    try:
        return consumer.run()
    except (BrokerUnreachable, StreamStartError) as exc:
        print(f"driftwarden stream: {exc}", file=sys.stderr)
        return 3


def _simulate(args) -> int:
    from confluent_kafka import Producer

    from monitoring_assets.streaming.broker import BrokerUnreachable, check_reachable
    from monitoring_assets.streaming.messages import StreamUnsupported, check_streamable
    from monitoring_assets.streaming.producer import publish, simulated_frame, simulated_labels

    if not args.to_kafka:
        print(
            "simulate: only --to-kafka is supported (the batch demo is `driftwarden demo`)",
            file=sys.stderr,
        )
        return 2
    model = _model(args)
    try:
        check_streamable(model)
    except StreamUnsupported as exc:
        print(f"driftwarden simulate: {exc}", file=sys.stderr)
        return 2
    try:
        check_reachable(args.bootstrap, args.connect_timeout)
    except BrokerUnreachable as exc:
        print(f"driftwarden simulate: {exc}", file=sys.stderr)
        return 3
    start = dt.date.fromisoformat(args.start) if args.start else model.first_date
    days = [start + dt.timedelta(days=i) for i in range(args.days)]
    frame = simulated_frame(model, days)
    if args.limit:
        frame = frame.iloc[: args.limit]
    labels = simulated_labels(model, days) if args.labels else None
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 20})
    try:
        n = publish(
            producer, model, frame, args.inputs_topic, args.outputs_topic, args.rate, labels
        )
    except RuntimeError as exc:  # the broker went away while publishing
        print(f"driftwarden simulate: {args.bootstrap}: {exc}", file=sys.stderr)
        return 3
    print(f"published {n} events of {model.name} ({days[0]} .. {days[-1]}) to {args.bootstrap}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:
    """Register ``stream`` and ``simulate``."""
    st = subparsers.add_parser(
        "stream", help="consume inference_inputs/outputs: live window drift and Parquet landing"
    )
    st.add_argument("--models", help="model file (default: the one in force)")
    st.add_argument("--model", help="model name (needed when the file has several)")
    st.add_argument("--bootstrap", help="Kafka bootstrap servers (default 127.0.0.1:9092)")
    st.add_argument("--settings", help="JSON file of StreamSettings fields")
    st.add_argument("--group-id", dest="group_id")
    st.add_argument("--count-window", type=int, action="append", help="events (repeatable)")
    st.add_argument("--time-window", type=float, action="append", help="seconds (repeatable)")
    st.add_argument("--evaluate-every-events", type=int, dest="evaluate_every_events")
    st.add_argument("--evaluate-every-seconds", type=float, dest="evaluate_every_seconds")
    st.add_argument("--commit-every-events", type=int, dest="commit_every_events")
    st.add_argument("--commit-every-seconds", type=float, dest="commit_every_seconds")
    st.add_argument("--session-timeout-ms", type=int, dest="session_timeout_ms")
    st.add_argument("--dead-letter-topic", dest="dead_letter_topic")
    st.add_argument(
        "--connect-timeout",
        type=float,
        dest="connect_timeout_seconds",
        help="seconds to wait for the broker at start (default 10)",
    )
    st.add_argument(
        "--health-port",
        type=int,
        dest="health_port",
        help="port of GET /health and /status (default 8080; 0: any free port)",
    )
    st.add_argument(
        "--health-host",
        dest="health_host",
        help="address the health endpoint binds (default 127.0.0.1; 0.0.0.0 for Kubernetes)",
    )
    st.add_argument(
        "--no-health",
        action="store_true",
        help="no health endpoint",
    )
    st.add_argument(
        "--no-deliver",
        action="store_true",
        help="record findings in the outbox but leave delivery to the check_failure_alerts "
        "sensor (the Dagster daemon must run)",
    )
    st.add_argument(
        "--log-every-seconds",
        type=float,
        dest="log_every_seconds",
        help="a progress summary line this often (default 30; 0: never)",
    )
    st.set_defaults(func=_stream)

    sim = subparsers.add_parser("simulate", help="publish simulator days as a stream")
    sim.add_argument("--to-kafka", action="store_true", help="publish to Kafka (required)")
    sim.add_argument("--models", help="model file (default: the one in force)")
    sim.add_argument("--model", help="model name (needed when the file has several)")
    sim.add_argument("--bootstrap", default="127.0.0.1:9092")
    sim.add_argument(
        "--connect-timeout", type=float, default=10.0, help="seconds to wait for the broker"
    )
    sim.add_argument("--start", help="first day (default: the model's first date)")
    sim.add_argument("--days", type=int, default=1)
    sim.add_argument("--limit", type=int, help="only the first N events")
    sim.add_argument("--rate", type=float, default=0.0, help="events/s (0: as fast as possible)")
    sim.add_argument("--labels", action="store_true", help="include ground truth in outputs")
    sim.add_argument("--inputs-topic", default="inference_inputs")
    sim.add_argument("--outputs-topic", default="inference_outputs")
    sim.set_defaults(func=_simulate)
