"""Multivariate drift: speed at 50 features, false alarms on the controls, detection of a
correlation break.

1. **Speed** — one day of ``--rows`` rows (default 100,000) × 50 features (40 numerical,
   correlated in pairs; 10 categorical) against a reference of the same size, read from
   Parquet as the asset reads them. Timed in-process after a warm-up: the reconstruction
   fit (once per model version), a day's reconstruction error with its threshold, the
   domain classifier; the named baseline is the **per-column drift of the same day**
   (DuckDB profile of the day + each column's Evidently-default statistic against the
   stored reference profile). Whole process: each contender again in a fresh
   ``python`` (imports and reading included), wall time and peak RSS.
2. **Controls** — the first ``--days`` days of ``bench/scenarios/control_*.yaml`` (nothing
   injected), both methods through :class:`MultivariateMonitor` (warehouse and lake in a
   temporary folder) as the assets run them: days on which a check would fail.
3. **Correlation break** — the same controls with ``correlation_break`` of
   ``total_charges`` (share 1.0) from day 0: days found per method.
4. **Chance spread** (``--only spread``) — how much more the classifier's out-of-fold
   AUC varies on one population than the Mann-Whitney σ₀ (the ``NULL_SPREAD`` factor of
   the small-day threshold): 80 draws of 50 day rows against 1,000 reference rows of the
   50-feature data, for 5 and 3 folds.

    python bench/bench_multivariate.py [--rows 100000] [--days 30] [--only speed|controls|spread]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONTROLS = (
    "control_50",
    "control_200",
    "control_200_weekly",
    "control_2000",
    "control_2000_weekly",
)
N_NUM, N_CAT = 40, 10


def make(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    for i in range(0, N_NUM, 2):
        a = rng.gamma(2.0, 1.0 + i / 10, rows)
        cols[f"x{i}"] = a
        cols[f"x{i + 1}"] = 0.7 * a + rng.normal(0, 1, rows)
    for j in range(N_CAT):
        cols[f"c{j}"] = rng.choice([f"v{k}" for k in range(3 + j % 6)], rows)
    return pd.DataFrame(cols)


def features() -> dict[str, str]:
    return {
        **{f"x{i}": "numerical" for i in range(N_NUM)},
        **{f"c{j}": "categorical" for j in range(N_CAT)},
    }


def peak_mb() -> float:
    """This process's peak RSS: VmHWM (ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------- speed


def contender(name: str, folder: Path) -> dict:
    """Run one contender on the files in ``folder``; returns seconds."""
    import pyarrow.parquet as pq

    from monitoring_assets.core.config import Calibration
    from monitoring_assets.core.config_multivariate import Multivariate
    from monitoring_assets.core.drift import column_drift
    from monitoring_assets.core.multivariate import (
        ReconstructionDrift,
        domain_classifier_auc,
        domain_threshold,
        reconstruction_thresholds,
    )
    from monitoring_assets.core.profile_build import profile_partitions

    kinds = features()
    ref_path, day_path = str(folder / "reference.parquet"), str(folder / "day.parquet")
    settings = Multivariate(methods=["reconstruction", "domain_classifier"])
    ref = pq.read_table(ref_path).to_pandas()
    t0, c0 = time.perf_counter(), time.process_time()
    if name == "fit":
        ReconstructionDrift(kinds, settings).fit(ref)
    elif name == "reconstruction":
        fit = json.loads((folder / "fit.json").read_text())
        from monitoring_assets.core.multivariate import ReconstructionFit

        rd = ReconstructionDrift.from_fit(kinds, settings, ReconstructionFit.from_dict(fit))
        day = pq.read_table(day_path).to_pandas()
        value = float(rd.errors(day).mean())
        t = reconstruction_thresholds(
            rd.fitted, np.array([]), len(day), Calibration(), "rows", "auto"
        )  # type: ignore[arg-type]
        assert value > 0 and t.warn > 0
    elif name in ("domain_classifier", "domain_classifier_whole_day"):
        from monitoring_assets.core.multivariate import ReconstructionFit

        enc = ReconstructionFit.from_dict(json.loads((folder / "fit.json").read_text())).encoding
        day = pq.read_table(day_path).to_pandas()
        dc = settings.domain_classifier
        pick = np.sort(
            np.random.default_rng(0).choice(len(ref), min(len(ref), dc.max_rows), replace=False)
        )
        # as the asset does: the reference sample coded once, the day coded after sampling
        # (``_whole_day``: every row of the day coded first, as before)
        coded = enc.transform(day) if name.endswith("_whole_day") else day
        auc, n_ref, n_day = domain_classifier_auc(
            enc.transform(ref.iloc[pick]), coded, dc, encode=enc.transform
        )
        domain_threshold(n_ref, n_day, settings.domain_classifier, Calibration())
    elif name == "per_column_drift":
        reference = profile_partitions(ref_path, kinds)[""]
        # the stored reference profile is read back, not rebuilt
        t0, c0 = time.perf_counter(), time.process_time()
        day = profile_partitions(day_path, kinds)[""]
        for c in kinds:
            column_drift(reference.columns[c], day.columns[c])
    return {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
        "peak_mb": peak_mb(),
    }


