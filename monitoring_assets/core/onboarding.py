"""From a team's own files to a model file: what ``driftwarden init`` infers.

:func:`infer` reads a reference file (Parquet or CSV) and, optionally, a sample of
inference logs and labels, and decides:

- the column roles (id, timestamp, prediction, probability, target, latency), by name
  and content; a role given by the caller is taken as given; two candidates for one role
  are an error asking for the flag, never a silent pick;
- each remaining column's feature type from its dtype and cardinality (booleans and
  low-cardinality integers are categorical), or why it is left out (identifiers, free
  text, timestamps, very high cardinality);
- the task type from the target and prediction values;
- the first daily partition from the first log file (or the logs' first timestamp).

:func:`render` writes the result as a commented model file that says how each of these
was decided. Files are read with DuckDB, as the files source reads them at run time.
"""

from __future__ import annotations

import datetime as dt
import glob as globlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import duckdb
import pandas as pd
from pandas.api import types as ptypes

from monitoring_assets.core.config import ModelConfig

#: An integer column with at most this many distinct values is categorical.
INT_CATEGORICAL_MAX = 20
#: A text column with more distinct values than this is left out (too many categories).
TEXT_CATEGORICAL_MAX = 100
#: A text column whose values average more characters than this is free text.
FREE_TEXT_MEAN_LENGTH = 40
#: A target with at most this many distinct integer values is a classification target.
CLASSES_MAX = 20
#: Log (and label) files read to find columns and roles: the first ones by date.
SAMPLE_FILES = 3

ROLES = ("id", "timestamp", "prediction", "probability", "target", "latency")
OPTIONAL_ROLES = ("probability", "latency")

# Names each role is recognised by (compared without case, "_", "-" and spaces),
# most specific first: a candidate by an earlier name wins over later ones.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("requestid", "predictionid", "inferenceid", "eventid", "id", "uuid", "transactionid"),
    "timestamp": (
        "timestamp", "eventtimestamp", "eventtime", "requesttime", "predictiontime", "scoredat",
        "createdat", "datetime", "time", "ts",
    ),
    "prediction": (
        "prediction", "predicted", "predictedlabel", "predictedclass", "pred", "ypred", "yhat",
    ),
    "probability": (
        "probability", "predictedprobability", "proba", "prob", "yproba", "score", "yscore",
        "confidence",
    ),
    "target": ("target", "label", "groundtruth", "ytrue", "y", "actual", "outcome"),
    "latency": ("latencyms", "latency", "durationms", "responsetimems", "elapsedms"),
}


class OnboardingError(ValueError):
    """The files cannot become a model file; the message names the file and column."""


@dataclass(frozen=True)
class Table:
    """A file (or the sampled files of a pattern) read as the files source reads it."""

    what: str  # reference | inference logs | labels
    spec: str  # what was asked for: a file, folder or pattern
    files: list[str]
    frame: pd.DataFrame
    fmt: str
    dates: list[dt.date] = field(default_factory=list)  # from {date} or date= folders

    @property
    def where(self) -> str:
        return self.files[0] if len(self.files) == 1 else f"{self.spec} ({len(self.files)} files)"


@dataclass(frozen=True)
class Role:
    column: str | None
    how: str


@dataclass(frozen=True)
class FeatureGuess:
    name: str
    type: str  # numerical | categorical
    how: str
    missing_share: float


@dataclass(frozen=True)
class Onboarding:
    """Everything :func:`render` writes."""

    name: str
    reference: Table
    logs: Table | None
    labels: Table | None
    roles: dict[str, Role]
    features: list[FeatureGuess]
    left_out: dict[str, str]  # column -> why it is not a feature
    extra_log_columns: list[str]
    task: str
    task_how: str
    classes: tuple | None
    start_date: dt.date
    start_how: str


# --------------------------------------------------------------------------- reading


def file_format(path: str) -> str:
    """``parquet`` or ``csv``, from the name, else from the first bytes."""
    lower = path.lower()
    if lower.endswith((".parquet", ".pq", ".parq")):
        return "parquet"
    if lower.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise OnboardingError(f"{path}: cannot read ({exc.strerror})") from None
    if head == b"PAR1":
        return "parquet"
    raise OnboardingError(
        f"{path} is not a Parquet or CSV file (name it .parquet or .csv if it is one)"
    )


