"""``driftwarden validate``: the model file, and for a files source the files it names.

A files source is checked as far as it can be before a run: the reference exists and
passes the same schema check as ``reference_data``; the first inference file has every
declared column; the first label file has the id and target columns. Every check is
printed; any problem makes the command exit 2.
"""

from __future__ import annotations

import sys

from monitoring_assets.core.config import ConfigError, FileSource, ModelConfig, load_project
from monitoring_assets.core.schema import SchemaError, inference_columns, validate_inference
from monitoring_assets.core.segments import segment_problems
from monitoring_assets.core.trainer import retraining_note


def validate(models: str | None) -> int:
    """Print what was checked; 0 when everything holds, 2 otherwise."""
    try:
        project = load_project(models)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    problems = 0
    for m in project.models:
        print(f"{m.name} {m.version}: {len(m.features)} features, source {m.source.kind}")
        if isinstance(m.source, FileSource):
            problems += check_files(m)
        note = retraining_note(m)
        if note and note.startswith("retraining: BROKEN"):
            problems += _bad(note)
        elif note:
            print(f"  note {note}")
    if problems:
        print(f"{problems} problem(s) found", file=sys.stderr)
        return 2
    return 0


def _ok(text: str) -> None:
    print(f"  ok   {text}")


def _bad(text: str) -> int:
    print(f"  FAIL {text}", file=sys.stderr)
    return 1


def check_files(model: ModelConfig) -> int:
    """Check the files of ``model``'s files source; print each check; count problems."""
    from resources.sources import FileAdapter

    src = model.source
    assert isinstance(src, FileSource)
    adapter = FileAdapter(model)
    problems = 0
    dated = [n for n in ("inference", "labels") if "{date}" in (getattr(src, n) or "")]
    _ok(
        "path placeholders: "
        + (f"{{date}} in {' and '.join(dated)}" if dated else "none")
        + " ({date} is the only one)"
    )

    try:
        ref = adapter.reference()
        frame = ref.drop(columns=[model.columns.target], errors="ignore")
        if model.columns.latency and model.columns.latency not in frame:
            frame = frame.assign(**{model.columns.latency: float("nan")})
        validate_inference(frame, model, origin=f"reference file {src.reference}")
        _ok(f"reference {src.reference}: {len(ref)} rows, every declared column present")
        seg_problems = segment_problems(ref, model)
        for text in seg_problems:
            problems += _bad(f"reference {src.reference}: {text}")
        if model.segments and not seg_problems:
            _ok(f"segments {', '.join(s.column for s in model.segments)}: columns usable")
        if model.columns.target not in ref:
            _ok(
                f"reference {src.reference} has no target column {model.columns.target!r}: "
                "target drift and reference performance have no baseline"
            )
    except FileNotFoundError:
        problems += _bad(f"reference {src.reference}: no such file")
    except SchemaError as exc:
        problems += _bad(f"reference: {exc}")

    try:
        sample = adapter.sample("inference")
    except SchemaError as exc:
        sample, problems = None, problems + _bad(f"inference: {exc}")
    else:
        if sample is None:
            print(
                f"  note inference {src.inference}: no file yet (runs fail until the first "
                "day's file exists: check the path if logs should be there)"
            )
    if sample is not None:
        path, frame = sample
        missing = [c for c in inference_columns(model) if c not in frame.columns]
        if missing:
            problems += _bad(f"inference file {path} lacks declared column(s) {missing}")
        else:
            _ok(f"inference file {path} (first of {src.inference}): every declared column present")

    if src.labels:
        try:
            sample = adapter.sample("labels")
        except SchemaError as exc:
            sample, problems = None, problems + _bad(f"labels: {exc}")
        else:
            if sample is None:
                _ok(f"labels {src.labels}: no file yet (days stay pending until labels arrive)")
        if sample is not None:
            path, frame = sample
            need = [model.columns.id, model.columns.target]
            missing = [c for c in need if c not in frame.columns]
            if missing:
                problems += _bad(
                    f"label file {path} lacks column(s) {missing} (id and target are required)"
                )
            else:
                _ok(f"label file {path} (first of {src.labels}): id and target columns present")
    else:
        _ok("labels: none configured (no ground truth, no performance)")
    return problems
