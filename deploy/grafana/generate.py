"""Regenerate the Grafana dashboards and provisioning files in this folder.

    python deploy/grafana/generate.py            # write them here
    python deploy/grafana/generate.py --check    # exit 1 if any is out of date
    python deploy/grafana/generate.py --out DIR  # write them elsewhere

Dashboards as code, built with grafana-foundation-sdk (a test-only dependency, so this
generator lives beside its output rather than in the installed package). Four
dashboards over the exporter's metrics:

- ``driftwarden-overview``     model health overview
- ``driftwarden-drift``        drift analysis, per feature
- ``driftwarden-performance``  performance trends, realized vs estimated
- ``driftwarden-latency``      inference latency and throughput

Metric names come from the catalogue (:mod:`monitoring_assets.core.metrics`) and the
thresholds drawn on the panels from the model file's defaults
(:mod:`monitoring_assets.core.config`), so neither is copied here.
:func:`render_all` returns the text of each generated file; ``tests/observability``
regenerates and compares.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parents[1]) not in sys.path:
    sys.path.insert(0, str(HERE.parents[1]))

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries  # noqa: E402
from grafana_foundation_sdk.builders.common import (  # noqa: E402
    GraphThresholdsStyleConfig,
    ReduceDataOptions,
)
from grafana_foundation_sdk.builders.dashboard import (  # noqa: E402
    Dashboard,
    DashboardLink,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery as PromQuery  # noqa: E402
from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: E402
from grafana_foundation_sdk.models.common import (  # noqa: E402
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    GraphTresholdsStyleMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (  # noqa: E402
    DashboardCursorSync,
    DashboardLinkType,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    MatcherConfig,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat  # noqa: E402

from monitoring_assets.core import metrics as m  # noqa: E402
from monitoring_assets.core.config import Thresholds  # noqa: E402
from monitoring_assets.core.config_multivariate import DomainClassifierSettings  # noqa: E402

DATASOURCE_UID = "driftwarden-prometheus"
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

# Thresholds drawn on the panels: the model file's defaults (the config model's own
# defaults; a dashboard serves every model, so per-model overrides are not drawn).
DEFAULT_THRESHOLDS = Thresholds()
# Not model-file settings: how far the label-free estimate may sit from the realized
# accuracy before the panel turns red, and the freshness steps of the alerting rules
# (deploy/prometheus/rules: DriftwardenMonitoringStale*).
ESTIMATE_GAP = 0.05
STALE_WARN_SECONDS = 36 * 3600
STALE_CRITICAL_SECONDS = 72 * 3600

MODEL = 'model=~"$model"'
TAGS = ["driftwarden", "ml-monitoring"]


def _query(
    expr: str, legend: str = "", ref: str = "A", instant: bool = False, fmt: str | None = None
) -> PromQuery:
    q = PromQuery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        q = q.legend_format(legend)
    q = q.instant() if instant else q.range()
    if fmt == "table":
        q = q.format(PromQueryFormat.TABLE)
    return q


def _thresholds(base: str, *steps: tuple[float, str]) -> ThresholdsConfig:
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [Threshold(value=None, color=base)] + [Threshold(value=v, color=c) for v, c in steps]
        )
    )


def _drift_thresholds(t: Thresholds) -> ThresholdsConfig:
    return _thresholds(
        "green", (t.drift.drift_share_warn, "yellow"), (t.drift.drift_share_error, "red")
    )


def _accuracy_thresholds(t: Thresholds) -> ThresholdsConfig:
    floor = t.performance.accuracy_floor
    return _thresholds("red", (floor, "green")) if floor is not None else _thresholds("green")


def _missing_thresholds(t: Thresholds) -> ThresholdsConfig:
    return _thresholds(
        "green", (t.quality.missing_share_warn, "yellow"), (t.quality.missing_share_error, "red")
    )


def _coverage_thresholds(t: Thresholds) -> ThresholdsConfig:
    return _thresholds("orange", (t.performance.min_label_coverage, "green"))


def _threshold_lines(style: GraphTresholdsStyleMode = GraphTresholdsStyleMode.DASHED):
    return GraphThresholdsStyleConfig().mode(style)


def _variable(name: str, label: str, query: str) -> QueryVariable:
    """A multi-value, all-by-default variable of a label's values."""
    return (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(VariableOption(selected=True, text="All", value="$__all"))
    )


