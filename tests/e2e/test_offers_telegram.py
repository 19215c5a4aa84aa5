"""The offer on Telegram, through the real adapter against the fake Bot API: out of credits it
names the packs, the next daily credit (with its button while it can be claimed) and support;
/daily and a finished job that leave the balance low offer the packs too; /history tells what
each job cost."""

from __future__ import annotations

import datetime as dt

from tests.audio_samples import tone_clip
from tests.e2e.telegram_stack import button, markup_of, telegram_stack

HUM = tone_clip((392.0, 440.0, 494.0), seconds=2.0)
DAILY_BUTTON = "🎁 Claim your free daily credit"


def tomorrow() -> str:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return f"{day:%Y-%m-%d} 00:00 UTC"


async def test_out_of_credits_refusal_names_the_packs_the_next_daily_credit_and_support(sqlite_url):
    async with telegram_stack(sqlite_url, welcome_credits=0) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        generate = button(keyboard, "🎹 10s")["callback_data"]

        await stack.answer(await stack.press(ada, keyboard, generate))
        refusal = await fake.wait_for(
            "sendMessage", lambda p: "That costs 2 credits and you have 0." in p["text"], chat_id=ada["id"]
        )
        text = refusal["text"]
        assert "You're out of credits!" in text and "Starter: 100 credits for 250 ⭐" in text
        assert "Your next free daily credit:" in text  # claimable now
        assert "/support" in text
        labels = [b["text"] for b in markup_of(refusal)]
        assert DAILY_BUTTON in labels and "💬 Contact support" in labels
        assert "Continue with free" not in labels  # there is no free to continue with

        # The daily button claims it; refused again (1 < 2), the next one is tomorrow: no button.
        offer = stack.bot_message(ada["id"], refusal)
        claimed = await stack.answer(await stack.press(ada, offer, button(offer, "Claim")["callback_data"]))
        assert "+1 daily credit!" in claimed["text"]
        await stack.answer(await stack.press(ada, keyboard, generate))
        again = await fake.wait_for(
            "sendMessage", lambda p: "That costs 2 credits and you have 1." in p["text"], chat_id=ada["id"]
        )
        assert "You have 1 credit left." in again["text"]
        assert f"Your next free daily credit: {tomorrow()}." in again["text"]
        assert DAILY_BUTTON not in [b["text"] for b in markup_of(again)]

        assert await stack.available(ada) == 1 and stack.generator.submitted == 0
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_daily_that_leaves_the_balance_low_offers_the_packs(sqlite_url):
    async with telegram_stack(sqlite_url, welcome_credits=0) as stack:
        ada = stack.user("Ada")
        daily = await stack.command(ada, "daily")
        assert daily["text"].startswith("+1 daily credit! You have 1 credits.")
        assert "You have 1 credit left. Buy more to keep creating!" in daily["text"]
        assert "Your next free daily credit" not in daily["text"]  # the claim already says when
        labels = [b["text"] for b in markup_of(daily)]
        assert labels[0] == "⭐ Starter: 100 credits for 250 ⭐" and "Continue with free" in labels
        assert DAILY_BUTTON not in labels

        assert await stack.available(ada) == 1
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_a_job_that_leaves_the_balance_low_offers_the_next_daily_credit(sqlite_url):
    async with telegram_stack(sqlite_url, welcome_credits=2) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        await stack.press(ada, keyboard, button(keyboard, "🎹 5s")["callback_data"])
        audio = await stack.wait_audio(ada["id"])
        assert audio["caption"] == "−1 credit · 1 left"
        offer = await fake.wait_for("sendMessage", lambda p: "1 credit left" in p["text"], chat_id=ada["id"])
        assert "Your next free daily credit:" in offer["text"]
        assert DAILY_BUTTON in [b["text"] for b in markup_of(offer)]
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_history_tells_what_each_job_cost(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        five, ten, fifteen = (button(keyboard, f"🎹 {s}s")["callback_data"] for s in (5, 10, 15))

        await stack.press(ada, keyboard, ten)
        await stack.wait_audio(ada["id"])
        await stack.wait_edit(ada["id"], keyboard["message_id"], "Done")  # charged by now

        stack.generator.failing = True  # the model breaks: released, not charged
        await stack.press(ada, keyboard, five)
        await stack.fake.wait_for("editMessageText", lambda p: "not charged" in p.get("text", ""), chat_id=ada["id"])
        await stack.app.generation.runner.wait_idle()

        stack.generator.failing = False
        stack.generator.close()  # a slow model: the third job keeps its hold
        await stack.press(ada, keyboard, fifteen)
        await stack.wait_edit(ada["id"], keyboard["message_id"], "Generating your 15 s")

        history = (await stack.command(ada, "history"))["text"]
        jobs = history.split("Your last clips:")[1]
        assert "· 15 s warm solo piano · generating · 3 credits held" in jobs
        assert "· 5 s warm solo piano · failed · not charged" in jobs
        assert "· 10 s warm solo piano · done · −2 credits" in jobs
        assert await stack.available(ada) == 5  # 10 − 2 charged − 3 held

        stack.generator.open()
        await stack.wait_audio(ada["id"], count=2)
        await stack.app.generation.runner.wait_idle()
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []
