"""Hostile strings and the side effects they would cause, shared by the security tests.

Every value is harmless unless something splices it into SQL, a shell or a path: the
COPY payload writes ``pwned.csv`` if it reaches SQL text, the shell payloads touch
``pwned.shell`` if they reach a shell, and ``../`` escapes a folder if it reaches a path.
"""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path


def targets(root: Path) -> dict[str, Path]:
    """The files a successful attack would create under ``root``."""
    return {"sql": root / "pwned.csv", "shell": root / "pwned.shell", "pickle": root / "pwned.pkl"}


def hostile_values(root: Path) -> dict[str, str]:
    """Name -> hostile string, aimed at ``targets(root)``."""
    t = targets(root)
    return {
        "quote": 'O\'Brien "x"',
        "copy": f"'); COPY (SELECT 1) TO '{t['sql']}' (--",
        "traversal": "../../outside",
        "nul": "a\x00b",
        "newline": "a\nb",
        "backticks": f"`touch {t['shell']}`",
        "subshell": f"$(touch {t['shell']})",
        "long": "x" * 100_000,
        "lookalike": "сhurn",  # the first letter is CYRILLIC SMALL LETTER ES
        "fullwidth_quote": "a＂b＇c",
        "bidi": "abc\u202egpj.exe",
        "format": "{date.__class__.__mro__}",
    }


def assert_no_side_effects(root: Path) -> None:
    """None of the attack targets under ``root`` exists."""
    made = [str(p) for p in targets(root).values() if p.exists()]
    assert not made, f"a hostile value was executed: {made}"


class Payload:
    """A pickle that runs a shell command when loaded (what a swapped artifact could do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


def evil_pickle(marker: Path) -> bytes:
    """Pickle bytes that create ``marker`` when unpickled."""
    return pickle.dumps(Payload(marker), protocol=pickle.HIGHEST_PROTOCOL)


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}
