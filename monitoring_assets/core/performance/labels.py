"""Joining one day's predictions with the labels that arrived for it.

Every kind of bad input has a defined outcome, recorded as a :class:`DataIssue` with
the number of rows concerned and what was done with them, so nothing is dropped
silently and nothing crashes the run:

====================================  =====================================================
input                                 outcome
====================================  =====================================================
label for an unknown request id       label dropped (it cannot be matched to a prediction)
label value missing                   label dropped
label value outside the model classes label dropped
duplicate labels, same value          collapsed to one label
duplicate labels, conflicting values  the request counts as unlabeled (ground truth is
                                      ambiguous); lowers label coverage
prediction missing or outside classes row excluded from every metric; still counts in
                                      the coverage denominator
duplicate prediction request id       every row of that id counts as unlabeled (the join
                                      would be ambiguous)
probability missing (NaN)             row kept for label-based metrics, excluded from
                                      probability-based ones (ROC AUC, log loss,
                                      calibration error, CBPE)
probability outside [0, 1]            same as a missing probability
a day with zero labels                coverage 0; metrics are not computed
====================================  =====================================================

Label coverage is the share of the day's predictions that have exactly one valid label
and a valid prediction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig

# Column names of the joined frame (independent of the model's own column names).
ID, PREDICTION, PROBABILITY, LABEL = "request_id", "prediction", "probability", "label"
PREDICTION_VALID, PROBABILITY_VALID, LABELED = "prediction_valid", "probability_valid", "labeled"

MAX_EXAMPLES = 5


class PerformanceInputError(ValueError):
    """The inputs cannot be joined at all (a required column is missing)."""


@dataclass(frozen=True)
class DataIssue:
    """One kind of bad input found while joining, with what was done about it."""

    kind: str
    count: int
    outcome: str
    examples: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for logs and UI metadata."""
        ex = f" (e.g. {', '.join(self.examples)})" if self.examples else ""
        return f"{self.kind}: {self.count}{ex} -> {self.outcome}"


@dataclass(frozen=True)
class LabeledDay:
    """A day's predictions joined with their labels.

    ``frame`` has one row per prediction and the columns ``request_id``, ``prediction``
    (float, NaN when invalid), ``probability`` (float, NaN when absent or invalid),
    ``label`` (float, NaN when unlabeled), ``prediction_valid``, ``probability_valid``
    and ``labeled`` (a valid prediction with exactly one valid label).
    """

    frame: pd.DataFrame
    classes: tuple[int, int]
    issues: tuple[DataIssue, ...] = field(default_factory=tuple)
    n_labels_received: int = 0

    @property
    def n_predictions(self) -> int:
        return len(self.frame)

    @property
    def n_labeled(self) -> int:
        return int(self.frame[LABELED].sum())

    @property
    def coverage(self) -> float:
        """Share of predictions with a valid label (0.0 on a day without predictions)."""
        return self.n_labeled / self.n_predictions if self.n_predictions else 0.0

    def labeled(self) -> pd.DataFrame:
        """Only the rows that enter the label-based metrics."""
        return self.frame[self.frame[LABELED]]

    def issue(self, kind: str) -> DataIssue | None:
        """The issue of that kind, if any."""
        return next((i for i in self.issues if i.kind == kind), None)


def _examples(values: Sequence[object] | pd.Series) -> tuple[str, ...]:
    return tuple(str(v) for v in list(values)[:MAX_EXAMPLES])


def _as_class(values: pd.Series, classes: Sequence[int]) -> pd.Series:
    """Map values to float class values; anything not equal to a class becomes NaN.

    Numbers equal to a class (1, 1.0, True) and numeric strings ("1") are accepted;
    other strings and out-of-range numbers are not.
    """
    numeric = pd.to_numeric(values.astype("object").where(values.notna(), None), errors="coerce")
    numeric = numeric.astype(float)
    return numeric.where(numeric.isin([float(c) for c in classes]))


def label_categories(values: pd.Series) -> pd.Series:
    """Label values as the categories label drift compares, typed as the model file
    declares them (classes are numbers): numbers and numeric text compare as numbers, so
    ``1``, ``1.0``, ``"1"`` and ``True`` are all ``"1"`` and ``0.5`` is ``"0.5"``;
    other text is kept as it is; missing values stay missing (None)."""
    raw = values.astype("object").where(values.notna(), None).reset_index(drop=True)
    numeric = pd.to_numeric(raw, errors="coerce").astype(float)
    whole = numeric.notna() & np.isfinite(numeric) & (numeric == np.round(numeric))
    out = raw.map(lambda v: v if v is None else str(v))
    out[numeric.notna()] = numeric[numeric.notna()].map(repr)
    out[whole] = numeric[whole].map(lambda v: str(int(v)))
    out.index = values.index
    return out


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise PerformanceInputError(
            f"{what} lack column(s) {missing}; present: {sorted(map(str, frame.columns))}"
        )


