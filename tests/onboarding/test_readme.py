"""The README's 'Monitor your own model' example works as written: its Python block
makes the files, its `init` and `validate` lines take them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from monitoring_assets.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _section() -> str:
    text = README.read_text()
    start = text.index("## Monitor your own model")
    return text[start : text.index("\n## ", start + 1)]


def _commands(block: str) -> list[list[str]]:
    joined = block.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith("driftwarden "):
            out.append(shlex.split(line)[1:])
    return out


def test_readme_example_runs_init_and_validate(tmp_path, monkeypatch, capsys):
    section = _section()
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shell = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    commands = _commands(shell)
    assert [c[0] for c in commands] == ["init", "validate", "run", "alerts", "ui"]
    assert main(commands[0]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(commands[1]) == 0
    assert "fraud v1: 3 features, source files" in capsys.readouterr().out
    model = yaml.safe_load((tmp_path / "fraud.yaml").read_text())["models"][0]
    # What the README's prose says init finds in these files.
    assert {f["name"]: f["type"] for f in model["features"]} == {
        "amount": "numerical",
        "items": "categorical",
        "country": "categorical",
    }
    assert model["columns"]["target"] == "is_fraud"
    assert model["columns"]["probability"] == "score"
