"""`python -m bot` with TELEGRAM_BOT_TOKEN set: the real runtime (migrations, job workers, the
Telegram runner in the shared loop) long-polls the fake Bot API; a clip is made end to end and
SIGTERM stops it cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from tests.audio_samples import tone_clip
from tests.fakes.telegram_fake import FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_python_m_bot_runs_telegram_and_makes_a_clip(tmp_path, webhook):
    async with FakeBotAPI() as fake:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
        env.update(
            PYTHONPATH=str(ROOT),
            LOG_LEVEL="WARNING",
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_API_BASE_URL=fake.base_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
            DATA_DIR=str(tmp_path / "data"),
            POLL_INTERVAL_SECONDS="0.05",
        )
        if webhook:  # our web server receives Telegram's POSTs (secret token checked)
            port = free_port()
            env.update(
                WEB_PORT=str(port),
                TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/telegram",
                TELEGRAM_WEBHOOK_SECRET="runtime-secret",
            )
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            if webhook:
                await fake.wait_for("setWebhook", timeout=30)
            else:
                await fake.wait_until(lambda: fake.long_polls_waiting > 0, timeout=30)
            ada = fake.new_user(first_name="Ada")
            await fake.push_update(fake.build.command(ada, "start"))
            welcome = await fake.wait_for("sendMessage", chat_id=ada["id"], timeout=30)
            assert welcome["text"].startswith("Welcome! You have 10 free credits.")

            voice = fake.build.voice(ada, tone_clip((440.0, 523.0), seconds=2.0))
            await fake.push_update(voice)
            sent = await fake.wait_for("sendMessage", chat_id=ada["id"], count=2, timeout=30)
            keyboard = next(m for m in fake.chat_messages(ada["id"], from_bot=True) if m.get("text") == sent["text"])
            data = keyboard["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            await fake.push_update(fake.build.callback_query(ada, data, message_id=keyboard["message_id"]))
            audio = await fake.wait_for("sendAudio", chat_id=ada["id"], timeout=30)
            assert audio["caption"] == "−1 credit · 9 left"
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(bot.communicate(), 30)
        assert bot.returncode == 0, err.decode()[-2000:]
        assert bool(fake.webhook_deliveries) == webhook
        assert b"Traceback" not in err, err.decode()[-2000:]
