"""Shared fixtures: a migrated database on SQLite and on the real PostgreSQL server.

Each test gets its own database: SQLite copies a file migrated once per session; PostgreSQL
clones a database migrated once per session (`CREATE DATABASE ... TEMPLATE`), so tests are
isolated and fast. PostgreSQL is required, not optional: a missing server fails the run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from adapters.storage.database import Database
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.migrations import upgrade

PG_ADMIN_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
TEMPLATE_DB = f"bot_template_{os.getpid()}"


def pg_url(database: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{database}"


async def _pg_admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "bot.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}"', f'CREATE DATABASE "{TEMPLATE_DB}"'))
    asyncio.run(upgrade(pg_url(TEMPLATE_DB)))
    yield TEMPLATE_DB
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "bot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_url" if backend == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def database(db_url: str) -> AsyncIterator[Database]:
    async with Database(db_url) as db:
        yield db


@pytest.fixture
def store(database: Database) -> SqlLedgerStore:
    return SqlLedgerStore(database)


# --- nothing reaches outside this machine ----------------------------------------------------

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0", "", None}
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True)
def no_outside_hosts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every client in a test talks to a loopback fake: a lookup of any other host name fails
    at once, and fails the test (an SDK quietly falling back to its real service would
    otherwise pass unnoticed on a machine without internet)."""
    asked: list[str] = []

    def loopback_only(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK_HOSTS:
            asked.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, f"tests stay on loopback: {name} is outside")
        return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    yield asked
    assert asked == [], f"the test tried to reach outside hosts: {sorted(set(asked))}"