def speed(rows: int) -> None:
    from monitoring_assets.core.config_multivariate import Multivariate
    from monitoring_assets.core.multivariate import ReconstructionDrift

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make(rows, 1).to_parquet(folder / "reference.parquet")
        make(rows, 2).to_parquet(folder / "day.parquet")
        ref = pd.read_parquet(folder / "reference.parquet")
        rd = ReconstructionDrift(features(), Multivariate()).fit(ref)
        assert rd.fitted is not None
        (folder / "fit.json").write_text(json.dumps(rd.fitted.to_dict()))
        print(
            f"\n{rows:,} rows × {N_NUM + N_CAT} features ({N_NUM} numerical, {N_CAT} categorical): "
            f"{rd.fitted.encoding.width} coded columns, {rd.fitted.components.shape[0]} components "
            f"keep {rd.fitted.explained:.1%} of the variance"
        )
        names = (
            "per_column_drift",
            "fit",
            "reconstruction",
            "domain_classifier_whole_day",
            "domain_classifier",
        )
        contender("reconstruction", folder)  # warm-up: imports, DuckDB, scikit-learn
        timed = {n: contender(n, folder) for n in names}
        inproc = {n: timed[n]["seconds"] for n in names}
        whole = {}
        for n in names:
            t = time.perf_counter()
            out = subprocess.run(
                [sys.executable, __file__, "--contender", n, "--folder", str(folder)],
                check=True,
                capture_output=True,
                text=True,
            )
            whole[n] = (
                time.perf_counter() - t,
                json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"],
            )
    base = inproc["per_column_drift"]
    print(
        f"{'contender':<42} {'in-process s':>13} {'CPU s':>6} {'× baseline':>11} "
        f"{'whole process s':>16} {'peak MB':>8}"
    )
    label = {
        "per_column_drift": "per-column drift of the day (baseline)",
        "fit": "reconstruction fit (once per version)",
        "reconstruction": "reconstruction error of the day",
        "domain_classifier_whole_day": "domain classifier, whole day coded first",
        "domain_classifier": "domain classifier of the day",
    }
    for n in names:
        print(
            f"{label[n]:<42} {inproc[n]:>13.2f} {timed[n]['cpu_seconds']:>6.2f} "
            f"{inproc[n] / base:>11.2f} {whole[n][0]:>16.2f} {whole[n][1]:>8.0f}"
        )
    print(f"load average: {' '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}")


# --------------------------------------------------------------------------- controls


