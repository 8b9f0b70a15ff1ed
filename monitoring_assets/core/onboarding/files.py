"""Reading a team's files for ``driftwarden init``: a file, a folder or a ``{date}``
pattern, Parquet or CSV, with DuckDB as the files source reads them at run time."""

from __future__ import annotations

import datetime as dt
import glob as globlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

#: Log (and label) files read to find columns and roles: the first ones by date.
SAMPLE_FILES = 3


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
    reader = (
        "read_parquet(?, hive_partitioning = false)" if fmt == "parquet" else "read_csv_auto(?)"
    )
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
        files = sorted(
            f for f in globlib.glob(str(p / "**" / "*"), recursive=True) if Path(f).is_file()
        )
    elif any(ch in spec for ch in "*?["):
        files = sorted(f for f in globlib.glob(spec, recursive=True) if Path(f).is_file())
    else:
        files = [spec] if p.is_file() else []
    if not files:
        raise OnboardingError(
            f"{what}: no file at {spec!r}"
            + (" (the glob matches nothing)" if any(ch in spec for ch in "*?[") else "")
        )
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
