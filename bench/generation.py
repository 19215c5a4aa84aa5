"""`python -m bench.generation`: what generation costs here.

1. the intake of a 30 s voice note (OGG/Opus, decoded, checked, resampled to mono WAV);
2. the local melody synthesizer, in milliseconds per second of output;
3. end to end: 500 concurrent requests from 100 persons against the fake Replicate in real-time
   mode (each prediction takes ~1 s), through the real `replicate` client, with a global limit
   of 50 jobs and 2 per person; the total time against the ideal (500 / 50 × 1 s), the peak RSS
   and the ledger audit. The requests go through the whole `submit` (validation, intake, the
   job and its hold in one transaction); the 8 distinct voice notes are decoded once each
   (`--fresh-intake` decodes all 500, in a process pool as the bot does). The fake Replicate
   runs in a process of its own, as Replicate is another machine. Two runs: polling only (no
   PUBLIC_BASE_URL), then Replicate's webhook with polling as the fallback; the last line
   reports the second (`--mode` picks one).

4. the other priced operations (`bench.operations`): speech for 200 characters as a voice note,
   200 simultaneous /say with the local voice, a voice tag mixed into a 30 s clip.

Last line: `generation intake_30s_ms=<n> synth_ms_per_audio_s=<n> e2e_s=<n> ideal_s=<n>
ratio=<r> peak_rss_mb=<n> violations=<k> tts_ms=<n> tts_burst_violations=<k> mix_ms=<n>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import multiprocessing
import os
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from aiohttp import web

from adapters.audio import PyAVIntake
from adapters.localsynth import render_mp3
from adapters.replicate import ReplicateGenerator, verify_replicate_webhook
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from bench import operations, say_burst
from bench.common import CountingNotifier, peak_rss_mb, scratch_postgres, scratch_sqlite
from core.clock import SystemClock
from core.domain.generation import PreparedClip
from core.domain.identity import Identity
from core.domain.jobs import TERMINAL, JobState
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules
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


def _warm_up() -> None:
    PyAVIntake().prepare(hum_clip(), max_bytes=1_000_000, max_seconds=30)


def _serve_fake(latency: float, pipe: Connection) -> None:
    """The fake Replicate in a process of its own: Replicate is another machine, and its work
    (parsing uploads, hashing them) must not eat the bot's CPU in this measurement."""

    async def serve() -> None:
        fake = FakeReplicate(latency_seconds=latency)
        await fake.start()
        pipe.send((fake.base_url, fake.api_token, fake.model_version_id, fake.webhook_secret))
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
        pipe.send(len(fake.requests_to("GET", "/v1/predictions/")))
        await fake.stop()

    asyncio.run(serve())


@dataclass
class RemoteFake:
    base_url: str
    api_token: str
    model_version_id: str
    webhook_secret: str
    pipe: Connection
    process: BaseProcess

    def stop(self) -> int:
        """Stop it; returns how many status polls it answered."""
        self.pipe.send("stop")
        polls = int(self.pipe.recv())
        self.process.join(timeout=10)
        return polls


@contextlib.contextmanager
def fake_replicate(latency: float) -> Iterator[RemoteFake]:
    ours, theirs = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(target=_serve_fake, args=(latency, theirs), daemon=True)
    process.start()
    base_url, token, version, secret = ours.recv()
    remote = RemoteFake(base_url, token, version, secret, ours, process)
    try:
        yield remote
    finally:
        if process.is_alive():
            process.terminate()


