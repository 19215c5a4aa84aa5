"""The conversation's wallet words, with no database: the welcome on a first contact, /start,
/balance, /history, /pricing, /help, /daily, and what a mistyped command gets, on a
Telegram-like and a Discord-like surface (`tests.unit.conversation_kit`)."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.chat.catalogue import utc_text
from tests.unit.conversation_kit import WELCOME, discord_time, group, labels

PEOPLE = ["telegram:1", "discord:1"]


# --- the welcome -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE)
async def test_a_first_contact_is_greeted_once_with_the_welcome_credits(bot, who):
    first = await bot.say(who, "/balance")
    assert first.text.startswith(WELCOME + "\nCredits: 10 (10 free, 0 paid)\nPlan: free")
    assert first.private

    second = await bot.say(who, "/balance")
    assert "Welcome" not in second.text
    assert second.text.startswith("Credits: 10 (10 free, 0 paid)")
    assert await bot.available(who) == 10  # granted once, not once per command
    history = (await bot.say(who, "/history")).text
    assert history.count("welcome credits") == 1


async def test_the_welcome_is_the_configured_grant(make):
    bot = make(welcome_credits=7)
    reply = await bot.say("discord:3", "/help")
    assert reply.text.startswith("Welcome! You have 7 free credits.")
    assert await bot.available("discord:3") == 7


@pytest.mark.parametrize("who", PEOPLE)
async def test_start_says_welcome_then_welcome_back(bot, who):
    assert (await bot.say(who, "/start")).text == WELCOME
    await bot.say(who, "/daily")
    assert (await bot.say(who, "/start")).text == "Welcome back! You have 11 credits."


async def test_a_first_contact_in_a_group_is_not_welcomed_in_front_of_everyone(bot):
    reply = await bot.say("discord:4", "/help", place=group("s1", admin=False))
    assert "Welcome" not in reply.text
    assert reply.text.startswith("Hum, sing or play a melody")
    assert await bot.available("discord:4") == 10  # the welcome credits are there all the same


# --- /balance, /history, /pricing ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "next_daily"),
    [("telegram:1", "2026-03-11 00:00 UTC"), ("discord:1", discord_time(dt.datetime(2026, 3, 11, tzinfo=dt.UTC)))],
)
async def test_balance_says_when_the_next_daily_credit_is_as_the_surface_shows_a_time(bot, who, next_daily):
    before = await bot.say(who, "/balance")
    assert before.text.splitlines()[-1] == "Next free daily credit: now (use /daily)"
    await bot.say(who, "/daily")
    after = await bot.say(who, "/balance")
    assert after.text == (
        "Credits: 11 (11 free, 0 paid)\nPlan: free\nGenerations: 0 · credits spent: 0\n"
        "🔥 Daily streak: ▰▱▱▱▱▱▱ 1/7 days\n"
        f"Next free daily credit: {next_daily}"
    )
    assert after.private and not after.rows  # not low: no offer


async def test_balance_shows_the_offer_with_the_buttons_of_the_platform_when_low(make):
    bot = make(welcome_credits=2)  # the low-balance threshold is 2
    telegram = await bot.say("telegram:1", "/balance")
    assert "You have 2 credits left. Buy more to keep creating!" in telegram.text
    assert "Starter: 100 credits for 250 ⭐" in telegram.text
    assert labels(telegram)[:1] == ["⭐ Starter: 100 credits for 250 ⭐"]
    assert "🎁 Claim your free daily credit" in labels(telegram)
    assert all(b.action.owner == "1" for b in telegram.controls if hasattr(b, "action"))

    discord = await bot.say("discord:1", "/balance")  # no card payments configured: nothing to buy
    assert "Starter: 100 credits for $5" in discord.text
    assert not any(label.startswith(("⭐", "💳")) for label in labels(discord))
    assert "🎁 Claim your free daily credit" in labels(discord)


@pytest.mark.parametrize("who", PEOPLE)
async def test_history_lists_the_movements_newest_first(bot, who):
    first = await bot.say(who, "/history")
    assert first.text.endswith("Your last 1 movements:\n2026-03-10 09:00 +10 welcome credits")
    bot.clock.set(dt.datetime(2026, 3, 11, 0, 5, tzinfo=dt.UTC))
    await bot.say(who, "/daily")
    second = await bot.say(who, "/history")
    assert second.text == (
        "Your last 2 movements:\n2026-03-11 00:05 +1 daily credit\n2026-03-10 09:00 +10 welcome credits"
    )
    assert second.private


MUSIC = "🎵 Music from your recording: 5 s → 1 credit, 10 s → 2 credits, 15 s → 3 credits, 30 s → 5 credits"


async def test_pricing_lists_the_costs_then_the_packs_on_sale_where_it_is_asked(bot):
    telegram = (await bot.say("telegram:1", "/pricing")).text.splitlines()
    assert telegram[-10:] == [
        "What things cost:",
        MUSIC,
        "✍️ Music from a description (/describe): 5 s → 1 credit, 10 s → 2 credits, 15 s → 3 credits, 30 s → 5 credits",
        "🗣 Speech (/say): 1 credit per started 200 characters, up to 1000",
        "🏷 Voice tag on a clip: 1 credit",
        "Credit packs:",
        "Starter: 100 credits for 250 ⭐",
        "Popular: 400 credits for 750 ⭐",
        "Pro: 1,000 credits for 1750 ⭐",
        "Creator: 2,500 credits for 3750 ⭐",
    ]
    discord = (await bot.say("discord:1", "/pricing")).text.splitlines()
    assert discord[-6:] == [
        "🏷 Voice tag on a clip: 1 credit",
        "Credit packs:",
        "Starter: 100 credits for $5",
        "Popular: 400 credits for $15",
        "Pro: 1,000 credits for $35",
        "Creator: 2,500 credits for $75",
    ]


async def test_pricing_and_help_follow_the_configured_costs(make):
    bot = make(generation_costs="5:2,20:7", stars_packs="mini:50:100")
    pricing = await bot.say("telegram:1", "/pricing")
    assert "🎵 Music from your recording: 5 s → 2 credits, 20 s → 7 credits" in pricing.text
    assert pricing.text.endswith("Credit packs:\nMini: 50 credits for 100 ⭐")
    help_text = (await bot.say("telegram:1", "/help")).text
    assert "Costs: 5 s → 2 credits, 20 s → 7 credits." in help_text


# --- /help -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "commands"),
    [
        (
            "telegram:1",
            "/start /balance /daily /progress /buy /autotopup /pricing /say /describe /history /refer /support "
            "/paysupport /verify /help",
        ),
        (
            "discord:1",
            "/start /balance /daily /progress /buy /autotopup /pricing /say /describe /history /refer /support "
            "/paysupport /verify-email /help",
        ),
    ],
)
async def test_help_lists_the_commands_spelled_the_surface_s_way(bot, who, commands):
    await bot.say(who, "/start")
    text = (await bot.say(who, "/help")).text
    assert text.splitlines() == [
        "Hum, sing or play a melody, send it to me, pick a style and a length, and I'll turn it into music.",
        "Costs: 5 s → 1 credit, 10 s → 2 credits, 15 s → 3 credits, 30 s → 5 credits.",
        f"Commands: {commands}",
    ]


async def test_a_command_is_found_by_the_name_the_surface_spells(bot):
    """Telegram spells `/verify-email` as `/verify`: what /help shows is what works."""
    telegram = await bot.say("telegram:1", "/verify")
    assert telegram.text == "Usage: /verify <address> · then /verify <6-digit code>"
    discord = await bot.say("discord:1", "/verify-email")
    assert discord.text == "Usage: /verify-email <address> · then /verify-email <6-digit code>"


# --- /daily ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "shown"), [("telegram:1", utc_text), ("discord:1", discord_time)])
async def test_daily_grants_once_per_utc_day_and_says_when_the_next_one_is(bot, who, shown):
    tomorrow, after = dt.datetime(2026, 3, 11, tzinfo=dt.UTC), dt.datetime(2026, 3, 12, tzinfo=dt.UTC)
    assert (await bot.say(who, "/daily")).text == (
        f"{WELCOME}\n+1 daily credit! You have 11 credits. Next one: {shown(tomorrow)}."
    )
    bot.clock.set(dt.datetime(2026, 3, 10, 23, 59, tzinfo=dt.UTC))
    refused = await bot.say(who, "/daily")
    assert refused.text == f"You already claimed today's credit. The next one is due {shown(tomorrow)}."
    assert await bot.available(who) == 11

    bot.clock.set(dt.datetime(2026, 3, 11, 0, 0, tzinfo=dt.UTC))  # a new UTC day
    assert (await bot.say(who, "/daily")).text == f"+1 daily credit! You have 12 credits. Next one: {shown(after)}."
    assert await bot.available(who) == 12


async def test_daily_is_the_configured_amount(make):
    bot = make(daily_credits=3)
    await bot.say("telegram:1", "/start")
    assert (await bot.say("telegram:1", "/daily")).text.startswith("+3 daily credits! You have 13 credits.")


# --- what a mistyped command gets -----------------------------------------------------------------


@pytest.mark.parametrize("who", PEOPLE)
async def test_an_unknown_command_is_named_and_changes_nothing(bot, who):
    reply = await bot.say(who, "/nonsense 5")
    assert reply.text == "I don't know the command /nonsense. Try /help."
    assert not bot.known(who)  # no one was made, no welcome granted
    assert bot.movements() == ((), ())


@pytest.mark.parametrize("who", PEOPLE)
async def test_a_missing_argument_gets_the_usage(bot, who):
    assert (await bot.say(who, "/cancel")).text == "Usage: /cancel <job id>"
    assert (await bot.say(who, "/support")).text == "Usage: /support <your message>"
    assert (await bot.say(who, "/cancel nosuchjob")).text == "You have no job nosuchjob."
    assert await bot.available(who) == 10


@pytest.mark.parametrize("who", PEOPLE)
async def test_extra_words_after_a_command_that_takes_none_get_a_readable_usage(bot, who):
    reply = await bot.say(who, "/balance please")
    assert reply.text == "Usage: /balance"
    assert not bot.known(who)  # refused before anything: not even the welcome grant
