"""`python -m bench.discord`: N people each run `/generate` with a hummed clip at the same
moment: the whole bot as `bot.bootstrap` builds it (the Discord platform's real discord.py
client and CommandTree, SQLite, the local melody synthesizer) against the fake Discord REST API
on loopback, fed raw INTERACTION_CREATE payloads.

Measured per person: the acknowledgement (the deferred response reaching Discord) after the
interaction was delivered, and the clip's follow-up after it. Violations: acknowledgements later
than Discord's 3 s, people who did not get exactly one clip or whose balance is wrong, ledger
audit problems, and errors logged by the bot or discord.py.

The fake runs in its own thread with its own event loop, as Discord is another machine: its
request handling is not billed to the bot's loop (it still shares the CPU and the GIL).

Last line: `discord users=<n> ack_p99_ms=<n> delivery_p99_ms=<n> peak_rss_mb=<n> violations=<k>`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from discord.http import Route

from adapters.discord.platform import DiscordPlatform
from adapters.storage.migrations import upgrade
from bench.common import peak_rss_mb
from bot.bootstrap import build_app
from bot.config import load_settings
from bot.runtime import freeze_startup_heap
from core.domain.identity import Identity
from tests.audio_samples import tone_clip
from tests.fakes.discord_fake import FakeDiscordAPI, snowflake, user_payload
from tests.fakes.discord_harness import MEMBER_PERMISSIONS, attachment_option, option, slash_command

T = TypeVar("T")
WELCOME = 10
LENGTH, COST = 5, 1  # everyone asks for a 5 s clip
ACK_LIMIT_MS = 3000.0
GUILD = 95_000_000_000_000_001
CHANNEL = 95_000_000_000_000_002


class FakeThread:
    """The fake Discord on a loop of its own, in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fake-discord", daemon=True)
        self.fake = FakeDiscordAPI()

    def __enter__(self) -> FakeThread:
        self.thread.start()
        self.call(self.fake.start())
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self.fake.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    async def acall(self, coro: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def run(self, fn: Any, *args: Any) -> Any:
        """A plain function of the fake, on its loop (its state is not thread-safe)."""

        async def call() -> Any:
            return fn(*args)

        return await self.acall(call())


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def token_of(route: str) -> str:
    return route.split("/")[3]


async def run(users: int, timeout: float) -> dict[str, float | int]:  # noqa: ASYNC109
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    hum = tone_clip((440.0, 494.0, 523.0, 587.0), seconds=2.0)
    original_base = Route.BASE
    with tempfile.TemporaryDirectory() as tmp, FakeThread() as fake_thread:
        fake = fake_thread.fake
        Route.BASE = fake.api_base
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(db_url)
        settings = load_settings(
            _env_file=None,
            database_url=db_url,
            data_dir=tmp,
            discord_bot_token=fake.token,
            replicate_api_token=None,
            telegram_bot_token=None,
            welcome_credits=WELCOME,
            poll_interval_seconds=0.05,
        )
        app = await build_app(settings)
        platform = app.platforms.get("discord")
        assert isinstance(platform, DiscordPlatform)
        bot = platform.client  # REST login only: the interactions are fed below, no gateway
        await bot.login(fake.token)
        await app.generation.start()
        freeze_startup_heap()  # as `python -m bot` does once it is up
        try:
            people = [user_payload(snowflake(), f"hummer{i}") for i in range(users)]
            payloads = []
            for person in people:
                attachment = await fake_thread.run(fake.add_attachment, hum, "hum.ogg")
                payloads.append(
                    slash_command(
                        "generate",
                        [
                            attachment_option("audio", attachment),
                            option("style", "warm solo piano"),
                            option("length", LENGTH),
                        ],
                        user=person,
                        application_id=fake.application_id,
                        guild_id=GUILD,
                        channel_id=CHANNEL,
                        permissions=MEMBER_PERMISSIONS,
                        attachments=[attachment],
                    )
                )
            for payload in payloads:
                await fake_thread.run(fake.register_interaction, payload)

            # --- everyone runs /generate at once -------------------------------------------
            parse = bot._connection.parsers["INTERACTION_CREATE"]
            sent_at: dict[str, float] = {}
            for payload in payloads:
                sent_at[payload["token"]] = time.perf_counter()
                parse(payload)

            def all_delivered() -> bool:
                clips = {token_of(r.route) for r in fake.requests if r.method == "POST" and r.files and r.status == 200}
                return len(clips & sent_at.keys()) >= users

            await fake_thread.acall(fake.wait_until(all_delivered, timeout=timeout))
            await app.generation.runner.wait_idle()
            requests = await fake_thread.run(list, fake.requests)
            acks: dict[str, float] = {}
            clips: dict[str, list[float]] = {}
            for request in requests:
                if request.route.endswith("/callback") and request.status in (200, 204):
                    acks.setdefault(token_of(request.route), request.received_at)
                elif request.method == "POST" and request.route.startswith("/webhooks/") and request.files:
                    if request.status == 200:
                        clips.setdefault(token_of(request.route), []).append(request.received_at)
            ack_ms = [(acks[t] - s) * 1000 for t, s in sent_at.items() if t in acks]
            delivery_ms = [(min(clips[t]) - s) * 1000 for t, s in sent_at.items() if t in clips]

            # --- the books ----------------------------------------------------------------
            problems = await app.ledger.audit()
            wrong = 0
            for person, payload in zip(people, payloads, strict=True):
                view = await app.wallets.balance(Identity("discord", person["id"]))
                if len(clips.get(payload["token"], [])) != 1 or view.balance.available != WELCOME - COST:
                    wrong += 1
            late = sum(1 for ms in ack_ms if ms > ACK_LIMIT_MS) + (users - len(ack_ms))
        finally:
            await platform.stop()
            await app.close()
            Route.BASE = original_base
    logging.getLogger().removeHandler(errors)
    for message in errors.messages[:5]:
        print(f"error logged: {message}")
    return {
        "users": users,
        "ack_p50_ms": round(statistics.median(ack_ms)) if ack_ms else -1,
        "ack_p99_ms": round(percentile(ack_ms, 0.99)),
        "delivery_p50_ms": round(statistics.median(delivery_ms)) if delivery_ms else -1,
        "delivery_p99_ms": round(percentile(delivery_ms, 0.99)),
        "peak_rss_mb": round(peak_rss_mb()),
        "violations": len(problems) + wrong + late + len(errors.messages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    figures = asyncio.run(run(args.users, args.timeout))
    detail = {k: v for k, v in figures.items() if k in ("ack_p50_ms", "delivery_p50_ms")}
    print(f"detail {' '.join(f'{k}={v}' for k, v in detail.items())}")
    last = ("users", "ack_p99_ms", "delivery_p99_ms", "peak_rss_mb", "violations")
    print(f"discord {' '.join(f'{k}={figures[k]}' for k in last)}")


if __name__ == "__main__":
    main()
