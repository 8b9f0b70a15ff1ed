"""Code-location load time: how long `monitoring_assets.definitions` takes to import.

Baseline: importing dagster alone in the same interpreter kind. Each measurement runs in
a fresh subprocess (best of N), so module caches do not flatter the numbers. Also
reports whether anything heavy (evidently, scikit-learn, statsmodels) was imported.

    python bench/bench_load.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys, time
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
heavy = sorted(m for m in ("evidently", "sklearn", "statsmodels") if m in sys.modules)
print(json.dumps({{"seconds": elapsed, "heavy": heavy}}))
"""


def measure(module: str, repeat: int) -> tuple[float, list[str]]:
    best, heavy = float("inf"), []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(module=module)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        data = json.loads(out.stdout.strip().splitlines()[-1])
        best = min(best, data["seconds"])
        heavy = data["heavy"]
    return best, heavy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = [
        ("import dagster (baseline)", *measure("dagster", args.repeat)),
        ("import evidently (for scale)", *measure("evidently", max(1, args.repeat // 2))),
        (
            "load monitoring_assets.definitions",
            *measure("monitoring_assets.definitions", args.repeat),
        ),
    ]
    print(f"{'what':40} {f'best of {args.repeat} (s)':>16}  heavy modules imported")
    for name, seconds, heavy in rows:
        print(f"{name:40} {seconds:16.3f}  {', '.join(heavy) or '-'}")
    extra = rows[2][1] - rows[0][1]
    print(f"\ndriftwarden's own load time on top of dagster: {extra:.3f} s")


if __name__ == "__main__":
    main()
