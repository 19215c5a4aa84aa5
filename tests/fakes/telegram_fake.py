"""A loopback stand-in for the Telegram Bot API, for driving a real python-telegram-bot client.

Point PTB at it with::

    Application.builder().token(fake.token).base_url(fake.api_url).base_file_url(fake.file_url)

(``api_url`` is ``f"{fake.base_url}/bot"``, ``file_url`` is ``f"{fake.base_url}/file/bot"``;
PTB appends the token.)

Methods arrive as ``POST /bot<token>/<method>`` (form-encoded, or multipart when files are
uploaded, every non-string value JSON-encoded) and are answered ``{"ok": true, "result": ...}``
with objects shaped like Telegram's. State the tests care about is kept: chats, the messages in
them (edits and deletes apply), files (uploads become downloadable), pending updates, the
webhook, callback/inline/pre-checkout query ids, Star charges, chat member statuses.

Real limits are enforced where a bot can trip over them (text > 4096, caption > 1024,
callback_data > 64 bytes, getFile > 20 MB, upload > 50 MB, "message is not modified", malformed
HTML / MarkdownV2, unknown chats, answering a query twice). Where the real wording of an error is
not known for sure the description is marked in the code.

Deliberate differences from Telegram: webhook URLs may be plain http on loopback; webhook
deliveries are retried only a few times; there is no flood control unless a test scripts it
(:meth:`FakeBotAPI.fail_next`).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]

# Telegram's limits (https://core.telegram.org/bots/api, "Sending files", message limits).
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_INLINE_RESULTS = 50

# Parameters Telegram documents as strings: kept verbatim, never JSON-decoded, so that a text
# such as "123" or "true" stays a string.
STRING_PARAMS = frozenset(
    """
    text caption title performer parse_mode description payload currency provider_token
    start_parameter callback_query_id inline_query_id pre_checkout_query_id shipping_query_id
    error_message telegram_payment_charge_id action url secret_token file_id audio voice document
    photo video animation thumbnail sticker next_offset switch_pm_text switch_pm_parameter
    message_effect_id business_connection_id inline_message_id language_code ip_address emoji
    name custom_title photo_url filename
    """.split()
)

CHAT_ACTIONS = frozenset(
    """
    typing upload_photo record_video upload_video record_voice upload_voice upload_document
    choose_sticker find_location record_video_note upload_video_note
    """.split()
)

# Update types Telegram sends when allowed_updates was never set (all but these three).
NOT_SENT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, code: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class ApiRequest:
    """One Bot API request as the fake saw and answered it."""

    method: str
    params: JSONDict
    status: int
    response: JSONDict
    at: float  # time.monotonic() when answered

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    size: int  # may be declared larger than ``data`` to test limits without allocating


@dataclass
class ScriptedFailure:
    remaining: int
    error: ApiError


@dataclass
class WebhookDelivery:
    update_id: int
    status: int | None  # None: connection failed
    attempt: int


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    last_error_message: str | None = None
    pending: int = 0


def _now() -> int:
    return int(time.time())


def _decode_value(name: str, value: str) -> Any:
    """Undo PTB's encoding: non-string values arrive JSON-encoded, strings verbatim."""
    if name in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_type(update: JSONDict) -> str:
    return next(key for key in update if key != "update_id")


# --- parse_mode checks ------------------------------------------------------------------------

_HTML_TAGS = frozenset("b strong i em u ins s strike del span tg-spoiler a tg-emoji code pre blockquote".split())
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_MDV2_RESERVED_OUTSIDE_MARKUP = frozenset(".!-=+#{}")


def render_html(text: str) -> str:
    """Check Telegram-HTML the way the server does and return the plain text it shows."""
    stack: list[str] = []
    plain: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos] != "<":
            nxt = text.find("<", pos)
            nxt = len(text) if nxt < 0 else nxt
            plain.append(text[pos:nxt])
            pos = nxt
            continue
        match = _HTML_TAG.match(text, pos)
        if match is None:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "" at byte offset {pos}')
        closing, tag = match.group(1) == "/", match.group(2).lower()
        if tag not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise bad_request(f'can\'t parse entities: Unsupported {kind} tag "{tag}" at byte offset {pos}')
        if closing:
            if not stack or stack[-1] != tag:
                raise bad_request(
                    f"can't parse entities: Unmatched end tag at byte offset {pos}, "
                    f'expected "</{stack[-1] if stack else ""}>", found "</{tag}>"'
                )
            stack.pop()
        else:
            stack.append(tag)
        pos = match.end()
    if stack:
        raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\"")
    return html.unescape("".join(plain))


