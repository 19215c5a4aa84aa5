"""The other priced operations' figures, for `python -m bench.generation`'s last line.

- `tts_ms`: 200 characters spoken by eSpeak NG and encoded as the Ogg/Opus voice note the
  platforms take (median of 20, after a warm-up);
- the burst of 200 simultaneous `/say` is `bench.say_burst`;
- `mix_ms`: a voice tag into a 30 s clip: decoding the clip, speaking the tag, ducking and
  mixing (median of 10); `tag_ms` adds the MP3 encode of the result (the whole provider call).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from adapters.audio import decode_pcm, encode_mp3
from adapters.audio.mixing import duck_and_mix, resample_linear
from adapters.localsynth.render import OUTPUT_RATE
from adapters.speech import render_speech, render_voice_tag, shared_engine
from bench.say_burst import TEXT_200
from core.domain.generation import GenerationRequest


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
