"""The local melody synthesizer: pitch tracking, note segmentation, voices, the generator."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from adapters.audio import PyAVIntake, decode_pcm
from adapters.localsynth import (
    DEFAULT_VOICE,
    UNKNOWN_PREDICTION,
    VOICES,
    LocalSynthGenerator,
    Note,
    extract_notes,
    render_mp3,
    voice_name_for_style,
    yin,
)
from adapters.localsynth.arrange import fit_to_length
from adapters.localsynth.generator import render_music
from bot.processes import stop_pool, worker_pool
from core.domain.generation import GenerationRequest, PredictionState, PreparedClip
from core.errors import GenerationFailed, OutputUnavailable
from tests.audio_samples import A4, C5, E5, G4, hum_clip, melody, noise_clip, tone_clip

A4_MIDI, C5_MIDI = 69, 72
STYLE_FOR_VOICE = {
    "piano": "warm piano ballad",
    "guitar": "acoustic guitar",
    "strings": "cinematic strings",
    "synth": "80s synth lead",
    "bass": "funky bass",
}


@pytest.fixture(scope="module")
def a4_c5_clip() -> PreparedClip:
    """A4 for 1 s then C5 for 1 s, as a voice note, through the real intake."""
    return PyAVIntake().prepare(tone_clip([A4, C5], 2.0, "ogg"), max_bytes=10**7, max_seconds=30)


@pytest.fixture(scope="module")
def renders(a4_c5_clip: PreparedClip) -> dict[str, bytes]:
    """Each voice rendering the A4/C5 clip for 6 s (rendered once, shared by the tests)."""
    return {
        voice: render_mp3(a4_c5_clip.audio, style=style, seconds=6, seed=7) for voice, style in STYLE_FOR_VOICE.items()
    }


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPoolExecutor]:
    """One worker process, as the bot starts them."""
    workers = worker_pool(1)
    yield workers
    await stop_pool(workers)


def process_id(request: GenerationRequest) -> bytes:
    """A render that answers where it ran."""
    return str(os.getpid()).encode()


def request(clip: PreparedClip, style: str = "piano", seconds: int = 5, seed: int = 1) -> GenerationRequest:
    return GenerationRequest(job_id="job-1", clip=clip, style=style, seconds=seconds, seed=seed)


def collapse(notes: list[Note]) -> list[int]:
    """MIDI numbers with repeats of the same pitch merged."""
    out: list[int] = []
    for note in notes:
        if not out or out[-1] != note.midi:
            out.append(note.midi)
    return out


# --- pitch tracking and notes --------------------------------------------------------------


@pytest.mark.parametrize("freq", [82.41, 110.0, 220.0, 440.0, 880.0])
def test_yin_finds_the_pitch_of_a_tone_within_ten_cents(freq: float) -> None:
    signal = melody([(freq, 1.0)], sample_rate=32_000, harmonics=5)
    track = yin(signal, 32_000)
    voiced = track.f0[track.voiced]
    assert len(voiced) > 0.9 * len(track.f0)
    cents = 1200 * np.log2(np.median(voiced) / freq)
    assert abs(cents) < 10


def test_yin_finds_no_pitch_in_noise_or_silence() -> None:
    rng = np.random.default_rng(3)
    assert not yin(0.3 * rng.standard_normal(32_000), 32_000).voiced.any()
    assert not yin(np.zeros(32_000), 32_000).voiced.any()


def test_a_hummed_melody_becomes_its_notes_in_order() -> None:
    # Overtones, vibrato, breath noise and a rest: what a real hum looks like.
    notes_in = [(G4, 0.5), (A4, 0.5), (0.0, 0.2), (C5, 0.4), (E5, 0.8), (C5, 0.6)]
    samples, rate = decode_pcm(hum_clip(notes_in, fmt="mp3", seed=3))
    notes = extract_notes(samples, rate)
    assert [n.midi for n in notes] == [67, 69, 72, 76, 72]
    assert [n.duration for n in notes] == pytest.approx([0.5, 0.5, 0.4, 0.8, 0.6], abs=0.06)
    assert notes[2].start == pytest.approx(1.2, abs=0.05)  # after the rest


def test_short_blips_are_not_notes() -> None:
    samples = melody([(A4, 0.5), (E5, 0.03), (A4, 0.5)], sample_rate=32_000)
    assert collapse(extract_notes(samples, 32_000)) == [A4_MIDI]


def test_a_short_phrase_is_looped_to_fill_the_length() -> None:
    phrase = [Note(0.0, 1.0, A4_MIDI), Note(1.0, 1.0, C5_MIDI)]
    fitted = fit_to_length(phrase, 10.0)
    assert [n.midi for n in fitted] == [A4_MIDI, C5_MIDI] * 5
    assert fitted[0].start == 0.0
    assert fitted[-1].end <= 10.0
    assert fitted[-1].end > 9.0


def test_a_long_phrase_plays_its_opening_for_a_short_clip() -> None:
    phrase = [Note(i * 1.0, 1.0, 60 + i % 12) for i in range(20)]
    fitted = fit_to_length(phrase, 5.0)
    assert [n.midi for n in fitted] == [60, 61, 62, 63, 64]
    assert fitted[-1].end == pytest.approx(5.0)


# --- styles --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "voice"),
    [
        ("warm piano ballad", "piano"),
        ("Acoustic folk", "guitar"),
        ("lead guitar solo", "guitar"),
        ("epic orchestral strings", "strings"),
        ("ambient pad", "strings"),
        ("80s synthwave", "synth"),
        ("chiptune", "synth"),
        ("synth bass", "bass"),
        ("bass guitar groove", "bass"),
        ("EDM drop with piano", "piano"),  # a named instrument beats a genre hint
        ("lofi hip hop", DEFAULT_VOICE),
        ("", DEFAULT_VOICE),
    ],
)
def test_styles_pick_a_voice_from_free_text(style: str, voice: str) -> None:
    assert voice_name_for_style(style) == voice


# --- rendering -----------------------------------------------------------------------------


@pytest.mark.parametrize("voice", sorted(STYLE_FOR_VOICE))
def test_every_voice_follows_the_sung_notes_for_exactly_the_asked_length(renders: dict[str, bytes], voice: str) -> None:
    samples, rate = decode_pcm(renders[voice])
    assert len(samples) / rate == pytest.approx(6.0, abs=0.1)

    notes = extract_notes(samples, rate)
    sung = collapse(notes)
    if voice == "bass":
        # The bass plays the tune in its own register: same notes, octaves down.
        assert all(n < A4_MIDI - 11 for n in sung)
        sung = [n % 12 for n in sung]
        expected = [A4_MIDI % 12, C5_MIDI % 12]
    else:
        expected = [A4_MIDI, C5_MIDI]
    # 2 s of phrase + a breath, looped into 6 s: A C A C A C.
    assert sung == expected * 3
    voiced = sum(n.duration for n in notes)
    assert voiced > 0.6 * 6.0  # the tune is actually playing most of the time


def test_different_styles_sound_different(renders: dict[str, bytes]) -> None:
    spectra = {}
    for voice, data in renders.items():
        samples, _ = decode_pcm(data)
        spectrum = np.abs(np.fft.rfft(samples[: 32_000 * 5]))
        spectra[voice] = spectrum / np.linalg.norm(spectrum)
    assert len({data for data in renders.values()}) == len(renders)
    names = sorted(spectra)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            similarity = float(np.dot(spectra[a], spectra[b]))
            assert similarity < 0.95, (a, b, similarity)


def test_same_input_style_length_and_seed_give_identical_bytes(
    a4_c5_clip: PreparedClip, renders: dict[str, bytes]
) -> None:
    again = render_mp3(a4_c5_clip.audio, style=STYLE_FOR_VOICE["guitar"], seconds=6, seed=7)
    assert again == renders["guitar"]


def test_another_seed_gives_another_take(a4_c5_clip: PreparedClip, renders: dict[str, bytes]) -> None:
    other = render_mp3(a4_c5_clip.audio, style=STYLE_FOR_VOICE["guitar"], seconds=6, seed=8)
    assert other != renders["guitar"]


def test_an_unknown_style_still_makes_music(a4_c5_clip: PreparedClip) -> None:
    data = render_mp3(a4_c5_clip.audio, style="vaporwave kazoo orchestra of the future", seconds=5, seed=1)
    samples, rate = decode_pcm(data)
    assert len(samples) / rate == pytest.approx(5.0, abs=0.1)
    assert collapse(extract_notes(samples, rate))[:2] == [A4_MIDI, C5_MIDI]


def test_input_with_no_melody_still_gives_a_clip() -> None:
    clip = PyAVIntake().prepare(noise_clip(2.0), max_bytes=10**7, max_seconds=30)
    samples, rate = decode_pcm(render_mp3(clip.audio, style="piano", seconds=5, seed=1))
    assert len(samples) / rate == pytest.approx(5.0, abs=0.1)
    assert len(extract_notes(samples, rate)) >= 4  # the fallback figure


def test_every_voice_is_registered() -> None:
    assert set(VOICES) == {"piano", "guitar", "strings", "synth", "bass"}


# --- the generator -------------------------------------------------------------------------


async def test_a_prediction_runs_in_the_background_and_downloads_once(
    a4_c5_clip: PreparedClip,
) -> None:
    generator = LocalSynthGenerator()
    prediction_id = await generator.submit(request(a4_c5_clip, seconds=5), webhook_url=None)
    assert prediction_id.startswith("local-")
    assert (await generator.status(prediction_id)).state is PredictionState.PROCESSING

    status = await generator.wait(prediction_id, max_wait=20)
    assert status.state is PredictionState.SUCCEEDED
    assert status.output_url

    data = await generator.download(status, max_bytes=10**7)
    samples, rate = decode_pcm(data)
    assert len(samples) / rate == pytest.approx(5.0, abs=0.1)
    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=10**7)
    assert generator.held_output_bytes == 0


async def test_an_unknown_prediction_reports_failed_not_keyerror() -> None:
    status = await LocalSynthGenerator().status("local-from-before-a-restart")
    assert status.state is PredictionState.FAILED
    assert status.error == UNKNOWN_PREDICTION


async def test_cancel_marks_canceled_and_leaves_nothing_to_download(
    a4_c5_clip: PreparedClip,
) -> None:
    generator = LocalSynthGenerator(extra_latency_seconds=30.0)
    prediction_id = await generator.submit(request(a4_c5_clip), webhook_url=None)
    await generator.cancel(prediction_id)
    status = await generator.wait(prediction_id, max_wait=20)
    assert status.state is PredictionState.CANCELED
    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=10**7)
    await generator.cancel(prediction_id)  # again: no error
    await generator.cancel("local-unknown")


async def test_extra_latency_keeps_a_prediction_processing(a4_c5_clip: PreparedClip) -> None:
    generator = LocalSynthGenerator(extra_latency_seconds=0.6)
    started = time.monotonic()
    prediction_id = await generator.submit(request(a4_c5_clip, seconds=5), webhook_url=None)
    status = await generator.wait(prediction_id, max_wait=0.3)
    assert status.state is PredictionState.PROCESSING
    status = await generator.wait(prediction_id, max_wait=20)
    assert status.state is PredictionState.SUCCEEDED
    assert time.monotonic() - started >= 0.6


async def test_a_render_that_fails_reports_failed_with_a_reason() -> None:
    generator = LocalSynthGenerator()
    broken = PreparedClip(audio=b"not audio at all", sample_rate=32_000, seconds=2.0)
    prediction_id = await generator.submit(request(broken), webhook_url=None)
    status = await generator.wait(prediction_id, max_wait=20)
    assert status.state is PredictionState.FAILED
    assert "NotAudio" in (status.error or "")


@pytest.mark.parametrize("seconds", [0, -5, 1000])
async def test_impossible_lengths_are_refused_at_submit(a4_c5_clip: PreparedClip, seconds: int) -> None:
    with pytest.raises(GenerationFailed):
        await LocalSynthGenerator().submit(request(a4_c5_clip, seconds=seconds), webhook_url=None)


async def test_an_output_larger_than_allowed_is_unavailable(a4_c5_clip: PreparedClip) -> None:
    generator = LocalSynthGenerator()
    status = await generator.wait(await generator.submit(request(a4_c5_clip), webhook_url=None), max_wait=20)
    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=100)


async def test_many_jobs_do_not_block_the_event_loop(a4_c5_clip: PreparedClip) -> None:
    loop_thread = threading.get_ident()
    rendered: list[tuple[int, float, float]] = []  # (thread, start, end) of each render

    def watched_render(job: GenerationRequest) -> bytes:
        start = time.perf_counter()
        audio = render_music(job)
        rendered.append((threading.get_ident(), start, time.perf_counter()))
        return audio

    generator = LocalSynthGenerator(max_workers=2, render=watched_render)
    ticks: list[float] = []
    done = asyncio.Event()

    async def heartbeat() -> None:
        while not done.is_set():
            await asyncio.sleep(0.005)
            ticks.append(time.perf_counter())

    beat = asyncio.create_task(heartbeat())
    ids = [
        await generator.submit(request(a4_c5_clip, style=style, seconds=10, seed=i), webhook_url=None)
        for i, style in enumerate(["piano", "guitar", "strings", "synth", "bass", "piano"])
    ]
    statuses = [await generator.wait(i, max_wait=60) for i in ids]
    done.set()
    await beat
    assert all(s.state is PredictionState.SUCCEEDED for s in statuses)
    # Six 10 s renders ran beside the loop, never on it, and the loop went on meanwhile. (How
    # promptly it answered is for benchmarks: a busy machine stretches any gap.)
    assert len(rendered) == 6 and all(thread != loop_thread for thread, _, _ in rendered)
    first, last = min(start for _, start, _ in rendered), max(end for _, _, end in rendered)
    assert sum(1 for at in ticks if first < at < last) > 5


async def test_with_an_executor_the_render_runs_in_the_worker_process(
    a4_c5_clip: PreparedClip, pool: ProcessPoolExecutor
) -> None:
    generator = LocalSynthGenerator(render=process_id, executor=pool, max_workers=1)
    status = await generator.wait(await generator.submit(request(a4_c5_clip), webhook_url=None), max_wait=30)
    ran_in = int(await generator.download(status, max_bytes=100))
    assert ran_in != os.getpid()
    assert ran_in in {worker.pid for worker in pool._processes.values()}


async def test_a_clip_rendered_in_a_worker_process_is_the_clip_rendered_here(
    a4_c5_clip: PreparedClip, pool: ProcessPoolExecutor
) -> None:
    generator = LocalSynthGenerator(executor=pool, max_workers=1)
    ids = [await generator.submit(request(a4_c5_clip, style="strings", seconds=6, seed=7), webhook_url=None)]
    ids.append(await generator.submit(request(a4_c5_clip, style="bass", seconds=6, seed=7), webhook_url=None))
    statuses = [await generator.wait(i, max_wait=60) for i in ids]
    assert [s.state for s in statuses] == [PredictionState.SUCCEEDED] * 2
    outputs = [await generator.download(s, max_bytes=10**7) for s in statuses]
    assert outputs == [render_mp3(a4_c5_clip.audio, style=style, seconds=6, seed=7) for style in ("strings", "bass")]


async def test_undownloaded_outputs_are_evicted_by_count(a4_c5_clip: PreparedClip) -> None:
    generator = LocalSynthGenerator(max_outputs=1)
    first = await generator.wait(await generator.submit(request(a4_c5_clip), webhook_url=None), max_wait=20)
    second = await generator.wait(await generator.submit(request(a4_c5_clip), webhook_url=None), max_wait=20)
    with pytest.raises(OutputUnavailable):
        await generator.download(first, max_bytes=10**7)
    assert (await generator.status(first.prediction_id)).state is PredictionState.SUCCEEDED
    assert await generator.download(second, max_bytes=10**7)


async def test_outputs_and_then_records_expire_with_time(a4_c5_clip: PreparedClip) -> None:
    now = [1000.0]
    generator = LocalSynthGenerator(keep_seconds=60, record_seconds=600, clock=lambda: now[0])
    status = await generator.wait(await generator.submit(request(a4_c5_clip), webhook_url=None), max_wait=20)
    assert generator.held_output_bytes > 0

    now[0] += 61
    assert (await generator.status(status.prediction_id)).state is PredictionState.SUCCEEDED
    assert generator.held_output_bytes == 0
    with pytest.raises(OutputUnavailable):
        await generator.download(status, max_bytes=10**7)

    now[0] += 600
    assert (await generator.status(status.prediction_id)).error == UNKNOWN_PREDICTION


async def test_aclose_cancels_what_is_still_running(a4_c5_clip: PreparedClip) -> None:
    generator = LocalSynthGenerator(extra_latency_seconds=30.0)
    prediction_id = await generator.submit(request(a4_c5_clip), webhook_url=None)
    await generator.aclose()
    assert (await generator.status(prediction_id)).state is PredictionState.CANCELED
    assert generator.running == 0
