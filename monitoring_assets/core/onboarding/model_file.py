"""What ``driftwarden init`` decides from the files, and the commented model file."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.api import types as ptypes

from monitoring_assets.core.onboarding.columns import (
    OPTIONAL_ROLES,
    ROLE_NAMES,
    ROLES,
    Role,
    feature_type,
    find_role,
    infer_task,
    supported_tasks,
)
from monitoring_assets.core.onboarding.files import (
    SAMPLE_FILES,
    OnboardingError,
    Table,
    read_table,
)


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
    take(
        "latency",
        {
            c: s
            for c, s in (log.frame if log is not None else ref.frame).items()
            if c not in exclude
        },
        log.where if log is not None else ref.where,
    )
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
        take(
            "target",
            {c: s for c, s in ref.frame.items() if c not in exclude and c not in taken},
            ref.where,
        )
        if "target" not in roles and log is not None and "target" not in given:
            only_ref = [
                c for c in ref.frame.columns if c not in exclude and c not in log.frame.columns
            ]
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
            + (
                f" (left out: {', '.join(f'{c}: {w}' for c, w in left_out.items())})"
                if left_out
                else ""
            )
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
    prediction = pd.concat(
        [ref.frame[pcol], log.frame[pcol]] if log is not None else [ref.frame[pcol]]
    )
    task, task_how, classes = infer_task(
        target, prediction, lab.where if lab is not None else ref.where
    )
    if task not in supported_tasks():
        raise OnboardingError(
            f"model {name!r}: {task_how}, so this looks like a {task} task, which driftwarden "
            f"does not support yet (supported: {', '.join(supported_tasks())})"
        )
    start, start_how = _start(log, roles["timestamp"].column)
    return Onboarding(
        name,
        ref,
        log,
        lab,
        roles,
        features,
        left_out,
        extra,
        task,
        task_how,
        classes,
        start,
        start_how,
    )


def _start(log: Table | None, ts: str) -> tuple[dt.date, str]:
    if log is None:
        today = dt.datetime.now(dt.UTC).date()
        return today, "no logs given: today; set it to the first day of your logs"
    if log.dates:
        return log.dates[0], f"the first log partition, {log.files[0]}"
    stamps = (
        pd.to_datetime(log.frame[ts], format="mixed")
        if not ptypes.is_datetime64_any_dtype(log.frame[ts])
        else log.frame[ts]
    )
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
        if not sep:
            return str(Path(p).resolve())
        folder = not head or head.endswith("/")
        return str(Path(head or ".").resolve()) + ("/" if folder else "") + sep + tail

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
    if o.classes is not None and o.task in ("binary_classification", "multiclass"):
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
        lines.append("    # the files hold the columns left out above: accept them")
        lines.append("    allow_extra_columns: true")
    lines.append("    columns:")
    for role in ROLES:
        r = o.roles.get(role, Role(None, "none found"))
        if role == "target" and r.column is None:
            lines.append(f"      target: target  # {r.how}: set it to the labels' column")
            continue
        if role == "probability" and o.task != "binary_classification":
            # one probability column is a binary model's; a multiclass model names one
            # per class (a mapping), a regression model none
            why = f"{r.column!r} found, " if r.column else ""
            lines.append(
                f"      probability: null  # {why}not used for task {o.task}"
                + (" (give {class: column} per class)" if o.task == "multiclass" else "")
            )
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
        lines.append(
            '      inference: "logs/{date}.'
            + o.reference.fmt
            + '"  # no logs given: where your daily logs will be'
        )
    if o.labels is not None:
        lines.append(f"      labels: {_q(path(o.labels.spec))}")
    # Column names and paths are data: a comment must stay on its line.
    return "\n".join(_printable(line) for line in lines) + "\n"


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
