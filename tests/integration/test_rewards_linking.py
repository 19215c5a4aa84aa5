"""Account linking on SQLite and PostgreSQL: one person, one wallet, books balanced."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.domain.identity import Identity
from core.errors import DailyNotDue, LinkCodeInvalid, LinkRefused
from tests.integration.rewards_kit import make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


async def test_a_new_identity_joins_the_person_without_a_second_welcome(kit):
    discord, person_id = await kit.person("discord:1")
    code = await kit.linking.start(discord)
    assert code.expires_at == kit.clock.now() + dt.timedelta(minutes=10)
    telegram = Identity.parse("telegram:1")
    linked = await kit.linking.redeem(telegram, code.code.lower())
    assert (linked.person_id, linked.absorbed_person_id) == (person_id, None)
    assert set(linked.identities) == {"discord:1", "telegram:1"}
    assert linked.balance.available == 10
    assert (await kit.wallets.person(telegram)).person_id == person_id  # not a new person
    await kit.bonuses.claim_daily(telegram)
    assert await kit.available(discord) == 11  # one wallet
    assert await kit.audit() == []


async def test_two_existing_persons_merge_into_the_older_with_their_lots_and_plan(kit):
    old, old_id = await kit.person("discord:2")
    kit.clock.advance(minutes=5)
    new, new_id = await kit.person("telegram:2")
    await kit.buy(new, "popular", 400, "order-7")
    await kit.spend(new, 3, "job-1")  # free credits go first: 7 free + 400 paid left
    code = await kit.linking.start(new)
    linked = await kit.linking.redeem(old, code.code)
    assert (linked.person_id, linked.absorbed_person_id) == (old_id, new_id)
    assert (linked.moved_free, linked.moved_paid) == (7, 400)
    assert (linked.balance.free, linked.balance.paid, linked.balance.available) == (17, 400, 417)
    assert (await kit.wallets.person(new)).person_id == old_id
    view = await kit.wallets.balance(old)
    assert view.plan == "popular"  # the purchase's lot moved along with its pack
    history = await kit.wallets.history(new)
    assert [(e.reason, e.amount) for e in history[:2]] == [("link", 400), ("link", 7)]
    absorbed = await kit.stores.bonuses.bonus_snapshot(new_id, now=kit.clock.now())  # read as who they are now
    assert (absorbed.person_id, absorbed.wallet_id) == (old_id, view.balance.account_id)
    assert await kit.audit() == []


async def test_a_purchase_paid_after_its_buyer_was_merged_lands_in_the_surviving_wallet(kit):
    old, _ = await kit.person("discord:8")
    kit.clock.advance(minutes=5)
    new, _ = await kit.person("telegram:8")
    checkout = await kit.payments.buy(new, "starter", request_id="r1")  # opened on Telegram
    code = await kit.linking.start(new)
    await kit.linking.redeem(old, code.code)  # telegram:8 now belongs to discord:8's person
    order_id = await kit.stripe_paid(checkout)  # Stripe reports the payment only now
    assert await kit.available(old) == await kit.available(new) == 10 + 10 + 100
    assert (await kit.wallets.balance(old)).plan == "starter"

    await kit.refund_stripe(order_id, 500)  # the full price: the pack's credits come back out
    assert await kit.available(old) == 20
    assert await kit.audit() == []


async def test_the_merged_person_keeps_one_daily_claim_per_day(kit):
    ann, _ = await kit.person("discord:3")
    alt, _ = await kit.person("telegram:3")
    await kit.bonuses.claim_daily(alt)
    code = await kit.linking.start(ann)
    await kit.linking.redeem(alt, code.code)
    with pytest.raises(DailyNotDue):
        await kit.bonuses.claim_daily(ann)


async def test_a_code_works_once_and_not_after_it_expires(kit):
    ann, _ = await kit.person("discord:4")
    code = await kit.linking.start(ann)
    await kit.linking.redeem(Identity.parse("telegram:4"), code.code)
    with pytest.raises(LinkCodeInvalid):
        await kit.linking.redeem(Identity.parse("console:four"), code.code)
    late = await kit.linking.start(ann)
    kit.clock.advance(minutes=10)
    with pytest.raises(LinkCodeInvalid):
        await kit.linking.redeem(Identity.parse("console:four"), late.code)
    with pytest.raises(LinkCodeInvalid):
        await kit.linking.redeem(Identity.parse("console:four"), "nonsense!")


async def test_a_new_code_replaces_the_unused_one(kit):
    ann, _ = await kit.person("discord:5")
    first = await kit.linking.start(ann)
    second = await kit.linking.start(ann)
    with pytest.raises(LinkCodeInvalid):
        await kit.linking.redeem(Identity.parse("telegram:5"), first.code)
    assert (await kit.linking.redeem(Identity.parse("telegram:5"), second.code)).absorbed_person_id is None


async def test_links_that_would_break_a_rule_are_refused_and_change_nothing(kit):
    ann, _ = await kit.person("discord:6")
    other_discord, _ = await kit.person("discord:7")
    code = await kit.linking.start(ann)
    with pytest.raises(LinkRefused) as same_platform:
        await kit.linking.redeem(other_discord, code.code)
    assert same_platform.value.reason == "platform_taken"
    with pytest.raises(LinkRefused) as itself:
        await kit.linking.redeem(ann, code.code)
    assert itself.value.reason == "already_linked"
    # A running job (an open hold) must finish first.
    busy, _ = await kit.person("telegram:6")
    person = await kit.wallets.person(busy)
    now = kit.clock.now()
    await kit.ledger.hold("hold:running", person.wallet_id, 2, expires_at=now + dt.timedelta(minutes=20), now=now)
    with pytest.raises(LinkRefused) as running:
        await kit.linking.redeem(busy, code.code)
    assert running.value.reason == "jobs_running"
    await kit.ledger.release("hold:running", now=now)
    await kit.ledger.set_frozen(person.wallet_id, True)
    with pytest.raises(LinkRefused) as frozen:
        await kit.linking.redeem(busy, code.code)
    assert frozen.value.reason == "wallet_frozen_link"
    assert (await kit.available(ann), await kit.available(busy)) == (10, 10)
    await kit.ledger.set_frozen(person.wallet_id, False)
    assert (await kit.linking.redeem(busy, code.code)).balance.available == 20  # the code was not used up
    assert await kit.audit() == []


async def test_one_code_redeemed_by_two_identities_at_once_links_one(kit):
    ann, _ = await kit.person("discord:8")
    code = await kit.linking.start(ann)
    others = [Identity.parse("telegram:8"), Identity.parse("console:eight")]
    results = await asyncio.gather(*[kit.linking.redeem(i, code.code) for i in others], return_exceptions=True)
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1
    assert all(isinstance(r, LinkCodeInvalid) for r in results if isinstance(r, BaseException))
    assert await kit.audit() == []
