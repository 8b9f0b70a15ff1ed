"""Column roles, feature types and the task: how ``driftwarden init`` judges a column."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

import pandas as pd
from pandas.api import types as ptypes

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.onboarding.files import OnboardingError

#: An integer column with at most this many distinct values is categorical.
INT_CATEGORICAL_MAX = 20
#: A text column with more distinct values than this is left out (too many categories).
TEXT_CATEGORICAL_MAX = 100
#: A text column whose values average more characters than this is free text.
FREE_TEXT_MEAN_LENGTH = 40
#: A target with at most this many distinct integer values is a classification target.
CLASSES_MAX = 20

ROLES = ("id", "timestamp", "prediction", "probability", "target", "latency")
OPTIONAL_ROLES = ("probability", "latency")

# Names each role is recognised by (compared without case, "_", "-" and spaces),
# most specific first: a candidate by an earlier name wins over later ones.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("requestid", "predictionid", "inferenceid", "eventid", "id", "uuid", "transactionid"),
    "timestamp": (
        "timestamp",
        "eventtimestamp",
        "eventtime",
        "requesttime",
        "predictiontime",
        "scoredat",
        "createdat",
        "datetime",
        "time",
        "ts",
    ),
    "prediction": (
        "prediction",
        "predicted",
        "predictedlabel",
        "predictedclass",
        "pred",
        "ypred",
        "yhat",
    ),
    "probability": (
        "probability",
        "predictedprobability",
        "proba",
        "prob",
        "yproba",
        "score",
        "yscore",
        "confidence",
    ),
    "target": ("target", "label", "groundtruth", "ytrue", "y", "actual", "outcome"),
    "latency": ("latencyms", "latency", "durationms", "responsetimems", "elapsedms"),
}


@dataclass(frozen=True)
class Role:
    column: str | None
    how: str


# --------------------------------------------------------------------------- roles


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).casefold()


def _is_time(s: pd.Series) -> bool:
    if ptypes.is_datetime64_any_dtype(s):
        return True
    if not (ptypes.is_object_dtype(s) or ptypes.is_string_dtype(s)):
        return False
    sample = s.dropna().head(200)
    if sample.empty:
        return False
    try:
        pd.to_datetime(sample.astype(str), format="mixed")
    except (ValueError, TypeError):
        return False
    return True


def _is_number(s: pd.Series) -> bool:
    return ptypes.is_numeric_dtype(s) and not ptypes.is_bool_dtype(s)


def _content_ok(role: str, s: pd.Series) -> tuple[bool, str]:
    """Whether ``s`` can hold ``role``, and what about its content says so."""
    v = s.dropna()
    if v.empty:
        return False, "all null"
    if role == "id":
        return bool(v.is_unique and len(v) == len(s)), "unique, never null"
    if role == "timestamp":
        return _is_time(s), "holds timestamps"
    if role == "prediction":
        return bool(ptypes.is_numeric_dtype(s)), "numbers"
    if role == "probability":
        ok = _is_number(s) and float(v.min()) >= 0.0 and float(v.max()) <= 1.0
        return ok, "numbers in [0, 1]"
    if role == "latency":
        return bool(_is_number(s) and float(v.min()) >= 0.0), "non-negative numbers"
    return True, "not all null"  # target


def find_role(role: str, columns: dict[str, pd.Series], where: str, taken: set[str]) -> Role | None:
    """The one column of ``columns`` that holds ``role``, by name then content; None if
    none; an error naming the candidates if more than one fits equally well."""
    names = ROLE_NAMES[role]
    ranked: dict[int, list[tuple[str, str]]] = {}
    for col, series in columns.items():
        if col in taken:
            continue
        n = _norm(col)
        rank = names.index(n) if n in names else None
        if rank is None and role == "id" and n.endswith("id") and len(n) > 2:
            rank = len(names)  # some_id: after every exact name
        if rank is None and role == "timestamp" and ptypes.is_datetime64_any_dtype(series):
            rank = len(names) + 1  # a timestamp by dtype alone, whatever its name
        if rank is None:
            continue
        ok, why = _content_ok(role, series)
        if ok:
            ranked.setdefault(rank, []).append((col, why))
    if not ranked:
        return None
    best = ranked[min(ranked)]
    if len(best) > 1:
        cols = ", ".join(repr(c) for c, _ in best)
        raise OnboardingError(
            f"{where}: more than one column could be the {role} ({cols}); "
            f"say which with --{role} COLUMN"
        )
    col, why = best[0]
    how = "by name and content" if _norm(col) in names else "by content"
    return Role(col, f"{how} ({why}) in {where}")


# --------------------------------------------------------------------------- features


def feature_type(name: str, s: pd.Series, where: str) -> tuple[str | None, str]:
    """(``numerical`` | ``categorical``, why) or (None, why it is left out)."""
    v = s.dropna()
    if v.empty:
        raise OnboardingError(
            f"{where}: column {name!r} is entirely null; drop it from the file or pass "
            f"--exclude {name}"
        )
    distinct = int(v.nunique())
    unique_per_row = distinct == len(v) and len(v) > INT_CATEGORICAL_MAX
    if ptypes.is_bool_dtype(s):
        return "categorical", "boolean"
    if ptypes.is_datetime64_any_dtype(s) or ptypes.is_timedelta64_dtype(s):
        return None, "a timestamp, not a model input"
    if ptypes.is_integer_dtype(s):
        if distinct <= INT_CATEGORICAL_MAX:
            return "categorical", f"integer with {distinct} distinct values"
        n = _norm(name)
        if unique_per_row or n == "id" or n.endswith("id"):
            return (
                None,
                f"an identifier ({distinct} distinct integers{', one per row' if unique_per_row else ''})",
            )
        return "numerical", f"integer with {distinct} distinct values"
    if ptypes.is_numeric_dtype(s):
        if distinct <= 2:
            return "categorical", f"number with {distinct} distinct values"
        return "numerical", f"{s.dtype} number"
    text = v.astype(str)
    mean_len = float(text.str.len().mean())
    if unique_per_row and mean_len <= FREE_TEXT_MEAN_LENGTH:
        return None, f"an identifier (text, unique per row, {distinct} values)"
    if mean_len > FREE_TEXT_MEAN_LENGTH:
        return (
            None,
            f"free text (mean length {mean_len:.0f} characters, {distinct} distinct values)",
        )
    if distinct > TEXT_CATEGORICAL_MAX:
        return None, (
            f"text with {distinct} distinct values (over {TEXT_CATEGORICAL_MAX}): too many "
            "categories to monitor; bucket it upstream to monitor it"
        )
    return "categorical", f"text with {distinct} distinct values"


# --------------------------------------------------------------------------- task


def supported_tasks() -> tuple[str, ...]:
    """The task types the model file accepts now (read from its schema)."""
    return get_args(ModelConfig.model_fields["task"].annotation)


def infer_task(
    target: pd.Series | None, prediction: pd.Series | None, where: str
) -> tuple[str, str, tuple | None]:
    """(task, how, classes) from the target's values, else the prediction's."""
    series, named = (
        (target, "target")
        if target is not None and target.notna().any()
        else (prediction, "prediction")
    )
    if series is None or not series.notna().any():
        return (
            "binary_classification",
            "no target or prediction values to judge by: the default",
            (0, 1),
        )
    v = series.dropna()
    if ptypes.is_bool_dtype(v):
        return "binary_classification", f"the {named} is boolean", (0, 1)
    distinct = sorted(v.unique().tolist(), key=str)
    k = len(distinct)
    integral = ptypes.is_integer_dtype(v) or (
        ptypes.is_numeric_dtype(v) and bool(((v % 1) == 0).all())
    )
    if ptypes.is_numeric_dtype(v) and not (integral and k <= CLASSES_MAX):
        return "regression", f"the {named} is a number with {k} distinct values", None
    if k > CLASSES_MAX:
        raise OnboardingError(
            f"{where}: the {named} {series.name!r} has {k} distinct non-numeric values: "
            "neither classes nor a regression target"
        )
    if k <= 2:
        if not integral:
            raise OnboardingError(
                f"{where}: the {named} {series.name!r} has the classes {distinct}; "
                "the model file needs integer classes (e.g. 0 and 1): encode them upstream"
            )
        ints = sorted(int(x) for x in distinct)
        classes = (0, 1) if set(ints) <= {0, 1} else tuple(ints) if k == 2 else (0, 1)
        return "binary_classification", f"the {named} has {k} distinct values {ints}", classes
    if not integral:
        raise OnboardingError(
            f"{where}: the {named} {series.name!r} has the classes {distinct}; "
            "the model file needs integer classes (e.g. 0, 1, 2): encode them upstream"
        )
    ints = tuple(sorted(int(x) for x in distinct))
    return "multiclass", f"the {named} has {k} distinct values {list(ints)}", ints
