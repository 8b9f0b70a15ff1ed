"""A deterministic production simulator for a churn model: the embedded default source.

Every day's inference log and labels are a pure function of (scenario, seed, date):
each column draws from its own random stream keyed by (seed, date, column), so any
partition can be built in any order, rebuilt byte-identical, and an injected event
changes exactly the columns it claims (see :data:`EVENT_COLUMNS`) and nothing else.

A day's volume and population mix follow the scenario's realism settings
(``volume_jitter``, ``seasonality.weekly``, ``day_variation``; see
:class:`~monitoring_assets.core.config.Scenario`); with all of them at 0 every day has
``rows_per_day`` rows of one population.

The served model is a scikit-learn pipeline trained on the reference period; the
reference data is its training snapshot, with a held-out validation split. Both span
the ``reference_days`` days before the scenario, each day with its own volume and mix.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from monitoring_assets.core.config import ModelConfig, Scenario, ScenarioEvent, SimulatorSource

CONTRACTS = ["month_to_month", "one_year", "two_year"]
CONTRACT_P = [0.55, 0.25, 0.20]
PAYMENTS = ["electronic_check", "mailed_check", "bank_transfer", "credit_card"]
PAYMENT_P = [0.35, 0.20, 0.22, 0.23]
INTERNET = ["dsl", "fiber_optic", "none"]
INTERNET_P = [0.35, 0.45, 0.20]
INTERNET_BASE = {"dsl": 45.0, "fiber_optic": 75.0, "none": 20.0}

NUMERICAL = ["tenure", "monthly_charges", "total_charges", "num_services"]
CATEGORICAL = ["contract_type", "payment_method", "internet_service"]
FEATURES = NUMERICAL + CATEGORICAL
TARGET = "churn"

# Which output columns each event kind may change (beyond the feature it names).
# prediction/probability follow any feature change; churn follows features and concept.
DOWNSTREAM = ["prediction", "probability"]
EVENT_COLUMNS: dict[str, list[str]] = {
    "sudden_shock": ["monthly_charges", "total_charges", "contract_type", *DOWNSTREAM, TARGET],
    "concept_drift": [TARGET],
    "traffic_drop": [],  # removes rows; the rows kept are unchanged
}
# Events that move values between rows without changing any column's day distribution.
REORDERING = {"correlation_break"}


def event_columns(event: ScenarioEvent) -> list[str]:
    """Columns an event may change in the rows it keeps."""
    if event.kind in EVENT_COLUMNS:
        return EVENT_COLUMNS[event.kind]
    cols = [event.feature]
    if event.feature in ("tenure", "monthly_charges") and event.kind not in REORDERING:
        cols.append("total_charges")  # derived: tenure × monthly charges
    return [*cols, *DOWNSTREAM, TARGET]


def _stream(seed: int, date_key: int, name: str) -> np.random.Generator:
    # A stable per-column stream: sha256 of the name, not Python's salted hash().
    tag = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, date_key, tag])


# Weekday shape of the weekly seasonality, Monday..Sunday; its mean is 0.
WEEKLY_SHAPE = (0.4, 0.4, 0.4, 0.4, 0.4, -1.0, -1.0)
# Share of month-to-month contracts a weekend day adds per unit of weekly amplitude
# (weekends +0.04·a, weekdays −0.016·a), taken from the longer contracts in proportion.
WEEKEND_CONTRACT_SHIFT = 0.04
# Within-day standard deviations that ``day_variation`` is measured in.
TENURE_LOG_SCALE_PER_SD = 0.8  # tenure sd (~19) relative to its mean (~24)
SERVICES_P_PER_SD = 1.3 / 7  # num_services sd in binomial p units
CHARGE_SD = 17.0
LABEL_LOGIT_PER_SD = 1.0


def day_volume(scenario: Scenario, date: dt.date) -> int:
    """Rows the simulator serves on ``date`` before any traffic event: ``rows_per_day``
    × the weekday factor × the day's jitter (a pure function of scenario, seed, date)."""
    rows = scenario.rows_per_day * (
        1.0 + scenario.seasonality.weekly * WEEKLY_SHAPE[date.weekday()]
    )
    if scenario.volume_jitter:
        u = _stream(scenario.seed, date.toordinal(), "volume").uniform(-1.0, 1.0)
        rows *= 1.0 + scenario.volume_jitter * u
    return max(1, int(round(rows)))


