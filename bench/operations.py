"""The other priced operations' figures, for `python -m bench.generation`'s last line.

- `tts_ms`: 200 characters spoken by eSpeak NG and encoded as the Ogg/Opus voice note the
  platforms take (median of 20, after a warm-up);
- the burst: 200 people send `/say` at once, through the whole `say` use case (checks, the job
  and its hold) and the job runner with the local speech provider, on SQLite; every voice note
  delivered, the ledger audit clean, the process tree's RSS at its peak;
- `mix_ms`: a voice tag into a 30 s clip: decoding the clip, speaking the tag, ducking and
  mixing (median of 10); `tag_ms` adds the MP3 encode of the result (the whole provider call).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable

import psutil

from adapters.audio import PyAVIntake, decode_pcm, encode_mp3
from adapters.audio.mixing import duck_and_mix, resample_linear
from adapters.localsynth.render import OUTPUT_RATE
from adapters.speech import local_speech_generator, render_speech, render_voice_tag, shared_engine
from adapters.storage.database import Database
from adapters.storage.jobs import SqlJobStore
from adapters.storage.ledger import SqlLedgerStore
from bench.common import CountingNotifier, scratch_sqlite
from core.clock import SystemClock
from core.domain.generation import GenerationRequest
from core.domain.identity import Identity
from core.domain.pricing import PackTable, Pricing
from core.domain.rules import CreditRules
from core.services.generation import GenerationService, GenerationSettings
from core.services.wallets import WalletService

TEXT_200 = (
    "Happy birthday to the best friend anyone could ask for. May this year bring you music, "
    "laughter and long summer evenings, and may every song you hum turn into something wonderful."
)[:200].ljust(200, ".")
RULES = CreditRules(pricing=Pricing({5: 1, 10: 2, 15: 3, 30: 5}), packs=PackTable(()))


def median_ms(call: Callable[[], object], runs: int) -> float:
    call()  # warm-up: the library loads, the encoder initialises
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def tts_ms() -> float:
    request = GenerationRequest("bench", None, "female", 14, 0, operation="speech", text=TEXT_200, voice="female")
    return median_ms(lambda: render_speech(shared_engine(), request), 20)


def mix_ms() -> tuple[float, float]:
    """(decode + speak + duck/mix, the same plus the MP3 encode) for a 30 s clip."""
    import numpy as np

    rate = OUTPUT_RATE
    t = np.arange(30 * rate) / rate
    clip = encode_mp3((0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    engine = shared_engine()

    def mix() -> object:
        music, music_rate = decode_pcm(clip)
        voice = engine.synthesize("made by Sam", "male")
        return duck_and_mix(music, resample_linear(voice, engine.sample_rate, music_rate), music_rate)

    request = GenerationRequest(
        "bench", None, "piano", 30, 0, operation="voicetag", text="made by Sam", voice="male", source_audio=clip
    )
    return median_ms(mix, 10), median_ms(lambda: render_voice_tag(engine, request), 10)


def tree_rss_mb() -> float:
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]) / 2**20


async def burst(requests: int = 200) -> tuple[float, list[str], int, float]:
    """(seconds, violations, delivered, peak tree RSS MB) for `requests` simultaneous /say."""
    async with scratch_sqlite() as url, Database(url) as database:
        ledger = SqlLedgerStore(database)
        await ledger.prepare()
        clock = SystemClock()
        speech = local_speech_generator(shared_engine())
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
        problems = await ledger.audit()
        problems += [f"not delivered: {code}" for code in notices.failures]
        for person in people:
            balance = await ledger.balance((await service.wallets.person(person)).wallet_id)
            if (balance.available, balance.held) != (9, 0):
                problems.append(f"{person.key}: {balance.available} available, {balance.held} held")
        return elapsed, problems, notices.delivered, peak
