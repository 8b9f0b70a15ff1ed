"""Building blocks of the model file's classes: the strict base model and the types
every string of the model file has (rules in :mod:`monitoring_assets.core.names`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from monitoring_assets.core.names import (
    check_column_name,
    check_model_name,
    check_path_text,
    check_safe_name,
    check_text,
)

# Every string of the model file has one of these types (rules in monitoring_assets.core.names):
# names that become folders, columns that reach SQL as quoted identifiers, printable
# text, and paths of a files source.
ModelName = Annotated[str, AfterValidator(check_model_name)]
SafeName = Annotated[str, AfterValidator(lambda v: check_safe_name(v, "value"))]
ColumnName = Annotated[str, AfterValidator(check_column_name)]
Text = Annotated[str, AfterValidator(lambda v: check_text(v, "value"))]
PathText = Annotated[str, AfterValidator(lambda v: check_path_text(v, "path"))]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
