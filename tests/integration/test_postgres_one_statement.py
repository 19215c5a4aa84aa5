"""What PostgreSQL does in one statement where SQLite takes several: a first contact makes the
person, its identity and its wallet (two processes racing for the same identity still end with
one person and nothing left over); a grant records its lot with the spendable part core decides."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from adapters.storage.persons import found_or_made_person
from adapters.storage.tables import accounts, identities, persons

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.postgres


async def test_a_new_identity_gets_a_person_and_a_wallet_and_a_known_one_keeps_its_own(postgres_url):
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            made = await conn.run_sync(found_or_made_person, "telegram:1", NOW)
            again = await conn.run_sync(found_or_made_person, "telegram:1", NOW)
            owner = await conn.scalar(select(accounts.c.owner_key).where(accounts.c.id == made.wallet_id))
        assert made.created and not again.created
        assert (again.person_id, again.wallet_id) == (made.person_id, made.wallet_id)
        assert owner == f"person:{made.person_id}"
    finally:
        await engine.dispose()


async def test_the_loser_of_a_race_for_an_identity_takes_the_winners_person_and_leaves_no_row(postgres_url):
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        async with engine.connect() as first, engine.connect() as second:
            await first.begin()
            winner = await first.run_sync(found_or_made_person, "telegram:7", NOW)
            await second.begin()
            # The second sees no identity yet (not committed), inserts its person, then waits on
            # the identity's unique key until the first commits.
            racing = asyncio.create_task(second.run_sync(found_or_made_person, "telegram:7", NOW))
            await asyncio.sleep(0.3)
            assert not racing.done()
            await first.commit()
            loser = await racing
            await second.commit()
        assert winner.created and not loser.created
        assert (loser.person_id, loser.wallet_id) == (winner.person_id, winner.wallet_id)
        async with engine.connect() as conn:
            counts = [await conn.scalar(select(func.count()).select_from(t)) for t in (persons, identities)]
            wallets = await conn.scalar(select(func.count()).where(accounts.c.owner_key.like("person:%")))
        assert counts == [1, 1]
        assert wallets == 1
    finally:
        await engine.dispose()


async def test_a_grant_in_one_statement_keeps_the_spendable_part_of_core(postgres_url):
    """The lot a PostgreSQL grant records in SQL gets what `spendable_part` says, debt or not."""
    from sqlalchemy import literal

    from adapters.storage.balances import spendable_part_sql
    from core.domain.ledger import spendable_part

    cases = [(amount, posted) for amount in (0, 1, 5, 100) for posted in (-200, -5, -1, 0, 1, 3, 5, 99, 100, 1000)]
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            found = [
                await conn.scalar(select(spendable_part_sql(literal(amount), literal(posted))))
                for amount, posted in cases
            ]
    finally:
        await engine.dispose()
    assert found == [spendable_part(amount, posted) for amount, posted in cases]
