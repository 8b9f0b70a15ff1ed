"""The model file's ``multivariate`` section: drift of the features' joint distribution.

Absent (the default), a model gets no multivariate assets. ``multivariate: {}`` turns on
the data-reconstruction method with its defaults; ``methods`` picks one or both:

```yaml
multivariate:
  methods: [reconstruction, domain_classifier]
  variance_share: 0.65        # PCA keeps this share of the reference's variance
  max_categories: 20          # one-hot for a categorical's most frequent values
  domain_classifier: {auc_threshold: 0.55, auc_threshold_error: 0.65, folds: 3, max_rows: 2000}
```

Thresholds of the reconstruction error follow ``thresholds.mode`` and
``thresholds.calibration`` (check ``reconstruction_error_within_threshold``); the domain
classifier's AUC threshold is Evidently's 0.55, raised on small days to what a classifier
that cannot tell the two apart reaches by chance (``calibration.k`` / ``k_error`` σ of the
AUC's null distribution).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitoring_assets.core.config_fields import Strict

MultivariateMethod = Literal["reconstruction", "domain_classifier"]


class DomainClassifierSettings(Strict):
    """A gradient-boosting classifier telling reference rows from the day's rows."""

    auc_threshold: float = Field(
        0.55, gt=0.5, lt=1, description="WARN above this cross-validated ROC AUC (Evidently's)"
    )
    auc_threshold_error: float = Field(0.65, gt=0.5, le=1, description="ERROR above this AUC")
    folds: int = Field(
        3, ge=2, le=20, description="cross-validation folds (3: as steady as 5 at 0.56× the cost)"
    )
    max_rows: int = Field(2000, ge=100, description="rows drawn (seeded) from each side at most")

    @model_validator(mode="after")
    def _ordered(self) -> DomainClassifierSettings:
        if self.auc_threshold_error < self.auc_threshold:
            raise ValueError(
                f"auc_threshold_error ({self.auc_threshold_error}) is below auc_threshold "
                f"({self.auc_threshold})"
            )
        return self


class Multivariate(Strict):
    """Which multivariate methods run, and their settings."""

    methods: list[MultivariateMethod] = Field(
        default_factory=lambda: ["reconstruction"], min_length=1
    )
    variance_share: float = Field(
        0.65, gt=0, lt=1, description="share of the reference's variance PCA keeps"
    )
    max_categories: int = Field(
        20, ge=1, description="a categorical is one-hot coded on its most frequent values"
    )
    domain_classifier: DomainClassifierSettings = Field(default_factory=DomainClassifierSettings)

    @field_validator("methods")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"methods: {v} lists a method twice")
        return v