@dataclass(frozen=True)
class DayMix:
    """The population of one day: category probabilities and the location of the
    numerical draws. Everything 'as configured' when the scenario has no realism."""

    contract_p: np.ndarray
    payment_p: np.ndarray
    internet_p: np.ndarray
    tenure_scale: float = 15.0
    services_p: float = 0.4
    charge_shift: float = 0.0
    label_shift: float = 0.0


def _wobble(p: list[float], z: np.ndarray, v: float) -> np.ndarray:
    q = np.asarray(p, dtype=float) * np.exp(v * z)
    return q / q.sum()


def day_mix(scenario: Scenario, date: dt.date) -> DayMix:
    """The population mix of ``date`` (reference or production day alike)."""
    contract = np.asarray(CONTRACT_P, dtype=float)
    payment = np.asarray(PAYMENT_P, dtype=float)
    internet = np.asarray(INTERNET_P, dtype=float)
    a = scenario.seasonality.weekly
    if a:
        shift = -WEEKEND_CONTRACT_SHIFT * a * WEEKLY_SHAPE[date.weekday()]
        longer = contract[1:] / contract[1:].sum()
        contract = np.concatenate([[contract[0] + shift], contract[1:] - shift * longer])
    v = scenario.day_variation
    if not v:
        return DayMix(contract, payment, internet)
    z = _stream(scenario.seed, date.toordinal(), "day_variation").normal(size=14)
    return DayMix(
        contract_p=_wobble(list(contract), z[0:3], v),
        payment_p=_wobble(list(payment), z[3:7], v),
        internet_p=_wobble(list(internet), z[7:10], v),
        tenure_scale=15.0 * float(np.exp(v * TENURE_LOG_SCALE_PER_SD * z[10])),
        services_p=float(np.clip(0.4 + v * SERVICES_P_PER_SD * z[11], 0.05, 0.95)),
        charge_shift=v * CHARGE_SD * float(z[12]),
        label_shift=v * LABEL_LOGIT_PER_SD * float(z[13]),
    )


def _categorical(rng: np.random.Generator, cats: list[str], p: np.ndarray) -> np.ndarray:
    """``rng.choice(cats, p=...)`` with one probability row per draw (``p``: n × k).

    Same draws and same arithmetic as ``Generator.choice`` (cumulative sum, normalised,
    ``searchsorted(side='right')``), so a constant ``p`` gives identical values."""
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(p))
    idx = (u[:, None] >= cdf).sum(axis=1)
    return np.asarray(cats)[idx]


def _rows_of(mixes: list[DayMix], day_of_row: np.ndarray, name: str) -> np.ndarray:
    return np.asarray([getattr(m, name) for m in mixes])[day_of_row]


