"""The fake Discord + harness, proven with a tiny demo bot built on the real discord.py.

The demo bot is defined here (not product code): a slash command that defers, downloads its
attachment, edits the original response and follows up with a file and a persistent
DynamicItem button; an admin-only command; a command usable in DMs and guilds; a subcommand;
an autocomplete; a slow command (to script token expiry) and one that DMs the user.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.app_commands import Choice
from discord.http import Route

from tests.fakes.discord_fake import FLAG_EPHEMERAL, FLAG_LOADING, user_payload
from tests.fakes.discord_harness import (
    MANAGER_PERMISSIONS,
    MEMBER_PERMISSIONS,
    DiscordHarness,
    attachment_option,
    fake_discord,
    measure_ack_latency,
    member_payload,
    option,
    subcommand,
    user_option,
)

GUILD_ID = 81_000_000_000_000_001
CHANNEL_ID = 81_000_000_000_000_002
STYLES = ["piano", "guitar", "strings", "synthwave"]
HUM = b"OggS fake opus bytes " * 8


# ---------------------------------------------------------------------------------------------
# The demo bot


class AgainButton(discord.ui.DynamicItem[discord.ui.Button], template=r"demo:again:(?P<job>\w+)"):
    """'Again' under a delivered clip; the job id is in the custom_id, so it survives restarts."""

    def __init__(self, job: str) -> None:
        super().__init__(
            discord.ui.Button(label="Again", style=discord.ButtonStyle.primary, custom_id=f"demo:again:{job}")
        )
        self.job = job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> AgainButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast(DemoBot, interaction.client)
        await interaction.response.send_message(f"again {self.job} (handled by {bot.instance})", ephemeral=True)


class CancelButton(discord.ui.DynamicItem[discord.ui.Button], template=r"demo:cancel:(?P<job>\w+)"):
    """'Cancel' acknowledges silently (deferred update), then edits the message it sits on."""

    def __init__(self, job: str) -> None:
        super().__init__(
            discord.ui.Button(label="Cancel", style=discord.ButtonStyle.danger, custom_id=f"demo:cancel:{job}")
        )
        self.job = job

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> CancelButton:
        return cls(match["job"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content=f"Canceled {self.job}", view=None)


class DemoBot(discord.Client):
    def __init__(self, instance: str) -> None:
        super().__init__(intents=discord.Intents.default())
        self.instance = instance
        self.tree = app_commands.CommandTree(self)
        self.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.gifts: list[tuple[int, int]] = []
        self.followup_errors: list[discord.HTTPException] = []
        self.gate = asyncio.Event()  # /slow waits on it
        _add_demo_commands(self.tree)

    async def setup_hook(self) -> None:
        # Registered at start-up: buttons sent by an earlier process keep working.
        self.add_dynamic_items(AgainButton, CancelButton)

    async def on_app_command_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            await interaction.response.send_message("You need the Manage Server permission.", ephemeral=True)
            return
        await app_commands.CommandTree.on_error(self.tree, interaction, error)  # logs it


def _add_demo_commands(tree: app_commands.CommandTree[DemoBot]) -> None:
    @tree.command()
    @app_commands.describe(audio="A short hummed clip", style="Instrument or style", length="Clip length in seconds")
    @app_commands.choices(
        style=[Choice(name=s.title(), value=s) for s in STYLES[:2]],
        length=[Choice(name=f"{n} s", value=n) for n in (5, 10, 15, 30)],
    )
    async def hum(
        interaction: discord.Interaction,
        audio: discord.Attachment,
        style: Choice[str],
        length: Choice[int],
    ) -> None:
        """Turn a hummed clip into music."""
        await interaction.response.defer(thinking=True)
        data = await audio.read()  # at once: Discord's attachment links expire
        job = f"j{interaction.id}"
        await interaction.edit_original_response(
            content=f"Generating {length.value} s of {style.value} from {len(data)} bytes"
        )
        view = discord.ui.View(timeout=None)
        view.add_item(AgainButton(job))
        view.add_item(CancelButton(job))
        clip = discord.File(io.BytesIO(data[::-1] * 2), filename=f"{job}.mp3")
        try:
            await interaction.followup.send(f"Here is your clip ({job})", file=clip, view=view)
        except discord.HTTPException as exc:
            if exc.code != 40005:  # too large for this interaction's upload limit
                raise
            await interaction.followup.send(f"Your clip is too large to upload: https://example.invalid/{job}.mp3")

    @tree.command()
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)  # hides it in Discord's UI only...
    @app_commands.checks.has_permissions(manage_guild=True)  # ...so check again in code
    @app_commands.describe(member="Who receives the credits", amount="How many credits")
    async def gift(
        interaction: discord.Interaction,
        member: discord.Member,
        amount: app_commands.Range[int, 1, 1000],
    ) -> None:
        """Gift credits from the server wallet."""
        cast(DemoBot, interaction.client).gifts.append((member.id, amount))
        await interaction.response.send_message(f"Gifted {amount} credits to {member.mention}", ephemeral=True)

    @tree.command()
    async def whoami(interaction: discord.Interaction) -> None:
        """Show who and where you are."""
        where = f"guild {interaction.guild_id}" if interaction.guild_id else "DM"
        await interaction.response.send_message(
            f"{interaction.user.id} in {where} ({interaction.locale.value})", ephemeral=True
        )

    wallet = app_commands.Group(name="wallet", description="Your credits")

    @wallet.command(name="show")
    @app_commands.describe(private="Only you can see the answer")
    async def wallet_show(interaction: discord.Interaction, private: bool = True) -> None:
        """Show your balance."""
        await interaction.response.send_message("You have 10 credits", ephemeral=private)

    tree.add_command(wallet)

    async def style_names(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        return [Choice(name=s, value=s) for s in STYLES if current.lower() in s][:25]

    @tree.command()
    @app_commands.autocomplete(name=style_names)
    async def style(interaction: discord.Interaction, name: str) -> None:
        """Pick a style by name."""
        await interaction.response.send_message(f"style {name}", ephemeral=True)

    @tree.command()
    async def slow(interaction: discord.Interaction) -> None:
        """Defer, wait for the test's signal, then follow up."""
        bot = cast(DemoBot, interaction.client)
        await interaction.response.defer(ephemeral=True)
        await bot.gate.wait()
        try:
            await interaction.followup.send("done")
        except discord.HTTPException as exc:
            bot.followup_errors.append(exc)
            if exc.code != 50027:  # the 15-minute follow-up window is over
                raise
            channel = cast(discord.abc.Messageable, interaction.channel)
            await channel.send(f"{interaction.user.mention} done (posted here: the reply expired)")

    @tree.command(name="dm-me")
    async def dm_me(interaction: discord.Interaction) -> None:
        """Send you a direct message."""
        await interaction.response.send_message("Check your DMs", ephemeral=True)
        await interaction.user.send("hello from the bot")


