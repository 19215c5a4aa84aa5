"""200 people send `/say` at once: the figure `python -m bench.generation` prints as
`tts_burst_*`.

Through the whole `say` use case (checks, the job and its hold) and the job runner, with the
local speech provider wired as the bot wires it (speaking in its worker processes), on SQLite:
every voice note delivered, the ledger audit clean, and the RSS of the process tree at its peak.
It runs in a fresh process that loads what the bot loads (not numpy, PyAV or eSpeak, which
only its workers need), so the figure is that of the bot, not of the benchmark that asks.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import psutil

from adapters.audio import PyAVIntake
from adapters.localsynth import LocalSynthGenerator
from adapters.speech import local_speech_generator
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from bench.common import CountingNotifier, scratch_sqlite
from bot.bootstrap import background, renders_in_flight, worker_pool_for
from bot.config import Settings
from bot.processes import WorkerLanes, stop_pool
from core.clock import SystemClock
from core.domain.identity import Identity
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules
from core.services.generation import GenerationService, GenerationSettings
from core.services.wallets import WalletService

TEXT_200 = (
    "Happy birthday to the best friend anyone could ask for. May this year bring you music, "
    "laughter and long summer evenings, and may every song you hum turn into something wonderful."
)[:200].ljust(200, ".")
ROOT = Path(__file__).resolve().parents[1]
RULES = CreditRules(pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}), packs=PackTable(()))


def tree_rss_mb() -> float:
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]) / 2**20


async def burst(requests: int = 200) -> tuple[float, list[str], int, float]:
    """(seconds, violations, delivered, peak tree RSS MB) for `requests` simultaneous /say, in a
    fresh process."""
    # `-c`, not `-m bench.say_burst`: a worker process imports its parent's main module (the
    # bot's, `bot/__main__.py`, is skipped), and the bot's workers do not load a benchmark.
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"import bench.say_burst as b; b.print_burst({int(requests)})",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        return 0.0, [f"the burst process ended with {child.returncode}"], 0, 0.0
    elapsed, problems, delivered, peak = json.loads(out.decode().strip().splitlines()[-1])
    return elapsed, problems, delivered, peak


async def burst_in_this_process(requests: int) -> tuple[float, list[str], int, float]:
    """The burst, with the speech provider and its worker processes as the bot builds them
    (with the settings of this environment)."""
    pool = worker_pool_for(Settings())
    lanes = None if pool is None else WorkerLanes(pool)
    try:
        speech = local_speech_generator(executor=background(lanes), max_workers=renders_in_flight(lanes))
        return await _burst(requests, speech)
    finally:
        if pool is not None:
            await stop_pool(pool)


async def _burst(requests: int, speech: LocalSynthGenerator) -> tuple[float, list[str], int, float]:
    async with scratch_sqlite() as url, Database(url) as database:
        ledger = SqlLedgerStore(database)
        await ledger.prepare()
        clock = SystemClock()
        notices = CountingNotifier(expected=requests)
        service = GenerationService(
            store=SqlJobStore(database, ledger),
            ledger=ledger,
            wallets=WalletService(ledger, RULES, clock),
            intake=PyAVIntake(),  # not used: speech has no recording
            generator=speech,
            rules=RULES,
            clock=clock,
            settings=GenerationSettings(max_concurrent=50, per_person=2, poll_interval_seconds=0.05),
            notifier=notices,
            providers={"speech": speech},
        )
        people = [Identity("telegram", str(500_000 + n)) for n in range(requests)]
        for person in people:
            await service.wallets.person(person)
        peak = tree_rss_mb()
        await service.start()
        start = time.perf_counter()
        await asyncio.gather(
            *[
                service.say(person, TEXT_200, platform="bench", reply_to={"n": n}, request_id=f"say-{n}")
                for n, person in enumerate(people)
            ]
        )
        while not notices.done.is_set():
            peak = max(peak, tree_rss_mb())
            try:
                await asyncio.wait_for(notices.done.wait(), timeout=0.1)
            except TimeoutError:
                pass
        elapsed = time.perf_counter() - start
        peak = max(peak, tree_rss_mb())
        await service.stop(grace_seconds=0)
        await speech.aclose()
        problems = await ledger.audit()
        problems += [f"not delivered: {code}" for code in notices.failures]
        for person in people:
            balance = await ledger.balance((await service.wallets.person(person)).wallet_id)
            if (balance.available, balance.held) != (9, 0):
                problems.append(f"{person.key}: {balance.available} available, {balance.held} held")
        return elapsed, problems, notices.delivered, peak


def print_burst(requests: int) -> None:
    print(json.dumps(asyncio.run(burst_in_this_process(requests))))
