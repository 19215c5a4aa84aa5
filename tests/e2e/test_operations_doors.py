"""Speech, music from words and the voice tag on every door — the console, Telegram and Discord,
each through its real client against its loopback fake, on SQLite with the local providers: the
cost shown before (the status message's "… held"), the result delivered in the platform's form,
charged once after. Refusals, short credits and provider failures: test_conversation_operations."""

from __future__ import annotations

import io
from pathlib import Path

import av

from adapters.storage.migrations import upgrade
from bot.bootstrap import build_app
from bot.config import load_settings
from core.domain.identity import Identity
from tests.e2e.console_kit import console_chat
from tests.e2e.discord_kit import ALICE, action, discord_world
from tests.e2e.telegram_stack import button, telegram_stack
from tests.fakes.discord_harness import option


def codec_of(data: bytes) -> str:
    with av.open(io.BytesIO(data)) as container:
        return str(container.streams.audio[0].codec_context.name)


# --- the console ------------------------------------------------------------------------------


async def console(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    settings = load_settings(
        _env_file=None, database_url=url, data_dir=str(tmp_path / "data"), replicate_api_token=None
    )
    app = await build_app(settings)
    await app.generation.start()
    me = Identity("console", "tester")
    return app, console_chat(app, me), me


async def test_say_in_the_console_writes_a_voice_note_and_charges_after(tmp_path, capsys):
    app, chat, me = await console(tmp_path)
    try:
        outcome = await chat.handle("/say Hello from the console, this is a test.")
        printed = capsys.readouterr().out
        assert "🗣 female voice · 39 characters · 1 credit held · 9 left to use" in printed
        assert outcome.startswith("✅ Done! −1 credit · 9 left")
        (note,) = (tmp_path / "data" / "clips").glob("*.ogg")
        assert f"🗣 Your text in the female voice: {note}" in printed and codec_of(note.read_bytes()) == "opus"
        assert (await app.wallets.balance(me)).balance.available == 9 and await app.ledger.audit() == []
    finally:
        await app.close()


async def test_describe_in_the_console_makes_music_from_words(tmp_path, capsys):
    app, chat, me = await console(tmp_path)
    try:
        outcome = await chat.handle('/generate "lofi beat with rain" 10')
        assert "🎵 lofi beat with rain · 10 s · 2 credits held · 8 left to use" in capsys.readouterr().out
        assert outcome.startswith("✅ Done! −2 credits · 8 left")
        (clip,) = (tmp_path / "data" / "clips").glob("*.mp3")
        assert codec_of(clip.read_bytes()).startswith("mp3")
        assert (await app.wallets.balance(me)).balance.available == 8
    finally:
        await app.close()


async def test_a_voice_tag_in_the_console_is_mixed_into_the_clip(tmp_path, capsys):
    app, chat, me = await console(tmp_path)
    try:
        await chat.handle("/describe calm piano 5")
        (first,) = (tmp_path / "data" / "clips").glob("*.mp3")
        job_id = first.stem
        outcome = await chat.handle(f"/tag {job_id} made by the tester")
        assert "🏷 Voice tag “made by the tester” · 1 credit held · 8 left to use" in capsys.readouterr().out
        assert outcome.startswith("✅ Done! −1 credit · 8 left")
        tagged = [p for p in (tmp_path / "data" / "clips").glob("*.mp3") if p != first]
        assert len(tagged) == 1 and tagged[0].read_bytes() != first.read_bytes()
        assert (await app.wallets.balance(me)).balance.available == 8
    finally:
        await app.close()


# --- Telegram ---------------------------------------------------------------------------------


async def test_say_on_telegram_is_a_voice_message_with_the_other_voice_on_a_button(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "start")
        status = await stack.command(ada, "say", "Good morning, everyone")
        assert status["text"].startswith("🗣 female voice · 22 characters · 1 credit held")
        chat_id = stack.fake.chats[ada["id"]]["id"]
        voice = await stack.fake.wait_for("sendVoice", chat_id=chat_id, timeout=20)
        assert voice["caption"] == "−1 credit · 9 left"
        assert [b["text"] for b in (voice.get("reply_markup") or {}).get("inline_keyboard", [[]])[0]] == [
            "🗣 In the male voice · 1"
        ]
        await stack.wait_edit(chat_id, stack.bot_message(chat_id, status)["message_id"], "Done")
        assert await stack.available(ada) == 9 and await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_describe_on_telegram_sends_the_music_as_audio(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "start")
        status = await stack.command(ada, "describe", "lofi beat with rain 5")
        assert status["text"].startswith("🎵 lofi beat with rain · 5 s · 1 credit held")
        audio = await stack.wait_audio(stack.fake.chats[ada["id"]]["id"])
        assert audio["caption"] == "−1 credit · 9 left"
        assert await stack.available(ada) == 9 and stack.unexpected_errors() == []


async def test_a_voice_tag_on_telegram_from_the_button_under_the_clip(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "start")
        await stack.command(ada, "describe", "calm piano 5")
        chat_id = stack.fake.chats[ada["id"]]["id"]
        await stack.wait_audio(chat_id)
        clip = stack.fake.chat_messages(chat_id, from_bot=True)
        clip_message = next(m for m in reversed(clip) if "audio" in m)
        tag = button(clip_message, "🏷 Add a voice tag · 1")
        job_id = tag["callback_data"].split(":")[2]
        before = len(stack.fake.calls("sendMessage", chat_id=chat_id))
        await stack.answer(await stack.press(ada, clip_message, tag["callback_data"]))
        how = await stack.fake.wait_for("sendMessage", chat_id=chat_id, count=before + 1, timeout=10)
        assert f"/tag {job_id} <your words>" in how["text"]

        # The clip is done (charged, kept for tags) once its status says so; until then the bot
        # answers "still on its way". (The balance cannot tell: the hold already counts.)
        await stack.fake.wait_for(
            "editMessageText", lambda p: "Done! −1 credit · 9 left" in p["text"], chat_id=chat_id, timeout=10
        )
        status = await stack.command(ada, "tag", f"{job_id} made by Ada")
        assert status["text"].startswith("🏷 Voice tag “made by Ada” · 1 credit held")
        tagged = await stack.wait_audio(chat_id, count=2)
        assert tagged["caption"] == "−1 credit · 8 left"
        assert await stack.available(ada) == 8 and stack.unexpected_errors() == []


async def test_words_typed_to_the_telegram_bot_become_music_from_the_picker_under_them(sqlite_url: str) -> None:
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        await stack.command(ada, "start")
        chat_id = stack.fake.chats[ada["id"]]["id"]
        picker = await stack.text(ada, "sunny ukulele morning")
        assert picker["text"] == "What shall I make of “sunny ukulele morning”? You have 10 credits."
        music = button(picker, "✍️ 5s · 1")
        assert button(picker, "🗣 female · 1")["callback_data"] == "y:female"
        await stack.answer(await stack.press(ada, picker, music["callback_data"]))
        await stack.wait_edit(chat_id, picker["message_id"], "🎵 sunny ukulele morning · 5 s · 1 credit held")
        audio = await stack.wait_audio(chat_id)
        assert audio["caption"] == "−1 credit · 9 left"
        assert await stack.available(ada) == 9 and stack.unexpected_errors() == []


# --- Discord ----------------------------------------------------------------------------------


async def test_say_on_discord_is_an_audio_attachment_charged_after(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        payload = world.command("say", [option("text", "Hello server")], ALICE)
        world.dispatch(payload)
        await world.status_text(payload, "🗣 female voice · 12 characters · 1 credit held")
        clip = await world.followup_with_file(payload)
        assert clip.files[0].filename.endswith(".ogg") and codec_of(clip.files[0].data) == "opus"
        assert clip.json["content"] == "🗣 Your text in the female voice"
        job_id = clip.json["components"][0]["components"][0]["custom_id"].split(":")[2]
        assert clip.json["components"][0]["components"][0]["custom_id"] == action("v", ALICE, job_id, "male")
        await world.status_text(payload, "−1 credit · 9 left")
        assert await world.available(ALICE) == 9 and await world.audit() == []
        world.assert_no_errors()


async def test_describe_on_discord_takes_a_description_and_a_length(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        payload = world.command("describe", [option("description", "lofi beat"), option("length", 5)], ALICE)
        world.dispatch(payload)
        await world.status_text(payload, "🎵 lofi beat · 5 s · 1 credit held")
        clip = await world.followup_with_file(payload)
        assert clip.files[0].filename.endswith(".mp3")
        await world.status_text(payload, "−1 credit · 9 left")
        assert await world.available(ALICE) == 9
        world.assert_no_errors()


async def test_a_voice_tag_on_discord_is_the_clip_again_with_the_words(sqlite_url: str, tmp_path: Path) -> None:
    async with discord_world(sqlite_url, tmp_path) as world:
        made = world.command("describe", [option("description", "calm piano"), option("length", 5)], ALICE)
        world.dispatch(made)
        first = await world.followup_with_file(made)
        await world.status_text(made, "−1 credit · 9 left")  # the clip is done (until then: "on its way")
        job_id = first.json["components"][0]["components"][0]["custom_id"].split(":")[2]
        assert action("t", ALICE, job_id) in [
            c["custom_id"] for row in first.json["components"] for c in row["components"] if "custom_id" in c
        ]
        payload = world.command("tag", [option("job", job_id), option("text", "made by Alice")], ALICE)
        world.dispatch(payload)
        await world.status_text(payload, "🏷 Voice tag “made by Alice” · 1 credit held")
        tagged = await world.followup_with_file(payload)
        assert tagged.files[0].filename.endswith(".mp3") and tagged.files[0].data != first.files[0].data
        await world.status_text(payload, "−1 credit · 8 left")
        assert await world.available(ALICE) == 8
        world.assert_no_errors()
