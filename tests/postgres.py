"""The test Postgres (DRIFTWARDEN_TEST_PG_*, default 127.0.0.1:5432, database ``test``,
trust auth) and fresh schemas in it.

Every test gets its own schema (``pg_warehouse_url``, or :func:`new_schema_name`), so tests running at
once in several pytest-xdist workers never share a table. Nothing is ever written to the
``public`` schema or to a fixed schema name.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI

PG_HOST = os.environ.get("DRIFTWARDEN_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("DRIFTWARDEN_TEST_PG_PORT", "5432"))
PG_DB = os.environ.get("DRIFTWARDEN_TEST_PG_DB", "test")
PG_USER = os.environ.get("DRIFTWARDEN_TEST_PG_USER", "postgres")
PG_DSN = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}"


def pg_available() -> str | None:
    """None when Postgres answers, else the reason."""
    import psycopg2

    try:
        psycopg2.connect(PG_DSN, connect_timeout=3).close()
    except psycopg2.OperationalError as exc:
        return str(exc).strip()
    return None


def require_postgres() -> str:
    """The test Postgres DSN; skip on a laptop without it, fail under CI=true."""
    reason = pg_available()
    if reason:
        if IN_CI:
            pytest.fail(f"Postgres at {PG_DSN} is not reachable in CI: {reason}")
        pytest.skip(f"Postgres at {PG_DSN} is not reachable: {reason}")
    return PG_DSN


def new_schema_name(prefix: str) -> str:
    """A schema name no other test (in any worker) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def _admin(statement: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_DSN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def create_schema(schema: str) -> None:
    _admin(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def drop_schema(schema: str) -> None:
    _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="session")
def postgres() -> str:
    """The test Postgres DSN; skip (fail in CI) when it does not answer."""
    return require_postgres()


@pytest.fixture
def pg_warehouse_url(postgres) -> Iterator[str]:
    """A ``postgresql://...?schema=`` warehouse URL in a fresh schema, dropped afterwards."""
    schema = new_schema_name("dw_wh")
    yield f"{postgres}?schema={schema}"
    drop_schema(schema)
