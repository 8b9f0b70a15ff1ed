"""docs/streaming.md documents the message format operators produce: its example messages
are accepted (or refused, for the dead letter) by the consumer's own validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

from monitoring_assets.core.config import load_project
from monitoring_assets.streaming.messages import MessageSchema, Rejection
from monitoring_assets.streaming.processor import DeadLetter

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "streaming.md"


def _json_blocks() -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", DOC.read_text(), re.S)]


def _schema() -> MessageSchema:
    return MessageSchema(load_project(ROOT / "monitoring_assets/models/churn.yaml").models[0])


def test_the_documented_messages_are_valid_for_the_demo_model():
    inp, out, label, dead = _json_blocks()
    schema = _schema()
    rid, ts, values = schema.input_row(inp)
    assert rid == "churn-20260601-000000" and ts == inp["timestamp"] and None not in values
    rid, pred, target, _ = schema.output_row(out)
    assert rid == inp["request_id"] and pred is not None and target is None
    rid, pred, target, ts = schema.output_row(label)
    assert rid == inp["request_id"] and pred is None and target == 1 and ts is not None
    # The dead letter's reason is what the consumer says about its original message.
    refused = schema.input_row(json.loads(dead["value"]))
    assert isinstance(refused, Rejection) and refused.reason == dead["reason"]
    example = DeadLetter("inference_inputs", 0, 41, b"r-9", dead["value"].encode(), "x: y")
    assert set(dead) == set(json.loads(example.payload(1000)))


def test_every_dead_letter_reason_code_and_topic_is_documented():
    text = DOC.read_text()
    source = (ROOT / "monitoring_assets/streaming/messages.py").read_text()
    codes = set(re.findall(r'Rejection\(\s*"(\w+)"', source)) - {"other_model"}
    codes.add("unmatched")
    assert codes <= set(re.findall(r"`(\w+)`", text)), codes
    for topic in ("inference_inputs", "inference_outputs", "inference_dead_letter"):
        assert f"`{topic}`" in text


def test_the_readme_points_to_the_streaming_doc():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Streaming (Kafka)", 1)[1].split("\n## ", 1)[0]
    assert "docs/streaming.md" in section
