"""Validate inference logs and labels against the model file before anything is written."""

from __future__ import annotations

import pandas as pd
from pandas.api import types as ptypes

from monitoring_assets.core.config import ModelConfig


class SchemaError(ValueError):
    """Data does not match the model's declared schema; the message names the column and file."""


def _where(origin: str | None) -> str:
    return f" in {origin}" if origin else ""


def inference_columns(model: ModelConfig) -> list[str]:
    """Every column an inference log must have, in canonical order."""
    c = model.columns
    cols = [c.id, c.timestamp, *model.feature_names, c.prediction]
    cols.extend(model.probability_columns.values())
    if c.latency:
        cols.append(c.latency)
    # Segment columns that are not features (core/segments.py) are kept too.
    known = {n.casefold() for n in cols}
    cols.extend(s.column for s in model.segments if s.column.casefold() not in known)
    return cols


def validate_inference(
    frame: pd.DataFrame, model: ModelConfig, origin: str | None = None
) -> pd.DataFrame:
    """Check ``frame`` against ``model``; return it with canonical column order and dtypes.

    Raises :class:`SchemaError` for: no rows, a missing column, an unexpected column
    (unless ``allow_extra_columns``), a numerical feature that is not numeric, a
    timestamp column that is not a timestamp, a prediction outside ``classes``.
    A column entirely null is valid here (the data-quality monitor reports it).
    """
    where = _where(origin)
    if len(frame) == 0:
        raise SchemaError(f"model {model.name!r}: inference data{where} has no rows")
    expected = inference_columns(model)
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"model {model.name!r}: inference data{where} is missing column(s) {missing}"
        )
    extra = [c for c in frame.columns if c not in expected]
    if extra and not model.allow_extra_columns:
        raise SchemaError(
            f"model {model.name!r}: inference data{where} has unexpected column(s) {extra} "
            "(declare them as features or set allow_extra_columns: true)"
        )
    out = frame[expected].copy()
    for name in model.numerical:
        col = out[name]
        if col.isna().all():
            out[name] = col.astype("float64")
        elif not ptypes.is_numeric_dtype(col) or ptypes.is_bool_dtype(col):
            raise SchemaError(
                f"model {model.name!r}: numerical feature {name!r}{where} has dtype "
                f"{col.dtype}, expected a number"
            )
        else:
            out[name] = col.astype("float64")
    for name in model.categorical:
        col = out[name]
        # Categories are compared as strings everywhere (reference, current, stream).
        out[name] = (
            col.astype("object")
            .where(col.notna(), None)
            .map(lambda v: v if v is None or isinstance(v, str) else str(v))
        )
    features = set(model.feature_names)
    for seg in model.segments:
        if seg.column in features:
            continue
        col = out[seg.column]
        if seg.binned:
            if not ptypes.is_numeric_dtype(col) or ptypes.is_bool_dtype(col):
                raise SchemaError(
                    f"model {model.name!r}: segment column {seg.column!r}{where} has dtype "
                    f"{col.dtype}; it has bins, so it must be a number"
                )
            out[seg.column] = col.astype("float64")
        else:
            out[seg.column] = (
                col.astype("object")
                .where(col.notna(), None)
                .map(lambda v: v if v is None or isinstance(v, str) else str(v))
            )
    ts = model.columns.timestamp
    if not ptypes.is_datetime64_any_dtype(out[ts]):
        try:
            out[ts] = pd.to_datetime(out[ts], utc=False)
        except (ValueError, TypeError) as exc:
            raise SchemaError(
                f"model {model.name!r}: timestamp column {ts!r}{where} is not a timestamp: {exc}"
            ) from None
    if getattr(out[ts].dt, "tz", None) is not None:
        out[ts] = out[ts].dt.tz_convert("UTC").dt.tz_localize(None)
    out[ts] = out[ts].astype("datetime64[us]")
    out[model.columns.id] = out[model.columns.id].astype(str)
    pred = model.columns.prediction
    if model.task == "regression":
        if not ptypes.is_numeric_dtype(out[pred]) or ptypes.is_bool_dtype(out[pred]):
            raise SchemaError(
                f"model {model.name!r}: prediction column {pred!r}{where} has dtype "
                f"{out[pred].dtype}, expected a number (task regression)"
            )
        out[pred] = out[pred].astype("float64")
        return _numeric_outputs(out, model, where)
    if not ptypes.is_numeric_dtype(out[pred]) or ptypes.is_bool_dtype(out[pred]):
        if ptypes.is_bool_dtype(out[pred]):
            out[pred] = out[pred].astype("int64")
        else:
            raise SchemaError(
                f"model {model.name!r}: prediction column {pred!r}{where} has dtype "
                f"{out[pred].dtype}, expected one of the classes {list(model.classes)}"
            )
    bad = ~out[pred].isin(model.classes)
    if bad.any():
        raise SchemaError(
            f"model {model.name!r}: prediction column {pred!r}{where} has {int(bad.sum())} "
            f"value(s) outside the classes {list(model.classes)}, e.g. {out[pred][bad].iloc[0]!r}"
        )
    out[pred] = out[pred].astype("int64")
    return _numeric_outputs(out, model, where)


def _numeric_outputs(out: pd.DataFrame, model: ModelConfig, where: str) -> pd.DataFrame:
    """Probability and latency columns must be numbers (float64)."""
    for name in (*model.probability_columns.values(), model.columns.latency):
        if name and not ptypes.is_numeric_dtype(out[name]):
            raise SchemaError(
                f"model {model.name!r}: column {name!r}{where} has dtype {out[name].dtype}, "
                "expected a number"
            )
        if name:
            out[name] = out[name].astype("float64")
    return out


def validate_labels(
    frame: pd.DataFrame, model: ModelConfig, origin: str | None = None
) -> pd.DataFrame:
    """Check a labels frame has the id and target columns; values are judged downstream
    (unknown ids, conflicting duplicates and out-of-class labels are performance findings)."""
    where = _where(origin)
    need = [model.columns.id, model.columns.target]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise SchemaError(f"model {model.name!r}: labels{where} are missing column(s) {missing}")
    out = frame.copy()
    out[model.columns.id] = out[model.columns.id].astype(str)
    if "label_timestamp" in out:
        out["label_timestamp"] = pd.to_datetime(out["label_timestamp"]).astype("datetime64[us]")
    return out
