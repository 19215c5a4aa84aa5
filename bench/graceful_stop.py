"""How long `python -m bot` (the console) takes to stop on SIGTERM after making a clip, and
whether any process it started is left: `python -m bench.graceful_stop [--runs 5]`.

Prints one line: `graceful_stop runs=5 median_s=... max_s=... leftover_processes=0`. The stop
is timed from the signal until the bot and every process holding its output have ended (what a
`... | tee` waits for)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.audio_samples import hum_clip
from tests.process_tree import descendants, running

ROOT = Path(__file__).resolve().parents[1]


async def one_stop(workdir: Path) -> tuple[float, int]:
    (workdir / "hum.ogg").write_bytes(hum_clip())
    env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), LOG_LEVEL="WARNING", INTAKE_PROCESSES="1")
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=workdir,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert bot.stdin is not None and bot.stdout is not None
    bot.stdin.write(b"/generate hum.ogg piano 5\n")
    await bot.stdin.drain()
    async with asyncio.timeout(60):
        while b"Done!" not in await bot.stdout.readline():
            pass
    children = descendants(bot.pid)
    started = time.monotonic()
    bot.send_signal(signal.SIGTERM)
    await asyncio.wait_for(bot.communicate(), 60)
    return time.monotonic() - started, sum(1 for pid in children if running(pid))


async def measure(runs: int) -> dict[str, object]:
    took: list[float] = []
    left = 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            seconds, leftover = await one_stop(Path(workdir))
        took.append(seconds)
        left += leftover
    return {
        "runs": runs,
        "median_s": f"{statistics.median(took):.3f}",
        "max_s": f"{max(took):.3f}",
        "leftover_processes": left,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    figures = asyncio.run(measure(parser.parse_args().runs))
    print(f"graceful_stop {' '.join(f'{k}={v}' for k, v in figures.items())}")


if __name__ == "__main__":
    main()
