"""The whole bot behind a fake Discord: the real `App` (SQLite, the local melody synthesizer,
optionally Stripe against its fake), the real `MusicBot` with its `CommandTree`, logged in to
`FakeDiscordAPI`; interactions arrive as raw INTERACTION_CREATE payloads.

    async with discord_world(sqlite_url, tmp_path) as world:
        payload = world.generate(ALICE, guild=True)
        world.dispatch(payload)
        clip = await world.followup_with_file(payload)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.discord.client import MusicBot
from adapters.discord.platform import DiscordPlatform
from bot.bootstrap import App, build_app
from bot.config import load_settings
from core.domain.identity import Identity
from tests.audio_samples import A4, C5, tone_clip
from tests.fakes.discord_fake import RecordedRequest, user_payload
from tests.fakes.discord_harness import (
    MANAGER_PERMISSIONS,
    MEMBER_PERMISSIONS,
    DiscordHarness,
    attachment_option,
    fake_discord,
    option,
)
from tests.fakes.stripe_fake import FakeStripe

GUILD = 91_000_000_000_000_001
CHANNEL = 91_000_000_000_000_002
ALICE = user_payload(72_000_000_000_000_001, "alice")
BOB = user_payload(72_000_000_000_000_002, "bob")
CAROL = user_payload(72_000_000_000_000_003, "carol")
OPERATOR = user_payload(72_000_000_000_000_009, "operator")
HUM = tone_clip([A4, C5], seconds=2.0, fmt="ogg")


def action(verb: str, owner: dict[str, Any] | None, *args: object) -> str:
    """A button's `custom_id`: the action it carries (`adapters.chat.actions`)."""
    return ":".join([verb, *([str(owner["id"])] if owner else []), *(str(a) for a in args)])


def identity(user: dict[str, Any]) -> Identity:
    return Identity("discord", str(user["id"]))


class LoggedErrors(logging.Handler):
    """ERROR records of our own code (`adapters`, `core`): an unexpected error is answered with a
    reference and logged, so a test that only looked at replies would pass on a crash."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class World:
    app: App
    harness: DiscordHarness
    bot: MusicBot
    tmp_path: Path
    stripe: FakeStripe | None = None
    errors: LoggedErrors = field(default_factory=LoggedErrors)

    @property
    def fake(self) -> Any:
        return self.harness.fake

    # --- payloads ------------------------------------------------------------------------------

    def generate(
        self,
        user: dict[str, Any],
        *,
        guild: bool = True,
        audio: bytes = HUM,
        filename: str = "hum.ogg",
        style: str = "warm solo piano",
        length: int = 10,
        **kwargs: Any,
    ) -> dict[str, Any]:
        attachment = self.fake.add_attachment(audio, filename, duration_secs=2.0)
        return self.command(
            "generate",
            [
                attachment_option("audio", attachment),
                option("style", style),
                option("length", length),
            ],
            user,
            guild=guild,
            attachments=[attachment],
            **kwargs,
        )

    def command(
        self,
        name: str,
        options: list[dict[str, Any]],
        user: dict[str, Any],
        *,
        guild: bool = True,
        admin: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        where: dict[str, Any] = {"guild_id": GUILD, "channel_id": CHANNEL} if guild else {}
        permissions = MANAGER_PERMISSIONS if admin else MEMBER_PERMISSIONS
        return self.harness.slash_command(name, options, user=user, permissions=permissions, **where, **kwargs)

    def press(self, custom_id: str, message: dict[str, Any], user: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        guild = kwargs.pop("guild", True)
        stored = self.fake.messages.get(int(message["id"]), message)
        return self.harness.component_interaction(
            custom_id, stored, user=user, guild_id=GUILD if guild else None, **kwargs
        )

    def dispatch(self, payload: dict[str, Any], bot: MusicBot | None = None) -> None:
        self.harness.dispatch(bot or self.bot, payload)

    # --- messages sent to the bot (MESSAGE_CREATE) ---------------------------------------------

    def voice_dm(self, user: dict[str, Any], audio: bytes = HUM, **kwargs: Any) -> dict[str, Any]:
        """`user` sends the bot a voice message in their DM with it; the gateway delivers it."""
        message = self.fake.add_voice_message(self.fake.dm_channel_id(user), user, audio, **kwargs)
        self.send(message)
        return message

    def send(self, message: dict[str, Any], bot: MusicBot | None = None) -> None:
        self.harness.dispatch_message(bot or self.bot, message)

    async def bot_reply(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message the bot posted in reply to `message` (as the fake stored it)."""
        route = f"/channels/{message['channel_id']}/messages"

        def replies(r: RecordedRequest) -> bool:
            reference = (r.json or {}).get("message_reference") or {}
            return r.method == "POST" and r.route == route and str(reference.get("message_id")) == message["id"]

        return (await self.request(replies)).response  # type: ignore[no-any-return]

    # --- waiting on the fake -------------------------------------------------------------------

    async def request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        return await self.fake.wait_for(predicate, timeout=timeout)

    async def callback(self, payload: dict[str, Any]) -> RecordedRequest:
        token = payload["token"]
        return await self.request(lambda r: r.route.startswith("/interactions/") and r.route.split("/")[3] == token)

    async def webhook(self, payload: dict[str, Any], method: str = "POST", **kw: Any) -> RecordedRequest:
        token = payload["token"]
        return await self.request(
            lambda r: r.method == method and r.route.startswith("/webhooks/") and r.route.split("/")[3] == token,
            **kw,
        )

    async def followup_with_file(self, payload: dict[str, Any]) -> RecordedRequest:
        token = payload["token"]
        return await self.request(
            lambda r: r.method == "POST" and r.route.startswith("/webhooks/") and token in r.route and bool(r.files)
        )

    async def status_text(
        self,
        payload: dict[str, Any],
        contains: str,
        timeout: float = 20.0,  # noqa: ASYNC109
    ) -> dict[str, Any]:
        """Wait until the interaction's original (status) message says `contains`."""
        token = payload["token"]

        def shows() -> bool:
            message = self.fake.original_message(token)
            return message is not None and contains in (message.get("content") or "")

        await self.fake.wait_until(shows, timeout=timeout)
        message = self.fake.original_message(token)
        assert message is not None
        return message

    async def reply_text(self, payload: dict[str, Any]) -> str:
        """The text of a one-shot answer: the callback's message, or the follow-up after a defer."""
        callback = await self.callback(payload)
        if callback.json.get("type") == 4:
            return str(callback.json["data"]["content"])
        followup = await self.webhook(payload)
        return str(followup.json["content"])

    async def idle(self) -> None:
        await self.app.generation.runner.wait_idle()

    # --- checks --------------------------------------------------------------------------------

    async def available(self, user: dict[str, Any]) -> int:
        return (await self.app.wallets.balance(identity(user))).balance.available

    async def audit(self) -> list[str]:
        return await self.app.ledger.audit()

    def assert_no_errors(self) -> None:
        self.harness.assert_no_errors()
        assert not self.errors.records, [r.getMessage() for r in self.errors.records]

    # --- restarts ------------------------------------------------------------------------------

    @property
    def platform(self) -> DiscordPlatform:
        platform = self.app.platforms.get("discord")
        assert isinstance(platform, DiscordPlatform)
        return platform

    async def new_bot(self) -> MusicBot:
        """The app's Discord client, logged in to the fake (REST only: interactions are fed)."""
        return await self.harness.login(self.platform.client)  # type: ignore[return-value]

    async def restart(self) -> None:
        """The process goes away (client and job workers) and a new one starts on the same
        database: the buttons it sent must keep working."""
        await self.harness.close_client(self.bot)
        await self.app.generation.stop(0)  # no grace: jobs in flight stay where they are
        await self.app.close()
        self.app = await build_app(self.app.settings)
        self.bot = await self.new_bot()
        await self.app.generation.start()


