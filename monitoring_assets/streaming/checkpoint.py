"""The stream consumer's checkpoint file: JSON, so that reading it can never run code.

A checkpoint (``{lake}/{model}/stream/_consumer/{group}.state``) holds what a consumer
needs to resume exactly where it stopped: the sequence number, the next offset per
topic partition, the events in each sliding window, the joins still waiting for their
other half, the event-time watermark, per-day counts, the counters and the last
severity per window. The lake is data, outside the trust boundary (see the README), so
the file is plain JSON rather than a pickle.

Exactness: floats are written with ``repr`` precision and read back bit for bit,
including NaN and ±inf (as JSON's ``NaN``/``Infinity`` extension); NaN comes back as
the stream's canonical NaN object, which the window counters rely on. Integers stay
integers, strings strings, ``None`` null; message bytes are base64.

A file that is not such a checkpoint (corrupt, truncated, another model's, or the
pickle written by releases before checkpoint version 2) raises
:class:`CheckpointError` naming the file and what to do; it is never unpickled. An old
pickle written by your own consumer can be converted once, explicitly::

    python -m monitoring_assets.streaming.checkpoint upgrade <file>

The conversion accepts only the stream's own state classes (no other code can run).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import pickle
import sys
from pathlib import Path
from typing import Any

from monitoring_assets.core.lake_io import Location
from monitoring_assets.streaming.landing import read_location, write_location
from monitoring_assets.streaming.messages import NAN
from monitoring_assets.streaming.state import Counters, ProcessorState, _Pending, _PendingOut
from monitoring_assets.streaming.windows import SlidingWindow, WindowSpec

FORMAT = "driftwarden-stream-checkpoint"
#: Version 1 was a pickle; version 2 is this JSON document.
VERSION = 2


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used; the message names the file and what to do."""


# --------------------------------------------------------------------------- encoding


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text.encode("ascii"), validate=True)


def _raw_out(raw: Any) -> list | None:
    if raw is None:
        return None
    value, key, partition, offset = raw
    return [_b64(value), _b64(key), partition, offset]


def _raw_in(raw: list | None) -> tuple | None:
    if raw is None:
        return None
    value, key, partition, offset = raw
    return (_unb64(value), _unb64(key), int(partition), int(offset))


def _canonical(values: list) -> list:
    """``values`` with every NaN replaced by the stream's canonical NaN object."""
    return [NAN if v != v else v for v in values]


def _window_out(w: SlidingWindow) -> dict[str, Any]:
    cols, ts = w.events()
    return {
        "spec": w.spec.model_dump(),
        "columns": w.columns,
        "dtypes": w.dtypes,
        "events": {"columns": cols, "ts": ts},
        "newest_us": w.newest_us,
    }


def _window_in(d: dict[str, Any]) -> SlidingWindow:
    w = SlidingWindow(WindowSpec(**d["spec"]), d["columns"], d["dtypes"])
    events = d["events"]
    cols = {c: _canonical(v) for c, v in events["columns"].items()}
    w.load_events(cols, [int(t) for t in events["ts"]], d["newest_us"])
    return w