def _population(
    n: int,
    seed: int,
    date_key: int,
    mixes: list[DayMix] | None = None,
    day_of_row: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Independent draws per column (row ``i`` follows ``mixes[day_of_row[i]]``);
    derived columns are computed by the callers."""
    s = lambda name: _stream(seed, date_key, name)  # noqa: E731
    if mixes is None:
        mixes = [DayMix(np.asarray(CONTRACT_P), np.asarray(PAYMENT_P), np.asarray(INTERNET_P))]
    if day_of_row is None:
        day_of_row = np.zeros(n, dtype=int)
    row = lambda name: _rows_of(mixes, day_of_row, name)  # noqa: E731
    return {
        "contract_type": _categorical(s("contract_type"), CONTRACTS, row("contract_p")),
        "payment_method": _categorical(s("payment_method"), PAYMENTS, row("payment_p")),
        "internet_service": _categorical(s("internet_service"), INTERNET, row("internet_p")),
        "tenure": np.clip(np.round(s("tenure").gamma(1.6, row("tenure_scale"), size=n)), 0, 72),
        "num_services": (1 + s("num_services").binomial(7, row("services_p"), size=n)).astype(
            float
        ),
        "_charge_noise": s("charge_noise").normal(0.0, 8.0, size=n) + row("charge_shift"),
        "_label_shift": row("label_shift"),
        "_total_noise": s("total_noise").uniform(0.95, 1.05, size=n),
        "_label_u": s("label").uniform(size=n),
        "_keep_u": s("keep").uniform(size=n),
        "_newcat_u": s("new_category").uniform(size=n),
        "_contract_u": s("contract_switch").uniform(size=n),
        "_latency": s("latency").lognormal(np.log(25.0), 0.4, size=n),
        "_seconds": np.sort(s("timestamp").uniform(0, 86400, size=n)),
    }


def _monthly(pop: dict[str, np.ndarray]) -> np.ndarray:
    base = np.vectorize(INTERNET_BASE.get, otypes=[float])(pop["internet_service"])
    return np.round(np.clip(base + 4.5 * pop["num_services"] + pop["_charge_noise"], 18, 140), 2)


def _churn_logit(
    f: pd.DataFrame, concept: float, shock: float = 0.0, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """True log-odds of churn; ``concept`` > 0 moves the relationship (concept drift);
    ``shock`` > 0 makes customers more price-sensitive after a price shock; ``offset``
    is the day variation of the base rate."""
    contract = f["contract_type"].to_numpy()
    tenure = f["tenure"].to_numpy(dtype=float)
    monthly = f["monthly_charges"].to_numpy(dtype=float)
    fiber = (f["internet_service"].to_numpy() == "fiber_optic").astype(float)
    echeck = (f["payment_method"].to_numpy() == "electronic_check").astype(float)
    z = (
        -0.6
        + 2.2 * (contract == "month_to_month")
        - 1.6 * (contract == "two_year")
        - 0.09 * np.nan_to_num(tenure, nan=24.0)
        + 0.045 * (np.nan_to_num(monthly, nan=65.0) - 65.0)
        + 1.0 * echeck
        + 0.8 * fiber
        + offset
    )
    if np.any(concept):
        # Long-tenure customers on DSL/no internet start leaving; fiber ones settle.
        z = z + concept * (0.11 * np.nan_to_num(tenure, nan=24.0) - 1.8 * fiber - 1.2)
    if np.any(shock):
        z = z + shock * 0.08 * np.maximum(np.nan_to_num(monthly, nan=65.0) - 85.0, 0.0)
    return 3.0 * z


def segment_columns(scenario: Scenario, seed: int, date_key: int, n: int) -> dict[str, np.ndarray]:
    """The scenario's extra segment columns (e.g. country), each from its own stream, so
    a scenario without ``segments`` draws exactly what it drew before."""
    out: dict[str, np.ndarray] = {}
    for col, weights in scenario.segments.items():
        p = np.asarray(list(weights.values()), dtype=float)
        p = np.broadcast_to(p / p.sum(), (n, len(p)))
        out[col] = _categorical(_stream(seed, date_key, f"segment:{col}"), list(weights), p)
    return out


def _segment_mask(ev: ScenarioEvent, segs: dict[str, np.ndarray]) -> np.ndarray | None:
    """Rows an event applies to: None (all rows) unless it names a segment."""
    if not ev.segment:
        return None
    ((col, value),) = ev.segment.items()
    return segs[col] == value


def _where(mask: np.ndarray | None, new, old):  # type: ignore[no-untyped-def]
    """``new`` on the event's rows, ``old`` elsewhere (``new`` itself without a mask)."""
    return new if mask is None else np.where(mask, new, old)


@dataclass(frozen=True)
class DayTruth:
    """What the simulator injected on one day."""

    date: dt.date
    events: tuple[str, ...]
    columns: tuple[str, ...]


class Simulator:
    """Production history for one model configured with a simulator source."""

    def __init__(self, model: ModelConfig):
        if not isinstance(model.source, SimulatorSource):
            raise TypeError(f"model {model.name!r} does not use the simulator source")
        missing = [f for f in FEATURES if f not in model.feature_names]
        extra = [f for f in model.feature_names if f not in FEATURES]
        if missing or extra:
            raise ValueError(
                f"model {model.name!r}: the churn simulator produces features {FEATURES}; "
                f"config is missing {missing} and has unknown {extra}"
            )
        self.model_config = model
        self.scenario: Scenario = model.source.scenario
        for ev in self.scenario.events:
            if ev.feature and ev.feature not in FEATURES:
                raise ValueError(f"scenario event {ev.kind!r} names unknown feature {ev.feature!r}")
            if ev.kind == "covariate_shift" and ev.feature not in NUMERICAL:
                raise ValueError(f"covariate_shift needs a numerical feature, got {ev.feature!r}")
            if ev.segment and ev.kind == "sudden_shock" and "contract_type" in ev.segment:
                raise ValueError("a sudden_shock cannot be restricted to a contract_type segment")
            if ev.kind == "new_category" and ev.feature not in CATEGORICAL:
                raise ValueError(f"new_category needs a categorical feature, got {ev.feature!r}")

    # ------------------------------------------------------------------ reference
    def reference(self) -> pd.DataFrame:
        """The training snapshot of the served model (with its predictions and labels)."""
        return self._rename(_reference_bundle(self._scenario_key(), self.model_config.name)[0])

    def validation(self) -> pd.DataFrame:
        """Held-out reference rows (never trained on), for reference performance and calibration."""
        return self._rename(_reference_bundle(self._scenario_key(), self.model_config.name)[1])

    def _rename(self, frame: pd.DataFrame) -> pd.DataFrame:
        cols = self.model_config.columns
        names = {
            "request_id": cols.id,
            "timestamp": cols.timestamp,
            "prediction": cols.prediction,
            "probability": cols.probability,
            TARGET: cols.target,
        }
        out = frame.rename(columns={k: v for k, v in names.items() if v})
        return out.drop(columns=["probability"]) if not cols.probability else out

    @property
    def estimator(self):
        """The served scikit-learn pipeline (trained on :meth:`reference`)."""
        return _reference_bundle(self._scenario_key(), self.model_config.name)[2]

    # ------------------------------------------------------------------ daily data
    def _check_date(self, date: dt.date) -> int:
        day = self.scenario.day_index(date)
        if not 0 <= day < self.scenario.days:
            raise ValueError(
                f"{date} is outside scenario {self.scenario.name!r} "
                f"({self.scenario.start_date} .. {self.scenario.end_date - dt.timedelta(days=1)})"
            )
        return day

    def _day_frame(
        self, date: dt.date
    ) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, tuple[float, float], dict]:
        """Features after events, label uniforms, keep mask, (concept, shock) strengths, draws."""
        day = self._check_date(date)
        n = day_volume(self.scenario, date)
        pop = _population(n, self.scenario.seed, date.toordinal(), [day_mix(self.scenario, date)])
        f = pd.DataFrame({k: pop[k] for k in ("tenure", "num_services")})
        for col in CATEGORICAL:
            f[col] = pop[col].astype(object)
        monthly = _monthly(pop)
        keep = np.ones(n, dtype=bool)
        concept: float | np.ndarray = 0.0
        shock: float | np.ndarray = 0.0
        unit_scaled: list[str] = []
        unit_masks: list[tuple[str, np.ndarray]] = []
        nulled: list[str] = []
        segs = segment_columns(self.scenario, self.scenario.seed, date.toordinal(), n)
        pop.update({f"_segment:{k}": v for k, v in segs.items()})
        broken_links: list[ScenarioEvent] = []
        for ev in self.scenario.events:
            if not ev.active(day):
                continue
            mask = _segment_mask(ev, segs)
            if ev.kind == "covariate_shift":
                frac = min(1.0, (day - ev.day + 1) / max(ev.ramp_days, 1))
                shift = ev.magnitude * self._reference_std(ev.feature) * frac
                if ev.feature == "monthly_charges":
                    monthly = _where(mask, np.round(monthly + shift, 2), monthly)
                elif ev.feature == "total_charges":
                    f["_total_shift"] = _where(mask, shift, 0.0)
                else:
                    f[ev.feature] = _where(mask, np.round(f[ev.feature] + shift), f[ev.feature])
            elif ev.kind == "sudden_shock":
                monthly = _where(mask, np.round(monthly * ev.magnitude, 2), monthly)
                shock = shock + _where(mask, 1.0, 0.0)
                switch = (f["contract_type"] != "month_to_month") & (pop["_contract_u"] < ev.share)
                if mask is not None:
                    switch &= mask
                f.loc[switch, "contract_type"] = "month_to_month"
            elif ev.kind == "concept_drift":
                concept = concept + _where(mask, ev.magnitude, 0.0)
            elif ev.kind == "broken_feature":
                if ev.mode == "unit" and mask is not None:
                    unit_masks.append((ev.feature, mask))
                else:
                    (nulled if ev.mode == "nulls" else unit_scaled).append(ev.feature)
            elif ev.kind == "new_category":
                hit = pop["_newcat_u"] < ev.share
                f.loc[hit if mask is None else hit & mask, ev.feature] = ev.value
            elif ev.kind == "traffic_drop":
                dropped = pop["_keep_u"] < ev.magnitude
                keep &= dropped if mask is None else dropped | ~mask
            elif ev.kind == "correlation_break":
                broken_links.append(ev)
        f["monthly_charges"] = monthly
        total = np.round(monthly * np.maximum(f["tenure"].to_numpy(), 1) * pop["_total_noise"], 2)
        f["total_charges"] = total + f.pop("_total_shift") if "_total_shift" in f else total
        for ev in broken_links:  # after the derived columns, so it moves only its own
            f[ev.feature] = _shuffled(f[ev.feature], ev.share, self.scenario.seed, date, ev)
        for col in unit_scaled:
            f[col] = f[col] * 100.0
        for col, scale in unit_masks:
            f[col] = np.where(scale, f[col].to_numpy() * 100.0, f[col].to_numpy())
        for col in nulled:
            f[col] = np.nan if col in NUMERICAL else None
        return f[FEATURES], pop["_label_u"], keep, (concept, shock), pop

    def _reference_std(self, feature: str) -> float:
        frame = _reference_bundle(self._scenario_key(), self.model_config.name)[0]
        return float(frame[feature].std())

    def rows_on(self, date: dt.date) -> int:
        """Rows served on ``date`` before any traffic event (see :func:`day_volume`)."""
        self._check_date(date)
        return day_volume(self.scenario, date)

    def inference_day(self, date: dt.date) -> pd.DataFrame:
        """The inference log of ``date``: id, timestamp, features, prediction, probability, latency."""
        f, _, keep, _, pop = self._day_frame(date)
        cols = self.model_config.columns
        proba = self.estimator.predict_proba(f)[:, 1]
        out = pd.DataFrame(
            {
                cols.id: [f"{self.model_config.name}-{date:%Y%m%d}-{i:06d}" for i in range(len(f))],
                cols.timestamp: pd.Timestamp(date)
                + pd.to_timedelta(np.round(pop["_seconds"], 3), unit="s"),
            }
        )
        for c in FEATURES:
            out[c] = f[c].to_numpy()
        out[cols.prediction] = (proba >= 0.5).astype("int64")
        if cols.probability:
            out[cols.probability] = np.round(proba, 6)
        if cols.latency:
            out[cols.latency] = np.round(pop["_latency"], 3)
        for col in self.scenario.segments:
            out[col] = pop[f"_segment:{col}"].astype(object)
        out[cols.timestamp] = out[cols.timestamp].astype("datetime64[us]")
        return out[keep].reset_index(drop=True)

    def labels_day(self, date: dt.date) -> pd.DataFrame:
        """Ground truth for ``date``'s predictions (request id, label, when it arrived)."""
        f, label_u, keep, (concept, shock), pop = self._day_frame(date)
        p = 1.0 / (1.0 + np.exp(-_churn_logit(f, concept, shock, pop["_label_shift"])))
        cols = self.model_config.columns
        arrived = pd.Timestamp(date + dt.timedelta(days=self.model_config.label_delay_days))
        out = pd.DataFrame(
            {
                cols.id: [f"{self.model_config.name}-{date:%Y%m%d}-{i:06d}" for i in range(len(f))],
                cols.target: (label_u < p).astype("int64"),
                "label_timestamp": arrived,
            }
        )
        out["label_timestamp"] = out["label_timestamp"].astype("datetime64[us]")
        return out[keep].reset_index(drop=True)

    def labels_available(self, date: dt.date, as_of: dt.date) -> bool:
        """Labels of ``date`` arrive on ``date + label_delay_days``."""
        return as_of >= date + dt.timedelta(days=self.model_config.label_delay_days)

    @property
    def clock(self) -> dt.date:
        """The simulated 'today': the day after the scenario's last day."""
        return self.scenario.end_date

    # ------------------------------------------------------------------ ground truth of events
    def truth(self, date: dt.date) -> DayTruth:
        """What was injected on ``date`` (events active that day and the columns they change)."""
        day = self._check_date(date)
        events, columns = [], []
        for ev in self.scenario.events:
            if ev.active(day):
                events.append(describe_event(ev, day))
                columns.extend(c for c in event_columns(ev) if c not in columns)
        return DayTruth(date, tuple(events), tuple(columns))

    def _scenario_key(self) -> str:
        return json.dumps(
            {"scenario": self.scenario.model_dump(mode="json"), "features": FEATURES},
            sort_keys=True,
        )


