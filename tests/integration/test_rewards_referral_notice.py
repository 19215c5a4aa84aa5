"""Referral payout notices on SQLite and PostgreSQL: both people are told once, after the payout
committed, on the platforms this process reaches; repeats, restarts and racing sweepers send
nothing more; a failed send never touches the credits and is retried a bounded number of times."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.chat.messages import Surface
from adapters.chat.notices import Unreachable
from adapters.storage.database import Database
from adapters.storage.referral_notices import SqlReferralNoticeStore
from core.codes import SecretCodes
from core.domain.identity import Identity
from core.domain.notices import NOTICE_ATTEMPTS, ReferralNotice
from core.services.referrals import ReferralService
from tests.fakes.chat import RecordingPlatform, chat_notices
from tests.integration.rewards_kit import Kit, make_kit


def chat(name: str = "telegram", *, broken: bool = False) -> RecordingPlatform:
    return RecordingPlatform(Surface(name), broken=broken)


def notifying(kit: Kit, database: Database, *chats: RecordingPlatform) -> ReferralService:
    """The kit's referral service with payout notices on, told through `chats`."""
    kit.referrals.notices = SqlReferralNoticeStore(database)
    kit.referrals.notifier = chat_notices(*chats)
    return kit.referrals


def another_process(kit: Kit, database: Database, *chats: RecordingPlatform) -> ReferralService:
    """A second bot process (or the same one after a restart) over `database`."""
    other = make_kit(database, kit.rules, clock=kit.clock)
    return notifying(other, database, *chats)


async def refer(kit: Kit, referrer_key: str, referred_key: str) -> tuple[Identity, Identity, int]:
    referrer, _ = await kit.person(referrer_key)
    code = (await kit.referrals.my_code(referrer)).code
    referred, referred_id = await kit.person(referred_key)
    await kit.referrals.record_referral(referred, code)
    return referrer, referred, referred_id


async def notices(database: Database) -> dict[str, tuple[str, int]]:
    def work(conn):
        rows = conn.exec_driver_sql("SELECT key, state, attempts FROM referral_notices").all()
        return {str(k): (str(s), int(a)) for k, s, a in rows}

    return await database.read(work)


FRIEND = "Your friend made their first clip: +10 referral credits!"
OWN = "Your first clip unlocked your referral bonus: +10 credits!"


async def test_both_people_are_told_once_after_the_payout(database):
    kit = make_kit(database)
    telegram = chat()
    referrals = notifying(kit, database, telegram)
    ann, bob, bob_id = await refer(kit, "telegram:1", "telegram:2")
    payout = await referrals.on_success(bob_id)
    assert payout is not None and payout.settled
    assert sorted(telegram.texts) == [("telegram:1", FRIEND), ("telegram:2", OWN)]
    # Later successes, the minute sweep, a second pass: nothing more.
    assert await referrals.on_success(bob_id) is None
    assert await referrals.pay_due_referrals() == 0
    assert await referrals.deliver_notices() == 0
    assert len(telegram.texts) == 2
    assert await notices(database) == {
        f"referral:{bob_id}:referred": ("sent", 1),
        f"referral:{bob_id}:referrer": ("sent", 1),
    }
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)


async def test_a_restart_or_a_second_process_sends_nothing_more(database, db_url):
    kit = make_kit(database)
    first = chat()
    referrals = notifying(kit, database, first, chat("discord"))
    _, _, bob_id = await refer(kit, "discord:1", "telegram:2")
    await referrals.on_success(bob_id)
    assert first.texts == [("telegram:2", OWN)]
    async with Database(db_url) as other_db:
        again = chat(), chat("discord")
        restarted = another_process(kit, other_db, *again)
        assert await restarted.deliver_notices() == 0
        assert await restarted.pay_due_referrals() == 0
    assert [chat.calls for chat in again] == [0, 0]


async def test_racing_sweepers_deliver_each_notice_once(database, db_url):
    kit = make_kit(database)
    _, _, bob_id = await refer(kit, "telegram:1", "telegram:2")
    _, _, cat_id = await refer(kit, "telegram:3", "telegram:4")
    # Paid by a process that could not tell anyone (say it crashed right after the payout).
    assert await kit.referrals.on_success(bob_id) is not None
    assert await kit.referrals.on_success(cat_id) is not None
    shared = chat()
    async with Database(db_url) as other_db:
        one = notifying(kit, database, shared)
        two = another_process(kit, other_db, shared)
        delivered = await asyncio.gather(one.deliver_notices(), two.deliver_notices(), one.pay_due_referrals())
    assert delivered[0] + delivered[1] == 4
    assert sorted(identity for identity, _ in shared.texts) == ["telegram:1", "telegram:2", "telegram:3", "telegram:4"]


async def test_a_failed_send_leaves_the_credits_and_is_retried_a_bounded_number_of_times(database):
    kit = make_kit(database)
    telegram = chat(broken=True)
    referrals = notifying(kit, database, telegram)
    ann, bob, bob_id = await refer(kit, "telegram:1", "telegram:2")
    payout = await referrals.on_success(bob_id)
    assert payout is not None and (payout.referred_credits, payout.referrer_credits) == (10, 10)
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
    assert set((await notices(database)).values()) == {("failed", 1)}
    assert await referrals.deliver_notices() == 0  # too soon for a retry
    assert telegram.calls == 2
    for attempt in range(2, NOTICE_ATTEMPTS + 1):
        kit.clock.advance(seconds=61)
        await referrals.deliver_notices()
        assert set((await notices(database)).values()) == {("failed", attempt)}
    assert telegram.calls == 2 * NOTICE_ATTEMPTS
    telegram.broken = False
    kit.clock.advance(minutes=10)
    assert await referrals.deliver_notices() == 0  # out of attempts: never sent again
    assert telegram.calls == 2 * NOTICE_ATTEMPTS and telegram.texts == []
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
    assert await kit.audit() == []