def _read_file(path: str, what: str) -> tuple[pd.DataFrame, str]:
    fmt = file_format(path)
    if Path(path).stat().st_size == 0:
        raise OnboardingError(f"{what} file {path} is empty")
    # The same reader and options as the files source at run time (resources/sources.py).
    reader = "read_parquet(?, hive_partitioning = false)" if fmt == "parquet" else "read_csv_auto(?)"
    con = duckdb.connect()
    try:
        frame = con.execute(f"SELECT * FROM {reader}", [path]).df()
    except duckdb.Error as exc:
        raise OnboardingError(
            f"{what} file {path} is not a readable {fmt} file: {str(exc).splitlines()[0]}"
        ) from None
    finally:
        con.close()
    return frame, fmt


def _date_regex(spec: str) -> re.Pattern:
    parts = [re.escape(p) for p in spec.split("{date}")]
    return re.compile(r"(\d{4}-\d{2}-\d{2})".join(parts) + "$")


def expand(spec: str, what: str) -> tuple[list[str], list[dt.date]]:
    """The files of a file, folder or pattern, in date order, and their dates when the
    pattern has ``{date}`` or the folder has ``date=YYYY-MM-DD`` parts."""
    if "{date}" in spec:
        rx = _date_regex(spec)
        found = []
        for f in globlib.glob(spec.replace("{date}", "*"), recursive=True):
            m = rx.search(f)
            if m and Path(f).is_file():
                try:
                    found.append((dt.date.fromisoformat(m.group(1)), f))
                except ValueError:
                    continue
        if not found:
            raise OnboardingError(f"{what}: the pattern {spec!r} matches no file")
        found.sort()
        return [f for _, f in found], [d for d, _ in found]
    p = Path(spec)
    if p.is_dir():
        files = sorted(f for f in globlib.glob(str(p / "**" / "*"), recursive=True) if Path(f).is_file())
    elif any(ch in spec for ch in "*?["):
        files = sorted(f for f in globlib.glob(spec, recursive=True) if Path(f).is_file())
    else:
        files = [spec] if p.is_file() else []
    if not files:
        raise OnboardingError(f"{what}: no file at {spec!r}" + (" (the glob matches nothing)" if any(ch in spec for ch in "*?[") else ""))
    dated = []
    for f in files:
        m = re.search(r"date=(\d{4}-\d{2}-\d{2})", f)
        dated.append((dt.date.fromisoformat(m.group(1)) if m else None, f))
    if all(d is not None for d, _ in dated):
        dated.sort()
        return [f for _, f in dated], [d for d, _ in dated]
    return files, []


def read_table(spec: str, what: str, sample: int | None = None) -> Table:
    """Read a file, folder or pattern (its first ``sample`` files, when given)."""
    files, dates = expand(spec, what)
    chosen = files[:sample] if sample else files
    frames, fmts = [], set()
    for f in chosen:
        frame, fmt = _read_file(f, what)
        frames.append(frame)
        fmts.add(fmt)
    if len(fmts) > 1:
        raise OnboardingError(f"{what}: {spec!r} mixes Parquet and CSV files")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if len(frame) == 0:
        raise OnboardingError(f"{what} file {chosen[0]} has no rows")
    return Table(what, spec, chosen, frame, fmts.pop(), dates)


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


def find_role(
    role: str, columns: dict[str, pd.Series], where: str, taken: set[str]
) -> Role | None:
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
            return None, f"an identifier ({distinct} distinct integers{', one per row' if unique_per_row else ''})"
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
        return None, f"free text (mean length {mean_len:.0f} characters, {distinct} distinct values)"
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


def infer_task(target: pd.Series | None, prediction: pd.Series | None, where: str) -> tuple[str, str, tuple | None]:
    """(task, how, classes) from the target's values, else the prediction's."""
    series, named = (target, "target") if target is not None and target.notna().any() else (prediction, "prediction")
    if series is None or not series.notna().any():
        return "binary_classification", "no target or prediction values to judge by: the default", (0, 1)
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
    return "multiclass_classification", f"the {named} has {k} distinct values", tuple(distinct)


# --------------------------------------------------------------------------- inference


