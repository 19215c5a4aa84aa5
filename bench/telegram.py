"""`python -m bench.telegram`: N people each send a voice note at the same moment, press a style
button, and get their clip: the whole bot (PTB long polling, SQLite, the local melody
synthesizer) against the fake Bot API on loopback.

The fake Bot API and the people run in a separate process (Telegram is another machine; its
request handling is not billed to the bot). Times are CLOCK_MONOTONIC, shared by both processes.

- first reply: voice note pushed → the bot's first accepted message in that chat (the keyboard);
- delivery: button press pushed → the clip accepted by sendAudio;
- updates_per_s: voice notes handled per second in the burst (N / time to the last keyboard);
- violations: ledger audit problems + people without exactly one clip or with a wrong balance
  + unexpected errors the bot logged.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import resource
import statistics
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

COST = 1  # everyone presses the first button: piano, 5 s
WELCOME = 10


# --- the other process: Telegram and its users -------------------------------------------------


def counted(fake: Any, method: str, target: int) -> Any:
    """A `wait_until` condition reading the fake's request log incrementally (`wait_for`
    rescans the whole log at every request: quadratic over a long run)."""
    seen = {"index": 0, "count": 0}

    def enough() -> bool:
        log = fake.requests_log
        for request in log[seen["index"] :]:
            if request.ok and request.method == method:
                seen["count"] += 1
        seen["index"] = len(log)
        return seen["count"] >= target

    return enough


def telegram_side(conn: Connection, users: int, timeout: float) -> None:
    asyncio.run(_telegram_side(conn, users, timeout))


async def _telegram_side(conn: Connection, users: int, timeout: float) -> None:  # noqa: ASYNC109
    from tests.audio_samples import tone_clip
    from tests.fakes.telegram_fake import FakeBotAPI

    loop = asyncio.get_running_loop()
    voice = tone_clip((440.0, 494.0, 523.0, 587.0), seconds=2.0)
    async with FakeBotAPI() as fake:
        people = [fake.new_user() for _ in range(users)]
        conn.send((fake.token, fake.base_url, [p["id"] for p in people]))
        await loop.run_in_executor(None, conn.recv)  # the bot is up
        updates = [fake.build.voice(p, voice) for p in people]

        sent_at = time.monotonic()
        await fake.push_updates(updates)
        await fake.wait_until(counted(fake, "sendMessage", users), timeout=timeout)
        keyboards_at = time.monotonic()
        conn.send("keyboards")
        first: dict[int, float] = {}
        for request in fake.requests("sendMessage"):
            first.setdefault(int(request.params["chat_id"]), request.at) if request.ok else None

        presses = []
        for person in people:
            keyboard = next(m for m in fake.chat_messages(person["id"], from_bot=True) if m.get("reply_markup"))
            data = keyboard["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            presses.append(fake.build.callback_query(person, data, message_id=keyboard["message_id"]))
        pressed_at = time.monotonic()
        await fake.push_updates(presses)
        await fake.wait_until(counted(fake, "sendAudio", users), timeout=timeout)
        conn.send(None)  # all clips are in: the bot may settle its jobs

        await loop.run_in_executor(None, conn.recv)  # the bot has settled
        clips: dict[int, list[float]] = {}
        for request in fake.requests("sendAudio"):
            if request.ok:
                clips.setdefault(int(request.params["chat_id"]), []).append(request.at)
        conn.send(
            {
                "first_reply_ms": [(first[p["id"]] - sent_at) * 1000 for p in people if p["id"] in first],
                "burst_seconds": keyboards_at - sent_at,
                "delivery_ms": [(min(times) - pressed_at) * 1000 for times in clips.values()],
                "clips": {chat: len(times) for chat, times in clips.items()},
            }
        )
        await loop.run_in_executor(None, conn.recv)  # the bot stopped


# --- this process: the bot ------------------------------------------------------------------


class ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))] if ordered else float("nan")


async def bot_side(conn: Connection, users: int, concurrency: int | None = None) -> dict[str, float | int]:
    from adapters.storage.migrations import upgrade
    from bot.bootstrap import build_app
    from bot.config import load_settings
    from bot.runtime import freeze_startup_heap
    from core.domain.identity import Identity

    token, base_url, people = await asyncio.to_thread(conn.recv)
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade(db_url)
        settings = load_settings(
            _env_file=None,
            database_url=db_url,
            data_dir=tmp,
            telegram_bot_token=token,
            telegram_api_base_url=base_url,
            poll_interval_seconds=0.05,
            **({"telegram_concurrency": concurrency} if concurrency else {}),
        )
        app = await build_app(settings)
        running = app.running()
        await running.__aenter__()
        freeze_startup_heap()  # as `python -m bot` does once it is up
        try:
            cpu_start = time.process_time()
            conn.send("go")
            await asyncio.to_thread(conn.recv)  # every keyboard was sent
            cpu_keyboards = time.process_time()
            await asyncio.to_thread(conn.recv)  # every clip was sent
            cpu_clips = time.process_time()
            await app.generation.runner.wait_idle()
            conn.send("settled")
            seen: dict[str, Any] = await asyncio.to_thread(conn.recv)
            problems = await app.ledger.audit()
            wrong = 0
            for user_id in people:
                view = await app.wallets.balance(Identity("telegram", str(user_id)))
                if seen["clips"].get(user_id, 0) != 1 or view.balance.available != WELCOME - COST:
                    wrong += 1
        finally:
            await running.__aexit__(None, None, None)
            await app.close()
            conn.send("stopped")
    logging.getLogger().removeHandler(errors)
    print(
        f"bot CPU: {(cpu_keyboards - cpu_start) * 1000 / users:.1f} ms per voice note (keyboard), "
        f"{(cpu_clips - cpu_keyboards) * 1000 / users:.1f} ms per clip "
        "(press → sendAudio, intake and synth included)"
    )
    return {
        "users": users,
        "updates_per_s": round(users / max(seen["burst_seconds"], 1e-9)),
        "first_reply_p50_ms": round(statistics.median(seen["first_reply_ms"])),
        "first_reply_p99_ms": round(percentile(seen["first_reply_ms"], 0.99)),
        "delivery_p99_ms": round(percentile(seen["delivery_ms"], 0.99)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "violations": len(problems) + wrong + errors.count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="updates handled at once (default: the setting)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    telegram = context.Process(target=telegram_side, args=(there, args.users, args.timeout), name="fake-telegram")
    telegram.start()
    try:
        figures = asyncio.run(bot_side(here, args.users, args.concurrency))
    finally:
        telegram.join(30)
        if telegram.is_alive():
            telegram.terminate()
    print(f"telegram {' '.join(f'{k}={v}' for k, v in figures.items())}")


if __name__ == "__main__":
    main()