def judge_scenario(name: str, days: int, events: list[dict]) -> dict[str, list[str]]:
    from monitoring_assets.core.config import load_project
    from monitoring_assets.core.multivariate_days import MultivariateMonitor
    from monitoring_assets.core.ports import version_key
    from monitoring_assets.core.references import REFERENCE_DATASET
    from monitoring_assets.core.simulator import Simulator
    from resources.lake import open_lake
    from resources.warehouse import open_warehouse

    raw = load_project(ROOT / "bench" / "scenarios" / f"{name}.yaml").models[0]
    data = raw.model_dump(mode="json", exclude_none=True)
    data["multivariate"] = {"methods": ["reconstruction", "domain_classifier"]}
    data["source"]["scenario"]["events"] = events
    model = type(raw).model_validate(data)
    sim = Simulator(model)
    out: dict[str, list[str]] = {"reconstruction": [], "domain_classifier": []}
    with tempfile.TemporaryDirectory() as tmp:
        lake = open_lake(Path(tmp) / "lake")
        lake.write(model.name, REFERENCE_DATASET, version_key(model.version), sim.reference())
        wh = open_warehouse(Path(tmp) / "wh.duckdb")
        wh.migrate()
        mon = MultivariateMonitor(wh, lake, model)
        start = model.first_date
        for d in range(days):
            day = sim.inference_day(start + dt.timedelta(days=d))
            for m in out:
                out[m].append(mon.judge(m, day).verdict)
    return out


def controls(days: int) -> None:
    print(
        f"\nControls (nothing injected) and a correlation break of total_charges, first {days} days"
    )
    print(
        f"{'scenario':<22} {'method':<18} {'control: failing days':>22} {'break: days found':>18}"
    )
    for name in CONTROLS:
        quiet = judge_scenario(name, days, [])
        brk = judge_scenario(
            name,
            days,
            [{"kind": "correlation_break", "day": 0, "feature": "total_charges", "share": 1.0}],
        )
        for m in quiet:
            fails = sum(v != "OK" for v in quiet[m])
            found = sum(v != "OK" for v in brk[m])
            print(f"{name:<22} {m:<18} {fails:>15} of {days:<4} {found:>11} of {days:<4}")


def spread(draws: int = 80, n_day: int = 50) -> None:
    from monitoring_assets.core.config_multivariate import DomainClassifierSettings, Multivariate
    from monitoring_assets.core.multivariate import (
        NULL_SPREAD,
        ReconstructionDrift,
        domain_classifier_auc,
        null_auc_sd,
    )

    base = make(200_000, 7)
    fit = ReconstructionDrift(features(), Multivariate()).fit(base.iloc[:5000]).fitted
    assert fit is not None
    x = fit.encoding.transform(base)
    print(f"\nChance spread of the AUC, {draws} draws of {n_day} vs 1,000 rows, one population")
    print(
        f"{'folds':>5} {'mean AUC':>9} {'sd':>7} {'σ₀':>7} {'sd/σ₀':>6} {'max AUC':>8} {'CPU s':>6}"
    )
    for folds in (5, 3):
        rng = np.random.default_rng(folds)
        c0 = time.process_time()
        aucs = []
        for i in range(draws):
            idx = rng.choice(len(x), 1000 + n_day, replace=False)
            auc, nr, nd = domain_classifier_auc(
                x[idx[:1000]], x[idx[1000:]], DomainClassifierSettings(folds=folds), seed=i
            )
            aucs.append(auc)
        a, s0 = np.array(aucs), null_auc_sd(1000, n_day)
        print(
            f"{folds:>5} {a.mean():>9.4f} {a.std(ddof=1):>7.4f} {s0:>7.4f} "
            f"{a.std(ddof=1) / s0:>6.2f} {a.max():>8.4f} {time.process_time() - c0:>6.0f}"
        )
    print(f"NULL_SPREAD in use: {NULL_SPREAD}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--only", choices=("speed", "controls", "spread"))
    p.add_argument("--contender")
    p.add_argument("--folder")
    a = p.parse_args()
    if a.contender:
        print(json.dumps(contender(a.contender, Path(a.folder))))
        return
    if a.only in (None, "speed"):
        speed(a.rows)
    if a.only in (None, "controls"):
        controls(a.days)
    if a.only == "spread":
        spread()


if __name__ == "__main__":
    main()