def _model_variable() -> QueryVariable:
    return _variable("model", "Model", f"label_values({m.OPEN_ALERTS.name}, model)")


def _feature_variable() -> QueryVariable:
    query = f"label_values({m.FEATURE_DRIFT_SCORE.name}{{{MODEL}}}, feature)"
    return _variable("feature", "Feature", query)


def _segment_variable() -> QueryVariable:
    query = f"label_values({m.SEGMENT_TRAFFIC_SHARE.name}{{{MODEL}}}, segment)"
    return _variable("segment", "Segment", query)


def _share_series(
    title: str,
    expr: str,
    legend: str,
    thresholds: ThresholdsConfig,
    style: GraphTresholdsStyleMode = GraphTresholdsStyleMode.DASHED,
    description: str = "",
    span: int = 12,
) -> timeseries.Panel:
    """A time series of a share in [0, 1], its thresholds drawn as lines."""
    panel = timeseries.Panel().title(title)
    if description:
        panel = panel.description(description)
    return (
        panel.with_target(_query(expr, legend))
        .thresholds(thresholds)
        .thresholds_style(_threshold_lines(style))
        .min(0)
        .max(1)
        .height(8)
        .span(span)
    )


def _base(uid: str, title: str, description: str) -> Dashboard:
    return (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .editable()
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .refresh("1m")
        .time("now-30d", "now")
        .timezone("utc")
        .link(
            DashboardLink("driftwarden")
            .type(DashboardLinkType.DASHBOARDS)
            .tags(["driftwarden"])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
        .with_variable(_model_variable())
    )


def overview(t: Thresholds = DEFAULT_THRESHOLDS) -> Dashboard:
    """Model health overview: one glance per model at drift, performance, freshness, alerts."""
    d = _base(
        "driftwarden-overview",
        "driftwarden / Model health overview",
        "Latest drift, performance, label coverage, monitoring freshness and open alerts per model.",
    )
    d = d.with_row(Row("Now"))
    d = d.with_panel(
        stat.Panel()
        .title("Drift score")
        .description(
            f"Share of drifted features in the latest partition ({t.drift.drift_share_warn:g} warning, "
            f"{t.drift.drift_share_error:g} critical)."
        )
        .with_target(_query(f"max by (model) ({m.DRIFT_SCORE.name}{{{MODEL}}})", "{{model}}"))
        .thresholds(_drift_thresholds(t))
        .min(0)
        .max(1)
        .decimals(2)
        .color_mode(BigValueColorMode.BACKGROUND)
        .graph_mode(BigValueGraphMode.AREA)
        .height(6)
        .span(6)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Accuracy (realized)")
        .description(
            "Accuracy of the latest labelled partition; "
            + (
                f"red below the {t.performance.accuracy_floor:g} floor."
                if t.performance.accuracy_floor is not None
                else "the alert level is the per-day calibrated band (accuracy_above_floor)."
            )
        )
        .with_target(_query(f"max by (model) ({m.ACCURACY.name}{{{MODEL}}})", "{{model}}"))
        .thresholds(_accuracy_thresholds(t))
        .decimals(3)
        .color_mode(BigValueColorMode.BACKGROUND)
        .height(6)
        .span(6)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Accuracy (estimated)")
        .description(
            "Accuracy estimated from confidence, for partitions whose labels have not arrived."
        )
        .with_target(
            _query(f"max by (model) ({m.ESTIMATED_ACCURACY.name}{{{MODEL}}})", "{{model}}")
        )
        .thresholds(_accuracy_thresholds(t))
        .decimals(3)
        .color_mode(BigValueColorMode.BACKGROUND)
        .height(6)
        .span(6)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Open alerts")
        .description("Firing driftwarden alerts by tier.")
        .with_target(_query(f"sum by (tier) ({m.OPEN_ALERTS.name}{{{MODEL}}})", "{{tier}}"))
        .thresholds(_thresholds("green", (1, "orange")))
        .decimals(0)
        .height(6)
        .span(6)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Since last monitoring run")
        .description(
            "Time since a monitoring run last wrote for the model (36 h warning, 72 h critical)."
        )
        .with_target(
            _query(f"time() - max by (model) ({m.LAST_SUCCESS.name}{{{MODEL}}})", "{{model}}")
        )
        .unit("s")
        .thresholds(
            _thresholds("green", (STALE_WARN_SECONDS, "yellow"), (STALE_CRITICAL_SECONDS, "red"))
        )
        .height(5)
        .span(8)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Label coverage")
        .description("Share of the latest partition's predictions that have ground truth.")
        .with_target(_query(f"max by (model) ({m.LABEL_COVERAGE.name}{{{MODEL}}})", "{{model}}"))
        .unit("percentunit")
        .thresholds(_coverage_thresholds(t))
        .height(5)
        .span(8)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Exporter")
        .description(
            "Exporter targets up, and whether the last scrape read the warehouse (1) or a stale snapshot (0)."
        )
        .with_target(_query('sum(up{job="driftwarden"})', "targets up", "A"))
        .with_target(_query(f"min({m.EXPORTER_WAREHOUSE_UP.name})", "warehouse read", "B"))
        .thresholds(_thresholds("red", (1, "green")))
        .decimals(0)
        .height(5)
        .span(8)
    )
    d = d.with_row(Row("Models"))
    d = d.with_panel(
        table.Panel()
        .title("Models at a glance")
        .with_target(
            _query(f"max by (model) ({m.DRIFT_SCORE.name}{{{MODEL}}})", "", "drift", True, "table")
        )
        .with_target(
            _query(
                f"max by (model) ({m.DRIFTED_FEATURES.name}{{{MODEL}}})",
                "",
                "drifted",
                True,
                "table",
            )
        )
        .with_target(
            _query(f"max by (model) ({m.ACCURACY.name}{{{MODEL}}})", "", "accuracy", True, "table")
        )
        .with_target(
            _query(
                f"max by (model) ({m.ESTIMATED_ACCURACY.name}{{{MODEL}}})",
                "",
                "estimated",
                True,
                "table",
            )
        )
        .with_target(
            _query(f"sum by (model) ({m.OPEN_ALERTS.name}{{{MODEL}}})", "", "alerts", True, "table")
        )
        .with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "renameByName": {
                        "Value #drift": "drift score",
                        "Value #drifted": "drifted features",
                        "Value #accuracy": "accuracy",
                        "Value #estimated": "estimated accuracy",
                        "Value #alerts": "open alerts",
                    },
                },
            )
        )
        .height(8)
        .span(24)
    )
    d = d.with_panel(
        _share_series(
            "Drift score by model",
            f"{m.DRIFT_SCORE.name}{{{MODEL}}}",
            "{{model}} {{version}}",
            _drift_thresholds(t),
            span=24,
        )
    )
    return d


