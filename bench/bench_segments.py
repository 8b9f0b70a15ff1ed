"""Cost of segments: a day's profile with and without 20 segments, 1M rows.

The day is a churn-shaped Parquet partition (the churn model's 7 features, prediction,
probability, request id) with a ``country`` column of 25 values (the top 20 by
reference volume are segments, the rest pooled as ``other``). Baseline: the whole-day
profile exactly as ``feature_profiles`` computes it (``profile_partitions`` over the
day's file). Contenders: "two passes", the same, then the segment profiles of that day
(``core/segments.py profile_segments``) on the same connection; "one pass", the day
and segment profiles from one scan (``profile_day_segments``: the day profile merged
from its segments'). Each role runs in a fresh subprocess, ``--repeat`` times:
"in-process" is the median of the timed calls inside it, "whole process" the
subprocess's wall time and its peak RSS (VmHWM). The "assets" roles time the
lake functions the assets call for the day (chunking, schema checks, absent columns):
``feature_profiles`` without segments as baseline, ``feature_profiles`` then
``segment_drift``'s scan as before, and ``feature_profiles`` of a segmented model now.

    python bench/bench_segments.py [--rows 1000000] [--segments 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DAY = "2026-06-01"


def model(segments: int):
    from monitoring_assets.core.config import ModelConfig

    return ModelConfig.model_validate(
        {
            "name": "bench",
            "features": [
                {"name": "tenure", "type": "numerical"},
                {"name": "monthly_charges", "type": "numerical"},
                {"name": "total_charges", "type": "numerical"},
                {"name": "num_services", "type": "numerical"},
                {"name": "contract_type", "type": "categorical"},
                {"name": "payment_method", "type": "categorical"},
                {"name": "internet_service", "type": "categorical"},
            ],
            "segments": ["country"],
            "segment_settings": {"top_k": segments},
        }
    )


def make(root: Path, rows: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 26) ** 0.8
    countries = np.array([f"C{i:02d}" for i in range(25)], dtype=object)
    tenure = np.clip(np.round(rng.gamma(1.6, 15, rows)), 0, 72)
    monthly = np.round(rng.normal(65, 20, rows).clip(18, 140), 2)
    proba = np.round(rng.beta(2, 5, rows), 6)
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(rows)],
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": np.round(monthly * np.maximum(tenure, 1), 2),
            "num_services": (1 + rng.binomial(7, 0.4, rows)).astype(float),
            "contract_type": rng.choice(["month_to_month", "one_year", "two_year"], rows),
            "payment_method": rng.choice(["echeck", "mailed", "bank", "card"], rows),
            "internet_service": rng.choice(["dsl", "fiber", "none"], rows),
            "prediction": (proba > 0.5).astype("int64"),
            "probability": proba,
            "country": rng.choice(countries, rows, p=weights / weights.sum()),
        }
    )
    folder = root / f"date={DAY}"
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-0.parquet", index=False)
    return folder / "part-0.parquet"


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def role(name: str, path: Path, segments: int, repeat: int) -> dict:
    import duckdb

    from monitoring_assets.core.day_profiles import profiled_columns
    from monitoring_assets.core.profile_build import profile_partitions
    from monitoring_assets.core.segments import (
        SegmentPlan,
        profile_day_segments,
        profile_segments,
    )

    m = model(segments)
    kinds = profiled_columns(m)
    values = tuple(f"C{i:02d}" for i in range(segments))
    plans = [SegmentPlan("country", values, None, True)]
    times, cpus, keys = [], [], 0
    if name.startswith("asset_"):
        return _asset_role(name, path, m, plans, repeat)
    for _ in range(repeat):
        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        t, c = time.perf_counter(), time.process_time()
        if name == "onepass":
            day, segs = profile_day_segments(
                [str(path)],
                m,
                plans,
                partition_column="date",
                id_column="request_id",
                connection=con,
            )
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            keys = len(day) + len(segs)
            con.close()
            continue
        day = profile_partitions(
            [str(path)], kinds, partition_column="date", id_column="request_id", connection=con
        )
        keys = len(day)
        if name == "segments":
            segs = profile_segments([str(path)], m, plans, partition_column="date", connection=con)
            keys += len(segs)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        con.close()
    return {
        "seconds": statistics.median(times),
        "cpu": statistics.median(cpus),
        "profiles": keys,
        "peak_mb": _peak_mb(),
    }


class _Lake:
    """The one day's file as the lake would give it to the assets' profiling functions."""

    def __init__(self, path: Path):
        self.path = path

    def has_day(self, model: str, dataset: str, date) -> bool:
        return date.isoformat() == DAY

    def day_location(self, model: str, dataset: str, date) -> str:
        return str(self.path)


def _asset_role(name: str, path: Path, m, plans, repeat: int) -> dict:
    """What the assets scan per day: ``asset_day`` feature_profiles of a model without
    segments (profile_days); ``asset_two`` feature_profiles then segment_drift's scan
    (profile_days + profile_segment_days, the assets before one-pass); ``asset_one``
    feature_profiles of a segmented model (profile_days_with_segments; segment_drift then
    reads the stored profiles)."""
    import datetime as dt

    from monitoring_assets.core.day_profiles import profile_days
    from monitoring_assets.core.day_segments import profile_days_with_segments
    from monitoring_assets.core.segments import profile_segment_days

    lake, dates = _Lake(path), [dt.date.fromisoformat(DAY)]
    times, cpus, keys = [], [], 0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        if name == "asset_one":
            day, segs = profile_days_with_segments(lake, m, plans, dates)
            keys = len(day) + len(segs)
        else:
            keys = len(profile_days(lake, m, dates))
            if name == "asset_two":
                keys += len(profile_segment_days(lake, m, plans, dates))
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return {
        "seconds": statistics.median(times),
        "cpu": statistics.median(cpus),
        "profiles": keys,
        "peak_mb": _peak_mb(),
    }


def run_role(name: str, path: Path, segments: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--role", name, "--data", str(path)]
        + ["--segments", str(segments), "--repeat", "1"],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


ROLES = (
    ("day", "day profile (baseline)"),
    ("segments", "day + segments, two passes"),
    ("onepass", "day + segments, one pass"),
    ("asset_day", "assets, no segments (baseline)"),
    ("asset_two", "assets, two passes (before)"),
    ("asset_one", "assets, one pass (now)"),
)
FIELDS = ("seconds", "cpu", "process_seconds", "process_cpu", "peak_mb")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--segments", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--role")
    p.add_argument("--data")
    a = p.parse_args()
    if a.role:
        print(json.dumps(role(a.role, Path(a.data), a.segments, a.repeat)))
        return
    runs: dict[str, list[dict]] = {name: [] for name, _ in ROLES}
    with tempfile.TemporaryDirectory() as tmp:
        path = make(Path(tmp), a.rows)
        # Rounds interleave the roles, so a change in the machine's load hits them alike.
        for _ in range(a.repeat):
            for name, _label in ROLES:
                runs[name].append(run_role(name, path, a.segments))
    med = {
        name: {f: statistics.median(r[f] for r in rs) for f in FIELDS}
        | {"profiles": rs[0]["profiles"]}
        for name, rs in runs.items()
    }
    print(
        f"{a.rows:,} rows, 10 profiled columns, country: {a.segments} segments + other; "
        f"median of {a.repeat} interleaved rounds, one fresh process per role and round"
    )
    head = ("in-proc s", "in-proc CPU s", "process s", "process CPU s", "peak MB", "profiles")
    print(f"{'role':<32}" + "".join(f"{h:>14}" for h in head))
    for name, label in ROLES:
        r = med[name]
        print(f"{label:<32}" + "".join(f"{r[f]:>14.2f}" for f in FIELDS) + f"{r['profiles']:>14}")
    for base_name, name, label in (
        ("day", "segments", "ratio two passes"),
        ("day", "onepass", "ratio one pass (<= 2.0)"),
        ("asset_day", "asset_two", "ratio assets before"),
        ("asset_day", "asset_one", "ratio assets now (<= 2.0)"),
    ):
        r, base = med[name], med[base_name]
        print(f"{label:<32}" + "".join(f"{r[f] / base[f]:>14.2f}" for f in FIELDS))


if __name__ == "__main__":
    main()