def _shuffled(
    values: pd.Series, share: float, seed: int, date: dt.date, ev: ScenarioEvent
) -> pd.Series:
    """``values`` with the values of a share ``share`` of the rows permuted among those
    rows (a stream of their own, drawn only while the event is active)."""
    rng = _stream(seed, date.toordinal(), f"correlation_break:{ev.feature}")
    picked = np.flatnonzero(rng.uniform(size=len(values)) < share)
    out = values.to_numpy().copy()
    out[picked] = out[rng.permutation(picked)]
    return pd.Series(out, index=values.index, name=values.name)


SHORT_NAMES = {
    "covariate_shift": "shift",
    "sudden_shock": "shock",
    "concept_drift": "concept",
    "broken_feature": "broken",
    "new_category": "new-cat",
    "traffic_drop": "traffic",
    "correlation_break": "corr-break",
}


def describe_event(ev: ScenarioEvent, day: int) -> str:
    """A short label for an active event: '+shock' on its first day, 'shift(tenure) 45%'
    while ramping, 'concept' while it lasts."""
    label = SHORT_NAMES[ev.kind] + (f"({ev.feature})" if ev.feature else "")
    if ev.kind == "covariate_shift" and ev.ramp_days:
        frac = min(1.0, (day - ev.day + 1) / ev.ramp_days)
        if frac < 1:
            label += f" {frac:.0%}"
    return ("+" if day == ev.day else "") + label


