"""The trust boundary: registry artifacts are loaded only with a matching recorded sha256;
stream checkpoints are JSON and a pickle in their place is never loaded."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import pickle
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.streaming import checkpoint
from monitoring_assets.streaming.checkpoint import (
    CheckpointError,
    decode_state,
    encode_state,
    read_checkpoint,
)
from monitoring_assets.streaming.messages import NAN
from monitoring_assets.streaming.processor import (
    ProcessorState,
    StreamProcessor,
    _Pending,
    _PendingOut,
)
from monitoring_assets.streaming.settings import StreamSettings
from monitoring_assets.streaming.windows import WindowSpec, build_windows, window_monitor
from resources import model_registry
from resources.model_registry import LocalModelRegistry, RegistryError
from tests.security.hostile import evil_pickle

D = dt.date(2026, 6, 1)


# --------------------------------------------------------------------------- registry


@pytest.fixture()
def registry(tmp_path) -> LocalModelRegistry:
    reg = LocalModelRegistry(tmp_path / "registry")
    reg.ensure_initial("churn", "v1", LogisticRegression().fit([[0.0], [1.0]], [0, 1]), D)
    return reg


def test_the_payload_is_live(tmp_path):
    # What the registry must prevent: unpickling this file runs a command.
    marker = tmp_path / "ran"
    pickle.loads(evil_pickle(marker))
    assert marker.exists()


def test_register_records_the_artifact_sha256(registry):
    path = registry.artifact_path("churn", "v1")
    index = json.loads((path.parent.parent / "registry.json").read_text())
    (entry,) = index["versions"]
    assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert registry.get("churn", "v1").sha256 == entry["sha256"]
    assert registry.load_artifact("churn", "v1").predict([[1.0]])[0] == 1


def test_a_swapped_artifact_is_refused_before_unpickling(registry, tmp_path):
    marker = tmp_path / "ran"
    path = registry.artifact_path("churn", "v1")
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(evil_pickle(marker))
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(RegistryError) as err:
        registry.load_artifact("churn", "v1")
    message = str(err.value)
    assert str(path) in message and expected[:12] in message and found[:12] in message
    assert not marker.exists()


def test_a_registry_without_hashes_is_refused_until_trusted(registry, tmp_path, capsys):
    index_path = registry.root / "churn" / "registry.json"
    index = json.loads(index_path.read_text())
    for v in index["versions"]:
        del v["sha256"]  # as written before hashes were recorded
    index_path.write_text(json.dumps(index))
    with pytest.raises(RegistryError, match="no sha256 is recorded") as err:
        registry.load_artifact("churn", "v1")
    assert "python -m resources.model_registry trust" in str(err.value)
    assert str(registry.artifact_path("churn", "v1")) in str(err.value)

    assert model_registry.main(["trust", str(registry.root), "churn", "v1"]) == 0
    assert "recorded sha256" in capsys.readouterr().out
    assert registry.load_artifact("churn", "v1").predict([[0.0]])[0] == 0

    assert model_registry.main(["trust", str(registry.root), "churn", "v9"]) == 2
    assert "no version 'v9'" in capsys.readouterr().err


@pytest.mark.parametrize("version", ["..", "../v1", "v1/../../x", ".hidden", "-rf", "v1\x00"])
def test_registry_names_are_safe_names(registry, version):
    with pytest.raises(RegistryError, match="version .* is not a safe name"):
        registry.register("churn", {"w": 1}, version=version)
    with pytest.raises(RegistryError, match="is not a safe name"):
        registry.artifact_path("churn", version)
    with pytest.raises(RegistryError, match="model name .* is not a safe name"):
        registry.versions(version)


# --------------------------------------------------------------------------- checkpoint


WINDOWS = [WindowSpec(kind="count", size=50), WindowSpec(kind="time", seconds=3600)]


def _state(model: ModelConfig) -> ProcessorState:
    """A state holding every kind of value a checkpoint must restore bit for bit."""
    windows = build_windows(model, WINDOWS)
    num, cat = model.numerical, model.categorical
    pred = model.columns.prediction
    values = [1.5, None, NAN, math.inf, -math.inf, -0.0, 1e-308, 0.1 + 0.2]
    cols = {n: values for n in num}
    cols.update({c: ["a", None, "O'Brien", "é\u202e", "", '"q"', "x", "y"] for c in cat})
    cols[pred] = [0, 1, 0, 1, 1, 0, 0, 1]
    ts = [1_780_000_000_000_000 + i for i in range(8)]
    for w in windows:
        w.add(cols, ts)
    return ProcessorState(
        seq=7,
        offsets={("inference_inputs", 0): 120, ("inference_outputs", 3): 99},
        windows=windows,
        pending_in={
            "r-1": _Pending(ts[0], [1.0, NAN, None, "x"], (b"\x00\xff{", None, 0, 5), 1.25)
        },
        pending_out={
            "r-2": _PendingOut([1, NAN, 3.5], 0, 2.5, (b"v", b"k", 1, 9)),
            "r-3": _PendingOut(None, 1, 3.0, None),
        },
        watermark_us=ts[-1],
        days={"2026-06-01": {"rows": 8, "parts": 1, "labels": 0}},
        since_eval=3,
        severity={"count_50": "WARN"},
    )


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        (x is y) or (x == y and type(x) is type(y) and math.copysign(1, x) == math.copysign(1, y))
        if isinstance(x, float) and isinstance(y, float)
        else (x == y and type(x) is type(y))
        for x, y in zip(a, b)
    )


def test_checkpoint_round_trip_is_exact(model):
    state = _state(model)
    data = encode_state(state, model.name)
    assert data.startswith(b"{")
    back = decode_state(data, Path("x.state"), model.name)
    assert (back.seq, back.offsets, back.watermark_us, back.days) == (
        state.seq,
        state.offsets,
        state.watermark_us,
        state.days,
    )
    assert (back.since_eval, back.severity, back.counters) == (
        state.since_eval,
        state.severity,
        state.counters,
    )
    for w0, w1 in zip(state.windows, back.windows):
        (c0, t0), (c1, t1) = w0.events(), w1.events()
        assert t0 == t1 and w0.newest_us == w1.newest_us and w0.rows == w1.rows
        for name in c0:
            assert _same(c0[name], c1[name]), name
        # NaN comes back as the stream's canonical NaN, so the counters match key for key.
        assert w0.counters == w1.counters
    p0, p1 = state.pending_in["r-1"], back.pending_in["r-1"]
    assert p1.raw == p0.raw and p1.ts_us == p0.ts_us and _same(p1.values, p0.values)
    assert p1.values[1] is NAN
    q0, q1 = state.pending_out["r-2"], back.pending_out["r-2"]
    assert q1.raw == q0.raw and _same(q1.pred, q0.pred) and q1.target == 0
    assert back.pending_out["r-3"].pred is None and back.pending_out["r-3"].raw is None


def _processor(model, reference, path) -> StreamProcessor:
    settings = StreamSettings(windows=WINDOWS)
    return StreamProcessor(model, window_monitor(model, reference), settings, None, path)


def test_an_old_pickle_checkpoint_is_refused_and_never_loaded(model, reference, tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "_consumer" / "driftwarden-churn.state"
    path.parent.mkdir()
    path.write_bytes(evil_pickle(marker))
    with pytest.raises(CheckpointError) as err:
        _processor(model, reference, path).restore()
    message = str(err.value)
    assert str(path) in message and "old pickle format" in message
    assert "python -m monitoring_assets.streaming.checkpoint upgrade" in message
    # The explicit upgrade accepts only the stream's own classes.
    with pytest.raises(CheckpointError, match="refusing global"):
        checkpoint.upgrade_v1(path, model.name)
    assert not marker.exists()


@pytest.mark.parametrize(
    "damage, fragment",
    [
        (lambda data: data[: len(data) // 2], "not valid JSON"),
        (lambda data: b"\xff\xfe garbage", "not valid JSON"),
        (lambda data: b"[]", "not a driftwarden stream checkpoint"),
        (lambda data: data.replace(b'"version":2', b'"version":3'), "has version 3"),
        (lambda data: data.replace(b'"seq"', b'"sequence"'), "missing key 'seq'"),
        (lambda data: data.replace(b'"model":"churn"', b'"model":"fraud"'), "model 'fraud'"),
    ],
)
def test_a_damaged_checkpoint_names_the_file(model, reference, tmp_path, damage, fragment):
    path = tmp_path / "g.state"
    path.write_bytes(damage(encode_state(_state(model), model.name)))
    with pytest.raises(CheckpointError, match=fragment) as err:
        _processor(model, reference, path).restore()
    assert str(path) in str(err.value)


def test_a_version_1_checkpoint_upgrades_exactly(model, reference, tmp_path, capsys):
    state = _state(model)
    state.version = 1  # version-1 pickles carried this field
    path = tmp_path / "lake" / model.name / "stream" / "_consumer" / "g.state"
    path.parent.mkdir(parents=True)
    path.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert checkpoint.main(["upgrade", str(path)]) == 0
    assert "converted checkpoint 7" in capsys.readouterr().out
    assert path.read_bytes().startswith(b"{") and path.with_name("g.state.v1").exists()
    back = read_checkpoint(path, model.name)
    assert back.offsets == state.offsets and back.pending_out.keys() == state.pending_out.keys()
    for w0, w1 in zip(state.windows, back.windows):
        assert w0.counters == w1.counters and w0.events()[1] == w1.events()[1]
    restored = _processor(model, reference, path).restore()
    assert restored.seq == 7 and [w.rows for w in restored.windows] == [8, 8]
    assert checkpoint.main(["upgrade", str(path)]) == 2  # already JSON: nothing to do