def drift(t: Thresholds = DEFAULT_THRESHOLDS) -> Dashboard:
    """Drift analysis: dataset drift over time, per-feature statistics and missing shares."""
    d = (
        _base(
            "driftwarden-drift",
            "driftwarden / Drift analysis",
            f"Dataset drift score ({t.drift.drift_share_warn:g} warning, {t.drift.drift_share_error:g} critical), drifted "
            "features, per-feature drift "
            "statistics and missing shares.",
        )
        .with_variable(_feature_variable())
        .with_variable(_segment_variable())
    )
    feature = f'{MODEL}, feature=~"$feature"'
    d = d.with_row(Row("Dataset drift"))
    d = d.with_panel(
        _share_series(
            "Dataset drift score",
            f"{m.DRIFT_SCORE.name}{{{MODEL}}}",
            "{{model}} {{version}}",
            _drift_thresholds(t),
            GraphTresholdsStyleMode.LINE_AND_AREA,
            f"Share of drifted features per partition; dashed lines at "
            f"{t.drift.drift_share_warn:g} and {t.drift.drift_share_error:g}.",
            span=16,
        )
    )
    d = d.with_panel(
        stat.Panel()
        .title("Drifted features")
        .with_target(_query(f"max by (model) ({m.DRIFTED_FEATURES.name}{{{MODEL}}})", "{{model}}"))
        .thresholds(_thresholds("green", (1, "yellow")))
        .decimals(0)
        .graph_mode(BigValueGraphMode.AREA)
        .height(8)
        .span(8)
    )
    d = d.with_row(Row("Features"))
    d = d.with_panel(
        bargauge.Panel()
        .title("Feature drift score (latest)")
        .description(
            "Drift statistic of each feature's method (see the drift report for the method)."
        )
        .with_target(
            _query(
                f"sort_desc({m.FEATURE_DRIFT_SCORE.name}{{{feature}}})",
                "{{model}} / {{feature}}",
                instant=True,
            )
        )
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .min(0)
        .height(10)
        .span(12)
    )
    d = d.with_panel(
        table.Panel()
        .title("Top 10 drifted features")
        .with_target(
            _query(f"topk(10, {m.FEATURE_DRIFT_SCORE.name}{{{feature}}})", "", "A", True, "table")
        )
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {
                        "Time": True,
                        "__name__": True,
                        "job": True,
                        "instance": True,
                    },
                    "renameByName": {"Value": "drift score"},
                },
            )
        )
        .height(10)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Feature drift score over time")
        .with_target(
            _query(f"{m.FEATURE_DRIFT_SCORE.name}{{{feature}}}", "{{model}} / {{feature}}")
        )
        .min(0)
        .height(9)
        .span(24)
    )
    d = d.with_row(Row("Data quality"))
    d = d.with_panel(
        bargauge.Panel()
        .title("Missing share by feature (latest)")
        .with_target(
            _query(
                f"sort_desc({m.MISSING_SHARE.name}{{{feature}}})",
                "{{model}} / {{feature}}",
                instant=True,
            )
        )
        .unit("percentunit")
        .thresholds(_missing_thresholds(t))
        .display_mode(BarGaugeDisplayMode.LCD)
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .min(0)
        .max(1)
        .height(9)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Missing share over time")
        .with_target(_query(f"{m.MISSING_SHARE.name}{{{feature}}}", "{{model}} / {{feature}}"))
        .unit("percentunit")
        .thresholds(_missing_thresholds(t))
        .thresholds_style(_threshold_lines())
        .min(0)
        .height(9)
        .span(12)
    )
    d = _segments_row(d, t)
    d = _multivariate_row(d)
    return _stream_row(d, t)


