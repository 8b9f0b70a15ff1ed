"""Helpers for the observability tests: scrape, parse and validate exposition text."""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitoring_assets.observability.exporter import WarehouseCollector, build_registry
from tests.conftest import IN_CI

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(collector: WarehouseCollector) -> str:
    """One scrape of ``collector``, as the HTTP server would answer it."""
    return generate_latest(build_registry(collector)).decode()


def parse(text: str) -> Series:
    """Exposition text -> {(sample name, labels): value}; raises on invalid text."""
    out: Series = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(series: Series, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    if key not in series:
        near = sorted(str(dict(k[1])) for k in series if k[0] == name)[:10]
        raise AssertionError(f"no sample {name}{labels}; {name} has {near}")
    return series[key]


def names(series: Series) -> set[str]:
    return {k[0] for k in series}


def assert_valid_exposition(text: str) -> Series:
    """Parse with prometheus-client and lint with the real Prometheus parser
    (``promtool check metrics``; a missing promtool fails in CI, warns elsewhere)."""
    series = parse(text)
    promtool = shutil.which("promtool")
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is not installed; .ci/run should have installed it")
        warnings.warn(
            "promtool is not installed: exposition checked by prometheus-client only",
            stacklevel=2,
        )
        return series
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=30
    )
    assert result.returncode == 0, (result.stdout + result.stderr).decode() + "\n" + text
    return series


def isnan(x: float) -> bool:
    return isinstance(x, float) and math.isnan(x)


@contextlib.contextmanager
def writer_holding_lock(path: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the DuckDB file's write lock, as a running monitor does."""
    # Like a run between two partitions: it has committed a write (the files changed)
    # and still holds the file open in read-write mode.
    code = (
        "import sys, duckdb\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "con.execute('CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)')\n"
        "con.execute('INSERT INTO lock_probe VALUES (1)')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
        "con.close()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip() == "locked", f"lock holder did not start: {line!r}"
        yield proc
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)
