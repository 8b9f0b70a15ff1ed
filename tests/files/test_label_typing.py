"""Label values compared as the model file types them (classes are numbers)."""

import numpy as np
import pandas as pd

from monitoring_assets.core.performance.labels import label_categories


def test_numbers_compare_as_numbers_whatever_their_storage():
    stored = {
        "int": pd.Series([0, 1, 1]),
        "float": pd.Series([0.0, 1.0, 1.0]),
        "text": pd.Series(["0", "1.0", "1"]),
        "bool": pd.Series([False, True, True]),
    }
    for name, values in stored.items():
        assert label_categories(values).tolist() == ["0", "1", "1"], name


def test_other_values_stay_distinct_and_missing_stays_missing():
    values = pd.Series([1.0, 0.5, np.nan, None, "yes", np.inf], dtype=object)
    assert label_categories(values).tolist() == ["1", "0.5", None, None, "yes", "inf"]
