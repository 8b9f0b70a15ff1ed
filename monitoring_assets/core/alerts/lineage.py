"""What an alert is about: the check evaluation, its data and deep links into the Dagster UI.

Plain Python (no Dagster import): the sensor turns Dagster events into
:class:`CheckEvent` and this module derives the alert's lineage from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from monitoring_assets.core.alerts.scrub import strip_credentials
from monitoring_assets.core.checks import Severity

# Metadata keys whose values name thresholds; the rest of the numeric metadata are values.
_THRESHOLD_KEY = re.compile(
    r"(threshold|floor|ceiling|limit|max_|min_|_max|_min|expected|_warn$|_error$)", re.I
)
_REPORT_KEY = re.compile(r"(evidently|report)", re.I)
_SECRETISH_KEY = re.compile(r"(token|secret|password|api_key|routing_key)", re.I)


@dataclass(frozen=True)
class CheckEvent:
    """One asset check evaluation (or a synthetic freshness evaluation)."""

    event_id: int
    asset_key: tuple[str, ...]
    check: str
    passed: bool
    severity: Severity  # the level it fails at (kept on a pass too)
    timestamp: dt.datetime
    partition: str | None = None
    run_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    materialization: dict[str, Any] | None = None
    upstream: dict[str, Any] | None = None
    # About the present whatever its partition (a day's logs still missing now): never
    # treated as history, however old the partition.
    present: bool = False

    @property
    def model(self) -> str:
        """The model is the first part of the asset key ([model, asset_name])."""
        return self.asset_key[0] if len(self.asset_key) > 1 else ""

    @property
    def asset(self) -> str:
        return self.asset_key[-1]

    @property
    def asset_path(self) -> str:
        return "/".join(self.asset_key)

    @property
    def segment(self) -> str | None:
        """The segment the evaluation is about (``country=DE``), if any."""
        seg = self.metadata.get("segment")
        return str(seg) if seg else None

    @property
    def fingerprint(self) -> str:
        """Stable identity of the monitored condition: model, asset and check (and the
        segment, for a segment check: each segment is its own episode)."""
        if self.segment:
            return stable_id("fp", self.asset_path, self.check, self.segment)
        return stable_id("fp", self.asset_path, self.check)


def stable_id(*parts: Any, n: int = 16) -> str:
    """A short deterministic id from ``parts`` (used for alert, group and delivery ids)."""
    text = json.dumps([str(p) for p in parts], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def split_metadata(metadata: dict[str, Any]) -> tuple[dict[str, float], dict[str, float], dict]:
    """Split check metadata into ``(values, thresholds, other)``; secrets are dropped."""
    values: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    other: dict[str, Any] = {}
    for key, value in metadata.items():
        if _SECRETISH_KEY.search(key):
            continue
        if isinstance(value, str) and _THRESHOLD_KEY.search(key):
            # Check metadata carries thresholds as text (only signals are numbers).
            try:
                thresholds[key] = float(value)
                continue
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float):
            other[key] = value
        elif _THRESHOLD_KEY.search(key):
            thresholds[key] = float(value)
        else:
            values[key] = float(value)
    return values, thresholds, other


def report_path(metadata: dict[str, Any]) -> str | None:
    """The Evidently report URL (or path) if the check (or its materialization) recorded one."""
    for key, value in metadata.items():
        if _REPORT_KEY.search(key) and isinstance(value, str) and "://" in value:
            return value
    for key, value in metadata.items():
        if _REPORT_KEY.search(key) and isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class UiLinks:
    """Deep links into the Dagster webserver."""

    base_url: str

    def run(self, run_id: str) -> str | None:
        return f"{self._base}/runs/{run_id}" if run_id else None

    def asset_partition(self, asset_key: tuple[str, ...], partition: str | None) -> str:
        url = f"{self._base}/assets/{self._key(asset_key)}?view=partitions"
        return f"{url}&partition={quote(partition)}" if partition else url

    def check_detail(self, asset_key: tuple[str, ...], check: str) -> str:
        return f"{self._base}/assets/{self._key(asset_key)}?view=checks&checkDetail={quote(check)}"

    @property
    def _base(self) -> str:
        # A base URL with credentials must not spread them into every message and table.
        return strip_credentials(self.base_url).rstrip("/")

    @staticmethod
    def _key(asset_key: tuple[str, ...]) -> str:
        return "/".join(quote(p, safe="") for p in asset_key)


@dataclass(frozen=True)
class Lineage:
    """Everything an alert links back to."""

    model: str
    model_version: str
    asset_key: str
    partition: str | None
    check: str
    severity: str
    tier: str
    values: dict[str, float]
    thresholds: dict[str, float]
    run_id: str
    evaluated_at: str
    materialization: dict[str, Any] | None
    upstream_inference_logs: dict[str, Any] | None
    report_path: str | None
    links: dict[str, str]
    description: str | None = None
    segment: str | None = None
    # Ranked likely causes ({"kind": "segment", "segment", "share", ...}; see
    # core/segment_causes.py), most likely first.
    causes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_lineage(event: CheckEvent, model_version: str, tier: str, ui_base_url: str) -> Lineage:
    """Assemble the lineage of the alert ``event`` raises."""
    values, thresholds, _ = split_metadata(event.metadata)
    mat_meta = (event.materialization or {}).get("metadata") or {}
    links = UiLinks(ui_base_url)
    link_map = {
        "asset_partition": links.asset_partition(event.asset_key, event.partition),
        "check": links.check_detail(event.asset_key, event.check),
    }
    run_link = links.run(event.run_id)
    if run_link:
        link_map["run"] = run_link
    mat_run = (event.materialization or {}).get("run_id")
    if mat_run and mat_run != event.run_id:
        link_map["materialization_run"] = links.run(mat_run) or ""
    upstream = event.upstream
    if upstream and upstream.get("asset_key"):
        key = tuple(str(upstream["asset_key"]).split("/"))
        link_map["inference_logs"] = links.asset_partition(key, upstream.get("partition"))
    materialization = None
    if event.materialization:
        materialization = {
            k: v for k, v in event.materialization.items() if k != "metadata" and v is not None
        }
    return Lineage(
        model=event.model,
        model_version=model_version,
        asset_key=event.asset_path,
        partition=event.partition,
        check=event.check,
        severity=event.severity,
        tier=tier,
        values=values,
        thresholds=thresholds,
        run_id=event.run_id,
        evaluated_at=event.timestamp.isoformat(),
        materialization=materialization,
        upstream_inference_logs=upstream,
        report_path=report_path(event.metadata) or report_path(mat_meta),
        links=link_map,
        description=event.description,
        segment=event.segment,
        causes=list(event.metadata.get("causes") or []),
    )


def summarize(lineage: dict[str, Any]) -> str:
    """One line: check, partition and the values against their thresholds."""
    parts = [f"{lineage['asset_key']} · {lineage['check']}"]
    if lineage.get("segment"):
        parts.append(f"· {lineage['segment']}")
    if lineage.get("partition"):
        parts.append(f"[{lineage['partition']}]")
    values = lineage.get("values") or {}
    thresholds = lineage.get("thresholds") or {}
    shown = [f"{k}={_fmt(v)}" for k, v in list(values.items())[:4]]
    shown += [f"{k}={_fmt(v)}" for k, v in list(thresholds.items())[:3]]
    if shown:
        parts.append("(" + ", ".join(shown) + ")")
    causes = [c for c in lineage.get("causes") or [] if c.get("segment")]
    if causes:
        top = ", ".join(f"{c['segment']} {c['share']:.0%}" for c in causes[:3])
        parts.append(f"— top causes: {top}")
    return " ".join(parts)


def _fmt(v: float) -> str:
    return f"{v:.4g}"
