"""Drift of one wide day: 100k rows x 1,000 mixed columns against a stored reference.

driftwarden profiles the day's Parquet file (columns in batches per DuckDB statement)
and compares it with the reference profile stored as rows in a DuckDB warehouse's
``reference_profiles`` (as the daily asset does), read back in batches of whole columns
(``--reference-read whole``: in one query, the baseline);
Evidently's DataDriftPreset runs on the same data. Evidently is timed on a subset of
the columns (``--evidently-columns``, the same mix) and extrapolated linearly to all
columns; the output says so. Each contender runs in a fresh subprocess: "in-process"
is the timed call inside it, "whole process" the subprocess's wall time (imports, data
loading, everything) and its peak RSS (VmHWM; the children's ru_maxrss as a check).

    python bench/bench_wide.py [--rows 100000] [--columns 1000] [--evidently-columns 100]
                               [--reference-read batched|whole]
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
REF_KEYS = {"model": "wide", "model_version": "v1", "source_digest": "bench"}


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


def role(name: str, data: Path, columns: int, ev_columns: int, read: str = "batched") -> dict:
    kinds = kinds_of(columns)
    if name == "prepare-reference":
        from monitoring_assets.core.profile_build import profile_frame
        from monitoring_assets.core.profile_rows import profile_row_chunks
        from monitoring_assets.core.tables import REFERENCE_PROFILES_TABLE
        from resources.warehouse import Warehouse

        def frames():
            for rows in profile_row_chunks(profile_frame(data / "reference.parquet", kinds)):
                for i, (k, v) in enumerate(REF_KEYS.items()):
                    rows.insert(i, k, v)
                yield rows

        wh = Warehouse(data / "warehouse.duckdb")
        wh.replace(REFERENCE_PROFILES_TABLE.name, frames(), {"model": REF_KEYS["model"]})
        return {}
    if name == "driftwarden":
        from monitoring_assets.core.day_profiles import read_profile
        from monitoring_assets.core.drift import dataset_drift
        from monitoring_assets.core.profile_build import profile_frame
        from monitoring_assets.core.profile_rows import PROFILE_ROW_COLUMNS, profile_from_rows
        from monitoring_assets.core.tables import REFERENCE_PROFILES_TABLE
        from resources.warehouse import Warehouse

        wh = Warehouse(data / "warehouse.duckdb")
        t = time.perf_counter()
        if read == "whole":
            cols = ", ".join(f'"{c}"' for c in PROFILE_ROW_COLUMNS)
            ref = profile_from_rows(
                wh.query(
                    f"SELECT {cols} FROM reference_profiles "
                    "WHERE model = ? AND model_version = ? AND source_digest = ?",
                    list(REF_KEYS.values()),
                )
            )
        else:
            ref = read_profile(wh, REFERENCE_PROFILES_TABLE.name, REF_KEYS)
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


def run_role(name: str, data: Path, columns: int, ev_columns: int, read: str = "batched") -> dict:
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--role", name, "--data", str(data)]
        + ["--columns", str(columns), "--evidently-columns", str(ev_columns)]
        + ["--reference-read", read],
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
    ap.add_argument(
        "--reference-read",
        choices=("batched", "whole", "both"),
        default="both",
        help="how the stored reference is read (both: whole first, as the baseline)",
    )
    ap.add_argument("--skip-evidently", action="store_true")
    ap.add_argument("--role")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.role:
        out = role(
            args.role, Path(args.data), args.columns, args.evidently_columns, args.reference_read
        )
        print(json.dumps(out))
        return
    reads = ["whole", "batched"] if args.reference_read == "both" else [args.reference_read]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t = time.perf_counter()
        make(data / "reference.parquet", args.rows, args.columns, 1, 0.0)
        make(data / "current.parquet", args.rows, args.columns, 2, 0.5)
        gen_s = time.perf_counter() - t
        t = time.perf_counter()
        run_role("prepare-reference", data, args.columns, args.evidently_columns)
        ref_s = time.perf_counter() - t
        dws = {}
        for read in reads:
            dws[read] = run_role("driftwarden", data, args.columns, args.evidently_columns, read)
            dws[read]["load"] = os.getloadavg()[0]
        ev = None
        if not args.skip_evidently:
            ev = run_role("evidently", data, args.columns, args.evidently_columns)
    load = os.getloadavg()
    print(
        f"\n{args.rows:,} rows x {args.columns:,} columns ({MIX}) vs a stored reference of "
        f"{args.rows:,} rows; {os.cpu_count()} cores, load average {load[0]:.1f}"
    )
    print(f"(data generation {gen_s:.0f} s; reference profiled and stored once: {ref_s:.0f} s)\n")
    print(f"{'contender':<40}{'in-process s':>13}{'whole process s':>17}{'peak RSS MB':>13}")
    for read, dw in dws.items():
        label = "batched" if read == "batched" else "one query (baseline)"
        print(
            f"{'driftwarden, reference ' + label:<40}{dw['seconds']:>13.1f}"
            f"{dw['process_seconds']:>17.1f}{dw['peak_mb']:>13.0f}  (load {dw['load']:.1f})"
        )
        print(
            f"{'  load reference profile':<40}{dw['load_reference']:>13.1f}{'':>17}"
            f"{dw['peak_after_reference_mb']:>13.0f}  ({dw['reference_rows']:,} profile rows)\n"
            f"{'  profile the day':<40}{dw['profile_day']:>13.1f}\n"
            f"{'  drift of every column':<40}{dw['drift']:>13.1f}"
        )
    dw = dws[reads[-1]]
    if ev is not None:
        scale = args.columns / ev["columns"]
        ev_in, ev_proc = ev["seconds"] * scale, ev["process_seconds"] * scale
        name = f"Evidently, {ev['columns']} columns"
        print(
            f"{name:<40}{ev['seconds']:>13.1f}{ev['process_seconds']:>17.1f}{ev['peak_mb']:>13.0f}"
        )
        print(
            f"{f'Evidently x{scale:g} (extrapolated)':<40}{ev_in:>13.0f}{ev_proc:>17.0f}{'n/a':>13}"
        )
        print(
            f"\nEvidently is timed on {ev['columns']} of {args.columns} columns (same mix) and "
            f"extrapolated linearly; its peak RSS is for the subset only."
        )
        print(
            f"speed-up vs Evidently (extrapolated, in-process): {ev_in / dw['seconds']:.1f}x; "
            f"drifted columns: driftwarden {dw['drifted']}/{dw['columns']}, "
            f"Evidently {ev['drifted']}/{ev['columns']}"
        )
    print(f"children's max ru_maxrss: {dw['children_maxrss_mb']:.0f} MB")
    ok = dw["process_seconds"] < 60 and dw["peak_mb"] < 2048
    print(
        f"target < 60 s and < 2 GB for the day (whole process, reference {reads[-1]}): "
        f"{'met' if ok else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