def join_labels(
    predictions: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    classes: tuple[int, int] = (0, 1),
    id_column: str = "request_id",
    prediction_column: str = "prediction",
    probability_column: str | None = "probability",
    target_column: str = "target",
) -> LabeledDay:
    """Join a day's predictions with its labels; see the module docstring for outcomes.

    ``probability_column`` is the probability of the positive class ``classes[1]``;
    ``None`` means the model logs no probabilities. ``labels=None`` means no labels
    have arrived (same as an empty frame).
    """
    _require(predictions, [id_column, prediction_column], "predictions")
    if probability_column is not None:
        _require(predictions, [probability_column], "predictions")
    if labels is None:
        labels = pd.DataFrame({id_column: [], target_column: []})
    _require(labels, [id_column, target_column], "labels")
    issues: list[DataIssue] = []

    ids = predictions[id_column].astype(str).reset_index(drop=True)
    pred = _as_class(predictions[prediction_column].reset_index(drop=True), classes)
    bad_pred = pred.isna()
    if bad_pred.any():
        raw = predictions[prediction_column].reset_index(drop=True)[bad_pred]
        issues.append(
            DataIssue(
                "invalid_prediction",
                int(bad_pred.sum()),
                f"prediction missing or not in classes {list(classes)}: rows excluded from "
                "every metric, still counted in the coverage denominator",
                _examples(raw),
            )
        )

    if probability_column is not None:
        prob = pd.to_numeric(
            predictions[probability_column].reset_index(drop=True), errors="coerce"
        ).astype(float)
    else:
        prob = pd.Series(np.nan, index=ids.index, dtype=float)
    if probability_column is not None:
        nan_prob = prob.isna()
        out_of_range = prob.notna() & ((prob < 0.0) | (prob > 1.0))
        if nan_prob.any():
            issues.append(
                DataIssue(
                    "probability_missing",
                    int(nan_prob.sum()),
                    "probability is NaN or not numeric: row kept for accuracy/precision/recall/F1, "
                    "excluded from ROC AUC, log loss, calibration error and estimates",
                    _examples(ids[nan_prob]),
                )
            )
        if out_of_range.any():
            issues.append(
                DataIssue(
                    "probability_out_of_range",
                    int(out_of_range.sum()),
                    "probability outside [0, 1]: row kept for accuracy/precision/recall/F1, "
                    "excluded from ROC AUC, log loss, calibration error and estimates",
                    _examples(prob[out_of_range]),
                )
            )
        prob = prob.where(~out_of_range)

    dup_pred = ids.duplicated(keep=False)
    if dup_pred.any():
        issues.append(
            DataIssue(
                "duplicate_prediction_id",
                int(dup_pred.sum()),
                "several predictions share a request id: those rows count as unlabeled "
                "because a label could not be attributed to one of them",
                _examples(ids[dup_pred].unique()),
            )
        )

    n_received = len(labels)
    lab = pd.DataFrame(
        {"id": labels[id_column].astype(str).to_numpy(), "raw": labels[target_column].to_numpy()}
    )
    lab["value"] = _as_class(lab["raw"], classes).to_numpy()
    missing_value = lab["raw"].isna()
    if missing_value.any():
        issues.append(
            DataIssue(
                "label_missing_value",
                int(missing_value.sum()),
                "label value is missing: label dropped",
                _examples(lab.loc[missing_value, "id"]),
            )
        )
    outside = lab["raw"].notna() & lab["value"].isna()
    if outside.any():
        issues.append(
            DataIssue(
                "label_outside_classes",
                int(outside.sum()),
                f"label value not in classes {list(classes)}: label dropped",
                _examples(lab.loc[outside, "raw"].unique()),
            )
        )
    lab = lab[lab["value"].notna()]

    known = set(ids)
    unknown = ~lab["id"].isin(known)
    if unknown.any():
        issues.append(
            DataIssue(
                "unknown_request_id",
                int(unknown.sum()),
                "label for a request id with no prediction this day: label dropped",
                _examples(lab.loc[unknown, "id"].unique()),
            )
        )
    lab = lab[~unknown]

    per_id = lab.groupby("id")["value"].agg(["nunique", "size", "first"])
    conflicting = per_id[per_id["nunique"] > 1]
    if len(conflicting):
        issues.append(
            DataIssue(
                "conflicting_labels",
                len(conflicting),
                "request ids with duplicate labels of different values: counted as unlabeled",
                _examples(conflicting.index),
            )
        )
    repeated = per_id[(per_id["nunique"] == 1) & (per_id["size"] > 1)]
    if len(repeated):
        issues.append(
            DataIssue(
                "duplicate_labels",
                int((repeated["size"] - 1).sum()),
                "repeated labels with the same value: collapsed to one",
                _examples(repeated.index),
            )
        )
    resolved = per_id.loc[per_id["nunique"] == 1, "first"]

    label = ids.map(resolved).astype(float)
    labeled = label.notna() & ~bad_pred & ~dup_pred
    label = label.where(labeled)
    if n_received == 0:
        issues.append(
            DataIssue(
                "no_labels",
                0,
                "no labels have arrived for this day: coverage is 0, metrics are not computed",
            )
        )

    frame = pd.DataFrame(
        {
            ID: ids,
            PREDICTION: pred,
            PROBABILITY: prob,
            LABEL: label,
            PREDICTION_VALID: ~bad_pred,
            PROBABILITY_VALID: prob.notna(),
            LABELED: labeled,
        }
    )
    return LabeledDay(
        frame=frame, classes=classes, issues=tuple(issues), n_labels_received=n_received
    )


def join_model_labels(
    model: ModelConfig, predictions: pd.DataFrame, labels: pd.DataFrame | None
) -> LabeledDay:
    """:func:`join_labels` with the classes and columns of ``model``'s file."""
    cols = model.columns
    return join_labels(
        predictions,
        labels,
        classes=model.classes,
        id_column=cols.id,
        prediction_column=cols.prediction,
        probability_column=cols.probability,
        target_column=cols.target,
    )
