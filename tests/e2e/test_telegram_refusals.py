"""Recordings the bot cannot use, and Telegram's own limits: each gets a clear message and no
credit is held."""

from __future__ import annotations

from tests.audio_samples import garbage_bytes, png_bytes, silence_clip
from tests.e2e.telegram_stack import button, telegram_stack


async def test_unusable_recordings_are_refused_in_words_and_nothing_is_held(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")

        # 25 MB: refused on its declared size, before any download or hold.
        too_big = await stack.voice(ada, b"", declared_size=25_000_000)
        assert too_big["text"] == "That file is too big (25.0 MB); the limit is 20 MB."
        assert "reply_markup" not in too_big
        assert fake.requests("getFile") == []

        # A corrupt voice note: the keyboard under it becomes the reason once a button is pressed.
        corrupt = await stack.voice(ada, garbage_bytes(8000))
        await stack.press(ada, corrupt, button(corrupt, "🎹 5s")["callback_data"])
        edited = await stack.wait_edit(ada["id"], corrupt["message_id"], "isn't audio I can read")
        assert "reply_markup" not in edited or not edited["reply_markup"]

        # A PNG sent as an audio file.
        png = await stack.audio(ada, png_bytes(), file_name="hum.mp3")
        await stack.press(ada, png, button(png, "🎸 10s")["callback_data"])
        await stack.wait_edit(ada["id"], png["message_id"], "no sound in it")

        # Silence.
        silent = await stack.voice(ada, silence_clip(2.0))
        await stack.press(ada, silent, button(silent, "🎻 5s")["callback_data"])
        await stack.wait_edit(ada["id"], silent["message_id"], "silent")

        # A photo is not a recording: how to make music instead.
        await stack.send(fake.build.photo(ada))
        await fake.wait_for("sendMessage", lambda p: "Send me a voice message" in p["text"], chat_id=ada["id"])

        assert await stack.available(ada) == 10
        assert stack.generator.submitted == 0 and fake.calls("sendAudio") == []
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_flood_control_is_waited_out_and_the_reply_still_arrives(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        fake.fail_next("sendMessage", retry_after=1)
        reply = await stack.command(ada, "start")
        assert "Welcome!" in reply["text"]
        refused = [r for r in fake.requests("sendMessage") if not r.ok]
        assert [r.status for r in refused] == [429]
        assert stack.unexpected_errors() == []
