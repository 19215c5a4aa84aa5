"""/generate in the console, end to end with the local melody synthesizer: the cost before, the
clip under DATA_DIR/clips, the charge after; failures say the credits were not charged."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import av

from adapters.storage.migrations import upgrade
from bot.bootstrap import build_app
from bot.config import load_settings
from core.domain.identity import Identity
from core.domain.jobs import JobState
from tests.audio_samples import A4, C5, hum_clip, silence_clip
from tests.e2e.console_kit import console_chat

ROOT = Path(__file__).resolve().parents[2]


def run_console(workdir: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    environment.update({"PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        cwd=workdir,
        env=environment,
        timeout=120,
    )


def seconds_of(mp3: bytes) -> float:
    with av.open(io.BytesIO(mp3)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate


def test_generate_shows_the_cost_writes_the_clip_and_charges_after(tmp_path):
    (tmp_path / "hum.ogg").write_bytes(hum_clip([(A4, 1.0), (C5, 1.0)]))
    (tmp_path / "quiet.ogg").write_bytes(silence_clip())
    result = run_console(
        tmp_path,
        [
            "/generate hum.ogg warm piano 10",
            "/generate quiet.ogg piano 5",
            "/generate hum.ogg piano 7",
            "/balance",
        ],
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "🎵 warm piano · 10 s · 2 credits held · 8 left to use" in out
    assert "Generating your 10 s warm piano clip…" in out
    assert "✅ Done! −2 credits · 8 left" in out
    assert "That recording is silent." in out  # refused before anything was held
    assert "Pick a length of 5, 10, 15, 30 seconds." in out
    assert "Credits: 8 (8 free, 0 paid)" in out and "Generations: 1 · credits spent: 2" in out
    (clip,) = (tmp_path / "data" / "clips").glob("*.mp3")
    assert f"🎵 Your 10 s warm piano clip: data/clips/{clip.name}" in out
    assert abs(seconds_of(clip.read_bytes()) - 10.0) < 0.2


async def test_a_clip_that_cannot_be_delivered_is_not_charged_and_says_so(tmp_path, capsys):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "clips").write_text("a file where the clips folder should be")
    app, chat, me = await console_app(tmp_path)
    try:
        await app.generation.start()
        reply = await chat.handle(f"/generate {tmp_path / 'hum.ogg'} strings 10")
        assert reply == (
            "The clip was made but I couldn't send it to you. Your 2 credits were not charged.\nYou have 10 credits."
        )
        assert "Generating your 10 s strings clip…" in capsys.readouterr().out
        assert (await app.wallets.balance(me)).balance.available == 10
        assert await app.ledger.audit() == []
    finally:
        await app.close()


async def console_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The console's commands over a fresh database, in this process (progress goes to stdout)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade(url)
    settings = load_settings(database_url=url, data_dir=str(tmp_path / "data"), replicate_api_token=None)
    app = await build_app(settings)
    me = Identity("console", "tester")
    (tmp_path / "hum.ogg").write_bytes(hum_clip())
    return app, console_chat(app, me), me


async def test_jobs_lists_a_waiting_job_and_cancel_releases_it(tmp_path, capsys):
    app, chat, me = await console_app(tmp_path)
    try:
        # not started: the job waits in the queue, as behind a busy generator
        reply = await chat.handle(f"/generate {tmp_path / 'hum.ogg'} lofi synth 15 --no-wait")
        assert "🎵 lofi synth · 15 s · 3 credits held · 7 left to use" in reply and "Queued: #1 in line" in reply
        [job_id] = [view.job.job_id for view in await app.generation.jobs(me)]
        listing = await chat.handle("/jobs")
        assert f"{job_id} · 15 s lofi synth · queued (#1 in line)" in listing
        assert await chat.handle(f"/cancel {job_id}") == f"Job {job_id} canceled. Your 3 credits were not charged."
        assert await chat.handle("/jobs") == "No jobs running."
        view = await app.generation.job(job_id)
        assert view is not None and view.job.state == JobState.CANCELED
        assert (await app.wallets.balance(me)).balance.available == 10
    finally:
        await app.close()
