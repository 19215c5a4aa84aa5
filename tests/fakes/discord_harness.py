"""Run a real discord.py client against `FakeDiscordAPI`, with no gateway.

The REST side is the fake; this module plays the gateway side:

- `DiscordHarness.login(client)` points discord.py at the fake (`discord.http.Route.BASE`) and
  calls `client.login(token)`, which fetches `/users/@me` and the application and then runs
  `setup_hook` (where persistent views and dynamic items get registered). No websocket.
- `DiscordHarness.dispatch(client, payload)` tells the fake about the interaction, then feeds the
  raw INTERACTION_CREATE payload to the client's parser, exactly as the gateway reader would:
  the real `CommandTree` and view store take it from there.
- The builders (`slash_command`, `component_interaction`, `autocomplete`, ...) make realistic
  gateway payloads, in a guild (with `member` and its permissions string) or in a DM.

`Route.BASE` is a class attribute, i.e. process-global: only one harness (one fake Discord) may be
active at a time, and tests that use it must not run concurrently in one process. The harness
claims it on creation, refuses a second claim, and restores the original on `close()`.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.fakes.discord_fake import (
    DEFAULT_UPLOAD_LIMIT,
    FakeDiscordAPI,
    interaction_token,
    message_object,
    snowflake,
    user_payload,
)

__all__ = [
    "APP_PERMISSIONS",
    "AckStats",
    "DiscordHarness",
    "ErrorRecorder",
    "MANAGER_PERMISSIONS",
    "MEMBER_PERMISSIONS",
    "attachment_option",
    "autocomplete",
    "channel_message",
    "component_interaction",
    "dispatch_interaction",
    "dispatch_message",
    "fake_discord",
    "fake_gateway",
    "measure_ack_latency",
    "member_payload",
    "message_command",
    "option",
    "slash_command",
    "subcommand",
    "subcommand_group",
    "user_option",
    "user_payload",
]

# What @everyone can typically do in a text channel, and the same plus Manage Server.
MEMBER_PERMISSIONS = str(
    discord.Permissions(
        view_channel=True,
        send_messages=True,
        read_message_history=True,
        attach_files=True,
        embed_links=True,
        add_reactions=True,
        use_application_commands=True,
        use_external_emojis=True,
        send_voice_messages=True,
        connect=True,
        speak=True,
    ).value
)
MANAGER_PERMISSIONS = str(int(MEMBER_PERMISSIONS) | discord.Permissions(manage_guild=True).value)
# What the bot itself may do where the interaction happened (`interaction.app_permissions`).
APP_PERMISSIONS = str(
    discord.Permissions(
        view_channel=True,
        send_messages=True,
        attach_files=True,
        embed_links=True,
        read_message_history=True,
        use_external_emojis=True,
    ).value
)

GUILD_INSTALL, USER_INSTALL = "0", "1"
CONTEXT_GUILD, CONTEXT_BOT_DM, CONTEXT_PRIVATE_CHANNEL = 0, 1, 2


# ---------------------------------------------------------------------------------------------
# Route.BASE: one global, so one owner at a time

_ORIGINAL_BASE = Route.BASE
_claimed_by: object | None = None


def _claim_route_base(owner: object, api_base: str) -> None:
    global _claimed_by
    if _claimed_by is not None and _claimed_by is not owner:
        raise RuntimeError(
            "discord.http.Route.BASE is already pointed at another fake Discord; "
            "it is process-global, so only one harness can be active at a time"
        )
    _claimed_by = owner
    Route.BASE = api_base


def _release_route_base(owner: object) -> None:
    global _claimed_by
    if _claimed_by is owner:
        Route.BASE = _ORIGINAL_BASE
        _claimed_by = None


# ---------------------------------------------------------------------------------------------
# Errors that discord.py only logs


class ErrorRecorder(logging.Handler):
    """Collects ERROR records from the `discord` loggers.

    discord.py swallows exceptions raised in commands, views and dynamic items and only logs
    them ("Ignoring exception in ..."); a test that does not look here would pass on a crash.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self._logged.set()

    async def wait(self, timeout: float = 5.0) -> logging.LogRecord:  # noqa: ASYNC109
        """The first error record, waiting for one if none has been logged yet."""
        try:
            async with asyncio.timeout(timeout):
                await self._logged.wait()
        except TimeoutError:
            raise AssertionError(f"discord.py logged no error within {timeout}s") from None
        return self.records[0]

    @property
    def exceptions(self) -> list[BaseException]:
        return [r.exc_info[1] for r in self.records if r.exc_info and r.exc_info[1]]


# ---------------------------------------------------------------------------------------------
# The harness