def _segments_row(d: Dashboard, t: Thresholds) -> Dashboard:
    """Per-segment drift, traffic share and missing share (models with ``segments:``)."""
    segment = f'{MODEL}, segment=~"$segment"'
    d = d.with_row(Row("Segments"))
    d = d.with_panel(
        _share_series(
            "Segment drift share",
            f"{m.SEGMENT_DRIFT_SHARE.name}{{{segment}}}",
            "{{model}} / {{segment}}",
            _drift_thresholds(t),
            description="Share of each segment's features drifted (thresholds calibrated for "
            "the segment's window); models with `segments:` only.",
        )
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Segment prediction drift score")
        .with_target(
            _query(
                f"{m.SEGMENT_PREDICTION_DRIFT_SCORE.name}{{{segment}}}", "{{model}} / {{segment}}"
            )
        )
        .min(0)
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Segment share of traffic")
        .description(
            "A sharp change of a segment's share is a mix shift (check segment_mix_stable)."
        )
        .with_target(
            _query(f"{m.SEGMENT_TRAFFIC_SHARE.name}{{{segment}}}", "{{model}} / {{segment}}")
        )
        .unit("percentunit")
        .min(0)
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Segment missing share (worst feature)")
        .with_target(
            _query(f"{m.SEGMENT_MISSING_SHARE.name}{{{segment}}}", "{{model}} / {{segment}}")
        )
        .unit("percentunit")
        .thresholds(_missing_thresholds(t))
        .thresholds_style(_threshold_lines())
        .min(0)
        .height(8)
        .span(12)
    )
    return d


