"""Audio figures: how long intake and the local synthesizer take on this machine.

Functions return numbers; only `__main__` prints. Run: `.venv/bin/python -m bench.audio_figures`.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from adapters.audio import PyAVIntake, encode_opus_ogg
from adapters.localsynth import VOICES, render_mp3


def hummed_voice_note(seconds: float = 30.0, sample_rate: int = 48_000) -> bytes:
    """A voice-note-like Ogg/Opus clip: a hummed figure (overtones, vibrato, breath noise)."""
    rng = np.random.default_rng(0)
    figure = [392.0, 440.0, 523.25, 659.25, 523.25, 440.0]
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freq = np.array(figure)[(t // 0.5).astype(int) % len(figure)]
    freq = freq * 2 ** (20 / 1200 * np.sin(2 * np.pi * 5.5 * t))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 7))
    signal = 0.2 * tone / np.abs(tone).max() + 0.005 * rng.standard_normal(len(t))
    return encode_opus_ogg(signal.astype(np.float32), sample_rate)


def intake_30s_ms(runs: int = 5) -> float:
    """Median wall time (ms) to prepare a 30 s Ogg/Opus voice note (decode, mono, 32 kHz,
    checks, WAV out)."""
    data = hummed_voice_note(30.0)
    intake = PyAVIntake()
    intake.prepare(data, max_bytes=20 * 2**20, max_seconds=30)  # warm up codecs
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        intake.prepare(data, max_bytes=20 * 2**20, max_seconds=30)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def synth_ms_per_audio_s(style: str = "piano", seconds: int = 30, runs: int = 3) -> float:
    """Median CPU time (ms) the local synth spends per second of output (pitch track, render,
    MP3 encode), for a 30 s clip from a 10 s hummed input."""
    clip = PyAVIntake().prepare(hummed_voice_note(10.0), max_bytes=20 * 2**20, max_seconds=30)
    render_mp3(clip.audio, style=style, seconds=5, seed=0)  # warm up
    times = []
    for seed in range(runs):
        start = time.process_time()
        render_mp3(clip.audio, style=style, seconds=seconds, seed=seed)
        times.append(time.process_time() - start)
    return 1000 * statistics.median(times) / seconds


def synth_ms_per_audio_s_by_voice(seconds: int = 30, runs: int = 3) -> dict[str, float]:
    return {voice: synth_ms_per_audio_s(voice, seconds, runs) for voice in VOICES}


if __name__ == "__main__":
    print(f"intake of a 30 s Ogg/Opus voice note: {intake_30s_ms():.0f} ms (median of 5)")
    for voice, ms in synth_ms_per_audio_s_by_voice().items():
        print(f"local synth, {voice:8s}: {ms:.1f} ms CPU per second of audio")
