"""The bot keeps PostgreSQL's planner statistics current for tables that grew since their last
ANALYZE, and leaves the others (and SQLite) alone."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from adapters.storage.database import Database
from adapters.storage.statistics import CHANGED_ROWS, analyze_grown_tables


@pytest.mark.postgres
async def test_a_table_that_grew_is_analyzed_once_and_then_left_alone(postgres_url):
    dsn = postgres_url.replace("+asyncpg", "")
    async with Database(postgres_url) as db:
        await db.read(analyze_grown_tables)  # whatever the migrations left behind

        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "INSERT INTO accounts (kind, owner_key, credits_posted, debits_posted, debits_pending, frozen,"
                " created_at) SELECT 'person', 'p' || g, 0, 0, 0, false, now() FROM generate_series(1, $1::int) g",
                CHANGED_ROWS * 3,
            )
        finally:
            await conn.close()  # a backend reports its table counters when it ends

        analyzed: list[str] = []
        for _ in range(100):  # the counters arrive within a moment
            analyzed = await db.read(analyze_grown_tables)
            if analyzed:
                break
            await asyncio.sleep(0.05)
        assert analyzed == ["accounts"]

        check = await asyncpg.connect(dsn)
        try:
            row = await check.fetchrow(
                "SELECT last_analyze, n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = 'accounts'"
            )
            estimate = await check.fetchval("SELECT reltuples FROM pg_class WHERE relname = 'accounts'")
        finally:
            await check.close()
        assert row["last_analyze"] is not None and row["n_mod_since_analyze"] == 0
        assert estimate >= CHANGED_ROWS * 3  # the planner now knows the table's size
        assert await db.read(analyze_grown_tables) == []  # nothing changed since


async def test_sqlite_has_nothing_to_analyze(sqlite_url):
    async with Database(sqlite_url) as db:
        assert await db.read(analyze_grown_tables) == []
