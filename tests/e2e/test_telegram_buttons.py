"""Buttons: a double tap, someone else's press, a stale button, Cancel mid-job, and the result's
Again / Other style / Longer / Share."""

from __future__ import annotations

from core.domain.identity import Identity
from tests.audio_samples import tone_clip
from tests.e2e.telegram_stack import button, markup_of, telegram_stack

HUM = tone_clip((440.0, 523.0, 659.0), seconds=2.0)


async def test_a_double_tap_on_a_generate_button_makes_one_job(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        data = button(keyboard, "🎹 10s")["callback_data"]
        first = fake.build.callback_query(ada, data, message_id=keyboard["message_id"])
        second = fake.build.callback_query(ada, data, message_id=keyboard["message_id"])
        await fake.push_updates([first, second])
        await stack.wait_audio(ada["id"])
        answers = [await stack.answer(u["callback_query"]["id"]) for u in (first, second)]
        assert sorted(a.get("text") or "" for a in answers) == [
            "",
            "Already on it: that clip is being made.",
        ]
        await stack.app.generation.runner.wait_idle()
        assert len(fake.calls("sendAudio")) == 1 and stack.generator.submitted == 1
        assert await stack.available(ada) == 8
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_a_button_pressed_by_someone_else_is_refused_and_changes_nothing(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        group = fake.new_group("Band room")
        ada, bob = stack.user("Ada"), stack.user("Bob")
        keyboard = await stack.voice(ada, HUM, chat=group)

        query = await stack.press(bob, keyboard, button(keyboard, "🎹 5s")["callback_data"], chat=group)
        answer = await stack.answer(query)
        assert answer["text"] == "This button belongs to someone else." and answer["show_alert"] is True

        stack.generator.close()
        mine = await stack.press(ada, keyboard, button(keyboard, "🎹 5s")["callback_data"], chat=group)
        await stack.answer(mine)
        status = await stack.wait_edit(group["id"], keyboard["message_id"], "Generating")
        cancel = markup_of(status)[0]["callback_data"]
        current = fake.message(group["id"], keyboard["message_id"])
        refused = await stack.answer(await stack.press(bob, current, cancel, chat=group))
        assert refused["text"] == "This button belongs to someone else."
        stack.generator.open()
        await stack.wait_audio(group["id"])

        assert await stack.available(ada) == 9
        assert await stack.available(bob) == 10  # (first contact now: nothing was taken from Bob)
        assert stack.generator.submitted == 1
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_a_stale_or_malformed_button_gets_a_clear_answer(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        welcome = await stack.command(ada, "start")
        message = stack.bot_message(ada["id"], welcome)
        answer = await stack.answer(await stack.press(ada, message, "zz-old-format"))
        assert answer["text"] == "This button has expired. Send a new recording."
        # A generate button whose recording is gone (the keyboard no longer answers a voice note).
        answer = await stack.answer(await stack.press(ada, message, "g:piano:10"))
        assert answer["text"] == "I can't find that recording any more. Please send it again."
        # Cancel of a job that does not exist (or is not yours): the core's words, nothing moves.
        answer = await stack.answer(await stack.press(ada, message, f"c:{ada['id']}:0123456789abcdef"))
        assert answer["text"] == "You have no job 0123456789abcdef."
        assert await stack.available(ada) == 10
        assert stack.unexpected_errors() == []


async def test_cancel_mid_job_releases_the_credits_and_no_clip_follows(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        stack.generator.close()
        await stack.press(ada, keyboard, button(keyboard, "🎻 15s")["callback_data"])
        status = await stack.wait_edit(ada["id"], keyboard["message_id"], "Generating")
        assert await stack.available(ada) == 7  # 3 held

        current = fake.message(ada["id"], keyboard["message_id"])
        answer = await stack.answer(await stack.press(ada, current, markup_of(status)[0]["callback_data"]))
        assert answer["text"] == "Canceled. Your credits were not charged."
        canceled = await stack.wait_edit(ada["id"], keyboard["message_id"], "Canceled.")
        assert "Your 3 credits were not charged." in canceled["text"] and "You have 10 credits." in canceled["text"]
        assert not markup_of(canceled)
        assert await stack.available(ada) == 10

        stack.generator.open()
        await stack.app.generation.runner.wait_idle()
        assert fake.calls("sendAudio") == []
        # Cancel pressed again on the old status: the job already ended.
        again = await stack.answer(await stack.press(ada, current, markup_of(status)[0]["callback_data"]))
        assert "has already ended" in again["text"]
        assert await stack.available(ada) == 10
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_again_other_style_longer_and_share(sqlite_url):
    async with telegram_stack(sqlite_url, share_credits=2) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        await stack.press(ada, keyboard, button(keyboard, "🎹 5s")["callback_data"])
        first = await stack.wait_audio(ada["id"])
        clip = stack.bot_message(ada["id"], first)
        assert await stack.available(ada) == 9

        await stack.press(ada, clip, button(clip, "Again")["callback_data"])
        again = await stack.wait_audio(ada["id"], count=2)
        assert again["title"] == "Warm solo piano (5 s)" and again["caption"] == "−1 credit · 8 left"

        await stack.press(ada, clip, button(clip, "Longer")["callback_data"])
        longer = await stack.wait_audio(ada["id"], count=3)
        assert longer["title"] == "Warm solo piano (10 s)" and longer["caption"] == "−2 credits · 6 left"

        await stack.press(ada, clip, button(clip, "Other style")["callback_data"])
        styles = await fake.wait_for("sendMessage", lambda p: "Pick another style" in p["text"], chat_id=ada["id"])
        labels = [b["text"] for b in markup_of(styles)]
        assert "🎸 Guitar · 1 credit" in labels and not any("Piano" in label for label in labels)
        picker = stack.bot_message(ada["id"], styles)
        await stack.press(ada, picker, button(picker, "Guitar")["callback_data"])
        other = await stack.wait_audio(ada["id"], count=4)
        assert other["title"] == "Acoustic guitar (5 s)" and other["caption"] == "−1 credit · 5 left"

        share = button(clip, "Share")
        job_query = share["switch_inline_query"]
        await stack.send(fake.build.inline_query(ada, job_query))
        answered = await fake.wait_for("answerInlineQuery")
        [result] = answered["results"]
        assert result["type"] == "audio" and result["audio_file_id"] == clip["audio"]["file_id"]
        await stack.send(fake.build.chosen_inline_result(ada, result["id"], query=job_query))
        thanks = await fake.wait_for("sendMessage", lambda p: "Thanks for sharing" in p["text"], chat_id=ada["id"])
        assert "+2 credits · you have 7" in thanks["text"]
        # Someone else cannot share Ada's clip.
        bob = stack.user("Bob")
        await stack.send(fake.build.inline_query(bob, job_query))
        refused = await fake.wait_for("answerInlineQuery", count=2)
        assert refused["results"] == []
        assert await stack.available(ada) == 7
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_a_failed_generation_says_the_credits_were_not_charged(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        stack.generator.failing = True
        await stack.press(ada, keyboard, button(keyboard, "🎛 30s")["callback_data"])
        failed = await stack.wait_edit(ada["id"], keyboard["message_id"], "not charged")
        assert failed["text"] == ("The music generator failed. Your 5 credits were not charged.\nYou have 10 credits.")
        assert [b["text"] for b in markup_of(failed)] == ["🔁 Try again"]
        assert await stack.available(ada) == 10

        stack.generator.failing = False
        current = stack.fake.message(ada["id"], keyboard["message_id"])
        await stack.press(ada, current, markup_of(failed)[0]["callback_data"])
        audio = await stack.wait_audio(ada["id"])
        assert audio["caption"] == "−5 credits · 5 left"
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_buttons_keep_working_after_a_restart(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        await stack.press(ada, keyboard, button(keyboard, "🎹 5s")["callback_data"])
        clip = stack.bot_message(ada["id"], await stack.wait_audio(ada["id"]))
        other = await stack.voice(ada, HUM)

        await stack.restart()  # a new Application: nothing of the first one is in memory

        await stack.press(ada, clip, button(clip, "Longer")["callback_data"])
        longer = await stack.wait_audio(ada["id"], count=2)
        assert longer["title"] == "Warm solo piano (10 s)" and longer["caption"] == "−2 credits · 7 left"
        await stack.press(ada, other, button(other, "🎸 5s")["callback_data"])
        guitar = await stack.wait_audio(ada["id"], count=3)
        assert guitar["title"] == "Acoustic guitar (5 s)" and guitar["caption"] == "−1 credit · 6 left"

        # Share, too: the clip's file id was stored with the job, not kept in memory.
        job_query = button(clip, "Share")["switch_inline_query"]
        await stack.send(stack.fake.build.inline_query(ada, job_query))
        [result] = (await stack.fake.wait_for("answerInlineQuery"))["results"]
        assert result["audio_file_id"] == clip["audio"]["file_id"]
        for nonsense in ("clip ../../x", "clip", "clip 0000000000000000"):
            await stack.send(stack.fake.build.inline_query(ada, nonsense))
        answers = await stack.fake.wait_for("answerInlineQuery", count=4)
        assert answers["results"] == [] and answers["button"]["start_parameter"] == "share"
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_after_linking_accounts_the_buttons_of_earlier_clips_still_work(sqlite_url):
    """Ada's Telegram person is merged into her older Discord one: her old clip's Again, her
    /history and her running jobs follow her (jobs keep the person id they were made for)."""
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        discord = Identity("discord", "77")
        await stack.app.wallets.start(discord)  # the older person: the one that survives
        await stack.command(ada, "start")
        keyboard = await stack.voice(ada, HUM)
        await stack.press(ada, keyboard, button(keyboard, "🎹 5s")["callback_data"])
        clip = stack.bot_message(ada["id"], await stack.wait_audio(ada["id"]))

        code = await stack.app.rewards.linking.start(discord)
        linked = await stack.command(ada, "link", code.code)
        assert "19" in linked["text"]  # 10 + 9 credits, one wallet

        await stack.press(ada, clip, button(clip, "Again")["callback_data"])
        again = await stack.wait_audio(ada["id"], count=2)
        assert again["caption"] == "−1 credit · 18 left"
        await stack.app.generation.runner.wait_idle()  # sent is not yet concluded
        history = await stack.command(ada, "history")
        assert history["text"].count("5 s warm solo piano · done") == 2  # the clip from before the link too
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []
