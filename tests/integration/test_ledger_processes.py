"""Two OS processes racing the same wallet on PostgreSQL never overdraw it."""

from __future__ import annotations

import asyncio

import pytest

from core.domain.ledger import Grant, Reason
from tests.integration.processes import worker_number

NOW = __import__("datetime").datetime(2026, 4, 1, tzinfo=__import__("datetime").UTC)


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
async def test_two_processes_racing_one_wallet_never_overdraw_it(store, db_url, backend):
    person = await store.ensure_person(
        "console:racer",
        welcome=lambda person: Grant(f"welcome:{person.person_id}", person.wallet_id, 50, Reason.WELCOME),
        now=NOW,
    )

    async def worker(prefix: str) -> int:
        return await worker_number("tests.integration.race_worker", db_url, str(person.wallet_id), prefix, "100")

    won = await asyncio.gather(worker("a"), worker("b"))
    assert sum(won) == 50
    balance = await store.balance(person.wallet_id)
    assert (balance.available, balance.held) == (0, 50)
    assert await store.audit() == []
