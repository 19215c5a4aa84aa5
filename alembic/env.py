"""Alembic environment: async engines, batch mode for SQLite.

Two ways in: `python -m bot migrate` / the bot's start-up hand us an open connection through
`config.attributes["connection"]`; the `alembic` command line builds its own async engine from
DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy import Connection

from adapters.storage.database import async_engine_for_migrations, lock_migrations
from adapters.storage.schema import metadata
from alembic import context

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_with_connection(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        lock_migrations(connection)
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = async_engine_for_migrations(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with_connection)
        await connection.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with_connection(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", "sqlite+aiosqlite:///./data/bot.db"
    )
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
