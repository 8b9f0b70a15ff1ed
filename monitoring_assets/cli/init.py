"""`driftwarden init`: write a commented model file from a team's own files.

    driftwarden init --name fraud --reference train.parquet \\
        --logs 'logs/{date}.parquet' [--labels 'labels/{date}.parquet'] [-o fraud.yaml]

What it infers and how is in :mod:`monitoring_assets.core.onboarding`. The file is
checked against the model file schema before it is written, and written whole or not
at all; an existing file is kept unless ``--force``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from monitoring_assets.core.lake_io import write_bytes
from monitoring_assets.core.onboarding import ROLES, OnboardingError, infer, render


def _check(text: str, shown: str) -> None:
    """Load the text as the model file it will be; a ConfigError names the key and line
    of the file as ``shown``."""
    from monitoring_assets.core.config import ConfigError, load_project

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_text(text)
        try:
            load_project(path)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(path), shown)) from None


def _write(text: str, out: Path) -> None:
    write_bytes(out, text.encode("utf-8"))


def run_init(args) -> int:
    from monitoring_assets.core.config import ConfigError

    started = time.monotonic()
    out = None if args.output == "-" else Path(args.output or f"{args.name}.yaml")
    if out is not None and out.exists() and not args.force:
        print(f"driftwarden init: {out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    given = {role: getattr(args, role) for role in ROLES}
    try:
        onboarding = infer(
            args.name,
            args.reference,
            logs=args.logs,
            labels=args.labels,
            given=given,
            exclude=tuple(args.exclude or ()),
        )
        text = render(onboarding)
        _check(text, str(out) if out is not None else "<stdout>")
    except (OnboardingError, ConfigError) as exc:
        print(f"driftwarden init: {exc}", file=sys.stderr)
        return 2
    if out is None:
        sys.stdout.write(text)
        return 0
    _write(text, out)
    o = onboarding
    print(
        f"driftwarden init: wrote {out} ({o.name}: {len(o.features)} features, "
        f"{len(o.left_out)} columns left out, task {o.task}, start {o.start_date}) "
        f"in {time.monotonic() - started:.1f}s\n"
        f"next: driftwarden validate {out}",
        file=sys.stderr,
    )
    return 0


def add_cli(sub) -> None:
    p = sub.add_parser(
        "init",
        help="write a model file from a reference file and a sample of logs and labels",
        description="Infer features, column roles, task and start date from your files and "
        "write a commented model file that `driftwarden validate` accepts.",
    )
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument("--reference", required=True, help="reference file (Parquet or CSV)")
    p.add_argument("--logs", help="inference logs: a file, a folder or a pattern with {date}")
    p.add_argument("--labels", help="labels: a file, a folder or a pattern with {date}")
    p.add_argument(
        "-o", "--output", help="model file to write (default: NAME.yaml; '-' for stdout)"
    )
    p.add_argument("--force", action="store_true", help="replace an existing output file")
    p.add_argument(
        "--exclude",
        action="append",
        metavar="COLUMN",
        help="a column to leave out: neither a feature nor a role (repeatable)",
    )
    for role in ROLES:
        p.add_argument(f"--{role}", metavar="COLUMN", help=f"the {role} column (else inferred)")
    p.set_defaults(func=run_init)
