"""Names that reach file paths and SQL: one rule for each kind, and one quoting helper.

Configuration values end up in two dangerous places: folder names (the lake, the model
registry, the stream checkpoint) and SQL text. Each kind of name has one rule here, and
the model file, the registry, the lake and the stream all apply it, so a value that
passes validation at load time cannot change meaning later.

- A *safe name* is one path segment: model versions, registry artefacts, lake datasets,
  stream consumer groups. ASCII letters, digits, ``_``, ``.`` and ``-``, at most 128
  characters, not starting with ``.`` or ``-`` (so no ``..``, no hidden files, nothing
  a command line reads as an option).
- A *model name* is a safe name that is also a Dagster asset-key prefix and a
  Prometheus label value: ``[a-z][a-z0-9_]{0,62}``.
- A *column name* (features; the id, timestamp, prediction, probability, target and
  latency columns) is wider, because real tables have spaces, dots and quotes: 1 to 128
  printable characters, no leading or trailing space, not starting with ``__`` (reserved
  for rows such as ``__dataset__``). "Printable" excludes control characters (NUL,
  newline, tab), format characters (bidirectional overrides, zero-width joiners) and
  every space but the ASCII one. Column names never become paths, and reach SQL only
  through :func:`quote_ident`.
- Free *text* (scenario names, owners, category values) and *paths* of a files source
  must be printable too; a path may hold no braces except the ``{date}`` placeholder.

Values (paths, dates, model names as data) reach SQL only as bound parameters.
"""

from __future__ import annotations

import re

SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
MODEL_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
#: A lake partition folder: ``date=2026-06-01``, ``version=v1``.
PARTITION_KEY = re.compile(r"[a-z_]{1,32}=[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
COLUMN_NAME_MAX = 128
TEXT_MAX = 512
PATH_MAX = 4096
_DATE_FIELD = "{date}"


def _shown(value: object) -> str:
    """``repr`` of a value, cut short (a hostile value may be megabytes long)."""
    text = repr(value)
    return text if len(text) <= 80 else text[:60] + f"… ({len(str(value))} characters)"


def check_safe_name(value: str, what: str) -> str:
    """``value`` if it is a safe name (see the module docstring), else ``ValueError``
    naming ``what``."""
    if not isinstance(value, str) or not SAFE_NAME.fullmatch(value):
        raise ValueError(
            f"{what} {_shown(value)} is not a safe name: use 1-128 ASCII letters, digits, "
            "'_', '.' or '-', not starting with '.' or '-'"
        )
    return value


def check_model_name(value: str, what: str = "model name") -> str:
    """``value`` if it is a model name (see the module docstring), else ``ValueError``."""
    if not isinstance(value, str) or not MODEL_NAME.fullmatch(value):
        raise ValueError(
            f"{what} {_shown(value)} is not a valid model name: use a lowercase letter "
            "followed by up to 62 lowercase letters, digits or '_'"
        )
    return value


def check_partition_key(value: str, what: str = "partition") -> str:
    """``value`` if it is a lake partition folder name such as ``date=2026-06-01``."""
    if not isinstance(value, str) or not PARTITION_KEY.fullmatch(value):
        raise ValueError(
            f"{what} {_shown(value)} is not a partition folder name of the form "
            "'<key>=<safe name>' (e.g. 'date=2026-06-01', 'version=v1')"
        )
    return value


def check_column_name(value: str, what: str = "column name") -> str:
    """``value`` if it is a column name (see the module docstring), else ``ValueError``."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {_shown(value)}")
    if len(value) > COLUMN_NAME_MAX:
        raise ValueError(f"{what} {_shown(value)} is longer than {COLUMN_NAME_MAX} characters")
    if not value.isprintable():
        raise ValueError(
            f"{what} {_shown(value)} contains a control, format or non-ASCII space "
            "character (e.g. NUL, newline, tab, a bidirectional override)"
        )
    if value != value.strip(" "):
        raise ValueError(f"{what} {_shown(value)} starts or ends with a space")
    if value.startswith("__"):
        raise ValueError(f"{what} {_shown(value)} starts with '__', which is reserved")
    return value


def check_text(value: str, what: str, max_length: int = TEXT_MAX) -> str:
    """``value`` if it is printable text of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {_shown(value)}")
    if len(value) > max_length:
        raise ValueError(f"{what} {_shown(value)} is longer than {max_length} characters")
    if not value.isprintable():
        raise ValueError(
            f"{what} {_shown(value)} contains a control, format or non-ASCII space character"
        )
    return value


def check_path_text(value: str, what: str) -> str:
    """``value`` if it is a usable path or pattern: printable, at most ``PATH_MAX``
    characters, and no braces except the ``{date}`` placeholder."""
    check_text(value, what, PATH_MAX)
    if not value:
        raise ValueError(f"{what} must not be empty")
    if "{" in value.replace(_DATE_FIELD, "") or "}" in value.replace(_DATE_FIELD, ""):
        raise ValueError(
            f"{what} {_shown(value)} has a brace that is not the {_DATE_FIELD} placeholder"
        )
    return value


def quote_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (DuckDB and Postgres): embedded quotes
    are doubled. NUL cannot be quoted and is refused."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"identifier {_shown(name)} is empty or contains NUL")
    return '"' + name.replace('"', '""') + '"'


__all__ = [
    "MODEL_NAME",
    "PARTITION_KEY",
    "SAFE_NAME",
    "check_column_name",
    "check_model_name",
    "check_partition_key",
    "check_path_text",
    "check_safe_name",
    "check_text",
    "quote_ident",
]
