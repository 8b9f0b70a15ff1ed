"""Where human-facing HTML reports go, and the URL a browser opens them at.

The port is :class:`ReportStore`; ``resources.report_store`` implements it for a local
folder (the home's ``reports``). Assets write reports only through it, never by a path of
their own, so a store on object storage needs no change in the assets. Reports are named
``<model>/<name>.html``.
"""

from __future__ import annotations

from typing import Protocol


class ReportStore(Protocol):
    """Writes a model's HTML reports whole (a reader never sees half a file)."""

    def write_html(self, model: str, name: str, html: str) -> str:
        """Store ``html`` as report ``name`` of ``model``; returns its location."""
        ...

    def url(self, model: str, name: str) -> str:
        """The URL a browser opens report ``name`` of ``model`` at."""
        ...

    def exists(self, model: str, name: str) -> bool: ...


def report_name(name: str) -> str:
    """``name`` checked as a report file name (letters, digits, ``_ - .``; ends ``.html``)."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]+\.html", name) or ".." in name:
        raise ValueError(f"report name {name!r}: letters, digits, '_', '-', '.'; ending .html")
    return name
