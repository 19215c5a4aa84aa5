"""Sharding: DISCORD_SHARD_COUNT and DISCORD_SHARD_IDS are read and checked at start (one clear
line per problem), and the Discord platform builds the real discord.py client for exactly those
shards: none set → one plain connection, as before; one shard → a plain client for that shard;
several (or a count alone) → an `AutoShardedClient`."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord.http import Route

from adapters.discord.client import MusicBot, ShardedMusicBot
from adapters.discord.platform import DiscordPlatform
from bot.bootstrap import App, build_app
from bot.config import ConfigError, load_settings
from tests.fakes.discord_fake import FakeDiscordAPI
from tests.fakes.discord_harness import fake_gateway


@pytest.fixture(autouse=True)
def no_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # keep a developer's .env out of these tests


def settings(tmp_path, database_url: str, **values):
    return load_settings(
        _env_file=None,
        database_url=database_url,
        data_dir=str(tmp_path),
        discord_bot_token="fake-bot-token",
        telegram_bot_token=None,
        **values,
    )


def problems(**values) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, **values)
    return raised.value.problems


def test_shards_are_read_from_the_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "4")
    monkeypatch.setenv("DISCORD_SHARD_IDS", " 2, 3 ")
    loaded = load_settings()
    assert (loaded.discord_shard_count, loaded.discord_shard_ids) == (4, (2, 3))


def test_unset_or_empty_shard_settings_mean_no_sharding(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "")
    monkeypatch.setenv("DISCORD_SHARD_IDS", "")
    loaded = load_settings()
    assert loaded.discord_shard_count is None and loaded.discord_shard_ids is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"discord_shard_count": 2, "discord_shard_ids": "0,2"},
            "DISCORD_SHARD_IDS: shard 2 is not below DISCORD_SHARD_COUNT (2): shards are 0 to 1",
        ),
        (
            {"discord_shard_ids": "1"},
            "DISCORD_SHARD_IDS: set DISCORD_SHARD_COUNT too (the total number of shards of every process)",
        ),
        (
            {"discord_shard_count": 4, "discord_shard_ids": "1,one"},
            "DISCORD_SHARD_IDS: 'one' is not a shard number (whole numbers from 0, e.g. 0,1)",
        ),
        (
            {"discord_shard_count": 4, "discord_shard_ids": "-1"},
            "DISCORD_SHARD_IDS: '-1' is not a shard number (whole numbers from 0, e.g. 0,1)",
        ),
        ({"discord_shard_count": 4, "discord_shard_ids": "1,1"}, "DISCORD_SHARD_IDS: a shard is listed twice"),
    ],
)
def test_wrong_shard_ids_give_one_clear_line(values, expected) -> None:
    assert problems(**values) == [expected]


def test_a_wrong_count_is_reported_once_not_again_for_the_ids() -> None:
    found = problems(discord_shard_count=0, discord_shard_ids="0")
    assert len(found) == 1 and found[0].startswith("DISCORD_SHARD_COUNT:")


def discord_of(app: App) -> DiscordPlatform:
    platform = app.platforms.get("discord")
    assert isinstance(platform, DiscordPlatform)
    return platform


async def platform_for(sqlite_url, tmp_path, **values) -> tuple[DiscordPlatform, App]:
    app = await build_app(settings(tmp_path, sqlite_url, **values))
    return discord_of(app), app


async def test_no_shard_settings_build_one_plain_connection_as_before(sqlite_url, tmp_path) -> None:
    platform, app = await platform_for(sqlite_url, tmp_path)
    try:
        bot = platform.client
        assert type(bot) is MusicBot and not isinstance(bot, discord.AutoShardedClient)
        assert bot.shard_id is None and bot.shard_count is None
    finally:
        await app.close()


async def test_one_shard_builds_a_plain_client_for_that_shard(sqlite_url, tmp_path) -> None:
    platform, app = await platform_for(sqlite_url, tmp_path, discord_shard_count=4, discord_shard_ids="2")
    try:
        bot = platform.client
        assert type(bot) is MusicBot
        assert (bot.shard_id, bot.shard_count) == (2, 4)
    finally:
        await app.close()


async def test_several_shards_build_an_auto_sharded_client_for_just_those(sqlite_url, tmp_path) -> None:
    platform, app = await platform_for(sqlite_url, tmp_path, discord_shard_count=4, discord_shard_ids="1,3")
    try:
        bot = platform.client
        assert isinstance(bot, ShardedMusicBot) and isinstance(bot, discord.AutoShardedClient)
        assert isinstance(bot, MusicBot)  # the same commands and buttons
        assert (bot.shard_count, bot.shard_ids) == (4, [1, 3])
        assert bot.tree.get_command("generate") is not None
    finally:
        await app.close()


async def test_a_count_alone_runs_every_shard_in_this_process(sqlite_url, tmp_path) -> None:
    platform, app = await platform_for(sqlite_url, tmp_path, discord_shard_count=3)
    try:
        bot = platform.client
        assert isinstance(bot, discord.AutoShardedClient)
        assert (bot.shard_count, bot.shard_ids) == (3, None)  # discord.py launches 0, 1 and 2
    finally:
        await app.close()


async def test_a_sharded_bot_logs_in_and_stops(sqlite_url, tmp_path) -> None:
    original = Route.BASE
    async with FakeDiscordAPI() as fake:
        app = await build_app(
            settings(
                tmp_path,
                sqlite_url,
                discord_api_base_url=fake.api_base,
                discord_shard_count=2,
                discord_shard_ids="0,1",
            )
        )
        platform = discord_of(app)
        try:
            Route.BASE = fake.api_base
            await platform.client.login(fake.token)  # REST only: setup_hook registers the buttons
            assert platform.client.user is not None and platform.client.user.id == fake.application_id
            assert platform.jobs._ready.is_set()
            await platform.stop()
            assert platform.client.is_closed()
        finally:
            await app.close()
            Route.BASE = original


def guild_on_shard(shard: int, count: int, n: int = 1) -> int:
    """A server id Discord routes to `shard`: `(id >> 22) % count == shard`."""
    return ((1_000_000 * count + shard) << 22) | n


async def test_a_process_running_shard_1_of_2_identifies_as_it_and_gets_only_its_server(sqlite_url, tmp_path) -> None:
    original = Route.BASE
    async with FakeDiscordAPI() as fake:
        fake.add_guild(guild_on_shard(0, 2), "on shard 0")
        mine = fake.add_guild(guild_on_shard(1, 2), "on shard 1")
        values = dict(discord_api_base_url=fake.api_base, discord_shard_count=2, discord_shard_ids="1")
        app = await build_app(settings(tmp_path, sqlite_url, **values))
        platform = discord_of(app)
        try:
            with fake_gateway(fake):
                await platform.start()
                await asyncio.wait_for(platform.client.wait_until_ready(), 20)
            [identify] = fake.identifies
            assert identify["shard"] == [1, 2]
            assert identify["intents"] == platform.client.intents.value  # guilds + DMs, nothing privileged
            assert [g.name for g in platform.client.guilds] == ["on shard 1"]
            assert platform.client.get_guild(int(mine["id"])) is not None
        finally:
            await platform.stop()
            await app.close()
            Route.BASE = original
