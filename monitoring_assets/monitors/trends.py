"""``monitoring_report``: one static HTML page per model with every monitored value over
the days, its threshold band and the days alert episodes began (``core/trend_report.py``).

It is drawn downstream of the monitors whose values it plots and rebuilt by every
monitoring run, and by the ``report_<model>`` job, which the alert sensor requests when
the model's alerts change (so new onsets show without waiting for the next day).
"""

from collections.abc import Sequence
from typing import Any

import dagster as dg

from monitoring_assets.core.alerts.rows import utcnow
from monitoring_assets.core.trend_report import REPORT_JOB, REPORT_NAME, collect_panels, render_html
from monitoring_assets.monitors.inference import ModelGraph
from resources.report_store import ReportStoreResource
from resources.warehouse import WarehouseResource

MONITORING_REPORT = "monitoring_report"


def build_monitoring_report(
    graph: ModelGraph, deps: Sequence[dg.AssetKey]
) -> tuple[dg.AssetsDefinition, Any]:
    """The model's ``monitoring_report`` asset (downstream of ``deps``) and its
    ``report_<model>`` job."""
    model = graph.model

    @dg.asset(
        key=graph.key(MONITORING_REPORT),
        deps=list(deps),
        group_name=graph.group,
        kinds={"plotly", "html"},
        tags={"driftwarden/model": model.name},
        description=(
            f"Trends of {model.name}: each monitored value per day (drift scores, accuracy) "
            "with its threshold band and the onset of every alert episode, as one static "
            "HTML page (Plotly, offline). Rebuilt by every monitoring run and when the "
            "model's alerts change."
        ),
    )
    def monitoring_report(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        reports: ReportStoreResource,
    ) -> dg.MaterializeResult:
        store = reports.get()
        panels = collect_panels(warehouse.get(), model)
        days = sorted({d for p in panels for d in p.days})
        note = f"{len(days)} day(s): {days[0]} .. {days[-1]}." if days else ""
        store.write_html(model.name, REPORT_NAME, render_html(model, panels, utcnow(), note))
        onsets = sum(len(p.onsets) for p in panels)
        context.log.info(
            f"{model.name} monitoring report: {len(panels)} panel(s), {onsets} onset(s)"
        )
        return dg.MaterializeResult(
            metadata={
                "report": dg.MetadataValue.url(store.url(model.name, REPORT_NAME)),
                "panels": dg.MetadataValue.text(str(len(panels))),
                "days": dg.MetadataValue.text(note or "none"),
            }
        )

    job = dg.define_asset_job(
        REPORT_JOB.format(model=model.name),
        selection=dg.AssetSelection.assets(graph.key(MONITORING_REPORT)),
        description=f"Rebuild the monitoring report of {model.name} (requested on alert changes).",
        tags={"driftwarden/model": model.name},
    )
    return monitoring_report, job