def render_markdown_v2(text: str) -> str:
    """Partial MarkdownV2 check: reserved characters that are never markup must be escaped.

    Catches the classic bug (an unescaped ``.``, ``!`` or ``-`` in user text); it does not
    validate the pairing of ``*``, ``_``, ``~``, ``|`` and brackets.
    """
    in_code = False
    pos = 0
    plain: list[str] = []
    while pos < len(text):
        char = text[pos]
        if char == "\\" and pos + 1 < len(text):
            plain.append(text[pos + 1])
            pos += 2
            continue
        if char == "`":
            in_code = not in_code
        elif not in_code and text.startswith("](", pos):
            # Inside a link's URL only ")" and "\\" need escaping: skip to its end.
            end = text.find(")", pos + 2)
            pos = len(text) if end < 0 else end + 1
            continue
        elif not in_code and char in _MDV2_RESERVED_OUTSIDE_MARKUP:
            if not (char == "!" and text.startswith("![", pos)):
                raise bad_request(
                    f"can't parse entities: Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
        elif char not in "*_~|[]()`>":
            plain.append(char)
        pos += 1
    return "".join(plain)


def rendered_text(text: str, parse_mode: str | None) -> str:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return render_html(text)
    if mode == "markdownv2":
        return render_markdown_v2(text)
    return text


# --- the server -------------------------------------------------------------------------------

Handler = Callable[[JSONDict], Awaitable[Any]]


class FakeBotAPI:
    """The fake Bot API server. ``async with FakeBotAPI() as fake:`` starts and stops it."""

    def __init__(
        self,
        token: str = "123456789:TEST-token_for-the-fake",
        bot_username: str = "musicgen_test_bot",
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "MusicGen",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.build = UpdateBuilder(self)
        self.requests_log: list[ApiRequest] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.commands: dict[str, list[JSONDict]] = {}
        self.chats: dict[int, JSONDict] = {}
        self.users: dict[int, JSONDict] = {}
        self.files: dict[str, StoredFile] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._next_message_id: dict[int, itertools.count[int]] = {}
        self._member_status: dict[tuple[int, int], str] = {}
        self._blocked: set[int] = set()
        self._open_queries: dict[str, set[str]] = {
            "callback": set(),
            "inline": set(),
            "pre_checkout": set(),
        }
        self._star_charges: dict[str, bool] = {}  # charge id -> refunded
        self._failures: dict[str, list[ScriptedFailure]] = {}
        self._pending: list[JSONDict] = []
        self._allowed_updates: list[str] | None = None
        self._webhook: _Webhook | None = None
        self._poll_generation = 0
        self.long_polls_waiting = 0  # getUpdates requests currently held open
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(100_000_001)
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._http: ClientSession | None = None
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.base_url = ""
        self._handlers: dict[str, Handler] = {
            name.lower(): handler
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "sendAudio": self._media_sender("audio"),
                "sendVoice": self._media_sender("voice"),
                "sendDocument": self._media_sender("document"),
                "sendPhoto": self._media_sender("photo"),
                "sendChatAction": self._send_chat_action,
                "getFile": self._get_file,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendInvoice": self._send_invoice,
                "createInvoiceLink": self._create_invoice_link,
                "answerPreCheckoutQuery": self._answer_pre_checkout_query,
                "refundStarPayment": self._refund_star_payment,
            }.items()
        }

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._changed = asyncio.Condition()
        # Uploads up to Telegram's 50 MB limit (plus multipart overhead) must reach the handler.
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self.base_url, self._runner = await start_loopback(app)
        self._http = ClientSession(timeout=ClientTimeout(total=10))

    async def stop(self) -> None:
        self._closing = True
        await self._notify()  # wake long polls so shutdown does not wait for their timeout
        for task in list(self._delivery_tasks):
            task.cancel()
        await asyncio.gather(*self._delivery_tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """What PTB's ``base_url`` should be."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """What PTB's ``base_file_url`` should be."""
        return f"{self.base_url}/file/bot"

    # --- what tests set up --------------------------------------------------------------------

    def new_user(
        self,
        user_id: int | None = None,
        first_name: str = "Ada",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> JSONDict:
        """A human user, known to the fake, with a private chat with the bot."""
        user_id = user_id if user_id is not None else 10_000 + next(self._ids)
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        user["username"] = username or f"user{user_id}"
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = {
            "id": user_id,
            "type": "private",
            "first_name": first_name,
            "username": user["username"],
        }
        if last_name:
            chat["last_name"] = last_name
        self.chats[user_id] = chat
        return user

    def new_group(self, title: str = "Band room", *, chat_id: int | None = None, supergroup: bool = True) -> JSONDict:
        """A group the bot is a member of. Supergroup ids look like -100…, group ids like -4…."""
        if chat_id is None:
            n = next(self._ids)
            chat_id = -(1_000_000_000_000 + n) if supergroup else -(4_000_000_000 + n)
        chat = {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}
        self.chats[chat_id] = chat
        return chat

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember answers: creator, administrator, member, restricted, left, kicked."""
        self._member_status[(chat_id, user_id)] = status

    def delete_in_app(self, chat_id: int, message_id: int) -> None:
        """The person deleted a message in their app: edits of it answer "message to edit not found"."""
        del self._messages[(chat_id, message_id)]

    def block(self, user_id: int) -> None:
        """The user blocked the bot: sends to their chat answer 403."""
        self._blocked.add(user_id)

    def register_file(
        self,
        data: bytes = b"",
        *,
        kind: str = "voice",
        file_name: str | None = None,
        declared_size: int | None = None,
    ) -> StoredFile:
        """A file a user sent; getFile and the download URL serve it.

        ``declared_size`` makes the file *look* that big (file_size, getFile's limit) without
        allocating it.
        """
        n = next(self._ids)
        folder = {"voice": "voice", "audio": "music", "document": "documents", "photo": "photos"}
        ext = {"voice": "oga", "audio": "mp3", "document": "bin", "photo": "jpg"}.get(kind, "bin")
        if file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}ACAgIAAxkBAAI{n:08d}",
            file_unique_id=f"AgAD{n:06d}",
            file_path=f"{folder.get(kind, 'documents')}/file_{n}.{ext}",
            data=data,
            size=declared_size if declared_size is not None else len(data),
        )
        self.files[stored.file_id] = stored
        return stored

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        error_code: int = 400,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        ``retry_after`` gives a flood-control 429 (``parameters.retry_after``) unless another
        ``error_code`` is given.
        """
        if retry_after is not None and error_code == 400:
            error_code = 429
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if error_code == 429
                else "Bad Request: scripted failure"
            )
        params = {"retry_after": retry_after} if retry_after is not None else None
        error = ApiError(error_code, description, params)
        self._failures.setdefault(method.lower(), []).append(ScriptedFailure(times, error))

    # --- incoming updates ---------------------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def push_update(self, update: JSONDict) -> None:
        """Queue an update: returned by getUpdates, or POSTed to the webhook when one is set."""
        if self._webhook is not None:
            self._webhook.pending += 1
            task = asyncio.create_task(self._deliver(self._webhook, update))
            self._delivery_tasks.add(task)
            task.add_done_callback(self._delivery_tasks.discard)
            return
        self._pending.append(update)
        await self._notify()

    async def push_updates(self, updates: Iterable[JSONDict]) -> None:
        for update in updates:
            await self.push_update(update)

    @property
    def pending_updates(self) -> list[JSONDict]:
        return list(self._pending)

    # --- what tests read ----------------------------------------------------------------------

    def requests(self, method: str | None = None) -> list[ApiRequest]:
        """Every request received, failed ones included, oldest first."""
        return [r for r in self.requests_log if method is None or r.method.lower() == method.lower()]

    def calls(self, method: str | None = None, chat_id: int | str | None = None) -> list[JSONDict]:
        """Params of the calls the fake *accepted* (ok: true), oldest first.

        Uploaded files appear as :class:`UploadedFile` under their parameter name.
        """
        return [r.params for r in self._accepted(method, chat_id)]

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """A message as it is now (after edits), or None once deleted."""
        return self._messages.get((chat_id, message_id))

    def chat_messages(self, chat_id: int, *, from_bot: bool | None = None) -> list[JSONDict]:
        """The chat's current messages, oldest first; ``from_bot`` keeps only the bot's (True)
        or only the people's (False)."""
        bot_id = self.bot_user["id"]
        return [
            m
            for (c, _), m in sorted(self._messages.items())
            if c == chat_id and (from_bot is None or (m["from"]["id"] == bot_id) == from_bot)
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[JSONDict], bool] | None = None,
        *,
        timeout: float = 5,  # noqa: ASYNC109 - a test helper; callers want one short argument
        count: int = 1,
        chat_id: int | str | None = None,
    ) -> JSONDict:
        """Wait until ``count`` accepted calls of ``method`` match; return the params of the last.

        Calls made before the wait started count too, so there is no race with the bot.
        """

        def matching() -> list[JSONDict]:
            return [p for p in self.calls(method, chat_id) if predicate is None or predicate(p)]

        try:
            await self.wait_until(lambda: len(matching()) >= count, timeout=timeout)
        except TimeoutError:
            seen = sorted({r.method for r in self.requests_log})
            refused = [r.response["description"] for r in self.requests(method) if not r.ok]
            raise AssertionError(
                f"no {count} accepted {method} call(s) matching within {timeout}s; "
                f"got {len(matching())}; refused: {refused}; methods seen: {seen}"
            ) from None
        return matching()[count - 1]

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 5,  # noqa: ASYNC109 - as in wait_for
    ) -> None:
        """Wait until ``condition()`` holds; re-checked whenever the fake records something."""
        assert self._changed is not None, "start() the fake first"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(condition)

    # --- HTTP ---------------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: JSONDict = {}
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            params = await self._read_params(request)
            self._raise_scripted_failure(method)
            handler = self._handlers.get(method.lower(), self._true)
            body: JSONDict = {"ok": True, "result": await handler(params)}
            status = 200
        except ApiError as error:
            body, status = error.body(), error.code
        await self._record(ApiRequest(method, params, status, body, time.monotonic()))
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> JSONDict:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            raw.update(await request.json())
            return raw
        uploads: dict[str, UploadedFile] = {}
        size = 0
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                size += len(data)
                uploads[name] = UploadedFile(name, value.filename, value.content_type, data)
            else:
                raw[name] = _decode_value(name, str(value))
        if size > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        for name, upload in uploads.items():
            raw.setdefault(name, upload)
        # ``attach://name`` points at another multipart field (thumbnails, media groups).
        for name, value in list(raw.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                raw[name] = uploads.get(value.removeprefix("attach://"), value)
        return raw

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            raise web.HTTPUnauthorized()
        path = request.match_info["file_path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            raise web.HTTPNotFound()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _raise_scripted_failure(self, method: str) -> None:
        queue = self._failures.get(method.lower())
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        raise failure.error

    async def _record(self, request: ApiRequest) -> None:
        self.requests_log.append(request)
        await self._notify()

    async def _notify(self) -> None:
        if self._changed is not None:
            async with self._changed:
                self._changed.notify_all()

    def _accepted(self, method: str | None, chat_id: int | str | None) -> list[ApiRequest]:
        wanted = None if chat_id is None else str(chat_id)
        return [r for r in self.requests(method) if r.ok and (wanted is None or str(r.params.get("chat_id")) == wanted)]

    # --- webhook delivery ---------------------------------------------------------------------

    async def _deliver(self, hook: _Webhook, update: JSONDict, attempts: int = 3) -> None:
        """POST one update like Telegram does; a few quick retries on failure."""
        assert self._http is not None
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        for attempt in range(1, attempts + 1):
            status: int | None = None
            try:
                async with self._http.post(hook.url, data=json.dumps(update), headers=headers) as r:
                    status = r.status
            except Exception as exc:  # noqa: BLE001 - any failure is a failed delivery
                hook.last_error_message = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], status, attempt))
            await self._notify()
            if status is not None and 200 <= status < 300:
                break
            if status is not None:
                hook.last_error_message = f"Wrong response from the webhook: {status}"
            await asyncio.sleep(0.05 * attempt)
        hook.pending -= 1

    # --- helpers for method handlers ----------------------------------------------------------

    def _chat(self, chat_id: Any) -> JSONDict:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self.chats.values() if c.get("username") == chat_id[1:]), None)
        else:
            try:
                chat = self.chats.get(int(chat_id))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        if chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def snapshot(self, message: JSONDict) -> JSONDict:
        """A message as embedded in another object: a copy (later edits don't leak into
        updates already built) and, as on Telegram, replies nest only one level deep."""
        copy = json.loads(json.dumps(message))
        if "reply_to_message" in copy:
            copy["reply_to_message"].pop("reply_to_message", None)
        return copy

    def _new_message(self, chat: JSONDict, sender: JSONDict, **content: Any) -> JSONDict:
        counter = self._next_message_id.setdefault(chat["id"], itertools.count(1))
        message = {
            "message_id": next(counter),
            "from": sender,
            "chat": chat,
            "date": _now(),
            **{k: v for k, v in content.items() if v is not None},
        }
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def _bot_message(self, params: JSONDict, **content: Any) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        markup = self._inline_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        return self._new_message(
            chat,
            self.bot_user,
            reply_to_message=self.snapshot(reply_to) if reply_to else None,
            reply_markup=markup,
            **content,
        )

    def _reply_target(self, chat: JSONDict, params: JSONDict) -> JSONDict | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        if not message_id:
            return None
        target = self._messages.get((chat["id"], int(message_id)))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise bad_request("message to be replied not found")
        return target

    @staticmethod
    def _inline_markup(markup: Any) -> JSONDict | None:
        """Validate an inline keyboard; only inline keyboards are echoed in the message."""
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup

    @staticmethod
    def _checked_text(params: JSONDict, key: str = "text") -> str:
        text = rendered_text(str(params.get(key, "")), params.get("parse_mode"))
        if key == "text" and not text.strip():
            raise bad_request("message text is empty")
        if key == "text" and len(text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        if key == "caption" and len(text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return text

    def _target_message(self, params: JSONDict, verb: str) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get((chat["id"], int(params.get("message_id", 0))))
        if message is None:
            raise bad_request(f"message to {verb} not found")
        if verb == "edit" and message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    def _apply_edit(self, message: JSONDict, changes: JSONDict) -> JSONDict:
        """Telegram refuses an edit that changes nothing."""
        if all(message.get(k) == v for k, v in changes.items()):
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = _now()
        return message

    def _take_query(self, kind: str, query_id: Any, unknown: str) -> None:
        """A query may be answered once; an unknown or answered one is refused."""
        if str(query_id) not in self._open_queries[kind]:
            raise bad_request(unknown)
        self._open_queries[kind].discard(str(query_id))

    # --- method handlers ----------------------------------------------------------------------

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return self.bot_user

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])
        offset = int(params.get("offset") or 0)
        if offset > 0:  # confirms every update below offset
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        limit = max(1, min(100, int(params.get("limit") or 100)))
        timeout = float(params.get("timeout") or 0)
        # A newer getUpdates ends the one still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        assert self._changed is not None
        self.long_polls_waiting += 1
        await self._notify()
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(
                        lambda: bool(self._deliverable()) or generation != self._poll_generation or self._closing
                    )
        finally:
            self.long_polls_waiting -= 1
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
            )
        return self._deliverable()[:limit]

    def _deliverable(self) -> list[JSONDict]:
        allowed = self._allowed_updates
        return [
            u
            for u in self._pending
            if (_update_type(u) in allowed if allowed else _update_type(u) not in NOT_SENT_BY_DEFAULT)
        ]

    async def _set_webhook(self, params: JSONDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            # Wording approximated.
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = _Webhook(
            url=url,
            secret_token=str(secret) if secret is not None else None,
            max_connections=int(params.get("max_connections") or 40),
            allowed_updates=params.get("allowed_updates"),
        )
        # Updates queued before the webhook existed are delivered to it, as Telegram does.
        queued, self._pending = self._pending, []
        await self.push_updates(queued)
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        hook = self._webhook
        if hook is None:
            return {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
        info: JSONDict = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": hook.pending,
            "max_connections": hook.max_connections,
        }
        if hook.last_error_message:
            info["last_error_date"] = _now()
            info["last_error_message"] = hook.last_error_message
        if hook.allowed_updates is not None:
            info["allowed_updates"] = hook.allowed_updates
        return info

    @staticmethod
    def _commands_key(params: JSONDict) -> str:
        scope = params.get("scope") or {"type": "default"}
        return f"{json.dumps(scope, sort_keys=True)}|{params.get('language_code') or ''}"

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description is empty")  # wording approximated
        self.commands[self._commands_key(params)] = list(commands)
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        text = self._checked_text(params)
        return self._bot_message(params, text=text)

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        text = self._checked_text(params)
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "edit")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        markup = self._inline_markup(params.get("reply_markup"))
        return self._apply_edit(message, {"text": text, "reply_markup": markup})

    async def _edit_message_caption(self, params: JSONDict) -> JSONDict | bool:
        caption = self._checked_text(params, "caption") or None
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "edit")
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        markup = self._inline_markup(params.get("reply_markup"))
        return self._apply_edit(message, {"caption": caption, "reply_markup": markup})

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        markup = self._inline_markup(params.get("reply_markup"))
        if params.get("inline_message_id"):
            return True
        message = self._target_message(params, "edit")
        return self._apply_edit(message, {"reply_markup": markup})

    async def _delete_message(self, params: JSONDict) -> bool:
        message = self._target_message(params, "delete")
        del self._messages[(message["chat"]["id"], message["message_id"])]
        return True

    def _media_sender(self, kind: str) -> Handler:
        async def send(params: JSONDict) -> JSONDict:
            caption = self._checked_text(params, "caption") if params.get("caption") else None
            media = self._media_object(kind, params)
            return self._bot_message(params, caption=caption, **{kind: media})

        return send

    def _media_object(self, kind: str, params: JSONDict) -> Any:
        """The audio/voice/document/photo object of a sent message; uploads become files."""
        given = params.get(kind)
        if isinstance(given, UploadedFile):
            stored = self.register_file(given.data, kind=kind, file_name=given.filename)
            file_name, mime = given.filename, given.content_type
        elif isinstance(given, str) and given in self.files:
            stored, file_name, mime = self.files[given], None, None
        elif isinstance(given, str) and given.startswith(("http://", "https://")):
            stored = self.register_file(b"", kind=kind, file_name=given.rsplit("/", 1)[-1])
            file_name, mime = given.rsplit("/", 1)[-1], None
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        base: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
        }
        if kind == "photo":
            return [{**base, "width": 640, "height": 480}]
        if kind in ("audio", "voice"):
            base["duration"] = int(params.get("duration") or 0)
        if kind == "voice":
            base["mime_type"] = "audio/ogg"
        else:
            if file_name:
                base["file_name"] = file_name
            if mime and mime != "application/octet-stream":
                base["mime_type"] = mime
        if kind == "audio":
            for key in ("title", "performer"):
                if params.get(key):
                    base[key] = params[key]
        return base

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._chat(params.get("chat_id"))
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _get_file(self, params: JSONDict) -> JSONDict:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat = dict(self._chat(params.get("chat_id")))
        chat.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
            },
        )
        return chat

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id", 0))
        user = self.users.get(user_id)
        if user is None:
            raise bad_request("user not found")
        status = self._member_status.get((chat["id"], user_id), "member")
        member: JSONDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                can_manage_chat=True,
                can_delete_messages=True,
                can_manage_video_chats=True,
                can_restrict_members=True,
                can_promote_members=False,
                can_change_info=True,
                can_invite_users=True,
                can_post_stories=False,
                can_edit_stories=False,
                can_delete_stories=False,
                can_pin_messages=True,
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        if len(str(params.get("text") or "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")  # wording approximated
        self._take_query("callback", params.get("callback_query_id"), QUERY_TOO_OLD)
        return True

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        results = params.get("results") or []
        if len(results) > MAX_INLINE_RESULTS:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results]
        if len(ids) != len(set(ids)):
            raise bad_request("RESULT_ID_DUPLICATE")
        self._take_query("inline", params.get("inline_query_id"), QUERY_TOO_OLD)
        return True

    @staticmethod
    def _invoice_object(params: JSONDict) -> JSONDict:
        prices = params.get("prices") or []
        if params.get("currency") == "XTR" and len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID")  # wording approximated
        return {
            "title": params.get("title"),
            "description": params.get("description"),
            "start_parameter": params.get("start_parameter") or "",
            "currency": params.get("currency"),
            "total_amount": sum(int(p["amount"]) for p in prices),
        }

    async def _send_invoice(self, params: JSONDict) -> JSONDict:
        return self._bot_message(params, invoice=self._invoice_object(params))

    async def _create_invoice_link(self, params: JSONDict) -> str:
        self._invoice_object(params)
        return f"https://t.me/$fake_invoice_{next(self._ids)}"

    async def _answer_pre_checkout_query(self, params: JSONDict) -> bool:
        if params.get("ok") is False and not params.get("error_message"):
            raise bad_request("ERROR_MESSAGE_EMPTY")  # wording approximated
        self._take_query("pre_checkout", params.get("pre_checkout_query_id"), "QUERY_ID_INVALID")
        return True

    async def _refund_star_payment(self, params: JSONDict) -> bool:
        charge = str(params.get("telegram_payment_charge_id"))
        if charge not in self._star_charges:
            raise bad_request("CHARGE_ID_INVALID")  # wording approximated
        if self._star_charges[charge]:
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        self._star_charges[charge] = True
        return True


