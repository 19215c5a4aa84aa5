"""Two OS processes settling referrals of one referrer never pass the monthly cap (the
referrer's wallet lock serialises the count-then-pay across processes)."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.processes import worker_number
from tests.integration.rewards_kit import make_kit


@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
async def test_two_processes_paying_one_referrer_respect_the_monthly_cap(database, db_url, backend):
    kit = make_kit(database)
    referrer, _ = await kit.person("discord:1")
    code = (await kit.referrals.my_code(referrer)).code
    referred = []
    for n in range(12):
        friend, friend_id = await kit.person(f"telegram:{n + 10}")
        await kit.referrals.record_referral(friend, code)
        referred.append(friend_id)

    async def worker(ids: list[int]) -> int:
        return await worker_number("tests.integration.rewards_race_worker", db_url, "3", ",".join(map(str, ids)))

    paid = await asyncio.gather(worker(referred[0::2]), worker(referred[1::2]))
    assert sum(paid) == 30  # cap 3 × 10 credits, whoever won
    assert await kit.available(referrer) == 10 + 30
    for friend_id in referred:
        assert await kit.stores.referrals.has_open_referral(friend_id) is False  # every side settled: paid or capped
    assert await kit.audit() == []
