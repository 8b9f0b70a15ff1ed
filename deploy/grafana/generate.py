"""Regenerate the Grafana dashboards and provisioning files in this folder.

    python deploy/grafana/generate.py            # write them here
    python deploy/grafana/generate.py --check    # exit 1 if any is out of date
    python deploy/grafana/generate.py --out DIR  # write them elsewhere

The dashboards are defined in ``monitoring_assets/observability/dashboards.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from monitoring_assets.observability.dashboards import render_all, write_all  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: here)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            rel
            for rel, text in render_all().items()
            if not (args.out / rel).exists() or (args.out / rel).read_text() != text
        ]
        for rel in stale:
            print(f"out of date: {args.out / rel}")
        return 1 if stale else 0
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
