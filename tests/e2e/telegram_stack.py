"""The whole bot on Telegram for tests: the real composition root (`build_app`, SQLite, the local
melody synthesizer), the real `TelegramRunner` (PTB `Application`, long polling or webhook mode
through our own web server) and the fake Bot API on loopback."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.telegram.platform import TelegramPlatform
from adapters.web import WebServer
from bot.bootstrap import App, build_app, build_generator
from bot.config import load_settings
from bot.platforms import telegram_platform
from core.domain.generation import GenerationRequest, PredictionState, PredictionStatus
from core.domain.identity import Identity
from core.ports import SubmissionNote
from tests.fakes.telegram_fake import FakeBotAPI

JSON = dict[str, Any]
WEBHOOK_SECRET = "s3cret-token_for-tests"
OPERATOR_ID = 4242


class GatedGenerator:
    """Wraps the real generator; while the gate is closed every prediction stays "processing"
    (a slow model, without sleeping)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.gate = asyncio.Event()
        self.gate.set()
        self.submitted = 0
        self.failing = False  # True: every prediction ends FAILED (the model broke)
        self.compute_micros_per_second = inner.compute_micros_per_second

    def close(self) -> None:
        self.gate.clear()

    def open(self) -> None:
        self.gate.set()

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        self.submitted += 1
        return await self.inner.submit(request, webhook_url=webhook_url, before_create=before_create)

    async def find(self, ref: str, *, since: dt.datetime | None = None) -> list[PredictionStatus]:
        return await self.inner.find(ref, since=since)

    async def status(self, prediction_id: str) -> PredictionStatus:
        if not self.gate.is_set():
            return PredictionStatus(prediction_id, PredictionState.PROCESSING)
        if self.failing:
            return PredictionStatus(prediction_id, PredictionState.FAILED, error="CUDA out of memory")
        return await self.inner.status(prediction_id)

    async def cancel(self, prediction_id: str) -> None:
        await self.inner.cancel(prediction_id)

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        return await self.inner.download(status, max_bytes=max_bytes)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ErrorLog(logging.Handler):
    """Collects ERROR records (unexpected handler errors are logged with a reference)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Stack:
    fake: FakeBotAPI
    app: App
    telegram: TelegramPlatform
    generator: GatedGenerator
    web: WebServer | None = None
    errors: ErrorLog = field(default_factory=ErrorLog)

    # --- people -------------------------------------------------------------------------------

    def user(self, first_name: str = "Ada", **kwargs: Any) -> JSON:
        return self.fake.new_user(first_name=first_name, **kwargs)

    async def available(self, user: JSON | int) -> int:
        user_id = user if isinstance(user, int) else user["id"]
        view = await self.app.wallets.balance(Identity("telegram", str(user_id)))
        return view.balance.available

    async def audit(self) -> list[str]:
        return await self.app.ledger.audit()

    # --- talking to the bot -------------------------------------------------------------------

    async def send(self, update: JSON) -> None:
        await self.fake.push_update(update)

    async def pay_stars(self, user: JSON, invoice: JSON) -> tuple[JSON, JSON]:
        """Pay a sent Stars invoice as Telegram does (pre-checkout, then the successful payment):
        the payment update and the bot's thanks."""
        amount, payload = invoice["prices"][0]["amount"], invoice["payload"]
        await self.send(self.fake.build.pre_checkout_query(user, total_amount=amount, invoice_payload=payload))
        await self.fake.wait_for("answerPreCheckoutQuery", lambda p: p["ok"] is True)
        paid = self.fake.build.successful_payment(user, total_amount=amount, invoice_payload=payload)
        await self.send(paid)
        thanks = await self.fake.wait_for("sendMessage", lambda p: "Thank you!" in p["text"], chat_id=user["id"])
        return paid, thanks

    async def command(self, user: JSON, command: str, args: str = "", **kwargs: Any) -> JSON:
        """Send `/command args`; return the bot's next message in that chat."""
        chat = kwargs.get("chat") or self.fake.chats[user["id"]]
        before = len(self.fake.calls("sendMessage", chat_id=chat["id"]))
        await self.send(self.fake.build.command(user, command, args, **kwargs))
        return await self.fake.wait_for("sendMessage", chat_id=chat["id"], count=before + 1, timeout=10)

    async def voice(self, user: JSON, data: bytes, **kwargs: Any) -> JSON:
        """Send a voice note; return the bot's reply (the style × length keyboard)."""
        update = self.fake.build.voice(user, data, **kwargs)
        return await self._reply_to(update, user, kwargs.get("chat"))

    async def audio(self, user: JSON, data: bytes, **kwargs: Any) -> JSON:
        update = self.fake.build.audio(user, data, **kwargs)
        return await self._reply_to(update, user, kwargs.get("chat"))

    async def text(self, user: JSON, words: str, **kwargs: Any) -> JSON:
        """Send a plain text message; return the bot's reply quoting it."""
        return await self._reply_to(self.fake.build.text(user, words, **kwargs), user, kwargs.get("chat"))

    async def _reply_to(self, update: JSON, user: JSON, chat: JSON | None) -> JSON:
        message_id = update["message"]["message_id"]
        chat_id = (chat or self.fake.chats[user["id"]])["id"]
        await self.send(update)
        sent = await self.fake.wait_for(
            "sendMessage",
            lambda p: (p.get("reply_parameters") or {}).get("message_id") == message_id,
            chat_id=chat_id,
            timeout=10,
        )
        return self.bot_message(chat_id, sent)

    def bot_message(self, chat_id: int, params: JSON) -> JSON:
        """The message the fake stored for an accepted send call (found by its text)."""
        for message in reversed(self.fake.chat_messages(chat_id, from_bot=True)):
            if message.get("text") == params.get("text") or message.get("caption") == params.get("caption"):
                return message
        raise AssertionError(f"no bot message for {params}")

    async def press(self, user: JSON, message: JSON, data: str, *, chat: JSON | None = None) -> str:
        """Press a button; returns the callback query id (answered: see `answer`)."""
        update = self.fake.build.callback_query(
            user, data, message_id=message["message_id"], chat=chat or message["chat"]
        )
        await self.send(update)
        return str(update["callback_query"]["id"])

    async def answer(self, query_id: str) -> JSON:
        return await self.fake.wait_for(
            "answerCallbackQuery", lambda p: str(p["callback_query_id"]) == query_id, timeout=10
        )

    def edits(self, chat_id: int, message_id: int) -> list[JSON]:
        return [p for p in self.fake.calls("editMessageText", chat_id=chat_id) if p.get("message_id") == message_id]

    async def wait_edit(
        self,
        chat_id: int,
        message_id: int,
        contains: str,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> JSON:
        return await self.fake.wait_for(
            "editMessageText",
            lambda p: p.get("message_id") == message_id and contains in p.get("text", ""),
            chat_id=chat_id,
            timeout=timeout,
        )

    async def wait_audio(self, chat_id: int, count: int = 1, timeout: float = 20) -> JSON:  # noqa: ASYNC109
        return await self.fake.wait_for("sendAudio", chat_id=chat_id, count=count, timeout=timeout)

    async def restart(self) -> None:
        """Stop the Telegram adapter and start a new one (a new PTB Application, nothing kept in
        memory) against the same database and Bot API: as after a redeploy."""
        await self.telegram.stop()
        self.telegram = telegram_platform(self.app.settings, self.app.conversation, self.app.words)
        self.app.platforms.register(self.telegram)
        await self.telegram.start()

    def unexpected_errors(self) -> list[str]:
        return [r.getMessage() for r in self.errors.records]


def buttons(message: JSON) -> list[JSON]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button(message: JSON, text_part: str) -> JSON:
    found = [b for b in buttons(message) if text_part in b["text"]]
    assert found, f"no button with {text_part!r} in {[b['text'] for b in buttons(message)]}"
    return found[0]


def markup_of(params: JSON) -> list[JSON]:
    markup = params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@asynccontextmanager
async def telegram_stack(db_url: str, *, webhook: bool = False, **overrides: Any) -> AsyncIterator[Stack]:
    """The bot, built and started as `bot.runtime` does, against a fresh fake Bot API (in webhook
    mode, updates come through the bot's own web server)."""
    async with FakeBotAPI() as fake:
        values: dict[str, Any] = {
            "database_url": db_url,
            "telegram_bot_token": fake.token,
            "telegram_api_base_url": fake.base_url,
            "operator_ids": (f"telegram:{OPERATOR_ID}",),
            "poll_interval_seconds": 0.05,
            "new_account_cooldown_minutes": 0,
            "telegram_chat_action_interval": 0.05,
            "_env_file": None,
        }
        if webhook:
            port = free_port()
            values.update(
                telegram_webhook_secret=WEBHOOK_SECRET,
                web_port=port,
                telegram_webhook_url=f"http://127.0.0.1:{port}/webhooks/telegram",
            )
        values.update(overrides)
        settings = load_settings(**values)
        generator = GatedGenerator(build_generator(settings))
        app = await build_app(settings, generator=generator)
        errors = ErrorLog()
        logging.getLogger().addHandler(errors)
        try:
            telegram = app.platforms.get("telegram")
            assert isinstance(telegram, TelegramPlatform)
            stack = Stack(fake, app, telegram, generator, app.web, errors)
            async with app.running():
                try:
                    yield stack
                finally:
                    generator.open()
                    if stack.telegram is not telegram:  # restarted: the running one is the new one
                        await stack.telegram.stop()
        finally:
            logging.getLogger().removeHandler(errors)
            await app.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def sqlite_db(sqlite_url: str) -> str:
    return sqlite_url