# --- builders for incoming updates ------------------------------------------------------------


class UpdateBuilder:
    """Realistic update dicts, as Telegram would send them; each registers what it creates.

    Message ids come from the same per-chat counter as the bot's own messages, so replies,
    edits and callback queries can point at either. Nothing is queued: pass the result to
    ``fake.push_update`` (or POST it yourself).
    """

    def __init__(self, fake: FakeBotAPI) -> None:
        self._fake = fake
        self._ids = itertools.count(1)

    def _update(self, **payload: JSONDict) -> JSONDict:
        return {"update_id": self._fake.next_update_id(), **payload}

    def _message(
        self,
        user: JSONDict,
        chat: JSONDict | None,
        reply_to: JSONDict | int | None,
        **content: Any,
    ) -> JSONDict:
        chat = chat or self._fake.chats[user["id"]]
        if isinstance(reply_to, int):
            reply_to = self._fake.message(chat["id"], reply_to)
            if reply_to is None:
                raise ValueError("reply_to: no such message in this chat")
        reply = self._fake.snapshot(reply_to) if reply_to else None
        return self._fake._new_message(chat, user, reply_to_message=reply, **content)

    def text(
        self,
        user: JSONDict,
        text: str,
        *,
        chat: JSONDict | None = None,
        reply_to: JSONDict | int | None = None,
    ) -> JSONDict:
        """A text message; a leading ``/word`` gets the ``bot_command`` entity Telegram adds."""
        entities = None
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._update(message=self._message(user, chat, reply_to, text=text, entities=entities))

    def command(
        self,
        user: JSONDict,
        command: str,
        args: str = "",
        *,
        chat: JSONDict | None = None,
        reply_to: JSONDict | int | None = None,
        mention_bot: bool = False,
    ) -> JSONDict:
        """``/command args``; in groups Telegram clients usually send ``/command@botname``."""
        name = f"/{command}@{self._fake.bot_user['username']}" if mention_bot else f"/{command}"
        return self.text(user, f"{name} {args}".rstrip(), chat=chat, reply_to=reply_to)

    def voice(
        self,
        user: JSONDict,
        data: bytes = b"OggS fake voice",
        *,
        duration: int = 3,
        mime_type: str = "audio/ogg",
        declared_size: int | None = None,
        chat: JSONDict | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        stored = self._fake.register_file(data, kind="voice", declared_size=declared_size)
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        return self._update(message=self._message(user, chat, None, voice=voice, caption=caption))

    def audio(
        self,
        user: JSONDict,
        data: bytes = b"ID3 fake mp3",
        *,
        file_name: str = "hum.mp3",
        mime_type: str = "audio/mpeg",
        duration: int = 5,
        title: str | None = None,
        performer: str | None = None,
        declared_size: int | None = None,
        chat: JSONDict | None = None,
    ) -> JSONDict:
        stored = self._fake.register_file(data, kind="audio", file_name=file_name, declared_size=declared_size)
        audio: JSONDict = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        if title:
            audio["title"] = title
        if performer:
            audio["performer"] = performer
        return self._update(message=self._message(user, chat, None, audio=audio))

    def document(
        self,
        user: JSONDict,
        data: bytes = b"%PDF fake",
        *,
        file_name: str = "hum.wav",
        mime_type: str = "audio/x-wav",
        declared_size: int | None = None,
        chat: JSONDict | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        stored = self._fake.register_file(data, kind="document", file_name=file_name, declared_size=declared_size)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        return self._update(message=self._message(user, chat, None, document=document, caption=caption))

    def photo(
        self,
        user: JSONDict,
        data: bytes = b"\xff\xd8\xff fake jpeg",
        *,
        width: int = 1280,
        height: int = 960,
        chat: JSONDict | None = None,
        caption: str | None = None,
    ) -> JSONDict:
        """A photo arrives as several sizes, smallest first; all point at the same bytes here."""
        sizes = []
        for scale in (8, 2, 1):
            stored = self._fake.register_file(data, kind="photo")
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": width // scale,
                    "height": height // scale,
                    "file_size": stored.size,
                }
            )
        return self._update(message=self._message(user, chat, None, photo=sizes, caption=caption))

    def callback_query(
        self,
        user: JSONDict,
        data: str,
        *,
        message_id: int,
        chat: JSONDict | None = None,
    ) -> JSONDict:
        """A button press on a message the bot sent (looked up in the fake, as it is now)."""
        chat = chat or self._fake.chats[user["id"]]
        message = self._fake.message(chat["id"], message_id)
        if message is None:
            raise ValueError("callback_query: no such message in this chat")
        query_id = f"{user['id']}{next(self._ids):010d}"
        self._fake._open_queries["callback"].add(query_id)
        return self._update(
            callback_query={
                "id": query_id,
                "from": user,
                "message": self._fake.snapshot(message),
                "chat_instance": str(-abs(hash((chat["id"], self._fake.bot_user["id"])))),
                "data": data,
            }
        )

    def pre_checkout_query(
        self,
        user: JSONDict,
        *,
        total_amount: int,
        invoice_payload: str,
        currency: str = "XTR",
    ) -> JSONDict:
        query_id = f"{user['id']}{next(self._ids):010d}"
        self._fake._open_queries["pre_checkout"].add(query_id)
        return self._update(
            pre_checkout_query={
                "id": query_id,
                "from": user,
                "currency": currency,
                "total_amount": total_amount,
                "invoice_payload": invoice_payload,
            }
        )

    def successful_payment(
        self,
        user: JSONDict,
        *,
        total_amount: int,
        invoice_payload: str,
        currency: str = "XTR",
        telegram_payment_charge_id: str | None = None,
        chat: JSONDict | None = None,
    ) -> JSONDict:
        """The service message after a paid invoice; Stars charges become refundable."""
        charge_id = telegram_payment_charge_id or f"stxFAKE{next(self._ids):012d}"
        self._fake._star_charges.setdefault(charge_id, False)
        payment = {
            "currency": currency,
            "total_amount": total_amount,
            "invoice_payload": invoice_payload,
            "telegram_payment_charge_id": charge_id,
            # Stars payments carry an empty provider charge id.
            "provider_payment_charge_id": "" if currency == "XTR" else f"ch_{charge_id}",
        }
        return self._update(message=self._message(user, chat, None, successful_payment=payment))

    def inline_query(self, user: JSONDict, query: str = "", *, offset: str = "", chat_type: str = "sender") -> JSONDict:
        query_id = f"{user['id']}{next(self._ids):010d}"
        self._fake._open_queries["inline"].add(query_id)
        return self._update(
            inline_query={
                "id": query_id,
                "from": user,
                "query": query,
                "offset": offset,
                "chat_type": chat_type,
            }
        )

    def chosen_inline_result(
        self,
        user: JSONDict,
        result_id: str,
        *,
        query: str = "",
        inline_message_id: str | None = None,
    ) -> JSONDict:
        """Sent only when inline feedback is enabled with @BotFather."""
        result: JSONDict = {"result_id": result_id, "from": user, "query": query}
        if inline_message_id:
            result["inline_message_id"] = inline_message_id
        return self._update(chosen_inline_result=result)


async def start_loopback(app: web.Application) -> tuple[str, web.AppRunner]:
    """Serve ``app`` on 127.0.0.1 on a free port; return its base URL and runner."""
    # handler_cancellation: a long poll the client gave up on must not hold shutdown.
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return f"http://{host}:{port}", runner
