"""A stop on Discord: once it begins the bot takes nothing new (the gateway connection is closed,
and an interaction read off it just before is left unanswered: no hold, no job), while the one
already being handled finishes over REST. The real app and discord.py client, connected to the
fake Discord's websocket gateway."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.platform import DiscordPlatform
from bot.bootstrap import build_app
from tests.e2e.discord_kit import ALICE, BOB, HUM, identity, settings_for
from tests.fakes.discord_fake import FakeDiscordAPI
from tests.fakes.discord_harness import attachment_option, dispatch_interaction, option, slash_command
from tests.integration.jobs_harness import wait_until


def generate(fake: FakeDiscordAPI, user: dict[str, Any]) -> dict[str, Any]:
    """`/generate` in the user's DM with the bot, its recording on the fake's CDN."""
    attachment = fake.add_attachment(HUM, "hum.ogg", duration_secs=2.0)
    options = [attachment_option("audio", attachment), option("style", "warm piano"), option("length", 10)]
    payload = slash_command(
        "generate", options, user=user, application_id=fake.application_id, attachments=[attachment]
    )
    fake.register_interaction(payload)
    return payload


def answered(fake: FakeDiscordAPI, payload: dict[str, Any]) -> list[Any]:
    token = payload["token"]
    return [r for r in fake.requests if token in r.route]


@pytest.fixture
async def fake() -> Any:
    original = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    async with FakeDiscordAPI() as server:
        yield server
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = original


async def test_once_the_stop_began_no_new_interaction_is_taken_and_the_one_in_flight_finishes(
    sqlite_url, tmp_path, fake, caplog
):
    caplog.set_level(logging.INFO, logger="adapters.discord.platform")
    app = await build_app(settings_for(sqlite_url, tmp_path, None, discord_api_base_url=fake.api_base))
    platform = app.platforms.get("discord")
    assert isinstance(platform, DiscordPlatform)
    try:
        await platform.start()
        await platform.client.wait_until_ready()  # the gateway said READY
        slow_cdn = fake.hold("GET", r"/attachments/.+")

        in_flight = generate(fake, ALICE)
        assert await fake.send_dispatch("INTERACTION_CREATE", in_flight) == 1
        await slow_cdn.arrived.wait()  # acknowledged, its recording downloading

        await platform.stop_receiving()  # SIGTERM: the app's stop begins here
        await fake.wait_until(lambda: fake.gateway_connections == 0)  # Discord sends us nothing more
        late = generate(fake, BOB)  # read off the connection just before it closed
        dispatch_interaction(platform.client, late)
        await wait_until(
            lambda: any(f"interaction {late['id']} left unanswered" in r.getMessage() for r in caplog.records)
        )

        slow_cdn.release.set()
        await fake.wait_for(lambda r: r.route.startswith("/webhooks/") and in_flight["token"] in r.route)
        await platform.stop()  # waits for the handlers still running: none by now

        (job,) = await app.generation.recent(identity(ALICE))  # the one in flight: taken
        alice = await app.wallets.balance(identity(ALICE))
        assert alice.balance.held == job.cost > 0
        assert answered(fake, late) == []  # the late one: no answer, nothing downloaded
        downloads = [r for r in fake.requests if r.route.startswith("/attachments/")]
        assert len(downloads) == 1
        assert await app.generation.recent(identity(BOB)) == []
        bob = await app.wallets.balance(identity(BOB))
        assert bob.balance.held == 0
        assert await app.ledger.audit() == []
    finally:
        await platform.stop()
        await app.close()
