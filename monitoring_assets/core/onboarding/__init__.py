"""From a team's own files to a model file: what ``driftwarden init`` infers.

:func:`infer` reads a reference file (Parquet or CSV) and, optionally, a sample of
inference logs and labels, and decides:

- the column roles (id, timestamp, prediction, probability, target, latency), by name
  and content; a role given by the caller is taken as given; two candidates for one role
  are an error asking for the flag, never a silent pick;
- each remaining column's feature type from its dtype and cardinality (booleans and
  low-cardinality integers are categorical), or why it is left out (identifiers, free
  text, timestamps, very high cardinality);
- the task type from the target and prediction values;
- the first daily partition from the first log file (or the logs' first timestamp).

:func:`render` writes the result as a commented model file that says how each of these
was decided. Files are read with DuckDB, as the files source reads them at run time.
"""

from monitoring_assets.core.onboarding.columns import (
    ROLES,
    feature_type,
    find_role,
    infer_task,
    supported_tasks,
)
from monitoring_assets.core.onboarding.files import OnboardingError, read_table
from monitoring_assets.core.onboarding.model_file import Onboarding, infer, render

__all__ = [
    "ROLES",
    "Onboarding",
    "OnboardingError",
    "feature_type",
    "find_role",
    "infer",
    "infer_task",
    "read_table",
    "render",
    "supported_tasks",
]