async def test_a_retry_that_gets_through_is_the_last_send(database):
    kit = make_kit(database)
    telegram = chat(broken=True)
    referrals = notifying(kit, database, telegram)
    _, _, bob_id = await refer(kit, "telegram:1", "telegram:2")
    await referrals.on_success(bob_id)
    telegram.broken = False
    kit.clock.advance(seconds=61)
    assert await referrals.deliver_notices() == 2
    kit.clock.advance(seconds=61)
    assert await referrals.deliver_notices() == 0
    assert sorted(telegram.texts) == [("telegram:1", FRIEND), ("telegram:2", OWN)]
    assert set((await notices(database)).values()) == {("sent", 2)}


async def test_a_waiting_side_is_told_when_the_sweeper_pays_it(database):
    kit = make_kit(database).with_rules(new_account_cooldown=dt.timedelta(days=2))
    telegram = chat()
    referrals = notifying(kit, database, telegram)
    ann, _ = await kit.person("telegram:1")
    code = (await kit.referrals.my_code(ann)).code
    kit.clock.advance(days=3)
    bob, bob_id = await kit.person("telegram:2")  # brand new: his side waits out the cooldown
    await kit.referrals.record_referral(bob, code)
    await referrals.on_success(bob_id)
    assert telegram.texts == [("telegram:1", FRIEND)]
    kit.clock.advance(days=2)
    assert await referrals.pay_due_referrals() == 10
    assert telegram.texts == [("telegram:1", FRIEND), ("telegram:2", OWN)]


async def test_a_linked_person_is_told_on_each_platform_this_process_reaches(database):
    kit = make_kit(database)
    telegram, discord = chat(), chat("discord")
    referrals = notifying(kit, database, telegram, discord)
    ann, _ = await kit.person("discord:1")
    code = await kit.linking.start(ann)
    await kit.linking.redeem(Identity.parse("telegram:1"), code.code)
    _, _, bob_id = await refer(kit, "discord:1", "console:bob")  # nobody reaches the console here
    await referrals.on_success(bob_id)
    assert telegram.texts == [("telegram:1", FRIEND)] and discord.texts == [("discord:1", FRIEND)]
    # Bob's notice waits for a process that runs the console.
    console = chat("console")
    assert await another_process(kit, database, console).deliver_notices() == 1
    assert console.texts == [("console:bob", OWN)]


async def test_a_payout_is_still_announced_after_the_referred_person_links_their_accounts(database):
    kit = make_kit(database)
    dan, _ = await kit.person("discord:9")  # the older person: a link keeps this one
    kit.clock.advance(minutes=5)
    _, bob, bob_id = await refer(kit, "telegram:1", "telegram:2")
    assert await kit.referrals.on_success(bob_id) is not None  # no notices wired at the time
    code = await kit.linking.start(dan)
    linked = await kit.linking.redeem(bob, code.code)  # the referral now names dan's person
    assert linked.absorbed_person_id == bob_id
    telegram, discord = chat(), chat("discord")
    assert await notifying(kit, database, telegram, discord).deliver_notices() == 2
    assert sorted(telegram.texts) == [("telegram:1", FRIEND), ("telegram:2", OWN)]
    assert discord.texts == [("discord:9", OWN)]
    assert await notices(database) == {
        f"referral:{bob_id}:referred": ("sent", 1),
        f"referral:{bob_id}:referrer": ("sent", 1),
    }


async def test_payouts_older_than_a_day_are_not_announced_late(database):
    kit = make_kit(database)
    _, _, bob_id = await refer(kit, "telegram:1", "telegram:2")
    await kit.referrals.on_success(bob_id)  # no notices wired at the time
    kit.clock.advance(days=2)
    telegram = chat()
    assert await notifying(kit, database, telegram).deliver_notices() == 0
    assert telegram.calls == 0


async def test_a_notice_goes_to_the_platform_of_the_person_it_is_for():
    telegram, discord = chat(), chat("discord")
    notices = chat_notices(telegram, discord)
    assert notices.reachable() == {"telegram", "discord"}
    await notices.referral_paid("telegram:42", ReferralNotice("referral:5:referrer", 3, 10, ("telegram:42",)))
    await notices.referral_paid("discord:7", ReferralNotice("referral:5:referred", 5, 10, ("discord:7",)))
    assert telegram.texts == [("telegram:42", FRIEND)] and discord.texts == [("discord:7", OWN)]
    with pytest.raises(Unreachable):  # no platform here reaches them: nothing is sent anywhere
        await notices.referral_paid("console:bob", ReferralNotice("referral:5:referred", 5, 10, ("console:bob",)))
    assert telegram.calls == discord.calls == 1


async def test_without_notices_wired_payouts_work_as_before(database):
    kit = make_kit(database)
    kit.referrals = ReferralService(kit.stores.referrals, kit.wallets, kit.rules, kit.clock, SecretCodes())
    ann, bob, bob_id = await refer(kit, "telegram:1", "telegram:2")
    await kit.referrals.on_success(bob_id)
    assert await kit.referrals.deliver_notices() == 0
    assert (await kit.available(ann), await kit.available(bob)) == (20, 20)