# ---------------------------------------------------------------------------------------------
# Fixtures and helpers


@pytest.fixture
async def harness() -> AsyncIterator[DiscordHarness]:
    async with fake_discord() as h:
        yield h


@pytest.fixture
async def bot(harness: DiscordHarness) -> DemoBot:
    return cast(DemoBot, await harness.login(DemoBot("first")))


ALICE = user_payload(71_000_000_000_000_001, "alice")
BOB = user_payload(71_000_000_000_000_002, "bob")


def callback_of(payload: dict[str, Any]) -> Any:
    token = payload["token"]
    return lambda r: r.route.startswith("/interactions/") and r.route.split("/")[3] == token


def webhook_of(payload: dict[str, Any], method: str = "POST") -> Any:
    token = payload["token"]
    return lambda r: r.method == method and r.route.startswith("/webhooks/") and r.route.split("/")[3] == token


def hum_payload(harness: DiscordHarness, *, audio: bytes = HUM, **kwargs: Any) -> dict[str, Any]:
    attachment = harness.fake.add_attachment(audio, "hum.ogg", duration_secs=2.5)
    return harness.slash_command(
        "hum",
        [attachment_option("audio", attachment), option("style", "piano"), option("length", 10)],
        user=ALICE,
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        attachments=[attachment],
        **kwargs,
    )


def custom_ids(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


# ---------------------------------------------------------------------------------------------
# Tests


async def test_fake_answers_json_with_exact_content_type_and_checks_the_bot_token(
    harness: DiscordHarness,
) -> None:
    fake = harness.fake
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.api_base}/users/@me", headers={"Authorization": f"Bot {fake.token}"}) as ok:
            assert ok.headers["Content-Type"] == "application/json"
            assert (await ok.json())["id"] == str(fake.application_id)
        async with session.get(f"{fake.api_base}/users/@me", headers={"Authorization": "Bot wrong"}) as denied:
            assert denied.status == 401
        async with session.get(f"{fake.api_base}/no/such/route") as unknown:
            assert unknown.status == 200 and await unknown.json() == {}
    assert [r.route for r in fake.requests][-1] == "/no/such/route"


