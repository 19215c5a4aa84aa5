"""Schema changes only through Alembic: upgrade from empty, no drift, downgrade to base."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.storage.migrations import downgrade, schema_drift, upgrade
from adapters.storage.schema import metadata


async def table_names(url: str) -> set[str]:
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test_migrations_upgrade_match_the_models_and_downgrade_to_nothing(db_url):
    # db_url is already at head (the fixtures migrate it); go down and up again from empty.
    await downgrade(db_url, "base")
    assert await table_names(db_url) == set()
    await upgrade(db_url)
    assert await table_names(db_url) == set(metadata.tables)
    assert await schema_drift(db_url) == []
    await downgrade(db_url, "base")
    assert await table_names(db_url) == set()