def settings_for(database_url: str, tmp_path: Path, stripe: FakeStripe | None, **overrides: Any) -> Any:
    values: dict[str, Any] = dict(
        _env_file=None,  # only what the test says, whatever a developer's .env holds
        database_url=database_url,
        data_dir=str(tmp_path),
        operator_ids=f"discord:{OPERATOR['id']}",
        replicate_api_token=None,
        telegram_bot_token=None,
        discord_bot_token="fake-bot-token",  # FakeDiscordAPI's default token
        poll_interval_seconds=0.05,
        log_level="WARNING",
        public_base_url="http://127.0.0.1:9",  # clips too big to upload are linked from here
    )
    if stripe is not None:
        values.update(
            stripe_secret_key=stripe.api_key,
            stripe_webhook_secret=stripe.webhook_secret,  # selling needs both, and a public URL
            stripe_api_base=stripe.base_url,
            public_base_url="https://bot.example",
        )
    values.update(overrides)
    return load_settings(**values)


@contextlib.asynccontextmanager
async def discord_world(
    database_url: str, tmp_path: Path, *, stripe: bool = False, **overrides: Any
) -> AsyncIterator[World]:
    async with contextlib.AsyncExitStack() as stack:
        fake_stripe = await stack.enter_async_context(FakeStripe()) if stripe else None
        app = await build_app(settings_for(database_url, tmp_path, fake_stripe, **overrides))
        harness = await stack.enter_async_context(fake_discord())
        world = World(app, harness, None, tmp_path, fake_stripe)  # type: ignore[arg-type]
        ours = [logging.getLogger("adapters"), logging.getLogger("core")]
        for logger in ours:
            logger.addHandler(world.errors)
        try:
            world.bot = await world.new_bot()
            await app.generation.start()
            yield world
        finally:
            for logger in ours:
                logger.removeHandler(world.errors)
            await world.app.close()
