"""The multivariate core: reconstruction error against an independent scikit-learn PCA,
the fit round-trip, thresholds, the domain classifier, bad input and the model file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

from monitoring_assets.core.config import Calibration, ConfigError, load_project
from monitoring_assets.core.config_multivariate import DomainClassifierSettings, Multivariate
from monitoring_assets.core.multivariate import (
    CALIBRATED,
    FIXED,
    NotComputable,
    ReconstructionDrift,
    ReconstructionFit,
    domain_classifier_auc,
    domain_threshold,
    kept_components,
    null_auc_sd,
    reconstruction_thresholds,
)
from tests.conftest import churn_yaml

FEATURES = {
    "a": "numerical",
    "b": "numerical",
    "c": "numerical",
    "d": "numerical",
    "k": "categorical",
}


def frame(n: int, seed: int, rho: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    c = rng.gamma(2.0, 3.0, size=n)
    d = 0.5 * c + rng.normal(size=n)
    k = rng.choice(["x", "y", "z"], p=[0.5, 0.3, 0.2], size=n)
    out = pd.DataFrame({"a": a, "b": b * 10 + 3, "c": c, "d": d, "k": k})
    out.loc[rng.random(n) < 0.03, "c"] = np.nan
    return out


def oracle_errors(
    reference: pd.DataFrame, day: pd.DataFrame, share: float
) -> tuple[np.ndarray, int]:
    """Independent: scikit-learn's imputer, scaler and PCA on pandas' one-hot coding."""
    num = ["a", "b", "c", "d"]
    imp = SimpleImputer(strategy="mean").fit(reference[num])

    def coded(f: pd.DataFrame) -> np.ndarray:
        dummies = pd.get_dummies(f["k"]).reindex(columns=["x", "y", "z"], fill_value=False)
        return np.hstack([imp.transform(f[num]), dummies.to_numpy(dtype=float)])

    scaler = StandardScaler().fit(coded(reference))
    pca = PCA(n_components=share, svd_solver="full").fit(scaler.transform(coded(reference)))
    x = scaler.transform(coded(day))
    recon = pca.inverse_transform(pca.transform(x))
    return np.linalg.norm(x - recon, axis=1), pca.n_components_


@pytest.mark.parametrize("share", [0.5, 0.65, 0.9])
def test_reconstruction_error_matches_scikit_learn_pca(share):
    ref, day = frame(3000, 1), frame(500, 2, rho=0.0)
    ours = ReconstructionDrift(FEATURES, Multivariate(variance_share=share)).fit(ref)
    expected, k = oracle_errors(ref, day, share)
    assert ours.fitted is not None and ours.fitted.components.shape[0] == k
    np.testing.assert_allclose(ours.errors(day), expected, rtol=1e-9, atol=1e-9)
    # the broken correlation raises the day's mean error far above the reference's
    f = ours.fitted
    assert ours.errors(day).mean() > f.reference_error_mean + 5 * f.reference_error_std / np.sqrt(
        500
    )


def test_kept_components_follows_scikit_learns_rule():
    ratio = np.array([0.5, 0.15, 0.15, 0.1, 0.1])
    assert kept_components(ratio, 0.65) == 3  # cumsum reaches 0.65 exactly: one more
    assert kept_components(ratio, 0.6) == 2
    assert kept_components(ratio, 0.99) == 5


def test_fit_round_trips_through_its_stored_form():
    ref, day = frame(800, 3), frame(100, 4)
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(ref)
    again = ReconstructionFit.from_dict(rd.fitted.to_dict())  # type: ignore[union-attr]
    back = ReconstructionDrift.from_fit(FEATURES, Multivariate(), again)
    np.testing.assert_array_equal(back.errors(day), rd.errors(day))


def test_unseen_categories_and_nulls_are_coded_not_rejected():
    ref = frame(1000, 5)
    day = frame(50, 6)
    day.loc[:9, "k"] = "never_seen"
    day["a"] = np.nan
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(ref)
    err = rd.errors(day)
    assert np.isfinite(err).all() and len(err) == 50


def test_high_cardinality_categorical_keeps_its_most_frequent_values():
    ref = frame(1000, 7)
    ref["k"] = [f"v{i % 40}" if i % 3 else "v0" for i in range(1000)]
    rd = ReconstructionDrift(FEATURES, Multivariate(max_categories=5)).fit(ref)
    coded = rd.fitted.encoding.categorical["k"]  # type: ignore[union-attr]
    assert len(coded) == 5 and coded[0] == "v0"


# --------------------------------------------------------------------------- bad input


def test_reference_smaller_than_the_pca_needs_is_not_computable():
    ref = frame(5, 8).assign(k=["x", "y", "z", "x", "y"])  # 4 numerical + 3 one-hot
    with pytest.raises(NotComputable, match=r"reference too small for PCA: 5 rows for 7 coded"):
        ReconstructionDrift(FEATURES, Multivariate()).fit(ref)


def test_all_null_reference_column_is_excluded_with_the_reason():
    ref = frame(500, 9)
    ref["d"] = np.nan
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(ref)
    enc = rd.fitted.encoding  # type: ignore[union-attr]
    assert enc.excluded == {"d": "all values null on the reference"}
    assert "d" not in enc.numerical and enc.width == 6


def test_no_usable_feature_is_not_computable():
    ref = pd.DataFrame({"a": [np.nan] * 50, "k": [None] * 50})
    with pytest.raises(NotComputable, match="no usable feature.*a: all values null"):
        ReconstructionDrift({"a": "numerical", "k": "categorical"}, Multivariate()).fit(ref)


def test_missing_reference_column_names_it():
    with pytest.raises(NotComputable, match=r"reference has no column\(s\) \['zz'\]"):
        ReconstructionDrift({**FEATURES, "zz": "numerical"}, Multivariate()).fit(frame(100, 1))


def test_a_one_row_day_has_an_error():
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(500, 10))
    assert rd.errors(frame(1, 11)).shape == (1,)


# --------------------------------------------------------------------------- thresholds


def test_calibrated_threshold_is_mean_plus_k_sigma_of_log_chunk_errors():
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(2000, 12))
    chunks = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 1.02, 0.98, 1.01, 0.99, 1.0, 1.03])
    t = reconstruction_thresholds(rd.fitted, chunks, 200, Calibration(), "day", "auto")  # type: ignore[arg-type]
    assert t.mode == CALIBRATED and t.chunks == 11
    logs = np.log(chunks)
    # σ of 11 chunks at its upper 90 % bound (χ², 10 df), times √(1 + 1/11) for the mean
    sigma = logs.std(ddof=1) * np.sqrt(10 / chi2.ppf(0.1, 10)) * np.sqrt(1 + 1 / 11)
    assert t.warn == pytest.approx(np.exp(logs.mean() + 3 * sigma))
    assert t.error == pytest.approx(np.exp(logs.mean() + 6 * sigma))
    assert "11 reference chunks of 200 rows (within days)" in t.source
    assert "upper 90 % bound" in t.source


def test_too_few_chunks_fall_back_to_the_row_error_spread():
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(2000, 13))
    f = rd.fitted
    t = reconstruction_thresholds(f, np.array([1.0, 1.1]), 400, Calibration(), "rows", "auto")  # type: ignore[arg-type]
    assert t.mode == FIXED and "reference yields 2 chunks of 400 rows, < 10" in t.source
    assert t.warn == pytest.approx(f.reference_error_mean + 3 * f.reference_error_std / 20)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- domain classifier


def test_domain_classifier_cannot_tell_one_population_apart():
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(3000, 14))
    enc = rd.fitted.encoding  # type: ignore[union-attr]
    settings = DomainClassifierSettings()
    auc, n_ref, n_day = domain_classifier_auc(
        enc.transform(frame(3000, 14)), enc.transform(frame(400, 15)), settings
    )
    t = domain_threshold(n_ref, n_day, settings, Calibration())
    assert (n_ref, n_day) == (1000, 400)
    assert auc < t.warn
    assert 0.4 < auc < 0.6


def test_domain_classifier_sees_a_broken_correlation():
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(3000, 16))
    enc = rd.fitted.encoding  # type: ignore[union-attr]
    settings = DomainClassifierSettings()
    auc, n_ref, n_day = domain_classifier_auc(
        enc.transform(frame(3000, 16)), enc.transform(frame(400, 17, rho=-0.8)), settings
    )
    assert auc > domain_threshold(n_ref, n_day, settings, Calibration()).error


def test_domain_classifier_codes_only_the_rows_it_draws():
    """A day given as a frame is sampled first and coded after: the classifier sees the
    rows it would see with the whole day coded up front, and only those are coded."""
    rd = ReconstructionDrift(FEATURES, Multivariate()).fit(frame(3000, 18))
    enc = rd.fitted.encoding  # type: ignore[union-attr]
    settings = DomainClassifierSettings(max_rows=300)
    ref, day = enc.transform(frame(3000, 18)), frame(5000, 19, rho=0.2)
    coded_rows: list[int] = []

    def encode(f: pd.DataFrame) -> np.ndarray:
        coded_rows.append(len(f))
        return enc.transform(f)

    whole = domain_classifier_auc(ref, enc.transform(day), settings)
    sampled = domain_classifier_auc(ref, day, settings, encode=encode)
    assert sampled == whole
    assert coded_rows == [300]
    with pytest.raises(TypeError, match="encode"):
        domain_classifier_auc(ref, day, settings)


def test_domain_threshold_rises_on_small_days():
    s, cal = DomainClassifierSettings(), Calibration()
    big = domain_threshold(5000, 5000, s, cal)
    assert (big.warn, big.error) == (0.55, 0.65)  # Evidently's 0.55 applies at volume
    small = domain_threshold(1000, 40, s, cal)
    sd = np.sqrt(1041 / (12 * 1000 * 40))
    assert null_auc_sd(1000, 40) == pytest.approx(sd)
    spread = 1.45 * sd  # the classifier's measured spread over the Mann-Whitney σ₀
    assert small.warn == pytest.approx(0.5 + 3 * spread)
    assert small.error == pytest.approx(0.5 + 6 * spread)


def test_domain_classifier_needs_a_row_per_fold():
    x = np.zeros((100, 3))
    with pytest.raises(NotComputable, match="at least 5 rows on each side"):
        domain_classifier_auc(x, x[:3], DomainClassifierSettings(folds=5))


# --------------------------------------------------------------------------- model file


def _model_file(tmp_path, section: str):
    text = churn_yaml().rstrip() + "\n    " + section + "\n"
    path = tmp_path / "m.yaml"
    path.write_text(text)
    return path


def test_multivariate_section_defaults(tmp_path):
    m = load_project(_model_file(tmp_path, "multivariate: {}")).models[0]
    assert m.multivariate is not None
    assert m.multivariate.methods == ["reconstruction"]
    assert m.multivariate.variance_share == 0.65
    assert m.multivariate.domain_classifier.auc_threshold == 0.55
    assert load_project(_model_file(tmp_path, "label_delay_days: 3")).models[0].multivariate is None


@pytest.mark.parametrize(
    "section, words",
    [
        ("multivariate: {methods: [pca]}", "methods"),
        ("multivariate: {variance_share: 1.5}", "variance_share"),
        ("multivariate: {methods: [reconstruction, reconstruction]}", "twice"),
        ("multivariate: {bogus: 1}", "bogus"),
        (
            "multivariate: {domain_classifier: {auc_threshold: 0.7, auc_threshold_error: 0.6}}",
            "auc_threshold_error",
        ),
    ],
)
def test_bad_multivariate_section_names_the_key(tmp_path, section, words):
    with pytest.raises(ConfigError, match=words):
        load_project(_model_file(tmp_path, section))
