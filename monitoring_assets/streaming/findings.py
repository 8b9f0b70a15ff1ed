"""Where window verdicts go: the alert outbox and ``monitor_metrics`` (for the exporter).

Alerts go through the same path as the sensor's
(:func:`monitoring_assets.core.alerts.record.record_events`) with a synthetic check evaluation
on the asset ``[<model>, "stream_drift"]``, check ``drift_share_below_threshold``, whose
verdict is the window's :attr:`~monitoring_assets.streaming.windows.WindowResult.verdict`:
the worst of the batch ``data_drift`` checks computed by the same
:class:`~monitoring_assets.core.monitor.DriftMonitor` (so a drifted critical feature is
an ERROR). An evaluation is sent only when a window's verdict changes, so a persisting
drift is one alert and the stream does not write to the warehouse at every evaluation.

The consumer delivers the outbox itself right after recording (channels and secrets as
the Dagster resource reads them: ``$DRIFTWARDEN_ALERT_POLICY``, ``$DRIFTWARDEN_*_TOKEN``
…), through :func:`resources.outbox_delivery.deliver_exclusively`, the same lock the
``check_failure_alerts`` sensor delivers under, so a daemon running too never sends a
message twice. Messages left retrying are tried again by :meth:`FindingsSink.deliver_due`.
Retraining is left to the daily batch monitors: stream alerts notify only.

Live values go to ``monitor_metrics`` under ``ml_stream_*`` names, one series per
window (the ``feature`` column holds the window's name, exposed as the ``window``
label), partition = the window's newest event day, so the Prometheus exporter serves
them as gauges. A locked
or failing warehouse is logged and skipped: the stream never stops for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import time
from collections.abc import Sequence

import pandas as pd

from monitoring_assets.core import metrics as catalogue
from monitoring_assets.core.alerts.delivery import DeliveryReport
from monitoring_assets.core.alerts.lineage import CheckEvent
from monitoring_assets.core.alerts.outbox import AlertStore
from monitoring_assets.core.alerts.record import record_events
from monitoring_assets.core.checks import failed_at
from monitoring_assets.core.config import ModelConfig
from monitoring_assets.core.monitor import DRIFT_SHARE_BELOW_THRESHOLD
from monitoring_assets.core.ports import Warehouse, WarehouseError
from monitoring_assets.core.root_cause.causes import drift_causes
from monitoring_assets.core.tables import MONITOR_METRICS
from monitoring_assets.streaming.landing import day_of_us
from monitoring_assets.streaming.windows import WindowResult

log = logging.getLogger("driftwarden.stream")

STREAM_ASSET = "stream_drift"
STREAM_CHECK = DRIFT_SHARE_BELOW_THRESHOLD
#: Gauges written per evaluation and window (the window is in the feature column).
STREAM_DRIFT_SHARE = catalogue.STREAM_DRIFT_SCORE.name
STREAM_DRIFTED = catalogue.STREAM_DRIFTED_FEATURES.name
STREAM_WINDOW_ROWS = catalogue.STREAM_WINDOW_EVENTS.name
STREAM_PREDICTION_DRIFT = catalogue.STREAM_PREDICTION_DRIFT_SCORE.name
STREAM_METRICS = sorted(catalogue.STREAM_GAUGES)


def check_event(model: ModelConfig, result: WindowResult, event_id: int) -> CheckEvent:
    """The synthetic check evaluation of one window verdict."""
    day = day_of_us(result.newest_us) if result.newest_us is not None else None
    dd = result.drift
    meta: dict = {
        "window": result.window,
        "window_events": result.rows,
        "drift_share": dd.share_drifted,
        "drift_share_warn_threshold": model.thresholds.drift.drift_share_warn,
        "drift_share_error_threshold": model.thresholds.drift.drift_share_error,
        "drifted_features": ", ".join(result.drifted) or "none",
        "critical_drifted": ", ".join(result.critical_drifted) or "none",
        "events_seen": result.events_seen,
    }
    for name, r in dd.columns.items():
        if r.computable:
            meta[f"{name}_{r.method}"] = r.score
    verdict = result.verdict
    text = (
        f"stream window {result.window}: {dd.n_drifted}/{dd.n_columns} features drifted "
        f"({', '.join(result.drifted) or 'none'})"
    )
    return CheckEvent(
        event_id=event_id,
        asset_key=(model.name, STREAM_ASSET),
        check=STREAM_CHECK,
        passed=verdict == "OK",
        severity=failed_at(verdict),
        timestamp=dt.datetime.now(dt.UTC),
        partition=day.isoformat() if day else None,
        metadata=meta,
        description=text,
    )


def window_explainer(model: ModelConfig, results: Sequence[WindowResult]):
    """Causes of a stream alert: the per-feature drift of the failing window with the
    largest drifted share (drift alone: the consumer does not score the model)."""
    failing = [r for r in results if r.verdict != "OK"]
    if not failing:
        return None
    worst = max(failing, key=lambda r: r.drift.share_drifted)
    causes = drift_causes(
        worst.drift.columns, [f.name for f in model.features], {"window": worst.window}
    )
    return lambda alert: causes


class FindingsSink:
    """Sends window verdicts to the alert outbox and live values to the warehouse."""

    def __init__(
        self,
        model: ModelConfig,
        warehouse: Warehouse | None,
        alerts: bool = True,
        metrics: bool = True,
        run_id: str = "stream",
        deliver: bool = True,
    ):
        self.model = model
        self.warehouse = warehouse
        self.alerts = alerts and warehouse is not None
        self.metrics = metrics and warehouse is not None
        self.deliver = deliver and self.alerts
        self.run_id = run_id
        self.sent: list[CheckEvent] = []  # handed to the outbox (tests and logs read this)
        self.deliveries: list[DeliveryReport] = []  # passes this sink ran
        self._unlabelled_removed = False
        #: Messages may still be due (a pass left retries, or another process held the lock).
        self.delivery_pending = False

    def publish(self, results: Sequence[WindowResult], previous: dict[str, str]) -> None:
        """Write metrics for ``results``; alert on verdict changes against ``previous``
        (window -> last verdict, updated in place)."""
        if not results:
            return
        if self.metrics:
            self._metrics(results)
        changed = [r for r in results if previous.get(r.window, "OK") != r.verdict]
        for r in results:
            previous[r.window] = r.verdict
        if changed and self.alerts:
            self._alert(changed)

    def _metrics(self, results: Sequence[WindowResult]) -> None:
        # One value per metric, window and day.
        now = pd.Timestamp.now(tz="UTC").tz_localize(None)
        by_day: dict[dt.date, list[dict]] = {}
        for r in results:
            if r.newest_us is None:
                continue
            day = day_of_us(r.newest_us)
            values = {
                STREAM_DRIFT_SHARE: r.drift.share_drifted,
                STREAM_DRIFTED: float(r.drift.n_drifted),
                STREAM_WINDOW_ROWS: float(r.rows),
                # NaN when not computable, so an old value never outlives its window.
                STREAM_PREDICTION_DRIFT: r.prediction.score
                if r.prediction.computable
                else math.nan,
            }
            by_day.setdefault(day, []).extend(
                {
                    "model": self.model.name,
                    "model_version": self.model.version,
                    "partition_date": day,
                    "metric": k,
                    "feature": r.window,
                    "value": float(v),
                    "run_id": f"{self.run_id}:{r.window}",
                    "computed_at": now,
                }
                for k, v in values.items()
            )
        try:
            for day, rows in by_day.items():
                frame = pd.DataFrame(rows, columns=list(MONITOR_METRICS.columns))
                self.warehouse.replace(  # type: ignore[union-attr]
                    MONITOR_METRICS.name,
                    frame,
                    {
                        "model": self.model.name,
                        "partition_date": day,
                        "metric": sorted(set(frame.metric)),
                        "feature": sorted(set(frame.feature)),
                    },
                )
            if by_day and not self._unlabelled_removed:
                # Series written before windows were labelled would be served forever.
                self.warehouse.execute(  # type: ignore[union-attr]
                    f"DELETE FROM {MONITOR_METRICS.name} WHERE model = ? AND feature = '' "
                    f"AND metric IN ({', '.join('?' * len(STREAM_METRICS))})",
                    [self.model.name, *STREAM_METRICS],
                )
                self._unlabelled_removed = True
        except WarehouseError as exc:
            log.warning("stream metrics not written (warehouse busy?): %s", exc)

    def _alerting(self):
        from resources.notifiers import SECRET_ENV, AlertingResource

        # The resource the sensor uses, with the secrets read from the same variables.
        return AlertingResource(
            policy_file=os.environ.get("DRIFTWARDEN_ALERT_POLICY", ""),
            ui_base_url=os.environ.get("DRIFTWARDEN_UI_URL", ""),
            **{k: os.environ.get(v, "") for k, v in SECRET_ENV.items()},
        )

    def _alert(self, results: Sequence[WindowResult]) -> None:
        # Milliseconds since the epoch: unique and increasing across restarts.
        base = int(time.time() * 1000)
        events = [check_event(self.model, r, base + i) for i, r in enumerate(results)]
        alerting = self._alerting()
        try:
            recorded = record_events(
                AlertStore(self.warehouse),  # type: ignore[arg-type]
                alerting.policy(),
                {self.model.name: self.model},
                events,
                dt.datetime.now(dt.UTC),
                explain=window_explainer(self.model, results),
            )
        except WarehouseError as exc:
            log.warning("stream alert not recorded (warehouse busy?): %s", exc)
            return
        self.sent.extend(events)
        for e in events:
            log.warning(
                "stream finding: %s (%s)", e.description, "passed" if e.passed else e.severity
            )
        if recorded.notifications:
            self.delivery_pending = True
        self.deliver_due(alerting)

    def deliver_due(self, alerting=None) -> DeliveryReport | None:
        """Deliver the outbox's due messages under the shared delivery lock; ``None`` when
        delivery is off, nothing is known to be due, or another process holds the lock."""
        if not self.deliver or not self.delivery_pending:
            return None
        from resources.outbox_delivery import deliver_exclusively

        alerting = alerting or self._alerting()
        try:
            policy = alerting.policy()
            channels, missing = alerting.channels(policy)
            report = deliver_exclusively(
                AlertStore(self.warehouse),  # type: ignore[arg-type]
                channels,
                policy,
                missing=missing,
            )
        except WarehouseError as exc:
            log.warning("alert outbox not delivered (warehouse busy?): %s", exc)
            return None
        if report is None:  # another process is delivering; look again later
            return None
        self.deliveries.append(report)
        self.delivery_pending = bool(report.retrying or report.deferred)
        log.info(
            "alert outbox: delivered %d, retrying %d, failed %d, left for later %d",
            report.delivered,
            report.retrying,
            report.failed,
            report.deferred,
        )
        for err in report.errors or []:
            log.warning("alert delivery: %s", err)
        return report