def encode_state(state: Any, model: str) -> bytes:
    """The JSON bytes of a :class:`~monitoring_assets.streaming.processor.ProcessorState`."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "model": model,
        "seq": state.seq,
        "offsets": [[t, p, o] for (t, p), o in sorted(state.offsets.items())],
        "windows": [_window_out(w) for w in state.windows],
        "pending_in": {
            rid: {
                "ts_us": p.ts_us,
                "values": p.values,
                "raw": _raw_out(p.raw),
                "arrived": p.arrived,
            }
            for rid, p in state.pending_in.items()
        },
        "pending_out": {
            rid: {
                "pred": p.pred,
                "target": p.target,
                "arrived": p.arrived,
                "raw": _raw_out(p.raw),
            }
            for rid, p in state.pending_out.items()
        },
        "watermark_us": state.watermark_us,
        "days": state.days,
        "counters": Counters.from_dict(vars(state.counters)).as_dict(),
        "since_eval": state.since_eval,
        "severity": state.severity,
    }
    return json.dumps(doc, allow_nan=True, separators=(",", ":")).encode()


def decode_state(data: bytes, path: Path, model: str) -> Any:
    """A ``ProcessorState`` from checkpoint bytes; :class:`CheckpointError` for anything
    that is not a version-2 JSON checkpoint of ``model`` (never unpickled)."""
    if data[:1] == b"\x80":
        raise CheckpointError(
            f"stream checkpoint {path} is in the old pickle format (checkpoint version 1), "
            "which is not read because unpickling can run code. If this file was written by "
            "your own consumer, convert it once with: python -m "
            f"monitoring_assets.streaming.checkpoint upgrade {path} ; otherwise move it and "
            f"the landed parts under {path.parent.parent} away to start the group afresh"
        )
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(
            f"stream checkpoint {path} is not valid JSON ({exc}); it is corrupt or truncated. "
            f"Restore it from a backup, or move it and the landed parts under "
            f"{path.parent.parent} away to start the group afresh"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a driftwarden stream checkpoint")
    if doc.get("version") != VERSION:
        raise CheckpointError(
            f"stream checkpoint {path} has version {doc.get('version')!r}; this release "
            f"reads version {VERSION}"
        )
    if doc.get("model") != model:
        raise CheckpointError(
            f"stream checkpoint {path} belongs to model {doc.get('model')!r}, not {model!r}"
        )
    try:
        return ProcessorState(
            seq=int(doc["seq"]),
            offsets={(str(t), int(p)): int(o) for t, p, o in doc["offsets"]},
            windows=[_window_in(w) for w in doc["windows"]],
            pending_in={
                str(rid): _Pending(
                    int(p["ts_us"]), _canonical(p["values"]), _raw_in(p["raw"]), p["arrived"]
                )
                for rid, p in doc["pending_in"].items()
            },
            pending_out={
                str(rid): _PendingOut(
                    None if p["pred"] is None else _canonical(p["pred"]),
                    p["target"],
                    p["arrived"],
                    _raw_in(p["raw"]),
                )
                for rid, p in doc["pending_out"].items()
            },
            watermark_us=doc["watermark_us"],
            days={str(d): {str(k): int(v) for k, v in c.items()} for d, c in doc["days"].items()},
            counters=Counters.from_dict(doc["counters"]),
            since_eval=int(doc["since_eval"]),
            severity={str(k): str(v) for k, v in doc["severity"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise CheckpointError(
            f"stream checkpoint {path} is damaged ({what}). Restore it from a backup, or move "
            f"it and the landed parts under {path.parent.parent} away to start the group afresh"
        ) from None


def read_checkpoint(path: Path | Location, model: str) -> Any:
    """The state in the checkpoint file (or object) at ``path`` (see :func:`decode_state`)."""
    data = read_location(path)
    if data is None:
        raise FileNotFoundError(f"no checkpoint at {path}")
    return decode_state(data, path, model)


def write_checkpoint(path: Path | Location, state: Any, model: str) -> None:
    """Replace the checkpoint at ``path`` atomically (temp file, fsync, rename; or one
    object upload)."""
    write_location(path, encode_state(state, model))


# --------------------------------------------------------------------------- upgrade


def _v1_classes() -> dict[tuple[str, str], type]:
    # Old checkpoints name the state classes by the module that held them then
    # (``processor``); they now live in ``state``.
    classes = {c.__name__: c for c in (ProcessorState, Counters, _Pending, _PendingOut)}
    allowed: dict[tuple[str, str], type] = {
        ("monitoring_assets.streaming.windows", "SlidingWindow"): SlidingWindow
    }
    for module in ("monitoring_assets.streaming.processor", "monitoring_assets.streaming.state"):
        allowed.update({(module, name): cls for name, cls in classes.items()})
    return allowed


class _StateOnlyUnpickler(pickle.Unpickler):
    """Resolves only the stream's own state classes; any other global is refused, so no
    function (``os.system``, ``eval``…) can be reached from the file."""

    def __init__(self, file: io.BytesIO):
        super().__init__(file)
        self._allowed = _v1_classes()

    def find_class(self, module: str, name: str) -> type:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing global {module}.{name}: not a stream state class"
            ) from None


def upgrade_v1(path: Path, model: str) -> Any:
    """Convert an old pickle checkpoint to JSON in place; returns the state. Only the
    stream's state classes are accepted while reading it."""
    data = path.read_bytes()
    if data[:1] != b"\x80":
        raise CheckpointError(f"{path} is not an old pickle checkpoint; nothing to upgrade")
    try:
        state = _StateOnlyUnpickler(io.BytesIO(data)).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot upgrade {path}: {exc}") from None
    if getattr(state, "version", None) != 1 or type(state).__name__ != "ProcessorState":
        raise CheckpointError(f"cannot upgrade {path}: it is not a version-1 stream state")
    backup = path.with_name(path.name + ".v1")
    backup.write_bytes(data)
    write_checkpoint(path, state, model)
    return state


def main(argv: list[str] | None = None) -> int:
    """``python -m monitoring_assets.streaming.checkpoint upgrade FILE``."""
    parser = argparse.ArgumentParser(prog="python -m monitoring_assets.streaming.checkpoint")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="convert an old pickle checkpoint you trust to JSON")
    up.add_argument("file", type=Path, help="{lake}/{model}/stream/_consumer/{group}.state")
    args = parser.parse_args(argv)
    model = args.file.resolve().parent.parent.parent.name  # {lake}/{model}/stream/_consumer
    try:
        state = upgrade_v1(args.file, model)
    except (CheckpointError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(
        f"{args.file}: converted checkpoint {state.seq} of model {model!r} to JSON "
        f"(the pickle is kept as {args.file.name}.v1)"
    )
    return 0


__all__ = [
    "CheckpointError",
    "decode_state",
    "encode_state",
    "read_checkpoint",
    "upgrade_v1",
    "write_checkpoint",
]


if __name__ == "__main__":
    raise SystemExit(main())
