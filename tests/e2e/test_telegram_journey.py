"""A person's whole way through the bot on Telegram, with the real PTB Application against the
fake Bot API: by long polling and by webhook through our own web server."""

from __future__ import annotations

import logging

import aiohttp
import pytest

from tests.audio_samples import tone_clip
from tests.e2e.telegram_stack import WEBHOOK_SECRET, button, buttons, markup_of, telegram_stack

HUM = tone_clip((440.0, 494.0, 523.0, 587.0), seconds=2.0)


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_new_user_hums_picks_a_style_and_gets_a_clip_charged_once(sqlite_url, webhook):
    # One worker slot, held by someone else's slow job: the new user's job shows its place in line.
    async with telegram_stack(sqlite_url, webhook=webhook, max_concurrent_jobs=1) as stack:
        fake = stack.fake
        assert [c["command"] for c in fake.commands[next(iter(fake.commands))]][:2] == [
            "start",
            "balance",
        ]
        ada, other = stack.user("Ada"), stack.user("Bob")

        welcome = await stack.command(ada, "start")
        assert "Welcome! You have 10 free credits." in welcome["text"]

        stack.generator.close()
        blocker = await stack.voice(other, HUM)
        await stack.press(other, blocker, button(blocker, "🎹 5s")["callback_data"])
        await stack.wait_edit(other["id"], blocker["message_id"], "Generating")

        keyboard = await stack.voice(ada, HUM)
        assert "You have 10 credits" in keyboard["text"]
        labels = [b["text"] for b in buttons(keyboard)]
        assert len(labels) == 20 and "🎹 5s · 1" in labels and "🎸 10s · 2" in labels and "🔊 30s · 5" in labels

        query = await stack.press(ada, keyboard, button(keyboard, "🎹 10s")["callback_data"])
        await stack.answer(query)
        status_id = keyboard["message_id"]
        queued = await stack.wait_edit(ada["id"], status_id, "Queued: #1 in line")
        assert [b["text"] for b in markup_of(queued)] == ["✖ Cancel"]
        assert "2 credits held" in queued["text"]
        assert await stack.available(ada) == 8  # held, not yet charged

        # While a job runs its chat shows "recording a voice…", repeated (a chat action lasts 5 s).
        await fake.wait_for("sendChatAction", lambda p: p["action"] == "record_voice", chat_id=other["id"], count=2)
        assert fake.calls("sendChatAction", chat_id=ada["id"]) == []  # queued: no action yet
        stack.generator.open()
        generating = await stack.wait_edit(ada["id"], status_id, "Generating")
        assert [b["text"] for b in markup_of(generating)] == ["✖ Cancel"]
        await stack.wait_edit(ada["id"], status_id, "Uploading")
        audio = await stack.wait_audio(ada["id"])
        assert audio["caption"] == "−2 credits · 8 left"
        assert audio["title"] == "Warm solo piano (10 s)" and audio["performer"] == "MusicGen bot"
        assert audio["duration"] == 10
        assert [b["text"] for b in markup_of(audio)] == [
            "🔁 Again",
            "🎨 Other style",
            "➕ Longer (15 s)",
            "🏷 Add a voice tag · 1",
            "📤 Share",
        ]
        await stack.wait_edit(ada["id"], status_id, "Done")
        await fake.wait_for("sendChatAction", lambda p: p["action"] == "upload_voice", chat_id=ada["id"])

        balance = await stack.command(ada, "balance")
        assert "Credits: 8 (8 free, 0 paid)" in balance["text"]
        assert "Generations: 1 · credits spent: 2" in balance["text"]
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []
        if webhook:  # every update came through our web server, none by getUpdates
            assert fake.webhook_deliveries and all(d.status == 200 for d in fake.webhook_deliveries)
            assert fake.requests("getUpdates") == []
        else:
            assert fake.webhook_deliveries == [] and fake.requests("getUpdates")


