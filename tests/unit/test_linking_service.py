"""`LinkService` on the in-memory stores: one-time codes, joining a new identity, merging two
persons without creating or losing a credit."""

from __future__ import annotations

import pytest

from core.domain.identity import Identity
from core.domain.rewards import LinkRefusal
from core.errors import LinkCodeInvalid, LinkRefused
from tests.unit.memory_services import services

DISCORD, TELEGRAM = Identity.parse("discord:1"), Identity.parse("telegram:1")


async def test_a_new_identity_joins_the_person_without_a_welcome_of_its_own():
    s = services()
    code = await s.linking.start(DISCORD)
    linked = await s.linking.redeem(TELEGRAM, code.code)
    assert (linked.absorbed_person_id, linked.identities, linked.balance.available) == (
        None,
        ("discord:1", "telegram:1"),
        10,
    )
    assert (await s.wallets.person(TELEGRAM)).person_id == linked.person_id


async def test_two_persons_merge_into_the_older_with_every_credit():
    s = services()
    old = await s.wallets.person(DISCORD)
    s.clock.advance(days=1)
    await s.buy(TELEGRAM, "starter", 100, "o1")
    code = await s.linking.start(TELEGRAM)
    linked = await s.linking.redeem(DISCORD, code.code)
    assert (linked.person_id, linked.moved_free, linked.moved_paid) == (old.person_id, 10, 100)
    assert linked.balance.available == 120
    view = await s.wallets.balance(TELEGRAM)
    assert (view.plan, view.balance.account_id) == ("starter", old.wallet_id)
    assert await s.audit() == []


async def test_a_link_code_works_once():
    s = services()
    code = await s.linking.start(DISCORD)
    await s.linking.redeem(TELEGRAM, code.code)
    with pytest.raises(LinkCodeInvalid):
        await s.linking.redeem(Identity.parse("console:me"), code.code)


async def test_a_code_expires_and_a_new_one_replaces_the_old():
    s = services()
    first = await s.linking.start(DISCORD)
    second = await s.linking.start(DISCORD)
    with pytest.raises(LinkCodeInvalid):
        await s.linking.redeem(TELEGRAM, first.code)
    s.clock.advance(minutes=10)
    with pytest.raises(LinkCodeInvalid):
        await s.linking.redeem(TELEGRAM, second.code)


async def test_running_jobs_refuse_a_merge_and_leave_the_code_unused():
    s = services()
    await s.wallets.person(TELEGRAM)
    await s.generation.submit(TELEGRAM, b"hum", "piano", 5, platform="console", reply_to={}, request_id="r1")
    code = await s.linking.start(DISCORD)
    with pytest.raises(LinkRefused) as refused:
        await s.linking.redeem(TELEGRAM, code.code)
    assert refused.value.reason == LinkRefusal.JOBS_RUNNING
    assert s.stores.world.link_codes[next(iter(s.stores.world.link_codes))].used_at is None


async def test_two_identities_on_one_platform_cannot_be_one_person():
    s = services()
    code = await s.linking.start(DISCORD)
    with pytest.raises(LinkRefused) as refused:
        await s.linking.redeem(Identity.parse("discord:2"), code.code)
    assert refused.value.reason == LinkRefusal.PLATFORM_TAKEN
