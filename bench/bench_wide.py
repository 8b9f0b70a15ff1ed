"""Drift of one wide day: 100k rows x 1,000 mixed columns against a stored reference.

driftwarden profiles the day's Parquet file (columns in batches per DuckDB statement)
and compares it with the reference profile stored as rows (as the daily asset does);
Evidently's DataDriftPreset runs on the same data. Evidently is timed on a subset of
the columns (``--evidently-columns``, the same mix) and extrapolated linearly to all
columns; the output says so. Each contender runs in a fresh subprocess: "in-process"
is the timed call inside it, "whole process" the subprocess's wall time (imports, data
loading, everything) and its peak RSS (VmHWM; the children's ru_maxrss as a check).

    python bench/bench_wide.py [--rows 100000] [--columns 1000] [--evidently-columns 100]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MIX = {"float": 0.5, "price": 0.2, "int": 0.1, "cat": 0.2}


def kinds_of(columns: int) -> dict[str, str]:
    """Column name -> kind for ``columns`` columns in the proportions of :data:`MIX`."""
    out: dict[str, str] = {}
    for kind, share in MIX.items():
        for i in range(round(columns * share)):
            out[f"{kind}_{i}"] = "categorical" if kind == "cat" else "numerical"
    return out


def make(path: Path, rows: int, columns: int, seed: int, shift: float) -> None:
    """Write ``rows`` x ``columns`` mixed values: continuous floats, 2-decimal prices,
    small integers and categories of 3-20 levels; every tenth column moves by ``shift``."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for j, name in enumerate(kinds_of(columns)):
        s = shift if j % 10 == 0 else 0.0
        kind = name.split("_")[0]
        if kind == "float":
            cols[name] = rng.normal(s, 1 + j % 7, rows)
        elif kind == "price":
            cols[name] = np.round(rng.gamma(2 + s, 20 + j % 11, rows), 2)
        elif kind == "int":
            cols[name] = rng.poisson(3 + j % 5 + s, rows)
        else:
            levels = np.array([f"v{k}" for k in range(3 + j % 18)], dtype=object)
            p = np.random.default_rng(j).dirichlet(np.ones(len(levels)) * 5)  # per column
            if s:
                p = (1 - s) * p + s * np.eye(len(levels))[0]
            cols[name] = levels[rng.choice(len(levels), rows, p=p)]
    pd.DataFrame(cols).to_parquet(path)


