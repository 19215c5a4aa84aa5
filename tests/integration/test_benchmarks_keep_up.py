"""The benchmark commands are not run by the suite (they print figures, minutes each), but they
must keep up with the code they drive: each one imports, and the generation benchmark runs a
tiny load."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import bench

MODULES = sorted(info.name for info in pkgutil.iter_modules(bench.__path__))


def test_there_are_benchmarks():
    assert {"discord", "generation", "ledger", "telegram", "webhooks"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_each_benchmark_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert module.__doc__, f"bench.{name} says what it measures"


async def test_the_generation_benchmark_runs_a_tiny_load(tmp_path):
    """The job machine as the benchmark drives it (a fake Replicate, a real SQLite file): a few
    jobs, each delivered once, the books balanced."""
    from adapters.storage.migrations import upgrade
    from bench.generation import Load, end_to_end

    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    await upgrade(url)
    load = Load(requests=4, persons=2, limit=2, latency=0.05, poll=0.02, intake_processes=1, connections=4)
    _elapsed, problems, notifier, counts = await end_to_end(url, load)
    assert problems == []
    assert (notifier.delivered, len(notifier.failures)) == (4, 0)
    assert counts.get("succeeded") == 4


@pytest.mark.postgres
async def test_the_scale_benchmark_runs_a_tiny_load():
    """Two bot processes on one PostgreSQL database behind the sticky webhook balancer: two
    people each start, claim, get a clip and buy a pack; every Stripe event reaches both
    processes, and each pack is granted once."""
    from bench.scale import run_round

    found = await run_round(processes=2, users=2, timeout=60)
    assert found.violations == []
    assert found.double_grants == 0
    assert len(found.first_reply_ms) == 2 and found.throughput > 0


@pytest.mark.postgres
async def test_the_scale_benchmark_measures_the_burst_and_the_floor():
    """The /start-only burst through the real bots and the same burst through echo bots: a
    first reply for each person, and where the cores went over that stretch."""
    from bench.scale import floor_round, run_round

    burst = await run_round(processes=1, users=3, timeout=60, journey=False)
    floor = await floor_round(processes=1, users=3, timeout=60)
    for found in (burst, floor):
        assert len(found.first_reply_ms) == 3 and found.violations == []
        assert found.cores is not None and found.cores.seconds > 0


def test_the_telegram_benchmark_runs_a_tiny_load_and_ends():
    """`python -m bench.telegram` as it is run: a fake Bot API in a process of its own, three
    people; it must end (a stop that waits on a process the bot shares helpers with hung it)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "bench.telegram", "--users", "3", "--timeout", "60"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("telegram users=3 ") and last.endswith("violations=0"), last
