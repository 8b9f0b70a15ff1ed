"""The `driftwarden` command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from pathlib import Path

from monitoring_assets.core.home import HOME_ENV, Home

# Modules that add their own subcommands with add_cli(subparsers), imported when present.
PLUGINS = (
    "monitoring_assets.cli.alerts",
    "monitoring_assets.cli.run",
    "monitoring_assets.observability.exporter",
    "monitoring_assets.streaming.cli",
)


def apply_home(args) -> None:
    """Export the global ``--home`` as ``$DRIFTWARDEN_HOME`` before any subcommand runs,
    so every subcommand (plugins' too) and every process it starts finds the same home."""
    home = getattr(args, "home", None)
    if home:
        os.environ[HOME_ENV] = str(Path(home).resolve())


def _home(args) -> Home:
    apply_home(args)
    return Home.from_env()


def _demo(args) -> int:
    from monitoring_assets.core.config import load_project
    from monitoring_assets.demo import run_demo
    from monitoring_assets.instance import open_dagster_home

    if args.models:
        os.environ["DRIFTWARDEN_MODELS"] = str(Path(args.models).resolve())
    home = _home(args)
    # Runs killed since the last start end as failed before new ones begin.
    open_dagster_home(home)
    return run_demo(home, load_project(), days=args.days)


def _ui(args) -> int:
    from monitoring_assets.instance import INSTANCE_TEMPLATE, open_dagster_home

    # Schema created and killed runs ended here, before the daemon and webserver start.
    open_dagster_home(_home(args).ensure())
    workspace = INSTANCE_TEMPLATE.parent / "workspace.yaml"
    # The interpreter's own dagster, so it works without an activated virtualenv.
    cmd = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-p", str(args.port)]
    os.chdir(workspace.parent)
    os.execvp(cmd[0], cmd)
    return 0  # not reached


def _validate(args) -> int:
    from monitoring_assets.cli.validate import validate

    return validate(args.models)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="driftwarden", description="ML model monitoring on Dagster."
    )
    parser.add_argument(
        "--home",
        help="the driftwarden home for every subcommand (default: $DRIFTWARDEN_HOME, "
        "else ./.driftwarden)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the demo scenario's history and print the scorecard")
    demo.add_argument(
        "--models", help="model file (default: $DRIFTWARDEN_MODELS or the churn demo)"
    )
    demo.add_argument("--days", type=int, help="only the first N days")
    demo.set_defaults(func=_demo)

    ui = sub.add_parser("ui", help="open the Dagster UI on the driftwarden instance")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=_ui)

    val = sub.add_parser("validate", help="validate a model file")
    val.add_argument("models", nargs="?", help="model file (default: the one in force)")
    val.set_defaults(func=_validate)

    for name in PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part is not installed in this build
            raise
        module.add_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    args = build_parser().parse_args(argv)
    apply_home(args)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