def _spread(rows: int, weights: list[int]) -> np.ndarray:
    """Day index (0-based) of each of ``rows`` consecutive rows, days in order, each day
    getting a share of the rows proportional to its weight."""
    ends = np.round(np.cumsum(weights) / sum(weights) * rows).astype(int)
    return np.searchsorted(ends, np.arange(rows), side="right")


@lru_cache(maxsize=8)
def _reference_bundle(scenario_key: str, model_name: str):
    """Train the served model once per (scenario, model) per process."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    scenario = Scenario.model_validate(json.loads(scenario_key)["scenario"])
    seed = scenario.seed
    n = scenario.reference_rows
    start = scenario.start_date
    n_train = int(n * 0.7)
    # The reference period: the reference_days before the scenario, drawn with its own
    # key. The training rows and the validation rows each spread over every reference
    # day in proportion to its volume; each row follows its day's mix.
    dates = [
        start - dt.timedelta(days=scenario.reference_days - i)
        for i in range(scenario.reference_days)
    ]
    weights = [day_volume(scenario, d) for d in dates]
    day_of_row = np.concatenate([_spread(n_train, weights), _spread(n - n_train, weights)])
    mixes = [day_mix(scenario, d) for d in dates]
    key = 10**7 + start.toordinal()
    pop = _population(n, seed, key, mixes, day_of_row)
    f = pd.DataFrame({k: pop[k] for k in ("tenure", "num_services")})
    for col in CATEGORICAL:
        f[col] = pop[col].astype(object)
    f["monthly_charges"] = _monthly(pop)
    f["total_charges"] = np.round(
        f["monthly_charges"] * np.maximum(f["tenure"], 1) * pop["_total_noise"], 2
    )
    f = f[FEATURES]
    logit = _churn_logit(f, 0.0, offset=pop["_label_shift"])
    y = (pop["_label_u"] < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERICAL),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                CATEGORICAL,
            ),
        ]
    )
    est = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=1000))])
    est.fit(f.iloc[:n_train], y[:n_train])
    proba = est.predict_proba(f)[:, 1]
    # Times of day spread over the whole day, increasing within each day.
    seconds = _stream(seed, key, "timestamp").uniform(0, 86400, size=n)
    block = day_of_row + scenario.reference_days * (np.arange(n) >= n_train)  # nondecreasing
    seconds = seconds[np.lexsort((seconds, block))]
    ts = (
        pd.Timestamp(dates[0])
        + pd.to_timedelta(day_of_row, unit="D")
        + pd.to_timedelta(np.round(seconds, 3), unit="s")
    )
    ref = pd.DataFrame({"request_id": [f"{model_name}-ref-{i:07d}" for i in range(n)]})
    ref["timestamp"] = ts.astype("datetime64[us]")
    for c in FEATURES:
        ref[c] = f[c].to_numpy()
    ref["prediction"] = (proba >= 0.5).astype("int64")
    ref["probability"] = np.round(proba, 6)
    for col, values in segment_columns(scenario, seed, key, n).items():
        ref[col] = values.astype(object)
    ref[TARGET] = y
    return ref.iloc[:n_train].reset_index(drop=True), ref.iloc[n_train:].reset_index(drop=True), est
