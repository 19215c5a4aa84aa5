"""The bot process renders no audio itself: a real `python -m bot` on the console decodes the
recording, renders the music and speaks the text in its worker process, and never loads numpy,
PyAV or eSpeak NG (what would make it large); the worker loads them, and still ends with it."""

from __future__ import annotations

from pathlib import Path

from tests.audio_samples import hum_clip
from tests.e2e.test_graceful_stop import bot_environment, read_until, start_bot, terminate
from tests.process_tree import descendants

# A file each library maps into the process that uses it.
NUMPY = "_multiarray_umath"
PYAV = "libavcodec"
ESPEAK = "libespeak-ng"


def mapped_files(pid: int) -> str:
    """The files mapped into `pid` (its loaded libraries among them), one per line."""
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


async def test_music_and_speech_are_made_in_the_worker_not_in_the_bot_process(tmp_path):
    (tmp_path / "hum.ogg").write_bytes(hum_clip())
    bot = await start_bot(tmp_path, bot_environment(tmp_path))
    assert bot.stdin is not None and bot.stdout is not None
    try:
        bot.stdin.write(b"/generate hum.ogg piano 5\n")
        await bot.stdin.drain()
        await read_until(bot.stdout, "Done!")
        bot.stdin.write(b"/say Made somewhere else.\n")
        await bot.stdin.drain()
        await read_until(bot.stdout, "Done!")
        clips = sorted(path.suffix for path in (tmp_path / "data" / "clips").iterdir())
        in_bot = mapped_files(bot.pid)
        in_workers = "".join(mapped_files(pid) for pid in descendants(bot.pid))
    finally:
        took, left, err = await terminate(bot)

    assert clips == [".mp3", ".ogg"]  # the music, the voice note
    for library in (NUMPY, PYAV, ESPEAK):
        assert library not in in_bot
        assert library in in_workers
    assert bot.returncode == 0, err.decode()[-2000:]
    assert left == set()