def infer(
    name: str,
    reference: str,
    logs: str | None = None,
    labels: str | None = None,
    given: dict[str, str] | None = None,
    exclude: tuple[str, ...] = (),
) -> Onboarding:
    """Read the files and decide everything the model file needs (see the module doc)."""
    given = {k: v for k, v in (given or {}).items() if v}
    ref = read_table(reference, "reference")
    log = read_table(logs, "inference logs", sample=SAMPLE_FILES) if logs else None
    lab = read_table(labels, "labels", sample=SAMPLE_FILES) if labels else None
    fmts = {t.fmt for t in (ref, log, lab) if t is not None}
    if len(fmts) > 1:
        raise OnboardingError(
            "the reference, logs and labels must all be Parquet or all CSV (the files source "
            f"has one format); got {', '.join(f'{t.what}: {t.fmt}' for t in (ref, log, lab) if t)}"
        )
    for col in exclude:
        if col not in ref.frame.columns:
            raise OnboardingError(f"--exclude {col}: the reference {ref.where} has no such column")
    # Roles the pipeline reads from every log row and the reference alike: the columns
    # both have (the reference alone when no logs are given).
    shared = {
        c: ref.frame[c]
        for c in ref.frame.columns
        if c not in exclude and (log is None or c in log.frame.columns)
    }
    both = ref.where if log is None else f"{ref.where} and {log.where}"
    roles: dict[str, Role] = {}
    taken: set[str] = set()

    def take(role: str, columns: dict[str, pd.Series], where: str) -> None:
        if role in given:
            col = given[role]
            if col not in columns:
                raise OnboardingError(f"--{role} {col}: {where} has no column {col!r}")
            roles[role] = Role(col, f"given with --{role}")
        else:
            found = find_role(role, columns, where, taken)
            if found is None:
                return
            roles[role] = found
        taken.add(roles[role].column)

    for role in ("id", "timestamp", "prediction", "probability"):
        take(role, shared, both)
        if role not in roles and role not in OPTIONAL_ROLES:
            if log is not None and role not in given:
                in_logs = find_role(role, dict(log.frame.items()), log.where, taken)
                if in_logs is not None:
                    raise OnboardingError(
                        f"the logs have the {role} column {in_logs.column!r} but the reference "
                        f"{ref.where} does not: the reference is compared with the logs row for "
                        f"row, so it needs the {role} too (score the reference with the model)"
                    )
            raise OnboardingError(
                f"no {role} column found in {both} (by name: {', '.join(ROLE_NAMES[role][:4])}, …); "
                f"say which column it is with --{role} COLUMN"
            )
    # Latency is in the logs only (the reference has none).
    take("latency", {c: s for c, s in (log.frame if log is not None else ref.frame).items() if c not in exclude}, log.where if log is not None else ref.where)
    # The target: in the labels when given (with the id), else in the reference.
    if lab is not None:
        id_col = roles["id"].column
        if id_col not in lab.frame.columns:
            raise OnboardingError(f"labels {lab.where} have no id column {id_col!r} (the logs' id)")
        rest = {c: s for c, s in lab.frame.items() if c != id_col}
        if "target" not in given and len(rest) == 1:
            col = next(iter(rest))
            roles["target"] = Role(col, f"the only column besides the id in {lab.where}")
        else:
            take("target", rest, lab.where)
        if "target" not in roles:
            raise OnboardingError(
                f"no target column found in the labels {lab.where}; say which with --target COLUMN"
            )
        taken.add(roles["target"].column)
    else:
        take("target", {c: s for c, s in ref.frame.items() if c not in exclude and c not in taken}, ref.where)
        if "target" not in roles and log is not None and "target" not in given:
            only_ref = [c for c in ref.frame.columns if c not in exclude and c not in log.frame.columns]
            if len(only_ref) == 1 and ref.frame[only_ref[0]].notna().any():
                roles["target"] = Role(
                    only_ref[0], f"the only column of {ref.where} that the logs lack"
                )
                taken.add(only_ref[0])
    if "target" not in roles:
        roles["target"] = Role(None, "no labels given and none found in the reference")
    # Features: the reference's other columns (that the logs have too).
    features, left_out = [], {}
    for col in ref.frame.columns:
        if col in taken or col in exclude:
            if col in exclude:
                left_out[col] = "excluded with --exclude"
            continue
        if log is not None and col not in log.frame.columns:
            left_out[col] = f"not in the inference logs {log.where}"
            continue
        kind, why = feature_type(col, ref.frame[col], f"reference {ref.where}")
        if kind is None:
            left_out[col] = why
        else:
            features.append(FeatureGuess(col, kind, why, float(ref.frame[col].isna().mean())))
    if not features:
        raise OnboardingError(
            f"reference {ref.where}: no usable feature column"
            + (f" (left out: {', '.join(f'{c}: {w}' for c, w in left_out.items())})" if left_out else "")
        )
    extra = (
        [c for c in log.frame.columns if c not in taken and c not in {f.name for f in features}]
        if log is not None
        else []
    )
    # Task: from the target's values, else the prediction's.
    tcol = roles["target"].column
    target = None
    if tcol is not None:
        target = (lab.frame if lab is not None else ref.frame)[tcol]
    pcol = roles["prediction"].column
    prediction = pd.concat([ref.frame[pcol], log.frame[pcol]] if log is not None else [ref.frame[pcol]])
    task, task_how, classes = infer_task(target, prediction, lab.where if lab is not None else ref.where)
    if task not in supported_tasks():
        raise OnboardingError(
            f"model {name!r}: {task_how}, so this looks like a {task} task, which driftwarden "
            f"does not support yet (supported: {', '.join(supported_tasks())})"
        )
    start, start_how = _start(log, roles["timestamp"].column)
    return Onboarding(
        name, ref, log, lab, roles, features, left_out, extra, task, task_how, classes, start, start_how
    )


