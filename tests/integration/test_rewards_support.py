"""Support inbox and operators' replies on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from adapters.chat.messages import Surface
from core.domain.identity import Identity
from core.errors import (
    InvalidAmount,
    InvalidSupportText,
    NotPermitted,
    TooManyTickets,
    UnknownTicket,
)
from core.ports import LastJob, SupportInbox, SupportReplies
from core.services.support import SupportService
from tests.fakes.chat import RecordingPlatform, chat_notices
from tests.integration.rewards_kit import OPERATOR, FakeDesk, Kit, make_kit


def with_desk(kit: Kit, inbox: SupportInbox, replies: SupportReplies, last_job: LastJob | None = None) -> Kit:
    kit.support = SupportService(
        kit.stores.support, kit.wallets, kit.rules, kit.clock, inbox=inbox, replies=replies, last_job=last_job
    )
    return kit


@pytest.fixture
def desk() -> FakeDesk:
    """The operators' inbox and the way back to people (every platform's, as one)."""
    return FakeDesk()


@pytest.fixture
def kit(database, desk):
    return with_desk(make_kit(database), desk, desk)


async def test_a_ticket_carries_who_their_balance_and_last_job_to_the_inbox(database, desk):
    async def last_job(person_id: int) -> str | None:
        return f"job-42 of {person_id} failed"

    kit = with_desk(make_kit(database), desk, desk, last_job)
    ann, person_id = await kit.person("telegram:1")
    ticket = await kit.support.open_ticket(ann, "  my clip never came  ")
    assert desk.tickets == [ticket]
    assert (ticket.identity, ticket.person_id, ticket.available, ticket.text) == (
        "telegram:1",
        person_id,
        10,
        "my clip never came",
    )
    assert ticket.last_job == f"job-42 of {person_id} failed"
    assert [t.ticket_id for t in await kit.support.open_tickets(OPERATOR)] == [ticket.ticket_id]


async def test_a_broken_inbox_does_not_lose_the_ticket(kit, desk):
    desk.broken = True
    ann, _ = await kit.person("discord:2")
    ticket = await kit.support.open_ticket(ann, "help")
    assert desk.tickets == []
    assert await kit.stores.support.tickets_of(ticket.person_id, limit=5) == [ticket]
    assert [t.ticket_id for t in await kit.support.open_tickets(OPERATOR)] == [ticket.ticket_id]


async def test_empty_or_too_long_text_and_too_many_tickets_are_refused(kit, desk):
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
    assert len(desk.tickets) == 6


async def test_an_operator_reply_reaches_the_persons_platform_with_credits_once(kit, desk):
    ann, _ = await kit.person("telegram:4")
    ticket = await kit.support.open_ticket(ann, "charged twice?")
    reply = await kit.support.reply(OPERATOR, f"#{ticket.ticket_id}", "Sorry! Here are 3 credits.", "3", "req-1")
    assert (reply.delivered, reply.granted, reply.available, reply.duplicate) == (
        True,
        3,
        13,
        False,
    )
    assert [(r.ticket.identity, r.text) for r in desk.replies] == [("telegram:4", "Sorry! Here are 3 credits.")]
    again = await kit.support.reply(OPERATOR, ticket.ticket_id, "Sorry! Here are 3 credits.", "3", "req-1")
    assert (again.duplicate, again.delivered) == (True, True)
    assert len(desk.replies) == 1 and await kit.available(ann) == 13
    assert [t.status for t in await kit.stores.support.tickets_of(ticket.person_id, limit=5)] == ["answered"]
    assert await kit.support.open_tickets(OPERATOR) == []
    assert await kit.audit() == []


async def test_the_same_reply_sent_twice_at_once_grants_once(kit, desk):
    ann, _ = await kit.person("discord:5")
    ticket = await kit.support.open_ticket(ann, "please")
    replies = await asyncio.gather(
        *[kit.support.reply(OPERATOR, ticket.ticket_id, "here", "5", "req-race") for _ in range(5)]
    )
    assert sorted(r.duplicate for r in replies) == [False, True, True, True, True]
    assert await kit.available(ann) == 15
    assert await kit.audit() == []


async def test_an_undeliverable_reply_is_saved_and_delivered_when_repeated(kit, desk):
    ann, _ = await kit.person("discord:6")
    ticket = await kit.support.open_ticket(ann, "hello?")
    desk.broken = True
    first = await kit.support.reply(OPERATOR, ticket.ticket_id, "hi", None, "req-9")
    assert (first.delivered, first.granted) == (False, 0)
    desk.broken = False
    second = await kit.support.reply(OPERATOR, ticket.ticket_id, "hi", None, "req-9")
    assert (second.duplicate, second.delivered) == (True, True) and len(desk.replies) == 1


async def test_only_operators_reply_and_bad_arguments_change_nothing(kit, desk):
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
    assert desk.replies == []


async def test_a_reply_after_the_person_linked_accounts_credits_the_merged_wallet(kit, desk):
    telegram_id, _ = await kit.person("telegram:8")
    ticket = await kit.support.open_ticket(telegram_id, "hi")
    discord_id, _ = await kit.person("discord:8")
    code = await kit.linking.start(discord_id)
    await kit.linking.redeem(telegram_id, code.code)
    reply = await kit.support.reply(OPERATOR, ticket.ticket_id, "done", "2", "r1")
    assert reply.available == 22
    assert [r.ticket.identity for r in desk.replies] == ["telegram:8"]  # where they wrote
    assert await kit.available(Identity.parse("discord:8")) == 22
    assert await kit.audit() == []


async def test_tickets_reach_every_platforms_operators_and_answers_the_platform_they_came_from(database):
    """The chat notices as the inbox and the way back: one broken operators' channel does not
    stop the other; the answer goes to the platform the ticket came from, and only there."""
    telegram, discord = RecordingPlatform(Surface("telegram")), RecordingPlatform(Surface("discord"))
    notices = chat_notices(telegram, discord)
    kit = with_desk(make_kit(database), notices, notices)
    ann, _ = await kit.person("telegram:11")
    discord.broken = True
    ticket = await kit.support.open_ticket(ann, "my clip never came")
    [forwarded] = telegram.to_operators
    assert f"#{ticket.ticket_id}" in forwarded.text and "telegram:11" in forwarded.text
    assert "my clip never came" in forwarded.text
    discord.broken = False
    reply = await kit.support.reply(OPERATOR, ticket.ticket_id, "On its way.", "2", "req-11")
    assert reply.delivered and reply.granted == 2
    [(to, answer)] = telegram.sent
    assert to.key == "telegram:11" and "On its way." in answer.text and "+2 credits" in answer.text
    assert discord.sent == [] and discord.to_operators == []
    await kit.person("console:12")
    other = await kit.support.open_ticket(Identity.parse("console:12"), "hi")
    nobody = await kit.support.reply(OPERATOR, other.ticket_id, "hello", None, "req-12")
    assert not nobody.delivered  # no console here: saved, delivered when an operator repeats it
    assert await kit.audit() == []