def _multivariate_row(d: Dashboard) -> Dashboard:
    """The multivariate methods (models with a ``multivariate`` section)."""
    dc = DomainClassifierSettings()
    d = d.with_row(Row("Multivariate drift"))
    d = d.with_panel(
        timeseries.Panel()
        .title("Reconstruction error")
        .description(
            "Mean PCA reconstruction error of the day's rows (check "
            "reconstruction_error_within_threshold); dashed: the day's WARN level, "
            "calibrated on reference chunks of the day's size."
        )
        .with_target(
            _query(f"{m.RECONSTRUCTION_ERROR.name}{{{MODEL}}}", "{{model}} {{version}}", "A")
        )
        .with_target(
            _query(
                f"{m.RECONSTRUCTION_ERROR_THRESHOLD.name}{{{MODEL}}}",
                "{{model}} {{version}} WARN level",
                "B",
            )
        )
        .with_override(
            MatcherConfig(id_val="byFrameRefID", options="B"),
            [
                DynamicConfigValue(
                    id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}
                )
            ],
        )
        .min(0)
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Domain classifier AUC")
        .description(
            "Cross-validated ROC AUC of a classifier telling the day's rows from the "
            f"reference's (0.5: indistinguishable); dashed lines at the defaults "
            f"{dc.auc_threshold:g} (WARN) and {dc.auc_threshold_error:g} (ERROR), raised on "
            "small days to what chance reaches."
        )
        .with_target(_query(f"{m.DOMAIN_CLASSIFIER_AUC.name}{{{MODEL}}}", "{{model}} {{version}}"))
        .thresholds(
            _thresholds("green", (dc.auc_threshold, "yellow"), (dc.auc_threshold_error, "red"))
        )
        .thresholds_style(_threshold_lines())
        .min(0.4)
        .max(1)
        .height(8)
        .span(12)
    )
    return d


def _stream_row(d: Dashboard, t: Thresholds) -> Dashboard:
    """The live windows of ``driftwarden stream``."""
    d = d.with_row(Row("Live stream windows"))
    d = d.with_panel(
        _share_series(
            "Stream window drift score",
            f"{m.STREAM_DRIFT_SCORE.name}{{{MODEL}}}",
            "{{model}} {{window}}",
            _drift_thresholds(t),
            description="Share of drifted features in each live window of `driftwarden stream` "
            f"at its latest evaluation, one line per window; dashed lines at "
            f"{t.drift.drift_share_warn:g} and {t.drift.drift_share_error:g}.",
            span=16,
        )
    )
    d = d.with_panel(
        stat.Panel()
        .title("Stream window events")
        .description("Events in each live window at its latest evaluation.")
        .with_target(_query(f"{m.STREAM_WINDOW_EVENTS.name}{{{MODEL}}}", "{{model}} {{window}}"))
        .decimals(0)
        .height(8)
        .span(8)
    )
    return d


