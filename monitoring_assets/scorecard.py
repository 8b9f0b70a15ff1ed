"""The demo scorecard: per day, what the simulator injected and what the monitors found.

Each monitor registers a :class:`ScorecardColumn` whose function reads the warehouse and
returns one short cell per day; the scorecard is those columns side by side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from monitoring_assets.core.config import ModelConfig
from resources.warehouse import Warehouse

CellFn = Callable[[Warehouse, ModelConfig, Sequence[dt.date]], dict[dt.date, str]]


@dataclass(frozen=True)
class ScorecardColumn:
    title: str
    cells: CellFn


def _rows(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, str]:
    df = wh.query(
        "SELECT partition_date, rows FROM partition_log WHERE model = ? AND asset = 'inference_logs'",
        [model.name],
    )
    return {pd.Timestamp(d).date(): str(int(r)) for d, r in zip(df.partition_date, df.rows)}


def _injected(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> dict[dt.date, str]:
    df = wh.query(
        "SELECT partition_date, events FROM simulator_truth WHERE model = ?", [model.name]
    )
    return {pd.Timestamp(d).date(): (e or "-") for d, e in zip(df.partition_date, df.events)}


SCORECARD_COLUMNS: list[ScorecardColumn] = [
    ScorecardColumn("rows", _rows),
    ScorecardColumn("injected", _injected),
]


def register_column(column: ScorecardColumn) -> None:
    """Add a monitor's column (once; re-registering the same title replaces it)."""
    for i, existing in enumerate(SCORECARD_COLUMNS):
        if existing.title == column.title:
            SCORECARD_COLUMNS[i] = column
            return
    SCORECARD_COLUMNS.append(column)


def scorecard(wh: Warehouse, model: ModelConfig, dates: Sequence[dt.date]) -> pd.DataFrame:
    """One row per date, one column per registered scorecard column."""
    table = pd.DataFrame({"date": [d.isoformat() for d in dates]})
    for col in SCORECARD_COLUMNS:
        cells = col.cells(wh, model, dates)
        table[col.title] = [cells.get(d, "") for d in dates]
    return table


def render(table: pd.DataFrame, max_width: int = 60) -> str:
    """A plain-text table (no dependencies), cells clipped to ``max_width``."""
    cols = list(table.columns)
    rows = [[str(v)[:max_width] for v in r] for r in table.itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
    out = [line(cols), line(["-" * w for w in widths])]
    out.extend(line(r) for r in rows)
    return "\n".join(out)
