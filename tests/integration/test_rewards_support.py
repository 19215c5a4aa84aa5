"""Support inbox and operators' replies on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from core.domain.identity import Identity
from core.errors import (
    InvalidAmount,
    InvalidSupportText,
    NotPermitted,
    TooManyTickets,
    UnknownTicket,
)
from tests.integration.rewards_kit import OPERATOR, FakeDesk, make_kit


@pytest.fixture
def kit(database):
    return make_kit(database)


@pytest.fixture
def desks(kit):
    """The operators' channels (Discord, Telegram) and the replies per platform."""
    discord, telegram = FakeDesk(), FakeDesk()
    kit.support.add_platform("discord", discord, discord)
    kit.support.add_platform("telegram", telegram, telegram)
    return discord, telegram


async def test_a_ticket_carries_who_their_balance_and_last_job_to_every_inbox(kit, desks):
    async def last_job(person_id: int) -> str | None:
        return f"job-42 of {person_id} failed"

    kit.support.last_job = last_job
    ann, person_id = await kit.person("telegram:1")
    ticket = await kit.support.open_ticket(ann, "  my clip never came  ")
    for desk in desks:
        assert desk.tickets == [ticket]
    assert (ticket.identity, ticket.person_id, ticket.available, ticket.text) == (
        "telegram:1",
        person_id,
        10,
        "my clip never came",
    )
    assert ticket.last_job == f"job-42 of {person_id} failed"
    assert [t.ticket_id for t in await kit.support.open_tickets(OPERATOR)] == [ticket.ticket_id]


async def test_a_broken_inbox_does_not_lose_the_ticket(kit, desks):
    discord, telegram = desks
    discord.broken = True
    ann, _ = await kit.person("discord:2")
    ticket = await kit.support.open_ticket(ann, "help")
    assert telegram.tickets == [ticket]
    assert await kit.stores.support.get_ticket(ticket.ticket_id) == ticket


async def test_empty_or_too_long_text_and_too_many_tickets_are_refused(kit, desks):
    ann, _ = await kit.person("discord:3")
    for text in ("   ", "x" * 2001):
        with pytest.raises(InvalidSupportText):
            await kit.support.open_ticket(ann, text)
    for n in range(5):
        await kit.support.open_ticket(ann, f"question {n}")
    with pytest.raises(TooManyTickets) as refused:
        await kit.support.open_ticket(ann, "one more")
    assert refused.value.retry_at == kit.clock.now() + dt.timedelta(hours=1)
    kit.clock.advance(hours=1)
    await kit.support.open_ticket(ann, "an hour later")
    assert len(desks[0].tickets) == 6


async def test_an_operator_reply_reaches_the_persons_platform_with_credits_once(kit, desks):
    discord, telegram = desks
    ann, _ = await kit.person("telegram:4")
    ticket = await kit.support.open_ticket(ann, "charged twice?")
    reply = await kit.support.reply(OPERATOR, f"#{ticket.ticket_id}", "Sorry! Here are 3 credits.", "3", "req-1")
    assert (reply.delivered, reply.granted, reply.available, reply.duplicate) == (
        True,
        3,
        13,
        False,
    )
    assert [r.text for r in telegram.replies] == ["Sorry! Here are 3 credits."] and discord.replies == []
    again = await kit.support.reply(OPERATOR, ticket.ticket_id, "Sorry! Here are 3 credits.", "3", "req-1")
    assert (again.duplicate, again.delivered) == (True, True)
    assert len(telegram.replies) == 1 and await kit.available(ann) == 13
    assert (await kit.stores.support.get_ticket(ticket.ticket_id)).status == "answered"
    assert await kit.support.open_tickets(OPERATOR) == []
    assert await kit.audit() == []


async def test_the_same_reply_sent_twice_at_once_grants_once(kit, desks):
    ann, _ = await kit.person("discord:5")
    ticket = await kit.support.open_ticket(ann, "please")
    replies = await asyncio.gather(
        *[kit.support.reply(OPERATOR, ticket.ticket_id, "here", "5", "req-race") for _ in range(5)]
    )
    assert sorted(r.duplicate for r in replies) == [False, True, True, True, True]
    assert await kit.available(ann) == 15
    assert await kit.audit() == []


async def test_an_undeliverable_reply_is_saved_and_delivered_when_repeated(kit, desks):
    discord, _ = desks
    ann, _ = await kit.person("discord:6")
    ticket = await kit.support.open_ticket(ann, "hello?")
    discord.broken = True
    first = await kit.support.reply(OPERATOR, ticket.ticket_id, "hi", None, "req-9")
    assert (first.delivered, first.granted) == (False, 0)
    discord.broken = False
    second = await kit.support.reply(OPERATOR, ticket.ticket_id, "hi", None, "req-9")
    assert (second.duplicate, second.delivered) == (True, True) and len(discord.replies) == 1


async def test_only_operators_reply_and_bad_arguments_change_nothing(kit, desks):
    ann, _ = await kit.person("discord:7")
    ticket = await kit.support.open_ticket(ann, "hi")
    with pytest.raises(NotPermitted):
        await kit.support.reply(ann, ticket.ticket_id, "I am an operator", "100", "r")
    with pytest.raises(NotPermitted):
        await kit.support.open_tickets(ann)
    with pytest.raises(UnknownTicket):
        await kit.support.reply(OPERATOR, "9999", "hi", None, "r")
    with pytest.raises(UnknownTicket):
        await kit.support.reply(OPERATOR, "abc", "hi", None, "r")
    with pytest.raises(InvalidAmount):
        await kit.support.reply(OPERATOR, ticket.ticket_id, "hi", "-4", "r")
    assert await kit.available(ann) == 10
    assert desks[0].replies == []


async def test_a_reply_after_the_person_linked_accounts_credits_the_merged_wallet(kit, desks):
    telegram_id, _ = await kit.person("telegram:8")
    ticket = await kit.support.open_ticket(telegram_id, "hi")
    discord_id, _ = await kit.person("discord:8")
    code = await kit.linking.start(discord_id)
    await kit.linking.redeem(telegram_id, code.code)
    reply = await kit.support.reply(OPERATOR, ticket.ticket_id, "done", "2", "r1")
    assert reply.available == 22 and desks[1].replies  # delivered on Telegram, where they wrote
    assert await kit.available(Identity.parse("discord:8")) == 22
    assert await kit.audit() == []
