"""A loopback stand-in for Discord's REST API, good enough for a real discord.py client.

`FakeDiscordAPI` is a small aiohttp app on 127.0.0.1:0. It answers the routes a bot uses
(login, command sync, interaction callbacks, follow-ups, channel messages, DMs, attachment
downloads), keeps the messages it created, and records every request so tests can wait on
"the fake has seen X". It copies the Discord behaviour a chat adapter has to cope with:

- one acknowledgement per interaction (a second one is 400, code 40060);
- after a deferred reply (type 5) the first follow-up *replaces* the loading message;
- an expired token: callback 404 "Unknown interaction" (10062), webhooks 401 (50027);
- uploads above the interaction's `attachment_size_limit` are 413 (40005);
- empty messages (50006), content > 2000 chars and custom_id > 100 chars (50035);
- entitlements (Discord's store): `create_entitlement` / `delete_entitlement` make the payloads
  the gateway sends (feed them to the client's parsers), and `POST .../consume` marks one
  consumed (404, code 10070, for an unknown one);
- scripted 429s with the headers discord.py reads (including `Via`, without which discord.py
  takes a 429 for a Cloudflare ban and raises instead of retrying).

Every JSON answer has `Content-Type: application/json` with no charset: discord.py compares the
header for equality and would otherwise hand the body back as a string.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import mimetypes
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1_420_070_400_000
DEFAULT_TOKEN = "fake-bot-token"
DEFAULT_UPLOAD_LIMIT = 10 * 1024 * 1024  # Discord's default per-attachment limit (10 MiB)
MAX_CONTENT = 2000
MAX_CUSTOM_ID = 100

FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_COMPONENTS_V2 = 1 << 15
FLAG_VOICE_MESSAGE = 1 << 13  # a message that is a voice message (its one attachment has a waveform)
# Flags a bot may set when sending; anything else Discord ignores.
SENDABLE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_COMPONENTS_V2


class _Snowflakes:
    """Discord ids: milliseconds since 2015 shifted left 22 bits; strictly increasing here."""

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last


snowflake = _Snowflakes()


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def message_object(
    message_id: int,
    channel_id: int,
    author: Mapping[str, Any],
    content: str = "",
    attachments: list[dict[str, Any]] | None = None,
    flags: int = 0,
) -> dict[str, Any]:
    """A message object as Discord's API and gateway carry it."""
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "type": 0,
        "content": content,
        "author": dict(author),
        "attachments": [{**a, "ephemeral": False} for a in attachments or []],
        "embeds": [],
        "components": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "flags": flags,
    }


def interaction_token(interaction_id: int) -> str:
    """A token shaped like Discord's (url-safe base64 of 'interaction:<id>:<secret>')."""
    raw = f"interaction:{interaction_id}:{secrets.token_urlsafe(48)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def user_payload(
    user_id: int | None = None,
    username: str = "hummer",
    *,
    global_name: str | None = None,
    bot: bool = False,
) -> dict[str, Any]:
    """A Discord user object."""
    uid = user_id if user_id is not None else snowflake()
    data: dict[str, Any] = {
        "id": str(uid),
        "username": username,
        "global_name": global_name if global_name is not None else username.title(),
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
    }
    if bot:
        data["bot"] = True
    return data


# ---------------------------------------------------------------------------------------------
# What the fake records


