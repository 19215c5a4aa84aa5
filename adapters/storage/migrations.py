"""Apply Alembic migrations from code (the bot's start-up and `python -m bot migrate`)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from adapters.storage.database import async_engine_for_migrations, is_sqlite, sqlite_path
from adapters.storage.schema import metadata
from alembic import command

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    return config


async def _with_connection(url: str, action: str, target: str) -> None:
    if is_sqlite(url) and (path := sqlite_path(url)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = async_engine_for_migrations(url)
    try:
        async with engine.begin() as conn:

            def run(sync_conn: Connection) -> None:
                config = alembic_config()
                config.attributes["connection"] = sync_conn
                getattr(command, action)(config, target)

            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, target: str = "head") -> None:
    await _with_connection(url, "upgrade", target)


async def downgrade(url: str, target: str = "base") -> None:
    await _with_connection(url, "downgrade", target)


async def schema_drift(url: str) -> list[object]:
    """What autogenerate would change: empty when the migrations match the models."""
    engine = async_engine_for_migrations(url)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: Connection) -> list[object]:
                context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "render_as_batch": True})
                return list(compare_metadata(context, metadata))

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()