def _start(log: Table | None, ts: str) -> tuple[dt.date, str]:
    if log is None:
        today = dt.datetime.now(dt.UTC).date()
        return today, "no logs given: today; set it to the first day of your logs"
    if log.dates:
        return log.dates[0], f"the first log partition, {log.files[0]}"
    stamps = pd.to_datetime(log.frame[ts], format="mixed") if not ptypes.is_datetime64_any_dtype(log.frame[ts]) else log.frame[ts]
    first = stamps.min()
    if getattr(first, "tzinfo", None) is not None:
        first = first.tz_convert("UTC")
    return first.date(), f"the first {ts!r} in {log.where}"


# --------------------------------------------------------------------------- the file


def _q(value: object) -> str:
    """A YAML scalar: JSON strings are YAML, and quote whatever a column may be called."""
    return json.dumps(value)


def render(o: Onboarding, absolute: bool = True) -> str:
    """The model file, commented with how each value was decided."""

    def path(p: str) -> str:
        if not absolute:
            return p
        head, sep, tail = p.partition("{date}")
        return str(Path(head).resolve()) + ("/" if head.endswith("/") else "") + sep + tail if sep else str(Path(p).resolve())

    ref_rows = len(o.reference.frame)
    lines = [
        f"# Model file for {o.name}, written by `driftwarden init` from {o.reference.where}.",
        "# Every value below says how it was inferred: check them, then `driftwarden validate`.",
        f"# Reference: {ref_rows} rows, {len(o.reference.frame.columns)} columns.",
        "models:",
        f"  - name: {_q(o.name)}",
        "    version: v1",
        f"    # task: {o.task_how}",
        f"    task: {o.task}",
    ]
    if o.classes is not None and o.task == "binary_classification":
        lines.append(f"    classes: [{', '.join(str(c) for c in o.classes)}]")
    lines.append("    # features: type (why); the reference's missing share")
    lines.append("    features:")
    width = max(len(_q(f.name)) for f in o.features)
    for f in o.features:
        lines.append(
            f"      - {{name: {_q(f.name)},{' ' * (width - len(_q(f.name)))} type: {f.type}}}"
            f"  # {f.how}; missing {f.missing_share:.1%}"
        )
    if o.left_out:
        lines.append("    # left out of the features:")
        for col, why in o.left_out.items():
            lines.append(f"    #   {col}: {why}")
    lines.append("    columns:")
    for role in ROLES:
        r = o.roles.get(role, Role(None, "none found"))
        if role == "target" and r.column is None:
            lines.append(f"      target: target  # {r.how}: set it to the labels' column")
            continue
        value = _q(r.column) if r.column is not None else "null"
        lines.append(f"      {role}: {value}  # {r.how if r.column else 'none found: ' + r.how}")
    if o.extra_log_columns:
        lines.append(
            f"    # the logs have columns that are neither features nor roles: "
            f"{', '.join(o.extra_log_columns)}"
        )
        lines.append("    allow_extra_columns: true")
    lines.append(f"    start_date: {o.start_date.isoformat()}  # {o.start_how}")
    if o.logs is not None and o.logs.dates:
        last = o.logs.dates[-1]
        lines.append(
            f"    # the logs found run {o.logs.dates[0]} .. {last} ({len(o.logs.dates)} files); "
            "days after them are due daily"
        )
        lines.append(
            f"    # end_date: {(last + dt.timedelta(days=1)).isoformat()}  "
            "# uncomment to monitor only those days"
        )
    lines.append("    source:")
    lines.append("      kind: files")
    lines.append(f"      format: {o.reference.fmt}")
    lines.append(f"      reference: {_q(path(o.reference.spec))}")
    if o.logs is not None:
        lines.append(f"      inference: {_q(path(o.logs.spec))}")
    else:
        lines.append('      inference: "logs/{date}.' + o.reference.fmt + '"  # no logs given: where your daily logs will be')
    if o.labels is not None:
        lines.append(f"      labels: {_q(path(o.labels.spec))}")
    return "\n".join(lines) + "\n"


__all__ = [
    "Onboarding",
    "OnboardingError",
    "feature_type",
    "find_role",
    "infer",
    "infer_task",
    "read_table",
    "render",
    "supported_tasks",
]