async def test_a_status_message_deleted_mid_job_is_sent_again_quoting_the_recording_and_edited_on(sqlite_url):
    async with telegram_stack(sqlite_url, max_concurrent_jobs=1) as stack:
        fake = stack.fake
        ada, other = stack.user("Ada"), stack.user("Bob")
        await stack.command(ada, "start")
        stack.generator.close()
        blocker = await stack.voice(other, HUM)
        await stack.press(other, blocker, button(blocker, "🎹 5s")["callback_data"])
        await stack.wait_edit(other["id"], blocker["message_id"], "Generating")

        keyboard = await stack.voice(ada, HUM)
        recording_id = keyboard["reply_to_message"]["message_id"]
        await stack.press(ada, keyboard, button(keyboard, "🎹 10s")["callback_data"])
        await stack.wait_edit(ada["id"], keyboard["message_id"], "Queued: #1 in line")
        fake.delete_in_app(ada["id"], keyboard["message_id"])

        stack.generator.open()
        again = await fake.wait_for(
            "sendMessage", lambda p: "Starting your 10 s" in p["text"], chat_id=ada["id"], timeout=10
        )
        assert again["reply_parameters"]["message_id"] == recording_id
        status = stack.bot_message(ada["id"], again)
        assert [b["text"] for b in markup_of(status)] == ["✖ Cancel"]
        await stack.wait_edit(ada["id"], status["message_id"], "Generating")
        await stack.wait_audio(ada["id"])
        await stack.wait_edit(ada["id"], status["message_id"], "Done")
        assert len(fake.calls("sendMessage", chat_id=ada["id"])) == 3  # welcome, picker, the new status
        [queued] = stack.edits(ada["id"], keyboard["message_id"])  # accepted before the deletion only
        assert "Queued" in queued["text"]
        assert await stack.available(ada) == 8
        assert stack.unexpected_errors() == []


async def test_a_voice_note_as_first_contact_welcomes_and_the_first_press_grants_once(sqlite_url):
    """No /start: the keyboard says welcome without writing anything (one read before the
    reply); the first press creates the person with the welcome grant, exactly once."""
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        identity = f"telegram:{ada['id']}"
        keyboard = await stack.voice(ada, HUM)
        assert keyboard["text"].startswith("Welcome! You have 10 free credits.")
        assert "You have 10 credits" in keyboard["text"]
        assert keyboard["reply_to_message"]["voice"]  # it answers the recording
        assert await stack.app.ledger.find_person(identity) is None

        again = await stack.voice(ada, HUM)  # still nobody: still welcome, still 10
        assert again["text"].startswith("Welcome! You have 10 free credits.")

        data = button(keyboard, "🎹 5s")["callback_data"]
        await stack.press(ada, keyboard, data)
        await stack.press(ada, keyboard, data)  # a double tap: one job, one grant
        audio = await stack.wait_audio(ada["id"])
        assert audio["caption"] == "−1 credit · 9 left"
        assert await stack.available(ada) == 9
        later = await stack.voice(ada, HUM)
        assert not later["text"].startswith("Welcome") and "You have 9 credits" in later["text"]
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_webhook_mode_refuses_updates_without_the_secret_token(sqlite_url):
    async with telegram_stack(sqlite_url, webhook=True) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        url = stack.telegram.config.webhook_url
        assert url is not None and (await stack.telegram.bot.get_webhook_info()).url == url
        forged = fake.build.command(ada, "start")
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=forged, headers=headers) as response:
                    assert response.status == 403
            good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            async with http.post(url, data=b"{not json", headers=good) as response:
                assert response.status == 400
        assert fake.calls("sendMessage") == []
        reply = await stack.command(ada, "start")  # Telegram's own delivery, with the secret
        assert reply["text"].startswith("Welcome!")
        assert await stack.available(ada) == 10


async def test_webhook_mode_answers_400_to_a_body_that_is_no_update_and_logs_nothing_unexpected(sqlite_url, caplog):
    async with telegram_stack(sqlite_url, webhook=True) as stack:
        url = stack.telegram.config.webhook_url
        assert url is not None
        good = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        bodies = [
            b"null",
            b"[]",
            b'"an update"',
            b"5",
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a":' * 2_000 + b"1" + b"}" * 2_000,
            b'{"update_id": "x"}',
            b'{"update_id": true}',
            b'{"update_id": NaN}',
            b'{"update_id": 1, "message": 5}',
            b'{"update_id": 2, "message": {"message_id": "x", "chat": 3, "date": "y"}}',
            b'{"update_id": 3, "callback_query": []}',
        ]
        async with aiohttp.ClientSession() as http:
            for body in bodies:
                async with http.post(url, data=body, headers=good) as response:
                    assert response.status == 400, body[:40]
        assert stack.fake.calls("sendMessage") == []
        reply = await stack.command(stack.user("Ada"), "start")  # and the bot still answers
        assert reply["text"].startswith("Welcome!")
        assert stack.unexpected_errors() == []
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
