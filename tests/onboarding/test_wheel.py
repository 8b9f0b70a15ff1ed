"""The built wheel works on its own: installed into a fresh virtual environment outside
the repository, `driftwarden demo`, `init` and `validate` run from another folder.

The wheel is built from a copy of the project's packaging inputs (so no build/ folder of
the checkout leaks stale files into it) and installed with ``--no-deps --no-index``: the
fresh environment sees the dependencies already installed for the tests through a .pth
file naming this interpreter's site-packages. Installing the dependencies again would
take minutes and the network, and would test the package index rather than the wheel;
what this test is about is that the wheel itself carries every file it needs (the model
file, the instance template) and that nothing reads the checkout or its working
directory. A .pth line only adds a folder to sys.path (the .pth files inside it are not
run), so the checkout's editable install is not seen, and the venv's own site-packages
comes first: the code that runs is the wheel's, which the test checks.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.onboarding.data import write_files

REPO = Path(__file__).resolve().parents[2]
PACKAGING = ["pyproject.toml", "README.md", "dagster.yaml", "workspace.yaml"]
PACKAGES = ["monitoring_assets", "resources", "sensors"]


def _run(cmd, cwd, env, timeout=600) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in PACKAGING:
        shutil.copy2(REPO / name, src / name)
    for name in PACKAGES:
        shutil.copytree(
            REPO / name, src / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__")
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRIFTWARDEN_", "DAGSTER_"))}
    env.pop("PYTHONPATH", None)
    work = tmp_path / "elsewhere"
    work.mkdir()
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", src],
        work,
        env,
    )
    wheels = list((tmp_path / "dist").glob("driftwarden-*.whl"))
    assert len(wheels) == 1

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], work, env)
    py = venv / "bin" / "python"
    purelib = Path(
        _run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], work, env
        ).stdout.strip()
    )
    (purelib / "test_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheels[0]], work, env)
    where = _run(
        [py, "-c", "import monitoring_assets; print(monitoring_assets.__file__)"], work, env
    )
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout

    exe = venv / "bin" / "driftwarden"
    home = tmp_path / "home"
    demo = _run([exe, "--home", home, "demo", "--days", "10"], work, env)
    assert "scorecard: churn" in demo.stdout
    for day in range(1, 11):
        assert f"2026-06-{day:02d}  2000" in demo.stdout
    assert "2026-06-11" not in demo.stdout
    # The instance template came from the wheel, identical to the project's.
    assert (home / "dagster" / "dagster.yaml").read_bytes() == (REPO / "dagster.yaml").read_bytes()

    data = write_files(tmp_path / "data", rows=200, days=2)
    init = _run(
        [
            exe,
            "init",
            "--name",
            "fraud",
            "--reference",
            data / "reference.parquet",
            "--logs",
            data / "logs" / "{date}.parquet",
            "--labels",
            data / "labels" / "{date}.parquet",
            "-o",
            "fraud.yaml",
        ],
        work,
        env,
    )
    assert "wrote fraud.yaml" in init.stderr
    val = _run([exe, "validate", "fraud.yaml"], work, env)
    first, *checks = val.stdout.strip().splitlines()
    assert first == "fraud v1: 5 features, source files"
    # validate opened the files: the reference and the first inference file hold up
    assert any(c.strip().startswith("ok   reference ") for c in checks), val.stdout
    assert any(c.strip().startswith("ok   inference file ") for c in checks), val.stdout
    assert not any("FAIL" in c for c in checks), val.stdout
