"""Drift of one 1M-row partition x 8 features against a 1M-row reference.

Compares driftwarden (steady state: reference profile already built and stored; and
cold: reference profiled too) with Evidently's DataDriftPreset on the same data. Each
contender runs in a fresh subprocess, so its peak memory (VmHWM from /proc/self/status)
is its own; driftwarden warms DuckDB and scipy up first, as a running service has. Data sits
in Parquet files: driftwarden's times include reading them (DuckDB scans them), while
Evidently's exclude loading them into pandas.

    python bench/bench_drift.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
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

KINDS = {
    "tenure": "numerical",
    "monthly_charges": "numerical",
    "total_charges": "numerical",
    "num_services": "numerical",
    "score": "numerical",
    "contract_type": "categorical",
    "payment_method": "categorical",
    "internet_service": "categorical",
}


def make(rows: int, seed: int, shift: float) -> pd.DataFrame:
    """A churn-like frame: integers, prices, truly continuous floats and categories."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, rows)
    monthly = np.round(rng.normal(65 + 10 * shift, 30, rows).clip(18, 120), 2)
    return pd.DataFrame(
        {
            "tenure": tenure,
            "monthly_charges": monthly,
            "total_charges": tenure * monthly * rng.uniform(0.9, 1.1, rows),
            "num_services": rng.integers(0, 9, rows),
            "score": rng.normal(shift, 1, rows),
            "contract_type": rng.choice(
                ["m2m", "1y", "2y"], rows, p=[0.5 + 0.2 * shift, 0.3, 0.2 - 0.2 * shift]
            ),
            "payment_method": rng.choice(["card", "bank", "check", "mail"], rows),
            "internet_service": rng.choice(["dsl", "fiber", "none"], rows),
        }
    )


def _peak_mb() -> float:
    # ru_maxrss survives exec on Linux (a child starts with its parent's peak), so prefer
    # the process's own high-water mark from /proc when it exists.
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _warm_up() -> None:
    """Load DuckDB's Parquet reader and scipy's statistics once, as a running service has."""
    from monitoring_assets.core.drift import dataset_drift
    from monitoring_assets.core.profile_build import profile_frame

    small = make(2000, 3, 0.0)
    dataset_drift(profile_frame(small, KINDS), profile_frame(small, KINDS))


def role(name: str, data: Path) -> dict:
    from monitoring_assets.core.drift import dataset_drift
    from monitoring_assets.core.profile_build import profile_frame
    from monitoring_assets.core.profile_rows import profile_from_rows

    if name == "prepare-reference":
        ref = pd.read_parquet(data / "reference.parquet")
        from monitoring_assets.core.profile_rows import profile_to_rows

        profile_to_rows(profile_frame(ref, KINDS)).to_parquet(data / "reference_profile.parquet")
        return {}
    if name == "driftwarden-steady":
        # driftwarden profiles the Parquet partition directly (as the daily asset does), so
        # its time includes reading the file; Evidently's excludes it.
        _warm_up()
        base = _peak_mb()
        t = time.perf_counter()
        ref_p = profile_from_rows(pd.read_parquet(data / "reference_profile.parquet"))
        res = dataset_drift(ref_p, profile_frame(data / "current.parquet", KINDS))
    elif name == "driftwarden-cold":
        _warm_up()
        base = _peak_mb()
        t = time.perf_counter()
        res = dataset_drift(
            profile_frame(data / "reference.parquet", KINDS),
            profile_frame(data / "current.parquet", KINDS),
        )
    elif name == "evidently":
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        cur = pd.read_parquet(data / "current.parquet")
        ref = pd.read_parquet(data / "reference.parquet")
        base = _peak_mb()
        t = time.perf_counter()
        dd = DataDefinition(
            numerical_columns=[c for c, k in KINDS.items() if k == "numerical"],
            categorical_columns=[c for c, k in KINDS.items() if k == "categorical"],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = Report([DataDriftPreset()]).run(
                Dataset.from_pandas(cur, data_definition=dd),
                Dataset.from_pandas(ref, data_definition=dd),
            )
        metrics = snap.dict()["metrics"]
        elapsed = time.perf_counter() - t
        share = metrics[0]["value"]["share"]
        scores = {m["config"]["column"]: m["value"] for m in metrics[1:]}
        return {
            "seconds": elapsed,
            "peak_mb": _peak_mb(),
            "input_mb": base,
            "share": share,
            "scores": scores,
        }
    else:
        raise ValueError(f"unknown role {name!r}")
    elapsed = time.perf_counter() - t
    return {
        "seconds": elapsed,
        "peak_mb": _peak_mb(),
        "input_mb": base,
        "share": res.share_drifted,
        "scores": {c: r.score for c, r in res.columns.items()},
    }


def run_role(name: str, data: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--role", name, "--data", str(data)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--role")
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.role:
        print(json.dumps(role(args.role, Path(args.data))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        make(args.rows, 1, 0.0).to_parquet(data / "reference.parquet")
        make(args.rows, 2, 0.1).to_parquet(data / "current.parquet")
        run_role("prepare-reference", data)
        results = {
            n: run_role(n, data) for n in ("driftwarden-steady", "driftwarden-cold", "evidently")
        }
    ev = results["evidently"]
    print(f"\n{args.rows:,} current rows vs {args.rows:,} reference rows x {len(KINDS)} features\n")
    print(
        f"{'contender':<22}{'seconds':>9}{'speed-up':>10}{'peak MB':>9}{'after input MB':>16}{'drift share':>13}"
    )
    for name, r in results.items():
        print(
            f"{name:<22}{r['seconds']:>9.2f}{ev['seconds'] / r['seconds']:>9.1f}x"
            f"{r['peak_mb']:>9.0f}{r['peak_mb'] - r['input_mb']:>16.0f}{r['share']:>13.3f}"
        )
    print("\nper-feature score: driftwarden steady vs Evidently")
    for c in KINDS:
        a, b = results["driftwarden-steady"]["scores"][c], ev["scores"][c]
        print(f"  {c:<18}{a:>14.8f}{b:>14.8f}  rel diff {abs(a - b) / max(abs(b), 1e-12):.1e}")


if __name__ == "__main__":
    main()
