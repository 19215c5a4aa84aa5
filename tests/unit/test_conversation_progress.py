"""Progress through the conversation, with no database: /progress with its text bar and every
achievement, the streak's line in /balance, and the notice that celebrates a new achievement
after /daily, after a delivered clip (on the person's own platform) and on /progress itself."""

from __future__ import annotations

import datetime as dt

from core.domain.identity import Identity
from core.domain.jobs import JobState
from core.domain.ledger import Grant, LotKind, Reason
from tests.unit.conversation_kit import START, Kit, recording


async def a_clip(bot: Kit, who: str, style: str = "warm solo piano") -> None:
    await bot.options(who, "generate", attachment=recording(), args={"style": style, "length": "5"})
    await bot.run_jobs()
    (job,) = await bot.app.generation.recent(Identity.parse(who), 1)
    assert job.state == JobState.SUCCEEDED


async def test_progress_shows_the_streak_bar_and_every_achievement(bot):
    await bot.say("telegram:1", "/daily")
    text = (await bot.say("telegram:1", "/progress")).text
    assert "Daily streak: ▰▱▱▱▱▱▱ 1/7 days" in text
    assert "Clips made: 0" in text
    assert "Achievements (0/8):\n▫️ First clip\n▫️ 10 clips\n▫️ 50 clips\n▫️ Every style tried" in text
    assert text.endswith("▫️ First purchase\n▫️ 7-day streak")


async def test_an_achievement_without_credits_is_celebrated_all_the_same(bot):
    await a_clip(bot, "discord:5")  # the first clip pays nothing by default
    assert bot.discord.statuses[-1].reply.text.endswith("\n🎉 Achievement unlocked: First clip!")


async def test_a_week_of_daily_claims_fills_the_bar_and_celebrates_on_the_seventh(bot):
    # By default the 7-day streak pays 1 credit, and so does its 7th day.
    for n in range(6):
        bot.clock.set(START + dt.timedelta(days=n))
        reply = await bot.say("discord:2", "/daily")
        assert "Achievement" not in reply.text
    bot.clock.set(START + dt.timedelta(days=6))
    before = await bot.available("discord:2")
    reply = await bot.say("discord:2", "/daily")
    assert "🎉 Achievement unlocked: 7-day streak! +1 credit." in reply.text
    assert "🔥 7 days in a row! +1 credit." in reply.text
    assert await bot.available("discord:2") == before + 3
    balance = (await bot.say("discord:2", "/balance")).text
    assert "🔥 Daily streak: ▰▰▰▰▰▰▰ 7/7 days" in balance
    bot.clock.set(START + dt.timedelta(days=8))  # day 7 missed
    assert "🔥 Daily streak: ▱▱▱▱▱▱▱ 0/7 days" in (await bot.say("discord:2", "/balance")).text
    assert "✅ 7-day streak" in (await bot.say("discord:2", "/progress")).text


async def test_a_first_clip_is_celebrated_on_the_persons_platform(make):
    bot = make(achievement_credits="first_clip:1")
    await a_clip(bot, "discord:3")
    done = bot.discord.statuses[-1].reply.text  # said with "Done!", not as a message of its own
    assert done.endswith("\n🎉 Achievement unlocked: First clip! +1 credit.")
    assert bot.discord.texts == []
    text = (await bot.say("discord:3", "/progress")).text
    assert "✅ First clip" in text and "Clips made: 1" in text
    assert "Daily streak: ▰▱▱▱▱▱▱ 1/7 days" in text  # a delivered clip is an active day
    assert "Achievement unlocked" not in text  # celebrated once


async def test_progress_awards_a_purchase_it_finds_and_says_so(make):
    bot = make(achievement_credits="first_purchase:1")
    await bot.say("telegram:4", "/balance")
    person = bot.memory.world.identities["telegram:4"]
    purchase = Grant(
        "purchase:o1", bot.memory.world.wallet_of(person), 100, Reason.PURCHASE, LotKind.PAID, pack_id="starter"
    )
    await bot.memory.ledger.grant(purchase, now=START)  # as the payments area grants a purchase
    text = (await bot.say("telegram:4", "/progress")).text
    assert text.startswith("🎉 Achievement unlocked: First purchase! +1 credit.")
    assert "✅ First purchase" in text