async def test_login_uses_the_fake_and_close_restores_route_base() -> None:
    original = Route.BASE
    async with fake_discord() as harness:
        assert Route.BASE == harness.fake.api_base
        bot = cast(DemoBot, await harness.login(DemoBot("first")))
        assert bot.user is not None and bot.user.id == harness.fake.application_id
        assert bot.application_id == harness.fake.application_id
        seen = {r.route for r in harness.fake.requests}
        assert {"/users/@me", "/oauth2/applications/@me"} <= seen
        with pytest.raises(RuntimeError, match="only one harness"):
            DiscordHarness(harness.fake)
    assert Route.BASE == original


async def test_slash_command_defers_reads_attachment_edits_and_follows_up_with_file_and_button(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = hum_payload(harness)
    harness.dispatch(bot, payload)

    followup = await harness.fake.wait_for(webhook_of(payload))
    job = f"j{payload['id']}"

    defer = harness.fake.callbacks_for(payload["token"])[0]
    assert defer.json == {"type": 5}
    download = harness.fake.requests_to("GET", r"/attachments/.*")
    assert len(download) == 1 and download[0].status == 200
    edit = harness.fake.requests_to("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")[0]
    assert edit.json["content"] == f"Generating 10 s of piano from {len(HUM)} bytes"

    assert followup.status == 200 and followup.is_multipart
    assert followup.files[0].filename == f"{job}.mp3"
    assert followup.files[0].data == HUM[::-1] * 2
    message = followup.response
    assert message["content"] == f"Here is your clip ({job})"
    assert custom_ids(message) == [f"demo:again:{job}", f"demo:cancel:{job}"]
    # The clip is served by the fake like any attachment, and the original is no longer loading.
    assert harness.fake.file_bytes(message["attachments"][0]["url"]) == HUM[::-1] * 2
    original = harness.fake.original_message(payload["token"])
    assert original is not None and not int(original["flags"]) & FLAG_LOADING
    harness.assert_no_errors()


async def test_again_button_still_works_after_a_restart(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = hum_payload(harness)
    harness.dispatch(bot, payload)
    message = (await harness.fake.wait_for(webhook_of(payload))).response
    custom_id = custom_ids(message)[0]

    await harness.close_client(bot)  # the process goes away...
    restarted = cast(DemoBot, await harness.login(DemoBot("second")))  # ...a new one starts

    press = harness.component_interaction(
        custom_id, harness.fake.messages[int(message["id"])], user=ALICE, guild_id=GUILD_ID
    )
    harness.dispatch(restarted, press)
    answer = await harness.fake.wait_for(callback_of(press))

    assert answer.status == 200
    assert answer.json["type"] == 4
    assert answer.json["data"]["content"] == f"again j{payload['id']} (handled by second)"
    assert answer.json["data"]["flags"] == FLAG_EPHEMERAL
    harness.assert_no_errors()


async def test_cancel_button_defers_and_edits_the_message_it_is_on(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = hum_payload(harness)
    harness.dispatch(bot, payload)
    message = (await harness.fake.wait_for(webhook_of(payload))).response

    press = harness.component_interaction(custom_ids(message)[1], message, user=ALICE, guild_id=GUILD_ID)
    harness.dispatch(bot, press)
    edit = await harness.fake.wait_for(webhook_of(press, "PATCH"))

    assert harness.fake.callbacks_for(press["token"])[0].json == {"type": 6}
    assert edit.route.endswith("/messages/@original") and edit.status == 200
    stored = harness.fake.messages[int(message["id"])]  # '@original' is the button's message
    assert stored["content"] == f"Canceled j{payload['id']}"
    assert stored["components"] == []
    assert stored["attachments"] == message["attachments"]  # the clip stays
    harness.assert_no_errors()


async def test_channel_messages_upload_edit_and_download_through_discord_py(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    alice = await bot.fetch_user(int(ALICE["id"]))
    sent = await alice.send("your clip", file=discord.File(io.BytesIO(b"ID3 mp3"), "clip.mp3"))
    edited = await sent.edit(content="your clip (edited)")

    assert isinstance(sent.channel, discord.DMChannel)
    assert sent.author.id == harness.fake.application_id
    assert edited.content == "your clip (edited)" and edited.edited_at is not None
    assert await edited.attachments[0].read() == b"ID3 mp3"
    upload = harness.fake.requests_to("POST", r"/channels/\d+/messages")[0]
    assert upload.files[0].filename == "clip.mp3" and upload.json["content"] == "your clip"
    harness.assert_no_errors()


async def test_admin_command_rejects_a_member_without_manage_server_even_if_sent_directly(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    target = member_payload(BOB)
    options = [user_option("member", target), option("amount", 50)]
    plain = harness.slash_command(
        "gift",
        options,
        user=ALICE,
        guild_id=GUILD_ID,
        permissions=MEMBER_PERMISSIONS,
        users=[target],
    )
    harness.dispatch(bot, plain)
    refused = await harness.fake.wait_for(callback_of(plain))
    assert refused.json["data"]["content"] == "You need the Manage Server permission."
    assert bot.gifts == []

    admin = harness.slash_command(
        "gift",
        options,
        user=ALICE,
        guild_id=GUILD_ID,
        permissions=MANAGER_PERMISSIONS,
        users=[target],
    )
    harness.dispatch(bot, admin)
    granted = await harness.fake.wait_for(callback_of(admin))
    assert granted.json["data"]["content"] == f"Gifted 50 credits to <@{BOB['id']}>"
    assert bot.gifts == [(int(BOB["id"]), 50)]
    harness.assert_no_errors()


async def test_the_same_command_answers_in_a_dm_and_in_a_guild(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    in_dm = harness.slash_command("whoami", user=ALICE, locale="de")
    in_guild = harness.slash_command("whoami", user=ALICE, guild_id=GUILD_ID)
    harness.dispatch(bot, in_dm)
    harness.dispatch(bot, in_guild)

    dm_reply = await harness.fake.wait_for(callback_of(in_dm))
    guild_reply = await harness.fake.wait_for(callback_of(in_guild))
    assert dm_reply.json["data"]["content"] == f"{ALICE['id']} in DM (de)"
    assert guild_reply.json["data"]["content"] == f"{ALICE['id']} in guild {GUILD_ID} (en-US)"
    assert "member" in in_guild and "user" in in_dm and in_dm["context"] == 1
    harness.assert_no_errors()


async def test_subcommands_and_autocomplete_reach_their_handlers(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    show = harness.slash_command(
        "wallet", [subcommand("show", [option("private", False)])], user=ALICE, guild_id=GUILD_ID
    )
    complete = harness.autocomplete("style", [option("name", "s", focused=True)], user=ALICE)
    harness.dispatch(bot, show)
    harness.dispatch(bot, complete)

    shown = await harness.fake.wait_for(callback_of(show))
    assert shown.json["data"]["content"] == "You have 10 credits"
    assert not shown.json["data"].get("flags", 0) & FLAG_EPHEMERAL  # private=False was honoured
    choices = (await harness.fake.wait_for(callback_of(complete))).json
    assert choices["type"] == 8
    assert [c["value"] for c in choices["data"]["choices"]] == ["strings", "synthwave"]
    harness.assert_no_errors()


async def test_synced_commands_carry_descriptions_choices_and_default_permissions(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    await bot.tree.sync()
    fake = harness.fake

    hum = fake.command("hum")
    assert hum["description"] == "Turn a hummed clip into music."
    opts = {o["name"]: o for o in hum["options"]}
    assert opts["audio"]["type"] == 11 and opts["audio"]["description"] == "A short hummed clip"
    assert opts["length"]["choices"] == [{"name": f"{n} s", "value": n} for n in (5, 10, 15, 30)]
    assert [c["value"] for c in opts["style"]["choices"]] == ["piano", "guitar"]

    gift = fake.command("gift")
    assert gift["default_member_permissions"] == "32"  # Manage Server, as Discord stores it
    assert gift["contexts"] == [0]
    amount = next(o for o in gift["options"] if o["name"] == "amount")
    assert (amount["min_value"], amount["max_value"]) == (1, 1000)
    assert fake.command("wallet")["options"][0]["type"] == 1
    assert fake.command("style")["options"][0]["autocomplete"] is True

    fetched = {c.name: c for c in await bot.tree.fetch_commands()}  # parsed back by discord.py
    assert set(fetched) == {"hum", "gift", "whoami", "wallet", "style", "slow", "dm-me"}
    assert fetched["gift"].default_member_permissions == discord.Permissions(manage_guild=True)


async def test_first_followup_after_a_defer_fills_the_loading_message(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = harness.slash_command("slow", user=ALICE, guild_id=GUILD_ID)
    harness.dispatch(bot, payload)
    defer = await harness.fake.wait_for(callback_of(payload))
    loading = harness.fake.original_message(payload["token"])
    assert defer.json == {"type": 5, "data": {"flags": FLAG_EPHEMERAL}}
    assert loading is not None and int(loading["flags"]) == FLAG_LOADING | FLAG_EPHEMERAL

    bot.gate.set()
    followup = await harness.fake.wait_for(webhook_of(payload))
    assert followup.response["id"] == loading["id"]  # the same message, now filled in
    assert followup.response["content"] == "done"
    assert int(followup.response["flags"]) == FLAG_EPHEMERAL
    harness.assert_no_errors()


async def test_expired_token_fails_the_followup_and_the_bot_posts_to_the_channel(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = harness.slash_command("slow", user=ALICE, guild_id=GUILD_ID, channel_id=CHANNEL_ID)
    harness.dispatch(bot, payload)
    await harness.fake.wait_for(callback_of(payload))

    harness.fake.expire_interaction(payload["token"])
    bot.gate.set()
    rejected = await harness.fake.wait_for(webhook_of(payload))
    posted = await harness.fake.wait_for(lambda r: r.is_("POST", rf"/channels/{CHANNEL_ID}/messages"))

    assert rejected.status == 401 and rejected.response["code"] == 50027
    assert [e.code for e in bot.followup_errors] == [50027]
    assert posted.status == 200
    assert posted.json["content"] == f"<@{ALICE['id']}> done (posted here: the reply expired)"
    harness.assert_no_errors()


async def test_expired_interaction_callback_is_unknown_interaction(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = harness.slash_command("whoami", user=ALICE)
    harness.fake.register_interaction(payload)
    harness.fake.expire_interaction(payload["token"])
    harness.dispatch(bot, payload)

    answer = await harness.fake.wait_for(callback_of(payload))
    assert answer.status == 404 and answer.response == {
        "message": "Unknown interaction",
        "code": 10062,
    }
    logged = await harness.errors.wait()  # the bot did not handle it, so discord.py logged it
    assert logged.exc_info is not None
    assert isinstance(logged.exc_info[1], app_commands.CommandInvokeError)
    assert isinstance(logged.exc_info[1].original, discord.NotFound)
    assert logged.exc_info[1].original.code == 10062


async def test_upload_over_the_interaction_limit_is_413_and_the_bot_falls_back_to_a_link(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    payload = hum_payload(harness, attachment_size_limit=len(HUM))  # the clip is 2x the hum
    harness.dispatch(bot, payload)

    too_big = await harness.fake.wait_for(lambda r: webhook_of(payload)(r) and r.status == 413)
    fallback = await harness.fake.wait_for(lambda r: webhook_of(payload)(r) and r.status == 200)

    assert too_big.response == {"message": "Request entity too large", "code": 40005}
    assert fallback.json["content"].startswith("Your clip is too large to upload: https://")
    harness.assert_no_errors()


async def test_a_429_is_retried_after_retry_after_by_discord_py(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    harness.fake.rate_limit("POST", r"/channels/\d+/messages", retry_after=0.05)
    payload = harness.slash_command("dm-me", user=ALICE, guild_id=GUILD_ID)
    harness.dispatch(bot, payload)

    sent = await harness.fake.wait_for(lambda r: r.is_("POST", r"/channels/\d+/messages") and r.status == 200)
    attempts = harness.fake.requests_to("POST", r"/channels/\d+/messages")
    assert [r.status for r in attempts] == [429, 200]
    assert attempts[0].response["retry_after"] == 0.05
    dm_channel = harness.fake.dm_channels[int(ALICE["id"])]
    assert sent.route == f"/channels/{dm_channel['id']}/messages"
    assert sent.json["content"] == "hello from the bot"
    harness.assert_no_errors()


async def test_a_second_acknowledgement_of_one_interaction_is_refused(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    # As when two bot processes both receive the same interaction.
    payload = harness.slash_command("whoami", user=ALICE)
    harness.dispatch(bot, payload)
    harness.dispatch(bot, payload)

    await harness.fake.wait_until(lambda: len(harness.fake.callbacks_for(payload["token"])) == 2)
    statuses = sorted(r.status for r in harness.fake.callbacks_for(payload["token"]))
    assert statuses == [200, 400]
    refused = next(r for r in harness.fake.callbacks_for(payload["token"]) if r.status == 400)
    assert refused.response["code"] == 40060


async def test_two_hundred_concurrent_slash_commands_are_all_acknowledged(
    harness: DiscordHarness,
    bot: DemoBot,
) -> None:
    stats = await measure_ack_latency(
        harness,
        bot,
        lambda i: harness.slash_command("whoami", user=ALICE, guild_id=GUILD_ID),
        count=200,
    )
    print(f"\nfake Discord + discord.py: {stats}")
    callbacks = [r for r in harness.fake.requests if r.route.endswith("/callback")]
    assert len(callbacks) == 200 and all(r.status == 200 for r in callbacks)
    harness.assert_no_errors()
