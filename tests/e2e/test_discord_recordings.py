"""Recordings sent to the bot: a voice message in a DM, or "Make music from this" on a message
in a server → the style × length buttons with their costs → the clip. The recording is
downloaded at once (the link may expire before the press), kept across a restart, fetched again
when it is no longer kept, and refused when too big or not audio before any credit is held."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_samples import garbage_bytes, png_bytes
from tests.e2e.discord_kit import ALICE, BOB, CHANNEL, GUILD, HUM, World, discord_world, identity
from tests.fakes.discord_fake import FLAG_EPHEMERAL

MENU = "Make music from this"


@pytest.fixture
async def world(sqlite_url, tmp_path):
    async with discord_world(sqlite_url, tmp_path) as w:
        yield w


def buttons(message: dict) -> list[list[dict]]:
    return [row["components"] for row in message.get("components", [])]


def custom_ids(message: dict) -> list[str]:
    return [b["custom_id"] for row in buttons(message) for b in row]


async def clip_for(world: World, press: dict) -> dict:
    """The follow-up carrying the clip made by a press."""
    delivered = await world.followup_with_file(press)
    assert delivered.files[0].data[:3] == b"ID3" or delivered.files[0].filename.endswith(".mp3")
    return delivered.json


async def nothing_held(world: World, user: dict = ALICE, available: int = 10) -> None:
    assert await world.available(user) == available
    assert await world.app.generation.jobs(identity(user)) == []
    assert await world.audit() == []


async def test_a_voice_message_in_a_dm_gets_styles_and_lengths_with_costs_and_a_press_makes_the_clip(
    world: World,
) -> None:
    voice = world.voice_dm(ALICE)
    keyboard = await world.bot_reply(voice)
    assert keyboard["content"].startswith("Welcome! You have 10 free credits.")
    assert "🎹 Piano · 🎸 Guitar" in keyboard["content"]
    assert keyboard["content"].endswith("You have 10 credits.")
    rows = buttons(keyboard)
    assert len(rows) == 5 and all(len(row) == 4 for row in rows)  # 5 styles × 4 lengths
    assert [b["label"] for b in rows[0]] == ["🎹 5s · 1", "🎹 10s · 2", "🎹 15s · 3", "🎹 30s · 5"]
    assert rows[1][1]["custom_id"] == f"g:guitar:10:{voice['id']}"
    assert await world.app.ledger.find_person(identity(ALICE).key) is None  # nothing written yet

    # Discord's link expires before the press: the recording was downloaded when it arrived.
    world.fake.expire_file(voice["attachments"][0]["url"])
    downloads = len(world.fake.requests_to("GET", r"/attachments/.*"))
    press = world.press(f"g:guitar:10:{voice['id']}", keyboard, ALICE, guild=False)
    world.dispatch(press)
    clip = await clip_for(world, press)
    assert clip["content"].startswith("🎵 Your 10 s acoustic guitar clip")
    await world.status_text(press, "✅ Done! −2 credits · 8 left")
    assert len(world.fake.requests_to("GET", r"/attachments/.*")) == downloads

    again = world.press(f"g:guitar:10:{voice['id']}", keyboard, ALICE, guild=False)
    world.dispatch(again)
    assert (await world.webhook(again)).json["content"].startswith("You made that one already.")
    await world.idle()
    assert await world.available(ALICE) == 8  # one clip, charged once
    assert await world.audit() == []
    world.assert_no_errors()


async def test_the_buttons_under_a_recording_still_work_after_a_restart(world: World) -> None:
    voice = world.voice_dm(BOB)
    keyboard = await world.bot_reply(voice)
    await world.restart()
    press = world.press(f"g:piano:5:{voice['id']}", keyboard, BOB, guild=False)
    world.dispatch(press)
    await clip_for(world, press)
    await world.status_text(press, "−1 credit · 9 left")
    world.assert_no_errors()


async def test_a_recording_no_longer_kept_is_fetched_again_and_a_deleted_one_is_asked_for_again(
    world: World, tmp_path: Path
) -> None:
    voice = world.voice_dm(ALICE)
    keyboard = await world.bot_reply(voice)
    for kept in (tmp_path / "discord-recordings").glob("*.rec"):
        kept.unlink()  # swept, or this process runs on another host
    press = world.press(f"g:synth:5:{voice['id']}", keyboard, ALICE, guild=False)
    world.dispatch(press)
    await clip_for(world, press)
    assert world.fake.requests_to("GET", rf"/channels/{voice['channel_id']}/messages/{voice['id']}")

    gone = world.voice_dm(ALICE)
    keyboard = await world.bot_reply(gone)
    for kept in (tmp_path / "discord-recordings").glob("*.rec"):
        kept.unlink()
    world.fake.deleted_message_ids.add(int(gone["id"]))  # they deleted it too
    press = world.press(f"g:bass:5:{gone['id']}", keyboard, ALICE, guild=False)
    world.dispatch(press)
    answer = await world.webhook(press)
    assert answer.json["content"] == "I can't find that recording any more. Please send it again."
    await world.idle()
    assert await world.available(ALICE) == 9  # only the first clip
    assert await world.audit() == []
    world.assert_no_errors()


async def test_a_too_big_recording_is_refused_when_it_arrives_without_downloading_it(world: World) -> None:
    channel = world.fake.dm_channel_id(ALICE)
    voice = world.fake.add_voice_message(channel, ALICE, HUM)
    voice["attachments"][0]["size"] = 25 * 1024 * 1024
    world.send(voice)
    answer = await world.bot_reply(voice)
    assert answer["content"] == "That file is too big (26.2 MB); the limit is 20 MB."
    assert answer["components"] == []
    assert world.fake.requests_to("GET", r"/attachments/.*") == []
    assert await world.app.ledger.find_person(identity(ALICE).key) is None
    world.assert_no_errors()


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (garbage_bytes(), "voice.ogg", "That file isn't audio I can read"),
        (b"\x00" * 10, "empty.mp3", "That file isn't audio I can read"),
    ],
)
async def test_an_unreadable_recording_is_refused_on_the_press_before_any_credit_is_held(
    world: World, data: bytes, filename: str, expected: str
) -> None:
    channel = world.fake.dm_channel_id(ALICE)
    attachment = world.fake.add_attachment(data, filename, channel_id=channel, ephemeral=False)
    sent = world.fake.add_message(channel, ALICE, attachments=[attachment])
    world.send(sent)
    keyboard = await world.bot_reply(sent)
    press = world.press(custom_ids(keyboard)[0], keyboard, ALICE, guild=False)
    world.dispatch(press)
    assert (await world.webhook(press)).json["content"].startswith(expected)
    await nothing_held(world)
    world.assert_no_errors()


async def test_other_dms_get_how_it_works_and_bots_are_ignored(world: World) -> None:
    channel = world.fake.dm_channel_id(ALICE)
    text = world.fake.add_message(channel, ALICE, content="hello?")
    picture = world.fake.add_message(
        channel, ALICE, attachments=[world.fake.add_attachment(png_bytes(), "cover.png", channel_id=channel)]
    )
    for message in (text, picture):
        world.send(message)
        answer = await world.bot_reply(message)
        assert answer["content"].startswith("Send me a voice message or an audio file")

    robot = {**BOB, "id": "72000000000000077", "bot": True}
    world.send(world.fake.add_voice_message(world.fake.dm_channel_id(robot), robot, HUM))
    own = world.fake.add_message(channel, world.fake.bot_user, content="Pick a style")
    world.send(own)
    await world.bot_reply(world.voice_dm(ALICE))  # answered in order: the two before were not
    replies = [r for r in world.fake.requests_to("POST", r"/channels/\d+/messages")]
    assert len(replies) == 3
    world.assert_no_errors()


async def test_make_music_from_this_on_a_server_message_offers_the_buttons_privately(world: World) -> None:
    attachment = world.fake.add_attachment(HUM, "melody.ogg", channel_id=CHANNEL, ephemeral=False)
    posted = world.fake.add_message(CHANNEL, BOB, content="my tune", attachments=[attachment], guild_id=GUILD)
    menu = world.harness.message_command(MENU, posted, user=ALICE, guild_id=GUILD, channel_id=CHANNEL)
    world.dispatch(menu)
    offer = await world.webhook(menu)
    assert int(offer.response["flags"]) & FLAG_EPHEMERAL  # only Alice sees her credits and buttons
    assert "You have 10 credits." in offer.json["content"]
    assert f"g:strings:15:{posted['id']}" in custom_ids(offer.json)

    press = world.press(f"g:strings:15:{posted['id']}", offer.response, ALICE)
    world.dispatch(press)
    await clip_for(world, press)
    await world.status_text(press, "−3 credits · 7 left")
    assert await world.available(ALICE) == 7 and await world.available(BOB) == 10  # the presser pays

    bare = world.fake.add_message(CHANNEL, BOB, content="no audio here", guild_id=GUILD)
    refused = world.harness.message_command(MENU, bare, user=ALICE, guild_id=GUILD, channel_id=CHANNEL)
    world.dispatch(refused)
    answer = (await world.callback(refused)).json["data"]
    assert answer["content"] == "That message has no voice message or audio file to make music from."
    assert answer["flags"] == FLAG_EPHEMERAL
    assert await world.audit() == []
    world.assert_no_errors()


async def test_the_context_menu_is_synced_and_no_privileged_intent_is_asked_for(world: World) -> None:
    await world.bot.tree.sync()
    menu = next(c for c in world.fake.global_commands if c["name"] == MENU)
    assert menu["type"] == 3  # a message command
    intents = world.bot.intents
    assert intents.dm_messages and intents.guilds
    assert not (intents.message_content or intents.members or intents.presences or intents.guild_messages)