def performance(t: Thresholds = DEFAULT_THRESHOLDS) -> Dashboard:
    """Performance trends: realized metrics (late labels) next to the label-free estimate."""
    d = _base(
        "driftwarden-performance",
        "driftwarden / Performance trends",
        "Realized accuracy, precision, recall and F1 from ground truth, against the accuracy "
        "estimated before labels arrive; label coverage.",
    )
    d = d.with_row(Row("Accuracy"))
    d = d.with_panel(
        timeseries.Panel()
        .title("Accuracy: realized vs estimated")
        .description(
            "Realized accuracy lags by the label delay; the estimate covers the recent days."
        )
        .with_target(_query(f"{m.ACCURACY.name}{{{MODEL}}}", "{{model}} {{version}} realized", "A"))
        .with_target(
            _query(
                f"{m.ESTIMATED_ACCURACY.name}{{{MODEL}}}", "{{model}} {{version}} estimated", "B"
            )
        )
        .thresholds(_accuracy_thresholds(t))
        .thresholds_style(_threshold_lines())
        .min(0.5)
        .max(1)
        .height(9)
        .span(16)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Estimate minus realized")
        .description(
            "How far the label-free estimate is from the realized accuracy (latest of each)."
        )
        .with_target(
            _query(
                f"{m.ESTIMATED_ACCURACY.name}{{{MODEL}}} - on (model, version) {m.ACCURACY.name}{{{MODEL}}}",
                "{{model}} {{version}}",
            )
        )
        .thresholds(_thresholds("red", (-ESTIMATE_GAP, "green"), (ESTIMATE_GAP, "red")))
        .decimals(3)
        .height(9)
        .span(8)
    )
    d = d.with_row(Row("Classification metrics"))
    d = d.with_panel(
        timeseries.Panel()
        .title("Precision, recall, F1")
        .with_target(_query(f"{m.PRECISION.name}{{{MODEL}}}", "{{model}} precision", "A"))
        .with_target(_query(f"{m.RECALL.name}{{{MODEL}}}", "{{model}} recall", "B"))
        .with_target(_query(f"{m.F1.name}{{{MODEL}}}", "{{model}} F1", "C"))
        .min(0)
        .max(1)
        .height(9)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Label coverage")
        .description(
            f"Share of predictions with ground truth; realized metrics need coverage above "
            f"{t.performance.min_label_coverage:g}."
        )
        .with_target(_query(f"{m.LABEL_COVERAGE.name}{{{MODEL}}}", "{{model}} {{version}}"))
        .unit("percentunit")
        .thresholds(_coverage_thresholds(t))
        .thresholds_style(_threshold_lines())
        .min(0)
        .max(1)
        .height(9)
        .span(12)
    )
    return d


