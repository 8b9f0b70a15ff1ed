"""SQL text the core writes by hand: identifiers quoted in one place, values always bound.

Both warehouses (DuckDB, and Postgres with its ``search_path`` set to the configured
schema) accept standard double-quoted identifiers, so one helper serves both. Values
never go into the SQL text: pass them as ``?`` parameters to ``Warehouse.query`` /
``Warehouse.execute``.
"""

from __future__ import annotations

import re

# Table and column names the project declares (core/tables.py): plain lower-case words.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (a table or column).

    Only plain identifiers are accepted (letters, digits, underscores; at most 63
    characters, Postgres' limit), so a value passed here by mistake fails loudly
    instead of becoming part of a statement.
    """
    if not isinstance(name, str) or not _PLAIN.fullmatch(name):
        raise ValueError(
            f"SQL identifier {name!r} is not a plain name (letters, digits, underscores; "
            "at most 63 characters)"
        )
    return f'"{name}"'
