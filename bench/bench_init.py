"""`driftwarden init` on a 100k-row reference (plus 3 days of logs and labels, 20k rows each).

Baseline: reading the same files with DuckDB into pandas and nothing else, the I/O floor
of any inference. In-process: best of N of `infer` + `render` + the schema check, against
the baseline in the same process. Whole process: `python -m monitoring_assets.cli init`
against `python -m monitoring_assets.cli validate` of the written file (the same CLI
start-up, no inference), best of N fresh processes.

    python bench/bench_init.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitoring_assets.cli.init import _check  # noqa: E402
from monitoring_assets.core.onboarding import infer, render  # noqa: E402
from tests.onboarding.data import write_files  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000, help="reference rows")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_files(Path(tmp) / "data", rows=args.rows // 5, days=3)
        files = [root / "reference.parquet", *sorted((root / "logs").iterdir())]
        files += sorted((root / "labels").iterdir())
        ref = duckdb.sql(f"SELECT * FROM '{root / 'reference.parquet'}'").df()
        ref_rows, ref_cols = ref.shape
        logs, labels = str(root / "logs/{date}.parquet"), str(root / "labels/{date}.parquet")

        def read_only():
            con = duckdb.connect()
            for f in files:
                con.execute("SELECT * FROM read_parquet(?)", [str(f)]).df()
            con.close()

        def init():
            text = render(infer("fraud", str(root / "reference.parquet"), logs, labels))
            _check(text, "fraud.yaml")

        base_in = best(read_only, args.repeat)
        init_in = best(init, args.repeat)
        out = Path(tmp) / "fraud.yaml"
        cli = [sys.executable, "-m", "monitoring_assets.cli"]
        init_cmd = cli + ["init", "--name", "fraud", "--reference", str(files[0])]
        init_cmd += ["--logs", logs, "--labels", labels, "-o", str(out), "--force"]

        def run(cmd):
            return lambda: subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)

        init_proc = best(run(init_cmd), args.repeat)
        base_proc = best(run(cli + ["validate", str(out)]), args.repeat)
    print(
        f"reference {ref_rows} rows x 13 columns; logs and labels: 3 files of {args.rows // 5} rows each"
    )
    print(f"{'measure':<48} {'seconds':>8}")
    print(f"{'in-process: read the files only (baseline)':<48} {base_in:>8.3f}")
    print(f"{'in-process: infer + render + schema check':<48} {init_in:>8.3f}")
    print(f"{'whole process: driftwarden validate (baseline)':<48} {base_proc:>8.3f}")
    print(f"{'whole process: driftwarden init':<48} {init_proc:>8.3f}")


if __name__ == "__main__":
    main()
