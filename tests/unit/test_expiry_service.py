"""`ExpiryService` on the in-memory stores: expired free credits leave, paid and held ones stay,
a sweep repeated expires nothing more, and nothing happens without a lifetime."""

from __future__ import annotations

import datetime as dt

from core.domain.identity import Identity
from tests.unit.memory_services import services

ANN = Identity.parse("telegram:1")
TTL = dt.timedelta(days=30)


async def test_expired_free_credits_leave_and_paid_and_fresh_ones_stay():
    s = services(free_credit_ttl=TTL)
    await s.wallets.person(ANN)
    s.clock.advance(days=10)
    await s.bonuses.claim_daily(ANN)  # expires 10 days after the welcome credits
    await s.buy(ANN, "starter", 100, "o1")
    s.clock.advance(days=20)
    assert await s.expiry.sweep() == 10
    balance = await s.balance(ANN)
    assert (balance.free, balance.paid) == (1, 100)
    assert [entry.reason for entry in await s.wallets.history(ANN)][0] == "expiry"
    assert await s.audit() == []


async def test_credits_held_by_a_running_job_do_not_expire_from_under_it():
    s = services(free_credit_ttl=TTL)
    accepted = await s.generation.submit(ANN, b"hum", "piano", 10, platform="console", reply_to={}, request_id="r1")
    s.clock.advance(days=31)
    assert await s.expiry.sweep() == 8  # the 2 held for the job stay
    canceled = await s.generation.cancel(ANN, accepted.job_id)
    assert canceled.released == 2
    assert await s.expiry.sweep() == 2  # released later: they expire at the next sweep
    assert await s.available(ANN) == 0
    assert await s.audit() == []


async def test_sweeping_twice_expires_once():
    s = services(free_credit_ttl=TTL)
    await s.wallets.person(ANN)
    s.clock.advance(days=30)
    assert (await s.expiry.sweep(), await s.expiry.sweep()) == (10, 0)


async def test_small_batches_reach_every_wallet():
    s = services(free_credit_ttl=TTL)
    s.expiry.batch = 2
    for n in range(5):
        await s.wallets.person(Identity.parse(f"telegram:{n}"))
    s.clock.advance(days=30)
    assert await s.expiry.sweep() == 50


async def test_without_a_lifetime_nothing_ever_expires():
    s = services()
    await s.wallets.person(ANN)
    s.clock.advance(days=3650)
    assert not s.expiry.enabled
    assert await s.expiry.sweep() == 0
    assert await s.available(ANN) == 10