def _peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def role(name: str, data: Path, columns: int, ev_columns: int) -> dict:
    kinds = kinds_of(columns)
    if name == "prepare-reference":
        from monitoring_assets.core.profile_build import profile_frame
        from monitoring_assets.core.profile_rows import profile_to_rows

        profile_to_rows(profile_frame(data / "reference.parquet", kinds)).to_parquet(
            data / "reference_profile.parquet"
        )
        return {}
    if name == "driftwarden":
        from monitoring_assets.core.drift import dataset_drift
        from monitoring_assets.core.profile_build import profile_frame
        from monitoring_assets.core.profile_rows import profile_from_rows

        t = time.perf_counter()
        ref = profile_from_rows(pd.read_parquet(data / "reference_profile.parquet"))
        t_ref = time.perf_counter() - t
        peak_ref = _peak_mb()
        cur = profile_frame(data / "current.parquet", kinds)
        t_prof = time.perf_counter() - t - t_ref
        res = dataset_drift(ref, cur)
        elapsed = time.perf_counter() - t
        return {
            "seconds": elapsed,
            "load_reference": t_ref,
            "profile_day": t_prof,
            "drift": elapsed - t_ref - t_prof,
            "peak_mb": _peak_mb(),
            "peak_after_reference_mb": peak_ref,
            "reference_rows": sum(len(c.values) + 1 for c in ref.columns.values()),
            "columns": len(res.columns),
            "drifted": sum(bool(r.drifted) for r in res.columns.values()),
        }
    if name == "evidently":
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        # The same mix on fewer columns: the first ones of each kind (one in ten shifted).
        subset = [c for c in kinds if int(c.split("_")[1]) < ev_columns * MIX[c.split("_")[0]]]
        cur = pd.read_parquet(data / "current.parquet", columns=subset)
        ref = pd.read_parquet(data / "reference.parquet", columns=subset)
        t = time.perf_counter()
        dd = DataDefinition(
            numerical_columns=[c for c in subset if kinds[c] == "numerical"],
            categorical_columns=[c for c in subset if kinds[c] == "categorical"],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = Report([DataDriftPreset()]).run(
                Dataset.from_pandas(cur, data_definition=dd),
                Dataset.from_pandas(ref, data_definition=dd),
            )
        metrics = snap.dict()["metrics"]
        elapsed = time.perf_counter() - t
        return {
            "seconds": elapsed,
            "peak_mb": _peak_mb(),
            "columns": len(subset),
            "drifted": int(metrics[0]["value"]["count"]),
        }
    raise ValueError(f"unknown role {name!r}")


def run_role(name: str, data: Path, columns: int, ev_columns: int) -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--role", name, "--data", str(data)]
        + ["--columns", str(columns), "--evidently-columns", str(ev_columns)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - t
    # ru_maxrss of the largest child so far (the roles run one after another, largest last
    # is not guaranteed): reported next to the child's own VmHWM as a cross-check.
    result["children_maxrss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--columns", type=int, default=1000)
    ap.add_argument("--evidently-columns", type=int, default=100)
    ap.add_argument("--role")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.role:
        print(json.dumps(role(args.role, Path(args.data), args.columns, args.evidently_columns)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t = time.perf_counter()
        make(data / "reference.parquet", args.rows, args.columns, 1, 0.0)
        make(data / "current.parquet", args.rows, args.columns, 2, 0.5)
        gen_s = time.perf_counter() - t
        t = time.perf_counter()
        run_role("prepare-reference", data, args.columns, args.evidently_columns)
        ref_s = time.perf_counter() - t
        dw = run_role("driftwarden", data, args.columns, args.evidently_columns)
        ev = run_role("evidently", data, args.columns, args.evidently_columns)
    scale = args.columns / ev["columns"]
    ev_in, ev_proc = ev["seconds"] * scale, ev["process_seconds"] * scale
    load = os.getloadavg()
    print(
        f"\n{args.rows:,} rows x {args.columns:,} columns ({MIX}) vs a stored reference of "
        f"{args.rows:,} rows; {os.cpu_count()} cores, load average {load[0]:.1f}"
    )
    print(f"(data generation {gen_s:.0f} s; reference profiled and stored once: {ref_s:.0f} s)\n")
    print(f"{'contender':<34}{'in-process s':>13}{'whole process s':>17}{'peak RSS MB':>13}")
    print(
        f"{'driftwarden (all columns)':<34}{dw['seconds']:>13.1f}{dw['process_seconds']:>17.1f}"
        f"{dw['peak_mb']:>13.0f}"
    )
    print(
        f"{'  load reference profile':<34}{dw['load_reference']:>13.1f}{'':>17}"
        f"{dw['peak_after_reference_mb']:>13.0f}  ({dw['reference_rows']:,} profile rows)\n"
        f"{'  profile the day':<34}{dw['profile_day']:>13.1f}\n"
        f"{'  drift of every column':<34}{dw['drift']:>13.1f}"
    )
    name = f"Evidently, {ev['columns']} columns"
    print(f"{name:<34}{ev['seconds']:>13.1f}{ev['process_seconds']:>17.1f}{ev['peak_mb']:>13.0f}")
    print(f"{f'Evidently x{scale:g} (extrapolated)':<34}{ev_in:>13.0f}{ev_proc:>17.0f}{'n/a':>13}")
    print(
        f"\nEvidently is timed on {ev['columns']} of {args.columns} columns (same mix) and "
        f"extrapolated linearly; its peak RSS is for the subset only."
    )
    print(
        f"speed-up vs Evidently (extrapolated, in-process): {ev_in / dw['seconds']:.1f}x; "
        f"drifted columns: driftwarden {dw['drifted']}/{dw['columns']}, "
        f"Evidently {ev['drifted']}/{ev['columns']}"
    )
    print(
        f"children's max ru_maxrss: {max(dw['children_maxrss_mb'], ev['children_maxrss_mb']):.0f} MB"
    )
    ok = dw["process_seconds"] < 60 and dw["peak_mb"] < 2048
    print(f"target < 60 s and < 2 GB for the day (whole process): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
