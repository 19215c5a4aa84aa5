"""Rewards, support and the operators' commands through the conversation, with no database:
/refer and a referral paid on the first clip (each side told on their own platform), the daily
button, sharing, email verification spelled the platform's way, /support reaching the operators'
channels and an operator's answer reaching the person, and /admin refused to members."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.fakes.edges import FakeSender
from tests.unit.conversation_kit import OPERATOR, WELCOME, Kit, discord_time, recording

TOMORROW_ON_DISCORD = discord_time(dt.datetime(2026, 3, 11, tzinfo=dt.UTC))


async def referral_code(bot: Kit, who: str) -> str:
    found = re.search(r"Your referral code: (\w+)", (await bot.say(who, "/refer")).text)
    assert found is not None
    return found.group(1)


async def make_a_clip(bot: Kit, who: str) -> str:
    args = {"style": "warm piano", "length": "5"}
    await bot.options(who, "generate", attachment=recording(), args=args)
    await bot.run_jobs()
    (job,) = await bot.app.generation.recent(Identity.parse(who), 1)
    assert job.state == JobState.SUCCEEDED
    return job.job_id


# --- referrals -------------------------------------------------------------------------------------


async def test_refer_shows_the_code_and_an_invite_link_where_the_platform_has_one(bot):
    telegram = (await bot.say("telegram:1", "/refer")).text
    code = await referral_code(bot, "telegram:1")
    assert telegram.endswith(
        f"Your referral code: {code}\n"
        "When someone new uses it and makes their first clip, you both get 10 credits.\n"
        f"Invited: 0 · rewarded: 0\nShare this link: https://t.me/hum_bot?start=ref_{code}"
    )
    discord = (await bot.say("discord:1", "/refer")).text
    assert "Your referral code: " in discord and "Share this link" not in discord


async def test_a_referral_is_paid_to_both_on_the_first_clip_and_each_is_told_on_their_platform(bot):
    code = await referral_code(bot, "telegram:1")
    joined = await bot.say("discord:5", f"/refer {code}")
    assert joined.text == (
        f"{WELCOME}\nReferral saved! When you make your first clip, you and your friend both get 10 credits."
    )
    assert (await bot.say("discord:5", f"/refer {code}")).text == "That referral is already saved."
    assert await bot.available("telegram:1") == 10  # nothing until the first clip

    await make_a_clip(bot, "discord:5")

    assert bot.telegram.texts == [("telegram:1", "Your friend made their first clip: +10 referral credits!")]
    assert bot.discord.texts == [("discord:5", "Your first clip unlocked your referral bonus: +10 credits!")]
    assert await bot.available("telegram:1") == 20
    assert await bot.available("discord:5") == 10 - 1 + 10
    assert "Invited: 1 · rewarded: 1" in (await bot.say("telegram:1", "/refer")).text

    await make_a_clip(bot, "discord:5")  # only the first clip pays
    assert await bot.available("telegram:1") == 20 and len(bot.telegram.texts) == 1


async def test_a_start_link_records_the_referral_and_a_bad_code_never_spoils_the_welcome(bot):
    code = await referral_code(bot, "telegram:1")
    assert (await bot.say("telegram:2", f"/start ref_{code}")).text == (
        f"{WELCOME}\nReferral saved! When you make your first clip, you and your friend both get 10 credits."
    )
    assert (await bot.say("telegram:3", "/start ref_NOPE9")).text == (
        f"{WELCOME}\nThat referral code can't be used: there is no such code."
    )


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("own", "That referral code can't be used: it's your own code."),
        ("NOSUCH42", "That referral code can't be used: there is no such code."),
    ],
)
async def test_a_referral_code_that_cannot_be_used_says_why_and_pays_nothing(bot, code, words):
    own = await referral_code(bot, "telegram:1")
    before = bot.movements()
    reply = await bot.say("telegram:1", f"/refer {own if code == 'own' else code}")
    assert reply.text == words
    assert bot.movements() == before


# --- the daily button, sharing, email -----------------------------------------------------------------


async def test_the_daily_button_claims_once_and_answers_in_a_pop_up(bot):
    await bot.say("discord:1", "/start")
    first = await bot.press("discord:1", "d:1")
    assert (first.text, first.note, first.alert) == (
        f"+1 daily credit! You have 11 credits. Next one: {TOMORROW_ON_DISCORD}.",
        True,
        True,
    )
    second = await bot.press("discord:1", "d:1")
    assert second.text == f"You already claimed today's credit. The next one is due {TOMORROW_ON_DISCORD}."
    assert await bot.available("discord:1") == 11
    assert (await bot.press("discord:2", "d:1")).text == "This button belongs to someone else."


async def test_continue_with_free_and_contact_support_answer_the_offer_s_buttons(bot):
    free = await bot.press("telegram:1", "f:1")
    assert (free.note, free.dismiss) == (True, True)
    assert free.text == "Keep creating! Your free daily credit and the bonuses keep you going."
    assert (await bot.press("telegram:1", "h:1")).text == "Write /support followed by your message; we answer you."


async def test_sharing_a_clip_pays_the_bonus_once_a_day_and_publishes_it(bot):
    job_id = await make_a_clip(bot, "discord:5")
    shared = await bot.press("discord:5", f"x:5:{job_id}", mention="@bob")
    assert shared.text == "Thanks for sharing! +2 credits · you have 11.\n🎉 Achievement unlocked: First share!"
    assert shared.publish == "🎵 Made by @bob with /generate"
    again = await bot.press("discord:5", f"x:5:{job_id}")
    assert again.text == f"Thanks for sharing! The share bonus is paid once a day; next one from {TOMORROW_ON_DISCORD}."
    assert await bot.available("discord:5") == 11
    assert (await bot.press("discord:6", f"x:5:{job_id}")).text == "This button belongs to someone else."


async def test_a_clip_made_before_an_account_link_is_still_its_maker_s_to_share(bot):
    await bot.say("telegram:1", "/start")  # the older person: the link keeps this one
    bot.clock.advance(minutes=5)
    job_id = await make_a_clip(bot, "discord:5")
    code = await bot.app.rewards.linking.start(Identity.parse("telegram:1"))
    await bot.app.rewards.linking.redeem(Identity.parse("discord:5"), code.code)  # discord:5's person is merged
    shared = await bot.press("discord:5", f"x:5:{job_id}", mention="@bob")
    assert shared.text == "Thanks for sharing! +2 credits · you have 21.\n🎉 Achievement unlocked: First share!"


@pytest.mark.parametrize(
    ("who", "verify", "expires"),
    [
        ("telegram:1", "/verify", "2026-03-10 09:15 UTC"),
        ("discord:1", "/verify-email", discord_time(dt.datetime(2026, 3, 10, 9, 15, tzinfo=dt.UTC))),
    ],
)
async def test_email_verification_is_spelled_the_platform_s_way_and_grants_once(make, who, verify, expires):
    sender = FakeSender()
    bot = make(email_sender=sender)
    await bot.say(who, "/start")
    sent = await bot.say(who, f"{verify} ann@example.org")
    assert sent.text == f"I sent a 6-digit code to ann@example.org. Send {verify} <code>; it expires {expires}."
    assert sender.sent[-1][0] == "ann@example.org"
    wrong = f"{(int(sender.last_code) + 1) % 1_000_000:06d}"
    assert (await bot.say(who, f"{verify} {wrong}")).text == "That code is wrong. 4 tries left."
    done = await bot.say(who, f"{verify} {sender.last_code}")
    assert done.text == "Email ann@example.org verified: +5 credits! You have 15."
    assert (await bot.say(who, f"{verify} ann@example.org")).text == "Your email is already verified."
    assert await bot.available(who) == 15


# --- support ----------------------------------------------------------------------------------------


async def test_a_ticket_reaches_every_operators_channel_and_the_answer_reaches_the_person(bot):
    await bot.say("discord:5", "/start")
    opened = await bot.say("discord:5", "/support my clip is silent")
    found = re.fullmatch(r"Ticket #(\d+) sent to support\. We'll answer here\.", opened.text)
    assert found is not None
    ticket = found.group(1)
    for platform in (bot.telegram, bot.discord):
        (forwarded,) = platform.to_operators
        lines = forwarded.text.splitlines()
        assert lines[0].startswith(f"Ticket #{ticket} from discord:5 (person ")
        assert lines[0].endswith(", 10 credits)")
        assert lines[1:] == ["Last job: none", "my clip is silent", f"Reply: /admin reply {ticket} <text> [grant <n>]"]

    assert (await bot.say(OPERATOR, "/admin tickets")).text == (
        f"Tickets:\n#{ticket} discord:5 (10 credits): my clip is silent"
    )
    answered = await bot.say(OPERATOR, f"/admin reply {ticket} Sorry about that grant 3")
    assert answered.text == f"Reply to ticket #{ticket} delivered. Granted 3 credits; their balance: 13."
    assert bot.discord.texts == [
        (
            "discord:5",
            f"Support answered your ticket #{ticket}:\nSorry about that\n+3 credits were added to your wallet.",
        )
    ]
    assert await bot.available("discord:5") == 13
    assert (await bot.say(OPERATOR, "/admin tickets")).text == "No open tickets."


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("/support", "Usage: /support <your message>"),
        ("/support " + "x" * 2001, "Please write your message (at most 2000 characters)."),
    ],
)
async def test_a_ticket_without_words_or_too_long_is_refused_and_forwards_nothing(bot, line, words):
    assert (await bot.say("telegram:1", line)).text == words
    assert bot.telegram.to_operators == [] and bot.discord.to_operators == []


async def test_the_tickets_per_hour_are_limited(make):
    bot = make(support_tickets_per_hour=1)
    await bot.say("telegram:1", "/support first")
    refused = await bot.say("telegram:1", "/support second")
    assert (
        refused.text == "You've sent several tickets in the last hour. You can send another after 2026-03-10 10:00 UTC."
    )
    assert len(bot.telegram.to_operators) == 1


# --- the operators' commands --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "/admin grant telegram:2 5 because",
        "/admin take telegram:2 5 because",
        "/admin user telegram:2",
        "/admin tickets",
        "/admin stats",
        "/admin reply 1 hello grant 5",
    ],
)
async def test_admin_is_refused_to_a_member_and_changes_nothing(bot, line):
    await bot.say("telegram:1", "/start")
    await bot.say("telegram:2", "/start")
    await bot.say("telegram:2", "/support help me")
    before = bot.movements()
    assert (await bot.say("telegram:1", line)).text == "You are not allowed to do that."
    assert bot.movements() == before
    assert await bot.available("telegram:2") == 10


async def test_an_operator_grant_applies_once_per_request(bot):
    await bot.say("discord:2", "/start")
    first = await bot.say(OPERATOR, "/admin grant discord:2 5 sorry", request_id="g1")
    assert first.text == "Granted 5 credits to discord:2. Their balance: 15."
    again = await bot.say(OPERATOR, "/admin grant discord:2 5 sorry", request_id="g1")
    assert again.text == "Already done: that request was applied before."
    assert await bot.available("discord:2") == 15
    taken = await bot.say(OPERATOR, "/admin take discord:2 15 abuse", request_id="t1")
    assert taken.text == "Took 15 credits from discord:2. Their balance: 0."
    user = (await bot.say(OPERATOR, "/admin user discord:2")).text
    assert user.startswith("discord:2: 0 credits (0 free, 0 paid, 0 held), plan free")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("/admin grant discord:2 -1 x", "Usage: /admin grant <platform:id> <credits> <reason>"),
        ("/admin grant discord:2 lots x", "Usage: /admin grant <platform:id> <credits> <reason>"),
        ("/admin grant discord:2 0 x", "The amount must be a whole number from 1 to 1000000."),
        ("/admin grant discord:2 1000001 x", "The amount must be a whole number from 1 to 1000000."),
        ("/admin grant nobody 5 x", "'nobody' is not a user id. Use platform:id, e.g. discord:123 or telegram:456."),
        ("/admin grant discord:77 5 x", "I don't know discord:77 yet: they have to talk to me first."),
        ("/admin grant discord:2", "Usage: /admin grant <platform:id> <credits> <reason>"),
        ("/admin reply 999 hello", "There is no ticket 999."),
        ("/admin", "Usage: /admin grant|take <platform:id> <credits> <reason>"),
    ],
)
async def test_an_operator_s_bad_numbers_and_names_are_refused_and_move_nothing(bot, line, words):
    await bot.say("discord:2", "/start")
    before = bot.movements()
    assert (await bot.say(OPERATOR, line)).text.startswith(words)
    assert bot.movements() == before
    assert await bot.available("discord:2") == 10


async def test_taking_more_than_a_wallet_holds_is_refused_moves_nothing_and_offers_the_operator_nothing(bot):
    await bot.say("discord:2", "/start")
    before = bot.movements()
    refused = await bot.say(OPERATOR, "/admin take discord:2 20 abuse")
    assert refused.text == "discord:2 has 10 credits available; nothing was taken (asked: 20)."
    assert "Credit packs:" not in refused.text and not refused.rows
    assert "That costs" not in refused.text
    assert await bot.available("discord:2") == 10
    assert bot.movements() == before
    assert not bot.known(OPERATOR)  # no wallet (and no welcome credits) for the operator either