def latency(t: Thresholds = DEFAULT_THRESHOLDS) -> Dashboard:
    """Inference latency and throughput from the logged requests."""
    d = _base(
        "driftwarden-latency",
        "driftwarden / Inference latency & throughput",
        "Requests and latency quantiles from the logged inference partitions.",
    )
    bucket = f"{m.INFERENCE_DURATION.name}_bucket{{{MODEL}}}"
    requests = f"{m.INFERENCE_REQUESTS.name}_total{{{MODEL}}}"
    d = d.with_row(Row("Throughput"))
    d = d.with_panel(
        timeseries.Panel()
        .title("Requests per day")
        .description("Logged inference requests over the last 24 h, per model.")
        .with_target(_query(f"sum by (model) (increase({requests}[1d]))", "{{model}}"))
        .unit("short")
        .min(0)
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Throughput (requests/s, 1-day average)")
        .with_target(
            _query(f"sum by (model, version) (rate({requests}[1d]))", "{{model}} {{version}}")
        )
        .unit("reqps")
        .min(0)
        .height(8)
        .span(8)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Requests logged (total)")
        .with_target(_query(f"sum by (model) ({requests})", "{{model}}"))
        .unit("short")
        .height(8)
        .span(4)
    )
    d = d.with_row(Row("Latency"))
    d = d.with_panel(
        timeseries.Panel()
        .title("Latency quantiles (last day)")
        .with_target(
            _query(
                f"histogram_quantile(0.5, sum by (model, le) (increase({bucket}[1d])))",
                "{{model}} p50",
                "A",
            )
        )
        .with_target(
            _query(
                f"histogram_quantile(0.95, sum by (model, le) (increase({bucket}[1d])))",
                "{{model}} p95",
                "B",
            )
        )
        .with_target(
            _query(
                f"histogram_quantile(0.99, sum by (model, le) (increase({bucket}[1d])))",
                "{{model}} p99",
                "C",
            )
        )
        .unit("s")
        .min(0)
        .height(9)
        .span(12)
    )
    d = d.with_panel(
        timeseries.Panel()
        .title("Latency quantiles (all logged requests)")
        .with_target(
            _query(f"histogram_quantile(0.95, sum by (model, le) ({bucket}))", "{{model}} p95", "A")
        )
        .with_target(
            _query(
                f"sum by (model) ({m.INFERENCE_DURATION.name}_sum{{{MODEL}}})"
                f" / sum by (model) ({m.INFERENCE_DURATION.name}_count{{{MODEL}}})",
                "{{model}} mean",
                "B",
            )
        )
        .unit("s")
        .min(0)
        .height(9)
        .span(12)
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("Latency distribution (last day, requests per bucket)")
        .with_target(
            _query(f"sum by (le) (increase({bucket}[1d]))", "{{le}}", instant=True, fmt="heatmap")
        )
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .orientation(VizOrientation.VERTICAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .unit("short")
        .height(8)
        .span(24)
    )
    return d


DASHBOARDS = {
    "model-health-overview": overview,
    "drift-analysis": drift,
    "performance-trends": performance,
    "inference-latency-throughput": latency,
}

DATASOURCE_PROVISIONING = {
    "apiVersion": 1,
    "datasources": [
        {
            "name": "driftwarden Prometheus",
            "uid": DATASOURCE_UID,
            "type": "prometheus",
            "access": "proxy",
            "url": "${DRIFTWARDEN_PROMETHEUS_URL}",
            "isDefault": True,
            "jsonData": {"timeInterval": "30s"},
        }
    ],
}

DASHBOARD_PROVISIONING = {
    "apiVersion": 1,
    "providers": [
        {
            "name": "driftwarden",
            "folder": "driftwarden",
            "type": "file",
            "disableDeletion": False,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {
                "path": "${DRIFTWARDEN_DASHBOARDS_DIR}",
                "foldersFromFilesStructure": False,
            },
        }
    ],
}


def dashboard_json(builder: Dashboard) -> dict[str, Any]:
    """The dashboard model as plain JSON data, panels numbered 1, 2, … in layout order."""
    data = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    for number, panel in enumerate(_panels(data.get("panels", [])), start=1):
        panel["id"] = number
        if panel.get("options") is None and panel.get("type") != "row":
            panel["options"] = {}
    return data


def render_all(thresholds: Thresholds = DEFAULT_THRESHOLDS) -> dict[str, str]:
    """Every generated file under ``deploy/grafana/`` (relative path -> text)."""
    files = {
        f"dashboards/{name}.json": json.dumps(
            dashboard_json(build(thresholds)), indent=2, sort_keys=True
        )
        + "\n"
        for name, build in DASHBOARDS.items()
    }
    files["provisioning/datasources/driftwarden.yaml"] = _yaml(DATASOURCE_PROVISIONING)
    files["provisioning/dashboards/driftwarden.yaml"] = _yaml(DASHBOARD_PROVISIONING)
    return files


def write_all(root: str | Path) -> list[Path]:
    """Write :func:`render_all` under ``root``; returns the paths written."""
    root = Path(root)
    written = []
    for rel, text in render_all().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)
    return written


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []) or [])


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    header = "# Generated by deploy/grafana/generate.py; do not edit by hand.\n"
    return header + yaml.safe_dump(data, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: here)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        stale = [
            rel
            for rel, text in render_all().items()
            if not (args.out / rel).exists() or (args.out / rel).read_text() != text
        ]
        for rel in stale:
            print(f"out of date: {args.out / rel}")
        return 1 if stale else 0
    for path in write_all(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
