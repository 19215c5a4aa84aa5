"""The local melody follower: input clip → notes → one voice playing them for N seconds."""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray

from adapters.audio import decode_pcm, encode_mp3
from adapters.localsynth.arrange import fit_to_length
from adapters.localsynth.compose import compose
from adapters.localsynth.notes import Note, segment_notes, transpose
from adapters.localsynth.pitch import Samples, yin
from adapters.localsynth.styles import voice_name_for_style
from adapters.localsynth.voices import VOICES, Voice
from core.domain.generation import GenerationRequest

logger = logging.getLogger(__name__)

OUTPUT_RATE = 32_000  # MusicGen's own output rate
_PEAK = 0.89  # -1 dBFS


def extract_notes(samples: Samples, sample_rate: int) -> list[Note]:
    """The melody in `samples`: YIN pitch track, segmented into semitone notes."""
    return segment_notes(yin(samples, sample_rate))


def render_notes(
    notes: list[Note], voice: Voice, seconds: float, *, seed: int, sample_rate: int = OUTPUT_RATE
) -> NDArray[np.float32]:
    """Exactly `seconds` of `voice` playing `notes` (looped/stretched to fill), peak -1 dBFS."""
    total = int(round(seconds * sample_rate))
    rng = np.random.default_rng(abs(int(seed)))
    fitted = fit_to_length(notes, seconds)
    if voice.register is not None and fitted:
        median = float(np.median([n.midi for n in fitted]))
        fitted = transpose(fitted, 12 * round((voice.register - median) / 12))
    out = np.zeros(total)
    for note in fitted:
        start = int(round(note.start * sample_rate))
        hold = max(1, int(round(note.duration * sample_rate)))
        velocity = note.velocity * rng.uniform(0.9, 1.0)  # a touch of human unevenness
        wave = voice.render(note.freq, hold, sample_rate, rng, velocity)
        stop = min(total, start + len(wave))
        if stop > start:
            out[start:stop] += wave[: stop - start]
    return _master(out, sample_rate)


def render_mp3(clip_audio: bytes, *, style: str, seconds: float, seed: int) -> bytes:
    """The whole job: decode the prepared clip, follow its melody, encode MP3."""
    samples, rate = decode_pcm(clip_audio)
    notes = extract_notes(samples, rate)
    voice = VOICES[voice_name_for_style(style)]
    logger.info(
        "local synth: %d notes, voice %s for style %r, %.1f s",
        len(notes),
        voice.name,
        style,
        seconds,
    )
    audio = render_notes(notes, voice, seconds, seed=seed)
    return encode_mp3(audio, OUTPUT_RATE)


def render_prompt_mp3(*, style: str, seconds: float, seed: int) -> bytes:
    """Music from words alone: a melody composed from the style's words and the seed, played by
    the style's voice."""
    voice = VOICES[voice_name_for_style(style)]
    notes = compose(style, seed)
    logger.info("local synth: %d composed notes, voice %s for %r, %.1f s", len(notes), voice.name, style, seconds)
    return encode_mp3(render_notes(notes, voice, seconds, seed=seed), OUTPUT_RATE)


def render_request(request: GenerationRequest) -> bytes:
    """The local synthesizer's answer to a job: follow the recording's melody, or (no recording)
    compose one from the words."""
    if request.clip is None:
        return render_prompt_mp3(style=request.style, seconds=request.seconds, seed=request.seed)
    return render_mp3(request.clip.audio, style=request.style, seconds=request.seconds, seed=request.seed)


def _master(out: NDArray[np.float64], sample_rate: int) -> NDArray[np.float32]:
    """Peak-normalise and fade the very ends so the clip starts and stops without a click."""
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0:
        out = out * (_PEAK / peak)
    fade = min(len(out) // 2, int(0.05 * sample_rate))
    if fade:
        out[:fade] *= np.linspace(0.0, 1.0, fade) ** 0.5
        out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return out.astype(np.float32)
