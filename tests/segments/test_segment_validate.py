"""``driftwarden validate`` refuses unusable segment columns, naming column and reason."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring_assets.cli import main
from tests.files.data import make_files


def test_validate_refuses_an_identifier_and_an_unbinned_number(tmp_path, capsys):
    root = tmp_path / "data"
    path = make_files(root, 1, 20, reference_rows=12000)
    ref = pd.read_csv(root / "reference.csv")
    ref["user"] = [f"u{i}" for i in range(len(ref))]  # 12,000 values
    ref["age"] = np.random.default_rng(0).integers(18, 90, len(ref)).astype(float)
    ref["plan"] = np.where(np.arange(len(ref)) % 3 == 0, "pro", "basic")
    ref.to_csv(root / "reference.csv", index=False)
    base = path.read_text()

    path.write_text(base + "    allow_extra_columns: true\n    segments: [user, age]\n")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "segment 'user' has 12000 distinct values in the reference" in err
    assert "segment_settings.max_values 1000): refused" in err
    assert "segment 'age' is numerical with 72 distinct values: give its bins" in err

    assert "lacks declared column(s) ['user', 'age']" in err  # the logs must have them too
    (log,) = (root / "logs").glob("*.csv")
    logs = pd.read_csv(log)
    logs.assign(plan="pro", age=40.0).to_csv(log, index=False)
    path.write_text(
        base + "    allow_extra_columns: true\n"
        "    segments: [plan, {column: age, bins: [30, 50]}]\n"
    )
    code = main(["validate", str(path)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "segments plan, age: columns usable" in out.out