class DiscordHarness:
    """One fake Discord plus the real clients logged in to it."""

    def __init__(self, fake: FakeDiscordAPI) -> None:
        if not fake.root:
            raise RuntimeError("start the FakeDiscordAPI before building a harness")
        self.fake = fake
        self.clients: list[discord.Client] = []
        self.errors = ErrorRecorder()
        self._logger = logging.getLogger("discord")
        _claim_route_base(self, fake.api_base)
        self._logger.addHandler(self.errors)

    async def login(self, client: discord.Client) -> discord.Client:
        """Log `client` in against the fake (no gateway); `setup_hook` has run on return."""
        try:
            await client.login(self.fake.token)
        except BaseException:
            await client.close()  # login opened an HTTP session; don't leak it
            raise
        self.clients.append(client)
        return client

    # Builders with this fake's application id filled in.
    def slash_command(self, name: str, options: Sequence[dict[str, Any]] = (), **kwargs: Any) -> dict[str, Any]:
        return slash_command(name, options, application_id=self.fake.application_id, **kwargs)

    def autocomplete(self, name: str, options: Sequence[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        return autocomplete(name, options, application_id=self.fake.application_id, **kwargs)

    def component_interaction(self, custom_id: str, message: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return component_interaction(custom_id, message, application_id=self.fake.application_id, **kwargs)

    def message_command(self, name: str, target: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return message_command(name, target, application_id=self.fake.application_id, **kwargs)

    def dispatch_message(self, client: discord.Client, payload: dict[str, Any]) -> None:
        """Deliver a MESSAGE_CREATE (e.g. from `FakeDiscordAPI.add_message`) as the gateway would."""
        dispatch_message(client, payload)

    def dispatch_event(self, client: discord.Client, event: str, payload: dict[str, Any]) -> None:
        """Deliver any gateway dispatch (e.g. ENTITLEMENT_CREATE) to the client's own parser."""
        client._connection.parsers[event](payload)

    def dispatch(self, client: discord.Client, payload: dict[str, Any]) -> None:
        """Deliver an INTERACTION_CREATE to `client` as the gateway would."""
        self.fake.register_interaction(payload)
        dispatch_interaction(client, payload)

    async def close_client(self, client: discord.Client) -> None:
        """Shut a client down (e.g. to simulate a restart), leaving the fake running."""
        await client.close()
        if client in self.clients:
            self.clients.remove(client)

    async def close(self) -> None:
        """Close every client and give `Route.BASE` back."""
        for client in list(self.clients):
            await self.close_client(client)
        self._logger.removeHandler(self.errors)
        _release_route_base(self)

    def assert_no_errors(self) -> None:
        if self.errors.records:
            details = "\n".join(
                f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage() for r in self.errors.records
            )
            raise AssertionError(f"discord.py logged errors:\n{details}")


def dispatch_interaction(client: discord.Client, payload: dict[str, Any]) -> None:
    """Feed a raw gateway INTERACTION_CREATE payload to the client's own parser."""
    client._connection.parsers["INTERACTION_CREATE"](payload)


def dispatch_message(client: discord.Client, payload: dict[str, Any]) -> None:
    """Feed a raw gateway MESSAGE_CREATE payload to the client's own parser."""
    client._connection.parsers["MESSAGE_CREATE"](payload)


@contextmanager
def fake_gateway(fake: FakeDiscordAPI) -> Iterator[None]:
    """Point discord.py's websocket at the fake's gateway while the block runs.

    discord.py connects a client with a known shard count to `DiscordWebSocket.DEFAULT_GATEWAY`
    (a class attribute, like `Route.BASE`) rather than asking `GET /gateway/bot`.
    """
    original = DiscordWebSocket.DEFAULT_GATEWAY
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        DiscordWebSocket.DEFAULT_GATEWAY = original


@asynccontextmanager
async def fake_discord(**fake_options: Any) -> AsyncIterator[DiscordHarness]:
    """Start a fake Discord and a harness for it; stop both (and restore Route.BASE) after."""
    fake = FakeDiscordAPI(**fake_options)
    await fake.start()
    try:
        harness = DiscordHarness(fake)
        try:
            yield harness
        finally:
            await harness.close()
    finally:
        await fake.stop()


# ---------------------------------------------------------------------------------------------
# Payload builders: users, options


def member_payload(
    user: Mapping[str, Any],
    *,
    permissions: str | int = MEMBER_PERMISSIONS,
    roles: Iterable[int] = (),
    nick: str | None = None,
) -> dict[str, Any]:
    """A guild member as it appears in an interaction (with the computed `permissions`)."""
    return {
        "user": dict(user),
        "roles": [str(r) for r in roles],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": "2024-05-01T12:00:00.000000+00:00",
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
        "permissions": str(permissions),
    }


def option(
    name: str,
    value: Any,
    *,
    type: int | discord.AppCommandOptionType | None = None,
    focused: bool = False,
) -> dict[str, Any]:
    """A chat-input option; the type is inferred from the Python value unless given."""
    if type is None:
        if isinstance(value, bool):
            type = discord.AppCommandOptionType.boolean
        elif isinstance(value, int):
            type = discord.AppCommandOptionType.integer
        elif isinstance(value, float):
            type = discord.AppCommandOptionType.number
        else:
            type = discord.AppCommandOptionType.string
    data: dict[str, Any] = {"name": name, "type": int(getattr(type, "value", type)), "value": value}
    if focused:
        data["focused"] = True
    return data


def attachment_option(name: str, attachment: Mapping[str, Any]) -> dict[str, Any]:
    """An attachment option; also pass the attachment in `slash_command(attachments=...)`."""
    return option(name, attachment["id"], type=discord.AppCommandOptionType.attachment)


def user_option(name: str, user_or_member: Mapping[str, Any]) -> dict[str, Any]:
    """A user option; also pass the user/member in `slash_command(users=...)`."""
    user = user_or_member.get("user", user_or_member)
    return option(name, user["id"], type=discord.AppCommandOptionType.user)


def subcommand(name: str, options: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    return {"name": name, "type": 1, "options": list(options)}


def subcommand_group(name: str, subcommands: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "type": 2, "options": list(subcommands)}


# ---------------------------------------------------------------------------------------------
# Payload builders: interactions


def _context_fields(
    *,
    user: Mapping[str, Any],
    guild_id: int | None,
    channel_id: int | None,
    permissions: str | int,
    locale: str,
    app_permissions: str,
    attachment_size_limit: int,
) -> dict[str, Any]:
    """The parts every interaction shares: who, where, and what the bot may do there."""
    user = dict(user.get("user", user))  # accept a member payload too
    cid = channel_id or snowflake()
    fields: dict[str, Any] = {
        "version": 1,
        "locale": locale,
        "app_permissions": app_permissions,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": attachment_size_limit,
        "channel_id": str(cid),
    }
    if guild_id is not None:
        fields.update(
            {
                "guild_id": str(guild_id),
                "guild": {"id": str(guild_id), "locale": "en-US", "features": []},
                "guild_locale": "en-US",
                "member": member_payload(user, permissions=permissions),
                "channel": {
                    "id": str(cid),
                    "type": 0,
                    "guild_id": str(guild_id),
                    "name": "general",
                    "position": 0,
                    "parent_id": None,
                    "topic": None,
                    "nsfw": False,
                    "flags": 0,
                    "rate_limit_per_user": 0,
                    "last_message_id": None,
                    "permissions": str(permissions),
                },
                "authorizing_integration_owners": {GUILD_INSTALL: str(guild_id)},
                "context": CONTEXT_GUILD,
            }
        )
    else:
        fields.update(
            {
                "user": user,
                "channel": {
                    "id": str(cid),
                    "type": 1,
                    "last_message_id": None,
                    "flags": 0,
                    "recipients": [user],
                },
                # A guild-installed app in its own DM: the guild-install owner is "0".
                "authorizing_integration_owners": {GUILD_INSTALL: "0"},
                "context": CONTEXT_BOT_DM,
            }
        )
    return fields


def _new_interaction(type_: int, application_id: int) -> dict[str, Any]:
    interaction_id = snowflake()
    return {
        "id": str(interaction_id),
        "application_id": str(application_id),
        "type": type_,
        "token": interaction_token(interaction_id),
    }


def _resolved(attachments: Sequence[Mapping[str, Any]], users: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    if attachments:
        resolved["attachments"] = {a["id"]: dict(a) for a in attachments}
    for entry in users:
        user = dict(entry.get("user", entry))
        resolved.setdefault("users", {})[user["id"]] = user
        if "user" in entry:  # a member: Discord resolves it without the nested user
            member = {k: v for k, v in entry.items() if k != "user"}
            resolved.setdefault("members", {})[user["id"]] = member
    return resolved


def slash_command(
    name: str,
    options: Sequence[dict[str, Any]] = (),
    *,
    user: Mapping[str, Any],
    application_id: int,
    guild_id: int | None = None,
    channel_id: int | None = None,
    permissions: str | int = MEMBER_PERMISSIONS,
    locale: str = "en-US",
    attachments: Sequence[Mapping[str, Any]] = (),
    users: Sequence[Mapping[str, Any]] = (),
    command_id: int | None = None,
    command_guild_id: int | None = None,
    app_permissions: str = APP_PERMISSIONS,
    attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
    interaction_type: int = 2,
) -> dict[str, Any]:
    """A chat-input command (type 2) as the gateway delivers it.

    In a guild when `guild_id` is given (then `user` becomes a `member` with `permissions`),
    otherwise in the bot's DM. `attachments` (from `FakeDiscordAPI.add_attachment`) and `users`
    (user or member payloads) fill `data.resolved`. `command_guild_id` marks a guild command.
    """
    data: dict[str, Any] = {
        "id": str(command_id or snowflake()),
        "name": name,
        "type": 1,
        "options": list(options),
    }
    resolved = _resolved(attachments, users)
    if resolved:
        data["resolved"] = resolved
    if command_guild_id is not None:
        data["guild_id"] = str(command_guild_id)
    return {
        **_new_interaction(interaction_type, application_id),
        "data": data,
        **_context_fields(
            user=user,
            guild_id=guild_id,
            channel_id=channel_id,
            permissions=permissions,
            locale=locale,
            app_permissions=app_permissions,
            attachment_size_limit=attachment_size_limit,
        ),
    }


def message_command(
    name: str,
    target: Mapping[str, Any],
    *,
    command_id: int | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """A message context-menu command (Apps → `name` on `target`): the target message comes in
    `data.resolved.messages` with its content and attachments (no privileged intent needed)."""
    payload = slash_command(name, **kwargs)
    payload["data"] = {
        "id": str(command_id or snowflake()),
        "name": name,
        "type": 3,
        "target_id": target["id"],
        "resolved": {"messages": {target["id"]: dict(target)}},
    }
    return payload


def autocomplete(
    name: str,
    options: Sequence[dict[str, Any]],
    **kwargs: Any,
) -> dict[str, Any]:
    """An autocomplete request (type 4); exactly one option should have `focused=True`."""
    return slash_command(name, options, interaction_type=4, **kwargs)


def component_interaction(
    custom_id: str,
    message: Mapping[str, Any],
    *,
    user: Mapping[str, Any],
    application_id: int,
    guild_id: int | None = None,
    channel_id: int | None = None,
    component_type: int = 2,
    values: Sequence[str] | None = None,
    permissions: str | int = MEMBER_PERMISSIONS,
    locale: str = "en-US",
    app_permissions: str = APP_PERMISSIONS,
    attachment_size_limit: int = DEFAULT_UPLOAD_LIMIT,
) -> dict[str, Any]:
    """A button press (or select, with `values`) on `message`, e.g. one the fake stored.

    `message` must carry the components: discord.py rebuilds the view from it to find the item.
    """
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
    payload = {
        **_new_interaction(3, application_id),
        "data": data,
        "message": dict(message),
        **_context_fields(
            user=user,
            guild_id=guild_id,
            channel_id=channel_id or int(message["channel_id"]),
            permissions=permissions,
            locale=locale,
            app_permissions=app_permissions,
            attachment_size_limit=attachment_size_limit,
        ),
    }
    if guild_id is not None:
        payload["message"].setdefault("guild_id", str(guild_id))
    return payload


def channel_message(channel_id: int, content: str, *, author: Mapping[str, Any]) -> dict[str, Any]:
    """A plain message object (e.g. to press a button on a message the fake never stored)."""
    return message_object(snowflake(), channel_id, author, content)


# ---------------------------------------------------------------------------------------------
# Throughput: how fast does fake + discord.py acknowledge interactions?


@dataclass(frozen=True)
class AckStats:
    count: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")

    def __str__(self) -> str:
        return (
            f"{self.count} interactions in {self.seconds:.3f} s = {self.per_second:.0f}/s; "
            f"ack latency p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"max {self.max_ms:.1f} ms"
        )


async def measure_ack_latency(
    harness: DiscordHarness,
    client: discord.Client,
    make_payload: Callable[[int], dict[str, Any]],
    count: int = 200,
    timeout: float = 30.0,  # noqa: ASYNC109
) -> AckStats:
    """Dispatch `count` interactions at once; time each from dispatch to its callback request.

    The latency is what Discord's 3-second rule measures: gateway delivery to the
    acknowledgement reaching the API (here: the fake receiving the callback POST).
    """
    payloads = [make_payload(i) for i in range(count)]
    sent_at: dict[str, float] = {}
    start = time.perf_counter()
    for payload in payloads:
        sent_at[payload["id"]] = time.perf_counter()
        harness.dispatch(client, payload)
    acked: dict[str, float] = {}

    def all_acked() -> bool:
        for request in harness.fake.requests:
            if request.route.startswith("/interactions/") and request.route.endswith("/callback"):
                iid = request.route.split("/")[2]
                if iid in sent_at:
                    acked[iid] = request.received_at
        return len(acked) == count

    await harness.fake.wait_until(all_acked, timeout=timeout)
    elapsed = max(acked.values()) - start
    latencies = sorted((acked[i] - sent_at[i]) * 1000 for i in sent_at)
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return AckStats(count, elapsed, statistics.median(latencies), quantiles[98], latencies[-1])