@dataclass(frozen=True)
class RecordedFile:
    field: str  # multipart field name, e.g. "files[0]"
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the fake saw it, and what it answered."""

    method: str
    path: str  # full path, e.g. /api/v10/channels/1/messages
    route: str  # path after /api/v10 (or the full path for CDN downloads)
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None  # JSON body, or the decoded `payload_json` of a multipart body
    form: dict[str, str] = field(default_factory=dict)  # other multipart text fields
    files: list[RecordedFile] = field(default_factory=list)
    received_at: float = 0.0  # time.perf_counter() when the body had been read
    status: int = 0
    response: Any = None

    def is_(self, method: str, route_pattern: str) -> bool:
        """True when the method matches and `route_pattern` (a regex) matches the whole route."""
        return self.method == method and re.fullmatch(route_pattern, self.route) is not None

    @property
    def is_multipart(self) -> bool:
        return self.headers.get("Content-Type", "").startswith("multipart/")

    def __repr__(self) -> str:
        return f"<{self.method} {self.route} -> {self.status}>"


@dataclass
class ScriptedFailure:
    method: str
    route_pattern: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    times: int

    def matches(self, method: str, route: str) -> bool:
        return self.method == method and re.fullmatch(self.route_pattern, route) is not None


@dataclass
class HeldRequests:
    method: str
    route_pattern: str
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class InteractionRecord:
    """What the fake knows about an interaction it was told about (see `register_interaction`)."""

    id: int
    token: str
    type: int
    application_id: int
    channel_id: int
    guild_id: int | None
    user: dict[str, Any]
    upload_limit: int
    component_message_id: int | None = None
    callback_type: int | None = None  # set once acknowledged
    original_message_id: int | None = None
    loading: bool = False  # deferred with type 5 and not yet edited
    expired: bool = False


class ApiError(Exception):
    """Raised inside handlers; becomes a Discord-shaped JSON error."""

    def __init__(self, status: int, code: int, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = errors


def _field_error(path: list[str], code: str, message: str) -> ApiError:
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # None -> empty body (204)
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[Reply]]


# ---------------------------------------------------------------------------------------------
# The fake


class FakeDiscordAPI:
    """Discord's REST API on loopback. `api_base` is what `discord.http.Route.BASE` must be."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        application_id: int | None = None,
        bot_name: str = "MusicGen",
        upload_limit: int = DEFAULT_UPLOAD_LIMIT,
    ) -> None:
        self.token = token
        self.application_id = application_id or snowflake()
        self.bot_user = user_payload(self.application_id, bot_name, bot=True)
        self.owner = user_payload(username="owner")
        self.upload_limit = upload_limit  # for channel messages; interactions carry their own

        self.requests: list[RecordedRequest] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.deleted_message_ids: set[int] = set()
        self.interactions: dict[str, InteractionRecord] = {}  # by token
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.dm_channels: dict[int, dict[str, Any]] = {}  # by recipient user id
        self.users: dict[int, dict[str, Any]] = {int(self.bot_user["id"]): self.bot_user}
        self._files: dict[str, tuple[bytes, str]] = {}  # CDN path -> (bytes, content type)
        self._failures: list[ScriptedFailure] = []
        self._changed = asyncio.Condition()
        self._routes = self._route_table()
        self._runner: web.AppRunner | None = None
        # The gateway (a websocket): the servers the bot is in, and every IDENTIFY it received.
        self.guilds: dict[int, dict[str, Any]] = {}
        self.identifies: list[dict[str, Any]] = []
        self.entitlements: dict[int, dict[str, Any]] = {}  # Discord's store: by entitlement id
        self._sockets: dict[web.WebSocketResponse, Callable[[str, Any], Awaitable[None]]] = {}
        self._holds: list[HeldRequests] = []
        self.root = ""  # http://127.0.0.1:<port>

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        # A large client_max_size so oversized uploads reach us and get Discord's 413 answer.
        app = web.Application(client_max_size=1024**3)
        app.router.add_get("/gateway-ws", self._gateway_socket)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for held in self._holds:
            held.release.set()
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscordAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_base(self) -> str:
        return f"{self.root}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Where the websocket gateway listens (what `GET /gateway/bot` answers)."""
        return self.root.replace("http", "ws", 1) + "/gateway-ws"

    # -- test-facing helpers ------------------------------------------------------------------

    def add_attachment(
        self,
        data: bytes,
        filename: str = "hum.ogg",
        content_type: str | None = None,
        *,
        channel_id: int | None = None,
        duration_secs: float | None = None,
        ephemeral: bool = True,
    ) -> dict[str, Any]:
        """Serve `data` from the fake's CDN and return the attachment object pointing at it.

        Slash-command attachments are ephemeral uploads; pass the result to `slash_command(...,
        attachments=[...])`.
        """
        attachment_id = snowflake()
        ctype = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        url = self._store_file(channel_id or 0, attachment_id, filename, data, ctype)
        payload: dict[str, Any] = {
            "id": str(attachment_id),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url.replace("/attachments/", "/media-proxy/attachments/", 1),
            "content_type": ctype,
            "ephemeral": ephemeral,
        }
        if duration_secs is not None:  # voice messages carry a duration and a waveform
            payload["duration_secs"] = duration_secs
            payload["waveform"] = base64.b64encode(bytes(16)).decode()
        return payload

    def add_message(
        self,
        channel_id: int,
        author: Mapping[str, Any],
        *,
        content: str = "",
        attachments: list[dict[str, Any]] | None = None,
        flags: int = 0,
        guild_id: int | None = None,
    ) -> dict[str, Any]:
        """A message a person sent (say, a voice message in the bot's DM): kept, so the bot can
        fetch it again, and returned as the gateway delivers it (MESSAGE_CREATE)."""
        message_id = snowflake()
        message = message_object(message_id, channel_id, author, content, attachments, flags)
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        self.users.setdefault(int(author["id"]), dict(author))
        self.messages[message_id] = message
        return dict(message)

    def add_voice_message(
        self, channel_id: int, author: Mapping[str, Any], data: bytes, *, duration_secs: float = 2.0, **kwargs: Any
    ) -> dict[str, Any]:
        """A voice message as Discord's clients send it: one OGG/Opus attachment with a duration
        and a waveform, and the voice-message flag."""
        attachment = self.add_attachment(
            data,
            "voice-message.ogg",
            "audio/ogg",
            channel_id=channel_id,
            duration_secs=duration_secs,
            ephemeral=False,
        )
        return self.add_message(channel_id, author, attachments=[attachment], flags=FLAG_VOICE_MESSAGE, **kwargs)

    def dm_channel_id(self, user: Mapping[str, Any]) -> int:
        """The id of the bot's DM channel with `user` (the same one `POST /users/@me/channels` gives)."""
        uid = int(user["id"])
        self.users.setdefault(uid, dict(user))
        if uid not in self.dm_channels:
            self.dm_channels[uid] = {
                "id": str(snowflake()),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self.users[uid]],
            }
        return int(self.dm_channels[uid]["id"])

    def add_guild(self, guild_id: int | None = None, name: str = "server") -> dict[str, Any]:
        """A server the bot is in: sent (GUILD_CREATE) to the shard that owns it,
        `(guild id >> 22) % shard count`, as Discord does."""
        gid = guild_id or snowflake()
        guild = {
            "id": str(gid),
            "name": name,
            "icon": None,
            "owner_id": self.owner["id"],
            "features": [],
            "roles": [],
            "emojis": [],
            "stickers": [],
            "channels": [],
            "threads": [],
            "members": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "preferred_locale": "en-US",
            "joined_at": "2024-05-01T12:00:00.000000+00:00",
        }
        self.guilds[gid] = guild
        return guild

    def file_bytes(self, url: str) -> bytes:
        """The bytes served at an attachment URL (ours or one the bot uploaded)."""
        path = url.removeprefix(self.root).split("?", 1)[0].replace("/media-proxy", "", 1)
        return self._files[path][0]

    def expire_file(self, url: str) -> None:
        """Make an attachment URL answer 404, as Discord's signed CDN links do after ~24 h."""
        path = url.removeprefix(self.root).split("?", 1)[0].replace("/media-proxy", "", 1)
        self._files.pop(path, None)

    def register_interaction(self, payload: Mapping[str, Any]) -> InteractionRecord:
        """Tell the fake about an interaction the 'gateway' is delivering (the harness does this).

        Unregistered tokens still work (leniently), but only registered ones know their channel,
        their upload limit and, for components, which message '@original' is. Registering the
        same interaction again (a re-delivery) keeps what the fake already knows about it.
        """
        if payload["token"] in self.interactions:
            return self.interactions[payload["token"]]
        user = payload.get("member", {}).get("user") or payload.get("user") or {}
        channel_id = int(payload.get("channel_id") or payload.get("channel", {}).get("id") or 0)
        record = InteractionRecord(
            id=int(payload["id"]),
            token=payload["token"],
            type=int(payload["type"]),
            application_id=int(payload["application_id"]),
            channel_id=channel_id,
            guild_id=int(payload["guild_id"]) if payload.get("guild_id") else None,
            user=user,
            upload_limit=int(payload.get("attachment_size_limit", self.upload_limit)),
        )
        if user:
            self.users.setdefault(int(user["id"]), user)
        message = payload.get("message")
        if message is not None:
            record.component_message_id = int(message["id"])
            self.messages.setdefault(int(message["id"]), dict(message))
        self.interactions[record.token] = record
        return record

    def expire_interaction(self, token: str) -> None:
        """Act as if 15 minutes have passed: the token no longer works anywhere."""
        self._interaction(token).expired = True

    def fail(
        self,
        method: str,
        route_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` requests matching method + route regex with this error."""
        self._failures.append(
            ScriptedFailure(
                method,
                route_pattern,
                status,
                body or {"message": "scripted", "code": 0},
                dict(headers or {}),
                times,
            )
        )

    def rate_limit(
        self,
        method: str,
        route_pattern: str,
        *,
        retry_after: float = 0.05,
        is_global: bool = False,
        times: int = 1,
    ) -> None:
        """Answer the next matching requests with a 429 exactly as Discord shapes it."""
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": secrets.token_hex(16),
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",  # discord.py only retries a 429 that came through Discord's proxy
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": is_global,
        }
        self.fail(method, route_pattern, 429, body, headers=headers, times=times)

    def hold(self, method: str, route_pattern: str) -> HeldRequests:
        """Keep requests matching method + route regex waiting (a slow CDN, say) until the
        returned `release` is set; `arrived` is set when the first one comes."""
        held = HeldRequests(method, route_pattern)
        self._holds.append(held)
        return held

    @property
    def gateway_connections(self) -> int:
        """The websocket connections open now."""
        return len(self._sockets)

    async def send_dispatch(self, event: str, data: Any) -> int:
        """A gateway event (INTERACTION_CREATE, MESSAGE_CREATE, ...) on every open connection;
        returns how many got it."""
        senders = list(self._sockets.values())
        for send in senders:
            await send(event, data)
        return len(senders)

    def requests_to(self, method: str, route_pattern: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_(method, route_pattern)]

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        """The first recorded request (past or future) for which `predicate` is true."""
        seen = 0
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    while True:
                        for request in self.requests[seen:]:
                            if predicate(request):
                                return request
                        seen = len(self.requests)
                        await self._changed.wait()
        except TimeoutError:
            recent = ", ".join(repr(r) for r in self.requests[-12:])
            raise AssertionError(f"no matching request within {timeout}s; last requests: {recent}") from None

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until `condition()` holds; re-checked after every request."""
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(condition)
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout}s") from None

    def callbacks_for(self, token: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.route.startswith("/interactions/") and r.route.split("/")[3] == token]

    def original_message(self, token: str) -> dict[str, Any] | None:
        record = self.interactions.get(token)
        if record is None or record.original_message_id is None:
            return None
        return self.messages.get(record.original_message_id)

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if int(m["channel_id"]) == channel_id]

    # -- request plumbing ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        route = path.removeprefix("/api/v10") if path.startswith("/api/v10/") else path
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            route=route,
            query=dict(request.query),
            headers=dict(request.headers),
        )
        try:
            await self._read_body(request, recorded)
            for held in self._holds:
                if held.method == recorded.method and re.fullmatch(held.route_pattern, route):
                    held.arrived.set()
                    await held.release.wait()
            recorded.received_at = time.perf_counter()
            reply = self._scripted(recorded) or await self._dispatch(recorded)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body)
        except Exception:  # a bug in the fake must show up as a failing request, not a hang
            logger.exception("fake Discord crashed on %s %s", request.method, path)
            reply = Reply(500, {"message": "fake crashed", "code": 0})
        response, recorded.response = self._to_response(reply)
        recorded.status = response.status
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return response

    async def _read_body(self, request: web.Request, recorded: RecordedRequest) -> None:
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part is None or not hasattr(part, "read"):
                    continue
                data = await part.read()  # type: ignore[union-attr]
                name = part.name or ""
                if part.filename:
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    recorded.files.append(RecordedFile(name, part.filename, ctype, bytes(data)))
                elif name == "payload_json":
                    recorded.json = json.loads(bytes(data))
                else:
                    recorded.form[name] = bytes(data).decode()
        elif request.can_read_body:
            raw = await request.read()
            if raw and request.content_type == "application/json":
                recorded.json = json.loads(raw)
            elif raw:
                recorded.form["_raw"] = raw.decode(errors="replace")

    def _scripted(self, recorded: RecordedRequest) -> Reply | None:
        for failure in self._failures:
            if failure.times > 0 and failure.matches(recorded.method, recorded.route):
                failure.times -= 1
                return Reply(failure.status, failure.body, dict(failure.headers))
        return None

    async def _dispatch(self, recorded: RecordedRequest) -> Reply:
        for method, pattern, needs_auth, handler in self._routes:
            if method != recorded.method:
                continue
            match = pattern.fullmatch(recorded.route)
            if match is None:
                continue
            if needs_auth:
                self._check_auth(recorded)
            return await handler(recorded, match)
        logger.info("fake Discord: unhandled %s %s (answered 200 {})", recorded.method, recorded.route)
        return Reply(200, {})

    def _check_auth(self, recorded: RecordedRequest) -> None:
        if recorded.headers.get("Authorization") != f"Bot {self.token}":
            raise ApiError(401, 0, "401: Unauthorized")

    @staticmethod
    def _to_response(reply: Reply) -> tuple[web.Response, Any]:
        """The HTTP answer, and a snapshot of its body for the record.

        A snapshot because stored messages keep changing; what was answered must not.
        """
        if isinstance(reply.body, _RawBody):  # an attachment download, not JSON
            response = web.Response(
                status=reply.status,
                body=reply.body.data,
                headers={"Content-Type": reply.body.content_type},
            )
            return response, reply.body.data
        if reply.body is None:
            status = 204 if reply.status == 200 else reply.status
            return web.Response(status=status, headers=reply.headers), None
        body = json.dumps(reply.body).encode()
        headers = {"Content-Type": "application/json", **reply.headers}
        return web.Response(status=reply.status, body=body, headers=headers), json.loads(body)

    def _route_table(self) -> list[tuple[str, re.Pattern[str], bool, Handler]]:
        snow = r"(?P<{}>\d+)"
        token = r"(?P<token>[^/]+)"
        table: list[tuple[str, str, bool, Handler]] = [
            ("GET", r"/users/@me", True, self._get_me),
            ("GET", r"/oauth2/applications/@me", True, self._get_application),
            ("GET", r"/applications/@me", True, self._get_application),
            ("GET", r"/gateway/bot", True, self._get_gateway_bot),
            ("GET", r"/gateway", False, self._get_gateway_bot),
            ("PUT", rf"/applications/{snow.format('app')}/commands", True, self._put_commands),
            ("GET", rf"/applications/{snow.format('app')}/commands", True, self._get_commands),
            (
                "PUT",
                rf"/applications/{snow.format('app')}/guilds/{snow.format('guild')}/commands",
                True,
                self._put_commands,
            ),
            (
                "GET",
                rf"/applications/{snow.format('app')}/guilds/{snow.format('guild')}/commands",
                True,
                self._get_commands,
            ),
            (
                "POST",
                rf"/interactions/{snow.format('iid')}/{token}/callback",
                False,
                self._post_callback,
            ),
            ("POST", rf"/webhooks/{snow.format('app')}/{token}", False, self._post_followup),
            (
                "GET",
                rf"/webhooks/{snow.format('app')}/{token}/messages/(?P<mid>@original|\d+)",
                False,
                self._get_webhook_message,
            ),
            (
                "PATCH",
                rf"/webhooks/{snow.format('app')}/{token}/messages/(?P<mid>@original|\d+)",
                False,
                self._patch_webhook_message,
            ),
            (
                "DELETE",
                rf"/webhooks/{snow.format('app')}/{token}/messages/(?P<mid>@original|\d+)",
                False,
                self._delete_webhook_message,
            ),
            ("POST", rf"/channels/{snow.format('cid')}/messages", True, self._post_channel_message),
            (
                "GET",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                True,
                self._get_channel_message,
            ),
            (
                "PATCH",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                True,
                self._patch_channel_message,
            ),
            (
                "DELETE",
                rf"/channels/{snow.format('cid')}/messages/{snow.format('mid')}",
                True,
                self._delete_channel_message,
            ),
            ("POST", r"/users/@me/channels", True, self._post_dm_channel),
            (
                "POST",
                rf"/applications/{snow.format('app')}/entitlements/{snow.format('eid')}/consume",
                True,
                self._consume_entitlement,
            ),
            ("GET", rf"/users/{snow.format('uid')}", True, self._get_user),
            ("GET", r"/(?:media-proxy/)?attachments/.+", False, self._get_file),
        ]
        return [(m, re.compile(p), auth, h) for m, p, auth, h in table]

    # -- the gateway --------------------------------------------------------------------------

    async def _gateway_socket(self, request: web.Request) -> web.StreamResponse:
        """HELLO; IDENTIFY → READY with this shard's servers, then a GUILD_CREATE for each;
        heartbeats acknowledged. Text frames (discord.py inflates only binary ones)."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        sequence = 0

        async def dispatch(event: str, data: Any) -> None:
            nonlocal sequence
            sequence += 1
            await socket.send_json({"op": 0, "t": event, "s": sequence, "d": data})

        self._sockets[socket] = dispatch

        try:
            await socket.send_json({"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None})
            async for frame in socket:
                if frame.type != web.WSMsgType.TEXT:
                    continue
                payload = json.loads(frame.data)
                if payload["op"] == 1:
                    await socket.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif payload["op"] == 2:
                    identify = payload["d"]
                    self.identifies.append(identify)
                    if identify.get("token") != self.token:
                        await socket.close(code=4004, message=b"Authentication failed.")
                        break
                    shard, count = identify.get("shard") or [0, 1]
                    mine = [g for gid, g in self.guilds.items() if (gid >> 22) % count == shard]
                    ready = {
                        "v": 10,
                        "user": self.bot_user,
                        "guilds": [{"id": g["id"], "unavailable": True} for g in mine],
                        "session_id": secrets.token_hex(16),
                        "resume_gateway_url": self.gateway_url,
                        "shard": [shard, count],
                        "application": {"id": str(self.application_id), "flags": 0},
                        "private_channels": [],
                        "relationships": [],
                    }
                    await dispatch("READY", ready)
                    for guild in mine:
                        await dispatch("GUILD_CREATE", guild)
        finally:
            self._sockets.pop(socket, None)
            async with self._changed:  # `wait_until(lambda: not fake.gateway_connections)`
                self._changed.notify_all()
        return socket

    # -- the store (entitlements) ---------------------------------------------------------------

    def create_entitlement(self, user: Mapping[str, Any], sku_id: int) -> dict[str, Any]:
        """`user` bought the consumable SKU: the ENTITLEMENT_CREATE payload (type 1, purchase)."""
        entitlement = {
            "id": str(snowflake()),
            "sku_id": str(sku_id),
            "application_id": str(self.application_id),
            "user_id": str(user["id"]),
            "type": 1,
            "deleted": False,
            "consumed": False,
            "starts_at": None,
            "ends_at": None,
        }
        self.entitlements[int(entitlement["id"])] = entitlement
        return dict(entitlement)

    def delete_entitlement(self, entitlement_id: int | str) -> dict[str, Any]:
        """Discord refunded it: the ENTITLEMENT_DELETE payload."""
        entitlement = self.entitlements[int(entitlement_id)]
        entitlement["deleted"] = True
        return dict(entitlement)

    def consumed(self) -> list[int]:
        return [eid for eid, e in self.entitlements.items() if e["consumed"]]

    async def _consume_entitlement(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        entitlement = self.entitlements.get(int(m["eid"]))
        if entitlement is None or int(m["app"]) != self.application_id:
            raise ApiError(404, 10070, "Unknown Entitlement")
        entitlement["consumed"] = True
        return Reply(204)

    # -- identity -----------------------------------------------------------------------------

    async def _get_me(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        return Reply(
            200,
            {
                **self.bot_user,
                "verified": True,
                "mfa_enabled": False,
                "locale": "en-US",
                "email": None,
            },
        )

    async def _get_application(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        return Reply(
            200,
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "icon": None,
                "description": "Turns a hummed clip into music.",
                "summary": "",
                "type": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": secrets.token_hex(32),
                "flags": 0,
                "owner": self.owner,
                "team": None,
                "bot": self.bot_user,
                "interactions_endpoint_url": None,  # else discord.py warns that it gets no events
                "redirect_uris": [],
                "approximate_guild_count": 1,
                "integration_types_config": {"0": {}, "1": {}},
            },
        )

    async def _get_gateway_bot(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        return Reply(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            },
        )

    async def _get_user(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        uid = int(m["uid"])
        return Reply(200, self.users.setdefault(uid, user_payload(uid, f"user{uid}")))

    # -- application commands -----------------------------------------------------------------

    async def _put_commands(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        if int(m["app"]) != self.application_id:
            raise ApiError(403, 50001, "Missing Access")
        guild_id = int(m["guild"]) if m.groupdict().get("guild") else None
        stored = [self._stored_command(c, guild_id) for c in req.json or []]
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        return Reply(200, stored)

    async def _get_commands(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        guild_id = int(m["guild"]) if m.groupdict().get("guild") else None
        if guild_id is None:
            return Reply(200, self.global_commands)
        return Reply(200, self.guild_commands.get(guild_id, []))

    def _stored_command(self, command: dict[str, Any], guild_id: int | None) -> dict[str, Any]:
        stored = {
            "type": 1,
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "nsfw": False,
            "name_localizations": None,
            "description_localizations": None,
            **command,
            "id": str(snowflake()),
            "application_id": str(self.application_id),
            "version": str(snowflake()),
        }
        if stored["default_member_permissions"] is not None:  # Discord answers with a string
            stored["default_member_permissions"] = str(stored["default_member_permissions"])
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def command(self, name: str, guild_id: int | None = None) -> dict[str, Any]:
        """A synced command by name (global by default)."""
        pool = self.global_commands if guild_id is None else self.guild_commands.get(guild_id, [])
        for command in pool:
            if command["name"] == name:
                return command
        raise KeyError(f"command {name!r} was never synced")

    # -- interactions -------------------------------------------------------------------------

    def _interaction(self, token: str, interaction_id: int | None = None) -> InteractionRecord:
        record = self.interactions.get(token)
        if record is None:
            # Lenient: an interaction nobody registered. It works, but lands in channel 0.
            record = InteractionRecord(
                id=interaction_id or 0,
                token=token,
                type=2,
                application_id=self.application_id,
                channel_id=0,
                guild_id=None,
                user={},
                upload_limit=self.upload_limit,
            )
            self.interactions[token] = record
        return record

    async def _post_callback(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        record = self._interaction(m["token"], int(m["iid"]))
        if record.expired or (record.id and record.id != int(m["iid"])):
            raise ApiError(404, 10062, "Unknown interaction")
        if record.callback_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = req.json or {}
        cb_type = int(body.get("type", 0))
        data: dict[str, Any] = body.get("data") or {}
        self._check_uploads(req, record.upload_limit)

        message: dict[str, Any] | None = None
        if cb_type == 4:  # CHANNEL_MESSAGE_WITH_SOURCE
            self._validate_message(data, req, ["data"])
            message = self._new_message(record.channel_id, data, req, record)
            record.original_message_id = int(message["id"])
        elif cb_type == 5:  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: a "thinking..." message
            flags = FLAG_LOADING | (int(data.get("flags", 0)) & FLAG_EPHEMERAL)
            message = self._new_message(record.channel_id, {"content": "", "flags": flags}, req, record)
            record.original_message_id = int(message["id"])
            record.loading = True
        elif cb_type in (6, 7):  # DEFERRED_UPDATE_MESSAGE / UPDATE_MESSAGE: the component's msg
            if record.component_message_id is None and record.type in (3, 5):
                raise ApiError(400, 40004, "Interaction has no message to update")
            record.original_message_id = record.component_message_id
            if cb_type == 7 and record.component_message_id is not None:
                self._validate_message(data, req, ["data"], partial=True)
                message = self._edit_message(record.component_message_id, data, req)
        elif cb_type not in (1, 8, 9, 12):  # PONG, AUTOCOMPLETE_RESULT, MODAL, LAUNCH_ACTIVITY
            raise _field_error(["type"], "BASE_TYPE_CHOICES", f"Value must be one of ... ({cb_type})")
        record.callback_type = cb_type

        if req.query.get("with_response") not in ("1", "true", "True"):
            return Reply(204, None)
        interaction: dict[str, Any] = {"id": str(record.id or m["iid"]), "type": record.type}
        if record.original_message_id is not None:
            original = self.messages.get(record.original_message_id, {})
            interaction["response_message_id"] = str(record.original_message_id)
            interaction["response_message_loading"] = record.loading
            interaction["response_message_ephemeral"] = bool(int(original.get("flags", 0)) & FLAG_EPHEMERAL)
        result: dict[str, Any] = {"interaction": interaction}
        if cb_type in (4, 5, 7) and message is not None:
            result["resource"] = {"type": cb_type, "message": message}
        return Reply(200, result)

    def _webhook_interaction(self, m: re.Match[str]) -> InteractionRecord:
        record = self._interaction(m["token"])
        if record.expired:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if int(m["app"]) != record.application_id:
            raise ApiError(404, 10015, "Unknown Webhook")
        return record

    async def _post_followup(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        record = self._webhook_interaction(m)
        if record.callback_type is None:
            raise ApiError(404, 10015, "Unknown Webhook")  # follow-ups need an acknowledgement
        body = req.json or {}
        self._check_uploads(req, record.upload_limit)
        self._validate_message(body, req, [])
        if record.loading and record.original_message_id is not None:
            # Discord: the first follow-up after a deferred reply fills the loading message,
            # and keeps the defer's ephemeral choice whatever flags it asks for.
            ephemeral = int(self.messages[record.original_message_id]["flags"]) & FLAG_EPHEMERAL
            message = self._edit_message(record.original_message_id, body, req)
            message["flags"] = (int(message["flags"]) & ~FLAG_EPHEMERAL) | ephemeral
        else:
            message = self._new_message(record.channel_id, body, req, record)
        if req.query.get("wait") in ("1", "true", "True"):
            return Reply(200, message)
        return Reply(204, None)

    def _webhook_target(self, record: InteractionRecord, mid: str) -> int:
        if mid == "@original":
            if record.original_message_id is None:
                raise ApiError(404, 10008, "Unknown Message")
            return record.original_message_id
        message_id = int(mid)
        if message_id not in self.messages or message_id in self.deleted_message_ids:
            raise ApiError(404, 10008, "Unknown Message")
        return message_id

    async def _get_webhook_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        record = self._webhook_interaction(m)
        return Reply(200, self._live_message(self._webhook_target(record, m["mid"])))

    async def _patch_webhook_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        record = self._webhook_interaction(m)
        target = self._webhook_target(record, m["mid"])
        self._check_uploads(req, record.upload_limit)
        self._validate_message(req.json or {}, req, [], partial=True)
        return Reply(200, self._edit_message(target, req.json or {}, req))

    async def _delete_webhook_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        record = self._webhook_interaction(m)
        self._delete_message(self._webhook_target(record, m["mid"]))
        return Reply(204, None)

    # -- channels and DMs ---------------------------------------------------------------------

    async def _post_channel_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        body = req.json or {}
        self._check_uploads(req, self.upload_limit)
        self._validate_message(body, req, [])
        body = {**body, "flags": int(body.get("flags", 0)) & ~FLAG_EPHEMERAL}  # not for channels
        return Reply(200, self._new_message(int(m["cid"]), body, req, None))

    async def _get_channel_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        return Reply(200, self._live_message(int(m["mid"]), int(m["cid"])))

    async def _patch_channel_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        self._live_message(int(m["mid"]), int(m["cid"]))
        self._check_uploads(req, self.upload_limit)
        self._validate_message(req.json or {}, req, [], partial=True)
        return Reply(200, self._edit_message(int(m["mid"]), req.json or {}, req))

    async def _delete_channel_message(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        self._live_message(int(m["mid"]), int(m["cid"]))
        self._delete_message(int(m["mid"]))
        return Reply(204, None)

    async def _post_dm_channel(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        recipient_id = int((req.json or {}).get("recipient_id", 0))
        if not recipient_id:
            raise _field_error(["recipient_id"], "BASE_TYPE_REQUIRED", "This field is required")
        recipient = self.users.setdefault(recipient_id, user_payload(recipient_id, f"user{recipient_id}"))
        channel = self.dm_channels.get(recipient_id)
        if channel is None:  # Discord hands back the same DM channel every time
            channel = {
                "id": str(snowflake()),
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [recipient],
            }
            self.dm_channels[recipient_id] = channel
        return Reply(200, channel)

    async def _get_file(self, req: RecordedRequest, m: re.Match[str]) -> Reply:
        entry = self._files.get(req.route.replace("/media-proxy", "", 1))
        if entry is None:
            return Reply(404, {"message": "This content is no longer available.", "code": 0})
        return Reply(200, _RawBody(*entry))

    # -- message model ------------------------------------------------------------------------

    def _store_file(self, channel_id: int, attachment_id: int, filename: str, data: bytes, content_type: str) -> str:
        path = f"/attachments/{channel_id}/{attachment_id}/{filename}"
        self._files[path] = (data, content_type)
        expires = int(time.time()) + 24 * 3600
        return f"{self.root}{path}?ex={expires:x}&is={int(time.time()):x}&hm={secrets.token_hex(32)}"

    def _check_uploads(self, req: RecordedRequest, limit: int) -> None:
        if any(len(f.data) > limit for f in req.files):
            raise ApiError(413, 40005, "Request entity too large")

    def _validate_message(
        self, body: Mapping[str, Any], req: RecordedRequest, at: list[str], *, partial: bool = False
    ) -> None:
        content = body.get("content")
        if content is not None and len(str(content)) > MAX_CONTENT:
            raise _field_error(
                [*at, "content"],
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_CONTENT} or fewer in length.",
            )
        for custom_id in _custom_ids(body.get("components") or []):
            if len(custom_id) > MAX_CUSTOM_ID:
                raise _field_error(
                    [*at, "components"],
                    "BASE_TYPE_MAX_LENGTH",
                    f"custom_id must be {MAX_CUSTOM_ID} or fewer in length.",
                )
        if partial:
            return
        has_body = any(body.get(k) for k in ("content", "embeds", "components", "poll", "sticker_ids")) or bool(
            req.files
        )
        if not has_body:
            raise ApiError(400, 50006, "Cannot send an empty message")

    def _new_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        req: RecordedRequest,
        record: InteractionRecord | None,
    ) -> dict[str, Any]:
        message_id = snowflake()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": 0,
            "content": "",
            "author": self.bot_user,
            "attachments": [],
            "embeds": [],
            "components": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": 0,
        }
        if record is not None:  # sent through an interaction: a webhook message of the app
            message["type"] = 20 if record.type == 2 else 19
            message["webhook_id"] = str(record.application_id)
            message["application_id"] = str(record.application_id)
            message["interaction_metadata"] = {
                "id": str(record.id),
                "type": record.type,
                "user": record.user,
                "authorizing_integration_owners": {},
            }
        if body.get("message_reference"):  # a reply
            message["message_reference"] = dict(body["message_reference"])
        self.messages[message_id] = message
        self._apply(message, body, req)
        message["flags"] = int(body.get("flags", 0)) & (SENDABLE_FLAGS | FLAG_LOADING)
        return message

    def _edit_message(self, message_id: int, body: Mapping[str, Any], req: RecordedRequest) -> dict[str, Any]:
        message = self._live_message(message_id)
        self._apply(message, body, req)
        message["flags"] = int(message.get("flags", 0)) & ~FLAG_LOADING
        if "flags" in body and body["flags"] is not None:
            keep = int(message["flags"]) & ~FLAG_SUPPRESS_EMBEDS
            message["flags"] = keep | (int(body["flags"]) & FLAG_SUPPRESS_EMBEDS)
        message["edited_timestamp"] = iso_now()
        for record in self.interactions.values():
            if record.original_message_id == message_id:
                record.loading = False
        return message

    def _apply(self, message: dict[str, Any], body: Mapping[str, Any], req: RecordedRequest) -> None:
        """Copy the editable fields of a send/edit body onto a stored message."""
        for key in ("content", "embeds", "components", "poll"):
            if key in body and body[key] is not None:
                message[key] = body[key]
        uploads = {f.field: f for f in req.files}
        if "attachments" in body or uploads:
            kept = {a["id"]: a for a in message.get("attachments", [])}
            result: list[dict[str, Any]] = []
            wanted = body.get("attachments")
            if wanted is None:  # no list: every upload is new, existing ones stay
                wanted = [*kept.values()] + [{"id": i} for i in range(len(uploads))]
            for entry in wanted:
                index = str(entry.get("id"))
                if index in kept:
                    result.append(kept[index])
                    continue
                upload = uploads.get(f"files[{index}]")
                if upload is None:
                    continue
                attachment_id = snowflake()
                url = self._store_file(
                    int(message["channel_id"]),
                    attachment_id,
                    entry.get("filename") or upload.filename,
                    upload.data,
                    upload.content_type,
                )
                result.append(
                    {
                        "id": str(attachment_id),
                        "filename": entry.get("filename") or upload.filename,
                        "size": len(upload.data),
                        "url": url,
                        "proxy_url": url.replace("/attachments/", "/media-proxy/attachments/", 1),
                        "content_type": _guess_type(upload),
                        "description": entry.get("description"),
                    }
                )
            message["attachments"] = result

    def _live_message(self, message_id: int, channel_id: int | None = None) -> dict[str, Any]:
        message = self.messages.get(message_id)
        if message is None or message_id in self.deleted_message_ids:
            raise ApiError(404, 10008, "Unknown Message")
        if channel_id is not None and int(message["channel_id"]) != channel_id:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _delete_message(self, message_id: int) -> None:
        self.deleted_message_ids.add(message_id)


@dataclass(frozen=True)
class _RawBody:
    data: bytes
    content_type: str


def _custom_ids(components: list[Any]) -> list[str]:
    found: list[str] = []
    for component in components:
        if not isinstance(component, dict):
            continue
        if "custom_id" in component:
            found.append(str(component["custom_id"]))
        found.extend(_custom_ids(component.get("components") or []))
        accessory = component.get("accessory")
        if isinstance(accessory, dict):
            found.extend(_custom_ids([accessory]))
    return found


def _guess_type(upload: RecordedFile) -> str:
    if upload.content_type and upload.content_type != "application/octet-stream":
        return upload.content_type
    return mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
