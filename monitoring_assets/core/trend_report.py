"""The monitoring report: one static HTML page per model, each monitored value over the
days with its threshold band and the days alert episodes began.

What is plotted comes from what the monitors stored (no recomputation):

- ``data_drift`` / ``prediction_drift``: each column's drift score per day from
  ``drift_results``, against that day's threshold (WARN) and ``threshold_error`` (ERROR);
- ``model_performance``: accuracy per day from ``model_performance``, against the
  reference accuracy minus the model file's ``accuracy_drop`` (WARN) and twice it
  (ERROR) — the fixed thresholds; a calibrated band is in the check's metadata;
- onsets: the first failing day of every alert episode on that asset (``alerts``).

Rendered with Plotly (imported lazily), its JavaScript embedded once: the page opens
offline, with no CDN.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.ports import Warehouse
from monitoring_assets.core.sql import ident
from monitoring_assets.core.tables import DRIFT_RESULTS_TABLE, PERFORMANCE_TABLE

REPORT_NAME = "monitoring_report.html"
#: The job that rebuilds a model's monitoring report (requested when its alerts change).
REPORT_JOB = "report_{model}"
#: The band's colours: between WARN and ERROR, and past ERROR.
WARN_FILL = "rgba(255, 170, 0, 0.18)"
ERROR_FILL = "rgba(220, 40, 40, 0.16)"


@dataclass(frozen=True)
class Onset:
    day: str
    check: str
    tier: str


@dataclass
class Panel:
    """One monitored value over the days, its thresholds, and the onsets on its asset.

    ``higher_is_worse``: the band lies above the thresholds (drift scores); else below
    (accuracy)."""

    asset: str
    title: str
    days: list[str]
    values: list[float | None]
    warn: list[float | None]
    error: list[float | None]
    higher_is_worse: bool = True
    note: str = ""
    onsets: list[Onset] = field(default_factory=list)


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _day(v) -> str:
    return pd.Timestamp(v).date().isoformat()


def drift_panels(wh: Warehouse, model: ModelConfig) -> list[Panel]:
    """One panel per drift-judged column (features, then the prediction)."""
    df = wh.query(
        f"SELECT partition_date, role, column_name, method, score, threshold, threshold_error "
        f"FROM {ident(DRIFT_RESULTS_TABLE.name)} WHERE model = ? AND role IN ('feature', "
        "'prediction') ORDER BY role, column_name, partition_date",
        [model.name],
    )
    panels = []
    for (role, column), g in df.groupby(["role", "column_name"], sort=False):
        asset = "data_drift" if role == "feature" else "prediction_drift"
        methods = ", ".join(sorted({str(m) for m in g["method"].dropna()}))
        panels.append(
            Panel(
                asset=asset,
                title=f"{asset} · {column} ({methods} score)",
                days=[_day(d) for d in g["partition_date"]],
                values=[_num(v) for v in g["score"]],
                warn=[_num(v) for v in g["threshold"]],
                error=[_num(v) for v in g["threshold_error"]],
            )
        )
    return panels


def performance_panels(wh: Warehouse, model: ModelConfig) -> list[Panel]:
    """Accuracy per labelled day against the fixed accuracy-drop thresholds."""
    df = wh.query(
        f"SELECT partition_date, accuracy, reference_accuracy "
        f"FROM {ident(PERFORMANCE_TABLE.name)} WHERE model = ? ORDER BY partition_date",
        [model.name],
    )
    if df.empty or df["accuracy"].notna().sum() == 0:
        return []
    drop = model.thresholds.performance.accuracy_drop
    ref = [_num(v) for v in df["reference_accuracy"]]
    return [
        Panel(
            asset="model_performance",
            title="model_performance · accuracy",
            days=[_day(d) for d in df["partition_date"]],
            values=[_num(v) for v in df["accuracy"]],
            warn=[None if r is None else r - drop for r in ref],
            error=[None if r is None else r - 2 * drop for r in ref],
            higher_is_worse=False,
            note=(
                f"band: reference accuracy − {drop:g} (WARN) and − {2 * drop:g} (ERROR), the "
                "model file's fixed accuracy_drop; a calibrated band is in the check's metadata"
            ),
        )
    ]


def alert_onsets(wh: Warehouse, model: ModelConfig) -> dict[str, list[Onset]]:
    """Onset day, check and tier of every alert episode of ``model``, by asset name."""
    try:
        df = wh.query(
            "SELECT asset_key, check_name, tier, onset_partition, partition_key "
            "FROM alerts WHERE model = ? ORDER BY opened_at",
            [model.name],
        )
    except Exception:  # no alerts table yet: no episode either
        return {}
    out: dict[str, list[Onset]] = {}
    for r in df.to_dict("records"):
        day = r["onset_partition"] or r["partition_key"]
        if not day:
            continue
        asset = str(r["asset_key"]).split("/")[-1]
        out.setdefault(asset, []).append(Onset(str(day), str(r["check_name"]), str(r["tier"])))
    return out


def collect_panels(wh: Warehouse, model: ModelConfig) -> list[Panel]:
    panels = [*drift_panels(wh, model), *performance_panels(wh, model)]
    onsets = alert_onsets(wh, model)
    for p in panels:
        p.onsets = onsets.get(p.asset, [])
    return panels


def _figure(panel: Panel):
    import plotly.graph_objects as go

    fig = go.Figure()
    finite = [v for v in (*panel.values, *panel.warn, *panel.error) if v is not None]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or 0.1
    edge = hi + pad if panel.higher_is_worse else lo - pad
    warn = [w if w is not None else None for w in panel.warn]
    error = [e if e is not None else w for e, w in zip(panel.error, warn, strict=True)]
    # The band: WARN..ERROR shaded amber, ERROR..the plot's edge shaded red.
    fig.add_trace(
        go.Scatter(
            x=panel.days,
            y=warn,
            mode="lines",
            name="WARN threshold",
            line={"color": "rgb(230,150,0)", "dash": "dash", "width": 1},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=panel.days,
            y=error,
            mode="lines",
            name="threshold band (WARN)",
            fill="tonexty",
            fillcolor=WARN_FILL,
            line={"color": "rgb(200,40,40)", "dash": "dot", "width": 1},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=panel.days,
            y=[edge] * len(panel.days),
            mode="lines",
            name="threshold band (ERROR)",
            fill="tonexty",
            fillcolor=ERROR_FILL,
            line={"width": 0},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=panel.days,
            y=panel.values,
            mode="lines",
            name="value",
            line={"color": "rgb(30,90,200)", "width": 2},
        )
    )
    if panel.onsets:
        at = dict(zip(panel.days, panel.values, strict=True))
        xs = [o.day for o in panel.onsets]
        ys = [at.get(o.day) if at.get(o.day) is not None else edge for o in panel.onsets]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="markers",
                name="alert onset",
                marker={
                    "symbol": "triangle-up",
                    "size": 13,
                    "color": "rgb(180,0,0)",
                    "line": {"color": "white", "width": 1},
                },
                text=[f"{o.tier}: {o.check} from {o.day}" for o in panel.onsets],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_layout(
        title={"text": html.escape(panel.title), "font": {"size": 14}},
        height=300,
        margin={"l": 50, "r": 20, "t": 40, "b": 30},
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    return fig


def render_html(
    model: ModelConfig, panels: Sequence[Panel], generated: dt.datetime, data_note: str = ""
) -> str:
    """The whole page, Plotly's JavaScript embedded once."""
    from plotly.offline import get_plotlyjs

    parts = []
    for i, p in enumerate(panels):
        div = _figure(p).to_html(full_html=False, include_plotlyjs=False, div_id=f"panel-{i}")
        note = f'<p class="note">{html.escape(p.note)}</p>' if p.note else ""
        parts.append(
            f'<section class="panel" data-asset="{html.escape(p.asset)}" '
            f'data-onsets="{len(p.onsets)}">{div}{note}</section>'
        )
    body = "\n".join(parts) or "<p>Nothing monitored yet: run the model's days first.</p>"
    title = f"driftwarden · {model.name} {model.version} · monitoring report"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:1.5em;}} .note{{color:#555;font-size:0.85em;}}
.panel{{border-bottom:1px solid #ddd;padding:0.5em 0;}}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body><h1>{html.escape(title)}</h1>
<p>Each monitored value per day (blue), its threshold band (amber: past WARN, red: past
ERROR) and the first failing day of every alert episode on that asset (red triangles).
Generated {generated.strftime("%Y-%m-%d %H:%M UTC")}. {html.escape(data_note)}</p>
{body}
</body></html>
"""