class WebhookReceiver:
    """`POST /webhooks/replicate` as the bot's web server answers it: verify, then apply."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.service: GenerationService | None = None
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/webhooks/replicate", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{self._runner.addresses[0][1]}/webhooks/replicate"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        status = verify_replicate_webhook(await request.read(), request.headers, self.secret, now=time.time())
        if self.service is not None:
            await self.service.on_prediction_update(status)
        return web.json_response({"ok": True})


@dataclass(frozen=True)
class Load:
    requests: int = 500
    persons: int = 100
    limit: int = 50
    per_person: int = 2
    latency: float = 1.0  # seconds each fake prediction takes
    poll: float = 0.1  # seconds between two polls of one prediction
    intake_processes: int = max(1, (os.cpu_count() or 2) - 1)
    fresh_intake: bool = False  # decode every request's note, not each distinct note once
    connections: int = 100  # the Replicate client's HTTP connection pool
    webhook: bool = False  # Replicate also calls our webhook (PUBLIC_BASE_URL set); polls fall back


class RememberingIntake:
    """The real intake, run once per distinct recording. The bench sends 8 distinct voice notes
    500 times; decoding each copy again would measure the intake 500 times over (its cost is
    the first figure), not the job machine. `--fresh-intake` decodes every one."""

    def __init__(self) -> None:
        self._intake = PyAVIntake()
        self._seen: dict[bytes, PreparedClip] = {}

    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        key = hashlib.sha256(data).digest()
        if key not in self._seen:
            self._seen[key] = self._intake.prepare(data, max_bytes=max_bytes, max_seconds=max_seconds)
        return self._seen[key]


async def end_to_end(url: str, load: Load) -> tuple[float, list[str], CountingNotifier, dict[str, int]]:
    with fake_replicate(load.latency) as fake:
        return await _run(fake, url, load)


async def _run(fake: RemoteFake, url: str, load: Load) -> tuple[float, list[str], CountingNotifier, dict[str, int]]:
    pool = None
    if load.fresh_intake:  # as in production (bot/generation.py): decoded in worker processes
        pool = ProcessPoolExecutor(load.intake_processes, mp_context=multiprocessing.get_context("forkserver"))
        await asyncio.get_running_loop().run_in_executor(pool, _warm_up)  # started before timing
    hooks = WebhookReceiver(fake.webhook_secret) if load.webhook else None
    webhook_url = await hooks.start() if hooks else None
    async with Database(url) as database:
        ledger = SqlLedgerStore(database)
        await ledger.prepare()  # as build_app does: the system accounts' ids cached
        clock = SystemClock()
        generator = ReplicateGenerator(
            api_token=fake.api_token,
            model_version_id=fake.model_version_id,
            base_url=fake.base_url,
            max_connections=load.connections,
        )
        notifier = CountingNotifier(expected=load.requests)
        service = GenerationService(
            store=SqlJobStore(database, ledger),
            ledger=ledger,
            wallets=WalletService(ledger, RULES, clock),
            intake=PyAVIntake() if load.fresh_intake else RememberingIntake(),
            generator=generator,
            rules=RULES,
            clock=clock,
            settings=GenerationSettings(
                max_concurrent=load.limit,
                per_person=load.per_person,
                poll_interval_seconds=load.poll,
                intake_workers=load.intake_processes,
                webhook_url=webhook_url,
                webhook_poll_interval_seconds=5.0,
            ),
            intake_executor=pool,
            notifier=notifier,
        )
        if hooks:
            hooks.service = service
        people = [Identity("telegram", str(100_000 + n)) for n in range(load.persons)]
        for person in people:  # first contact (10 welcome credits) outside the timed part
            await service.wallets.person(person)
        notes = [hum_clip([(A4, 0.75), (C5, 0.75)], seed=n) for n in range(8)]  # real voice notes
        await service.start()
        start = time.perf_counter()
        await asyncio.gather(
            *[
                service.submit(
                    people[n % load.persons],
                    notes[n % len(notes)],
                    "warm piano",
                    5,
                    platform="bench",
                    reply_to={"n": n},
                    request_id=f"bench-{n}",
                )
                for n in range(load.requests)
            ]
        )
        await asyncio.wait_for(notifier.done.wait(), timeout=load.requests * load.latency + 120)
        elapsed = time.perf_counter() - start
        await service.stop(grace_seconds=0)
        if hooks:
            await hooks.stop()
        await generator.aclose()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        problems = await ledger.audit()
        states: dict[str, int] = {}
        for person in people:
            for job in await service.recent(person, limit=load.requests):
                states[job.state.value] = states.get(job.state.value, 0) + 1
        unfinished = sum(n for state, n in states.items() if JobState(state) not in TERMINAL)
        if unfinished:
            problems.append(f"{unfinished} jobs unfinished")
        return elapsed, problems, notifier, {"polls": fake.stop(), **states}


async def main(args: argparse.Namespace) -> None:
    intake_ms = intake_30s_ms()
    print(f"intake of a 30 s voice note: {intake_ms:.0f} ms", flush=True)
    synth_ms = synth_ms_per_audio_s()
    print(f"local synthesizer: {synth_ms:.1f} ms per second of output", flush=True)
    scratch = scratch_postgres if args.postgres else scratch_sqlite
    modes = {"polling only (no PUBLIC_BASE_URL)": False, "webhook + fallback polling": True}
    if args.mode != "both":
        modes = {k: v for k, v in modes.items() if v == (args.mode == "webhook")}
    ideal = args.requests / args.limit * args.latency
    problems: list[str] = []
    elapsed = 0.0
    for name, webhook in modes.items():
        load = Load(
            args.requests,
            args.persons,
            args.limit,
            args.per_person,
            args.latency,
            args.poll,
            fresh_intake=args.fresh_intake,
            connections=args.connections,
            webhook=webhook,
        )
        async with scratch() as url:
            elapsed, found, notifier, counts = await end_to_end(url, load)
        problems += found
        print(
            f"end to end, {name}, {'PostgreSQL' if args.postgres else 'SQLite'}: {args.requests} "
            f"requests from {args.persons} persons, limit {args.limit} (≤{args.per_person} each), "
            f"predictions of {args.latency:g} s, poll interval {args.poll:g} s: {elapsed:.2f} s "
            f"(ideal {ideal:.1f} s, ratio {elapsed / ideal:.3f}); {notifier.delivered} delivered, "
            f"{len(notifier.failures)} failed; {counts}",
            flush=True,
        )
    for problem in problems:
        print(f"violation: {problem}")
    rss = peak_rss_mb()  # of the music runs, before the operations' part
    speech_ms = operations.tts_ms()
    print(f"speech, 200 characters as an Ogg/Opus voice note: {speech_ms:.1f} ms", flush=True)
    burst_s, burst_problems, delivered, burst_rss = await say_burst.burst(200)
    print(
        f"200 simultaneous /say, local voice, SQLite: {burst_s:.2f} s, {delivered} delivered, "
        f"process tree peak {burst_rss:.0f} MB, {len(burst_problems)} violations",
        flush=True,
    )
    for problem in burst_problems:
        print(f"violation: {problem}")
    mixing_ms, tag_ms = operations.mix_ms()
    print(f"voice tag into a 30 s clip: {mixing_ms:.1f} ms mixing, {tag_ms:.1f} ms with the MP3 encode", flush=True)
    # The last line reports the last mode run (webhook + polling unless --mode polling).
    print(
        f"generation intake_30s_ms={intake_ms:.0f} synth_ms_per_audio_s={synth_ms:.1f} "
        f"e2e_s={elapsed:.2f} ideal_s={ideal:.1f} ratio={elapsed / ideal:.3f} "
        f"peak_rss_mb={rss:.0f} violations={len(problems)} "
        f"tts_ms={speech_ms:.1f} tts_burst_violations={len(burst_problems)} tts_burst_rss_mb={burst_rss:.0f} "
        f"mix_ms={mixing_ms:.1f} tag_ms={tag_ms:.1f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--fresh-intake",
        action="store_true",
        help="decode every request's voice note (process pool)",
    )
    parser.add_argument("--connections", type=int, default=100, help="Replicate client pool size")
    parser.add_argument(
        "--mode",
        choices=("both", "polling", "webhook"),
        default="both",
        help="how predictions are followed: polling only, or Replicate's webhook with polling as "
        "the fallback (PUBLIC_BASE_URL set); both by default, the webhook figures last",
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--persons", type=int, default=100)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--per-person", type=int, default=2)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds each fake prediction takes")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between two polls of a prediction")
    parser.add_argument("--postgres", action="store_true", help="run the end-to-end part on PostgreSQL")
    asyncio.run(main(parser.parse_args()))
