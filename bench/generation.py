"""`python -m bench.generation`: what generation costs here.

1. the intake of a 30 s voice note (OGG/Opus, decoded, checked, resampled to mono WAV);
2. the local melody synthesizer, in milliseconds per second of output;
3. end to end: 500 concurrent requests from 100 persons (real voice notes, real intake) against
   the fake Replicate on loopback in real-time mode (each prediction takes ~1 s), through the
   real `replicate` client, with a global limit of 50 jobs and 2 per person; the total time
   against the ideal (500 / 50 × 1 s), the peak RSS and the ledger audit.

Last line: `generation intake_30s_ms=<n> synth_ms_per_audio_s=<n> e2e_s=<n> ideal_s=<n>
ratio=<r> peak_rss_mb=<n> violations=<k>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from adapters.audio import PyAVIntake
from adapters.localsynth import render_mp3
from adapters.replicate import ReplicateGenerator
from adapters.storage.database import Database
from adapters.storage.job_store import SqlJobStore
from adapters.storage.ledger_store import SqlLedgerStore
from bench.common import peak_rss_mb, scratch_postgres, scratch_sqlite
from core.clock import SystemClock
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import TERMINAL, Job, JobProgress, JobState
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules
from core.errors import BotError
from core.services.generation import GenerationService, GenerationSettings
from core.services.wallets import WalletService
from tests.audio_samples import A4, C5, E5, G4, hum_clip
from tests.fakes.replicate_fake import FakeReplicate

RULES = CreditRules(pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}), packs=PackTable(()))
TUNE = [(A4, 0.5), (C5, 0.5), (E5, 0.5), (G4, 0.5)]


def intake_30s_ms(runs: int = 5) -> float:
    note = hum_clip(TUNE * 15)  # 30 s
    intake = PyAVIntake()
    intake.prepare(note, max_bytes=20_000_000, max_seconds=30)  # warm the codecs
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        clip = intake.prepare(note, max_bytes=20_000_000, max_seconds=30)
        times.append(time.perf_counter() - start)
    assert abs(clip.seconds - 30) < 0.1
    return statistics.median(times) * 1000


def synth_ms_per_audio_s(seconds: int = 30, runs: int = 3) -> float:
    clip = PyAVIntake().prepare(hum_clip(TUNE * 2), max_bytes=20_000_000, max_seconds=30)
    render_mp3(clip.audio, style="piano", seconds=5, seed=1)  # warm up
    times = []
    for run in range(runs):
        start = time.perf_counter()
        render_mp3(clip.audio, style="piano", seconds=seconds, seed=run)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000 / seconds


@dataclass
class CountingNotifier:
    """A chat adapter that accepts every clip at once."""

    delivered: int = 0
    failures: list[str] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0

    async def progress(self, job: Job, progress: JobProgress) -> None:
        return None

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool:
        return bool(clip.audio)

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        self.delivered += 1
        self._check()

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        self.failures.append(error.code)
        self._check()

    def _check(self) -> None:
        if self.delivered + len(self.failures) >= self.expected:
            self.done.set()


@contextlib.asynccontextmanager
async def fake_replicate(latency: float) -> AsyncIterator[FakeReplicate]:
    fake = FakeReplicate(latency_seconds=latency)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def end_to_end(
    url: str, *, requests: int, persons: int, limit: int, per_person: int, latency: float, poll: float
) -> tuple[float, list[str], CountingNotifier, dict[str, int]]:
    async with fake_replicate(latency) as fake, Database(url) as database:
        ledger = SqlLedgerStore(database)
        clock = SystemClock()
        generator = ReplicateGenerator(
            api_token=fake.api_token, model_version_id=fake.model_version_id, base_url=fake.base_url
        )
        notifier = CountingNotifier(expected=requests)
        service = GenerationService(
            store=SqlJobStore(database, ledger.system),
            ledger=ledger,
            wallets=WalletService(ledger, RULES, clock),
            intake=PyAVIntake(),
            generator=generator,
            rules=RULES,
            clock=clock,
            settings=GenerationSettings(max_concurrent=limit, per_person=per_person, poll_interval_seconds=poll),
        )
        service.register_notifier("bench", notifier)
        people = [Identity("telegram", str(100_000 + n)) for n in range(persons)]
        for person in people:  # first contact (10 welcome credits) outside the timed part
            await service.wallets.person(person)
        notes = [hum_clip([(A4, 0.75), (C5, 0.75)], seed=n) for n in range(8)]  # real voice notes
        await service.start()
        start = time.perf_counter()
        await asyncio.gather(
            *[
                service.submit(
                    people[n % persons], notes[n % len(notes)], "warm piano", 5,
                    platform="bench", reply_to={"n": n}, request_id=f"bench-{n}",
                )
                for n in range(requests)
            ]
        )
        await asyncio.wait_for(notifier.done.wait(), timeout=requests * latency + 120)
        elapsed = time.perf_counter() - start
        await service.stop(grace_seconds=0)
        await generator.aclose()
        problems = await ledger.audit()
        states: dict[str, int] = {}
        for person in people:
            for job in await service.recent(person, limit=requests):
                states[job.state.value] = states.get(job.state.value, 0) + 1
        unfinished = sum(n for state, n in states.items() if JobState(state) not in TERMINAL)
        if unfinished:
            problems.append(f"{unfinished} jobs unfinished")
        gets = len(fake.requests_to("GET", "/v1/predictions/"))
        return elapsed, problems, notifier, {"polls": gets, **states}


async def main(args: argparse.Namespace) -> None:
    intake_ms = intake_30s_ms()
    print(f"intake of a 30 s voice note: {intake_ms:.0f} ms", flush=True)
    synth_ms = synth_ms_per_audio_s()
    print(f"local synthesizer: {synth_ms:.1f} ms per second of output", flush=True)
    scratch = scratch_postgres if args.postgres else scratch_sqlite
    async with scratch() as url:
        elapsed, problems, notifier, counts = await end_to_end(
            url,
            requests=args.requests,
            persons=args.persons,
            limit=args.limit,
            per_person=args.per_person,
            latency=args.latency,
            poll=args.poll,
        )
    ideal = args.requests / args.limit * args.latency
    print(
        f"end to end on {'PostgreSQL' if args.postgres else 'SQLite'}: {args.requests} requests from "
        f"{args.persons} persons, limit {args.limit} (≤{args.per_person} each), predictions of "
        f"{args.latency:g} s, polled every {args.poll:g} s: {elapsed:.2f} s (ideal {ideal:.1f} s); "
        f"{notifier.delivered} delivered, {len(notifier.failures)} failed; jobs {counts}",
        flush=True,
    )
    for problem in problems:
        print(f"violation: {problem}")
    print(
        f"generation intake_30s_ms={intake_ms:.0f} synth_ms_per_audio_s={synth_ms:.1f} e2e_s={elapsed:.2f} "
        f"ideal_s={ideal:.1f} ratio={elapsed / ideal:.3f} peak_rss_mb={peak_rss_mb():.0f} violations={len(problems)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--persons", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--per-person", type=int, default=2)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each fake prediction takes")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between two polls of a prediction")
    parser.add_argument("--postgres", action="store_true", help="run the end-to-end part on PostgreSQL")
    asyncio.run(main(parser.parse_args()))
