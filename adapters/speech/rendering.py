"""Speech and voice tags made in this process: eSpeak NG speaks, PyAV encodes, numpy mixes.

The synthesis itself queues on the engine's one thread (one engine per process)."""

from __future__ import annotations

from adapters.audio import decode_pcm, encode_mp3, encode_opus_ogg
from adapters.audio.mixing import duck_and_mix, resample_linear
from adapters.speech.espeak import EspeakEngine
from core.domain.generation import GenerationRequest
from core.errors import GenerationFailed

VOICE_BITRATE = 32_000  # Opus at 32 kb/s is clear speech; Telegram voice notes use about that
VOICE_COMPLEXITY = 3


def render_speech(engine: EspeakEngine, request: GenerationRequest) -> bytes:
    """The text spoken, as an Ogg/Opus voice note."""
    samples = engine.synthesize(request.text, request.voice)
    if not len(samples):
        raise GenerationFailed("invalid_request", "the voice said nothing")
    return encode_opus_ogg(samples, engine.sample_rate, bitrate=VOICE_BITRATE, complexity=VOICE_COMPLEXITY)


def render_voice_tag(engine: EspeakEngine, request: GenerationRequest) -> bytes:
    """The delivered clip with the tag spoken over its start, as MP3."""
    if not request.source_audio:
        raise GenerationFailed("input_missing", "no clip to tag")
    voice = engine.synthesize(request.text, request.voice)
    if not len(voice):
        raise GenerationFailed("invalid_request", "the voice said nothing")
    music, rate = decode_pcm(request.source_audio)
    mixed = duck_and_mix(music, resample_linear(voice, engine.sample_rate, rate), rate)
    return encode_mp3(mixed, rate)
