"""The human-facing drift report: Evidently's DataDriftPreset HTML on seeded samples.

Evidently is slow at scale, so the report runs on a bounded reservoir sample of the day
and of the reference (seeded: the same inputs give the same report), and a ranged run
writes it only for the days worth reading (:func:`report_days`): in a single-day run
always; in a range, the flagged days (drifted share at or above ``drift_share_warn``,
or a drifted critical feature), most drifted first, up to a cap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.lake_io import scan_connection
from monitoring_assets.core.names import quote_ident


@dataclass(frozen=True)
class ReportPlan:
    """Which days get a report, why, and why each other day does not."""

    chosen: list[dt.date]
    why: str
    skipped: dict[dt.date, str]


def report_days(
    model: ModelConfig,
    dates: Sequence[dt.date],
    feature_rows: Mapping[str, Sequence[Mapping[str, Any]]],
    max_reports: int | None,
    only_flagged: bool,
) -> ReportPlan:
    """Choose the days of ``dates`` to report on from their stored per-feature drift rows
    (by partition key); ``max_reports`` None: every flagged day."""
    share: dict[dt.date, float] = {}
    flagged: set[dt.date] = set()
    for d in dates:
        rows = feature_rows.get(d.isoformat(), [])
        ok = [r for r in rows if r["computable"]]
        if ok:
            share[d] = sum(bool(r["drifted"]) for r in ok) / len(ok)
        critical = any(r["drifted"] and r["critical"] for r in ok)
        if share.get(d, 0.0) >= model.thresholds.drift.drift_share_warn or critical:
            flagged.add(d)
    if len(dates) == 1:
        return ReportPlan(list(dates), "single-day run", {})
    pool = [d for d in dates if d in flagged] if only_flagged else list(dates)
    pool.sort(key=lambda d: (-share.get(d, 0.0), d))
    chosen = pool if max_reports is None else pool[:max_reports]
    if max_reports is None:
        why = f"ranged run: reports for all {len(pool)} {'flagged ' if only_flagged else ''}day(s)"
    else:
        why = (
            f"ranged run: reports for up to {max_reports} of "
            f"{len(pool)} {'flagged ' if only_flagged else ''}day(s), most drifted first"
        )
    skipped = {
        d: "not flagged" if d not in flagged else f"over the cap of {max_reports}"
        for d in dates
        if d not in chosen
    }
    return ReportPlan(chosen, why, skipped)


def sample(location: str, n: int, seed: int, columns: Sequence[str]) -> pd.DataFrame:
    """A seeded reservoir sample of ``n`` rows of ``columns`` of a Parquet file."""
    cols = ", ".join(quote_ident(c) for c in columns)
    # DuckDB's SAMPLE clause takes no parameters: n and seed go in as ints, the path bound.
    con = scan_connection()
    try:
        return con.execute(
            f"SELECT {cols} FROM read_parquet(?) USING SAMPLE reservoir({int(n)} ROWS) "
            f"REPEATABLE ({int(seed)})",
            [str(location)],
        ).df()
    finally:
        con.close()


def render_report(
    model: ModelConfig, current: pd.DataFrame, reference: pd.DataFrame, day: str = ""
) -> str:
    """Evidently's DataDriftPreset HTML of ``current`` vs ``reference`` (imported lazily),
    headed by a note that it is computed on samples, whose scores therefore differ from
    the ``data_drift`` asset's (computed on every row of the day)."""
    import html
    import warnings

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    dd = DataDefinition(numerical_columns=model.numerical, categorical_columns=model.categorical)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snap = Report([DataDriftPreset(drift_share=model.thresholds.drift.drift_share)]).run(
            Dataset.from_pandas(current, data_definition=dd),
            Dataset.from_pandas(reference, data_definition=dd),
        )
        page = snap.get_html_str(as_iframe=False)
    note = (
        '<div id="driftwarden-sample-note" style="font-family:sans-serif;padding:8px 12px;'
        'background:#fff6d5;border-bottom:1px solid #e0c060">'
        f"{html.escape(model.name)} {html.escape(day)}: Evidently DataDriftPreset computed on "
        f"a seeded sample of {len(current)} rows of the day and {len(reference)} rows of the "
        "reference. Its scores differ from the data_drift asset's, which are computed on "
        "every row of the day.</div>"
    )
    at = page.find("<body")
    if at >= 0:
        end = page.find(">", at) + 1
        return page[:end] + note + page[end:]
    return note + page
