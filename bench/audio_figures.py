"""Audio figures: how long intake and the local synthesizer take on this machine.

Functions return numbers; only `__main__` prints. Run: `.venv/bin/python -m bench.audio_figures`.
The `intake_peak_rss` lines: what one hostile upload makes an intake worker hold (MB); the
`bot_tree_rss` line: the whole `python -m bot` process tree while they arrive on the console.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import av
import numpy as np
import psutil

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


# --- hostile inputs: what one upload can make an intake worker hold ----------------------------


def _wav(body: bytes, *, rate: int, channels: int, tag: int, bits: int, data_size: int | None = None) -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    size = len(body) if data_size is None else data_size
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + body
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def one_hertz_flac(samples: int = 100_000) -> bytes:
    """~200 kB of real FLAC at 1 Hz: resampled to 32 kHz, each frame becomes 100+ million samples."""
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=1, layout="mono")
        noise = np.random.default_rng(0).integers(-10_000, 10_000, (1, samples), dtype=np.int16)
        frame = av.AudioFrame.from_ndarray(noise, format="s16", layout="mono")
        frame.sample_rate = 1
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()


def long_stereo_wav() -> bytes:
    """20 MB of 48 kHz stereo (104 s, far past the 30 s limit)."""
    pcm = np.random.default_rng(0).integers(-20_000, 20_000, 9_990_000, dtype=np.int16).tobytes()
    return _wav(pcm, rate=48_000, channels=2, tag=1, bits=16)


def eight_channel_384k_wav() -> bytes:
    """20 MB of 8-channel float at 384 kHz: the most the intake accepts, at the highest rate."""
    pcm = np.random.default_rng(0).random(4_990_000, dtype=np.float32).tobytes()
    return _wav(pcm, rate=384_000, channels=8, tag=3, bits=32)


def lying_wav() -> bytes:
    """64 kB of 8 kHz audio whose header promises 4 GB."""
    pcm = np.random.default_rng(0).integers(0, 255, 64_000, dtype=np.uint8).tobytes()
    return _wav(pcm, rate=8_000, channels=1, tag=1, bits=8, data_size=0xFFFFFFF0)


HOSTILE: dict[str, Callable[[], bytes]] = {
    "voice_note_30s": lambda: hummed_voice_note(30.0),
    "flac_1hz": one_hertz_flac,
    "wav_20mb_104s_stereo": long_stereo_wav,
    "wav_20mb_8ch_384khz_float": eight_channel_384k_wav,
    "wav_header_claims_4gb": lying_wav,
}


def _intake_in_this_process(upload: Path) -> tuple[str, float, float]:
    """(outcome, RSS before the intake, peak RSS) in MB, in a fresh worker."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        clip = PyAVIntake().prepare_file(upload, max_bytes=20 * 2**20, max_seconds=30)
        outcome = f"accepted:{clip.seconds:.1f}s"
    except Exception as error:  # noqa: BLE001 - the outcome is the figure
        outcome = type(error).__name__
    return outcome, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def hostile_intake_peak_rss() -> dict[str, tuple[str, float, float]]:
    """Each hostile input through the intake in its own forkserver worker, handed over as the bot
    hands an upload over (through a file): input → (outcome, worker RSS before, worker peak RSS)
    in MB."""
    context = multiprocessing.get_context("forkserver")
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, make in HOSTILE.items():
            upload = Path(folder) / f"upload-{name}"
            upload.write_bytes(make())
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                pool.submit(resource.getpagesize).result()  # the worker is up and has imported
                figures[name] = pool.submit(_intake_in_this_process, upload).result()
    return figures


# --- the whole bot: its process tree while hostile uploads arrive --------------------------------


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _high_water_mb(process: psutil.Process) -> float:
    """The process's peak RSS so far (VmHWM), in MB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else 0.0


def bot_tree_peak_mb(root: Path | None = None) -> tuple[float, float, int]:
    """`python -m bot` on the console (one intake worker, the local synthesizer) is sent every
    hostile upload with `/generate` (and a 150 MB file), then `/balance`. Returns (the largest sum of the tree's RSS
    seen, sampled every 20 ms; the sum of each process's own peak, an upper bound; how many
    processes the tree had), in MB."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        lines = []
        for name, make in HOSTILE.items():
            (work / f"{name}.bin").write_bytes(make())
            lines.append(f"/generate {work / name}.bin piano 5")
        with open(work / "file_150mb.bin", "wb") as big:  # over every limit: refused from its size
            big.truncate(150 * 2**20)
        lines.append(f"/generate {work / 'file_150mb.bin'} piano 5")
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_KEY", "_SECRET"))}
        env.update({"PYTHONPATH": str(root or Path(__file__).resolve().parents[1]), "LOG_LEVEL": "WARNING"})
        env.update({"INTAKE_PROCESSES": "1", "DATA_DIR": str(work / "data")})
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=work, env=env, text=True
        )
        assert bot.stdin is not None and bot.stdout is not None
        peak_sum, seen = 0.0, 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_sum, seen
            while not done.is_set():
                tree = _tree(bot.pid)
                total = 0
                for process in tree:
                    with contextlib.suppress(psutil.Error):
                        total += process.memory_info().rss
                peak_sum, seen = max(peak_sum, total / 2**20), max(seen, len(tree))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        bot.stdin.write("\n".join([*lines, "/balance"]) + "\n")
        bot.stdin.flush()
        for line in bot.stdout:
            if line.startswith("Credits:"):
                break
        high_water = sum(_high_water_mb(p) for p in _tree(bot.pid))
        done.set()
        sampler.join()
        bot.stdin.close()
        bot.wait(timeout=60)
        return peak_sum, high_water, seen


if __name__ == "__main__":
    tree_peak, high_water, processes = bot_tree_peak_mb()
    print(f"bot_tree_rss processes={processes} peak_sum_mb={tree_peak:.0f} sum_of_peaks_mb={high_water:.0f}")
    for name, (outcome, before, peak) in hostile_intake_peak_rss().items():
        print(f"intake_peak_rss input={name} outcome={outcome} worker_before_mb={before:.0f} worker_peak_mb={peak:.0f}")
    print(f"intake of a 30 s Ogg/Opus voice note: {intake_30s_ms():.0f} ms (median of 5)")
    for voice, ms in synth_ms_per_audio_s_by_voice().items():
        print(f"local synth, {voice:8s}: {ms:.1f} ms CPU per second of audio")
