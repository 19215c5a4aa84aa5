"""SIGTERM to a real `python -m bot`: every mode stops the same way within 10 s, nothing it
started outlives it (so a pipeline through it ends), and a job waiting on its prediction stays
in the database, resumable, with its credits still held."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from tests.audio_samples import hum_clip, tone_clip
from tests.fakes.replicate_fake import PROCESSING_FOREVER, FakeReplicate
from tests.fakes.telegram_fake import FakeBotAPI
from tests.process_tree import descendants, running

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN_SECONDS = 10.0


def console_user() -> str:
    return "".join(ch for ch in getpass.getuser() if ch.isalnum() or ch in "_.-") or "me"


def bot_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="INFO",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        DATA_DIR=str(tmp_path / "data"),
        INTAKE_PROCESSES="1",  # a decoding process (with its forkserver) that must not outlive the bot
        **extra,
    )
    return env


async def start_bot(tmp_path: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,  # kept open: only the signal ends it
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def terminate(bot: asyncio.subprocess.Process) -> tuple[float, set[int], bytes]:
    """SIGTERM; returns the seconds until the bot and every process it started were gone and
    its standard output reached its end, the processes still running, and its log."""
    children = descendants(bot.pid)
    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(bot.communicate(), 30)  # ends only once no process holds the pipes
    took = time.monotonic() - started
    return took, {pid for pid in children if running(pid)}, err


async def read_until(stream: asyncio.StreamReader, text: str, within: float = 30.0) -> str:
    seen = ""
    async with asyncio.timeout(within):
        while text not in seen:
            line = await stream.readline()
            assert line, f"output ended before {text!r}: {seen}"
            seen += line.decode()
    return seen


async def test_sigterm_stops_the_console_and_every_process_it_started(tmp_path):
    """Also: with LOG_FORMAT=json every log line is one JSON object, one per job step."""
    (tmp_path / "hum.ogg").write_bytes(hum_clip())
    bot = await start_bot(tmp_path, bot_environment(tmp_path, LOG_FORMAT="json"))
    assert bot.stdin is not None and bot.stdout is not None
    bot.stdin.write(b"/generate hum.ogg piano 5\n")
    await bot.stdin.drain()
    await read_until(bot.stdout, "Done!")  # the recording went through a decoding process
    assert len(descendants(bot.pid)) >= 2  # the forkserver and its worker at least

    took, left, err = await terminate(bot)

    assert bot.returncode == 0, err.decode()[-2000:]
    assert took < STOP_WITHIN_SECONDS
    assert left == set()
    entries = [json.loads(line) for line in err.decode().splitlines()]  # every line is JSON
    messages = [(e["logger"], e["message"]) for e in entries]
    assert ("bot.runtime", "SIGTERM received: stopping") in messages and ("bot.runtime", "stopped") in messages
    assert not any("exception" in e for e in entries), err.decode()[-2000:]
    steps = [e for e in entries if "step" in e]
    assert [e["step"] for e in steps] == ["claimed", "submitted", "generated", "succeeded"]
    assert {(e["job_id"], e["identity"]) for e in steps} == {(steps[0]["job_id"], f"console:{console_user()}")}


async def test_sigterm_on_telegram_leaves_a_running_job_resumable_and_exits_in_time(tmp_path):
    replicate = FakeReplicate(default_script=PROCESSING_FOREVER)
    await replicate.start()
    try:
        async with FakeBotAPI() as telegram:
            env = bot_environment(
                tmp_path,
                TELEGRAM_BOT_TOKEN=telegram.token,
                TELEGRAM_API_BASE_URL=telegram.base_url,
                REPLICATE_API_TOKEN=replicate.api_token,
                REPLICATE_API_BASE=replicate.base_url,
                REPLICATE_MODEL_VERSION=replicate.model_version_id,
                POLL_INTERVAL_SECONDS="0.05",
            )
            bot = await start_bot(tmp_path, env)
            try:
                await telegram.wait_until(lambda: telegram.long_polls_waiting > 0, timeout=30)
                ada = telegram.new_user(first_name="Ada")
                await telegram.push_update(telegram.build.command(ada, "start"))
                await telegram.wait_for("sendMessage", chat_id=ada["id"], timeout=30)
                await telegram.push_update(telegram.build.voice(ada, tone_clip((440.0, 523.0), seconds=2.0)))
                offer = await telegram.wait_for("sendMessage", chat_id=ada["id"], count=2, timeout=30)
                message = next(
                    m for m in telegram.chat_messages(ada["id"], from_bot=True) if m.get("text") == offer["text"]
                )
                data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                press = telegram.build.callback_query(ada, data, message_id=message["message_id"])
                await telegram.push_update(press)
                await replicate.wait_for(lambda: len(replicate.requests_to("GET", "/v1/predictions/")) >= 2, 30)

                took, left, err = await terminate(bot)
            finally:
                if bot.returncode is None:
                    bot.kill()
                    await bot.wait()
    finally:
        await replicate.stop()

    assert bot.returncode == 0, err.decode()[-2000:]
    assert took < STOP_WITHIN_SECONDS
    assert left == set()
    assert b"Traceback" not in err, err.decode()[-2000:]
    with sqlite3.connect(tmp_path / "bot.db") as db:
        jobs = db.execute("SELECT state, prediction_id FROM jobs").fetchall()
    (prediction_id,) = replicate.predictions
    assert jobs == [("running", prediction_id)]  # the next start polls it again
    assert replicate.requests_to("POST", f"/v1/predictions/{prediction_id}/cancel") == []
