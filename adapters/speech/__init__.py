"""Text to speech: eSpeak NG in-process (no system install), Replicate's hosted model, and the
voice tag mixed into a delivered clip. Each is a provider behind the job runner's port.

eSpeak NG, numpy and PyAV load on first use, not with this package: the bot process keeps only
the providers' bookkeeping and speaks in its worker processes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.speech.espeak import ESPEAK_VOICES, EspeakEngine, SpeechEngineError, shared_engine
    from adapters.speech.local import local_speech_generator, local_voice_tag_generator
    from adapters.speech.rendering import render_speech, render_voice_tag
    from adapters.speech.replicate import KOKORO_VERSION, KOKORO_VOICES, ReplicateSpeechGenerator

_HOMES = {
    "ESPEAK_VOICES": "adapters.speech.espeak",
    "EspeakEngine": "adapters.speech.espeak",
    "SpeechEngineError": "adapters.speech.espeak",
    "shared_engine": "adapters.speech.espeak",
    "local_speech_generator": "adapters.speech.local",
    "local_voice_tag_generator": "adapters.speech.local",
    "render_speech": "adapters.speech.rendering",
    "render_voice_tag": "adapters.speech.rendering",
    "KOKORO_VERSION": "adapters.speech.replicate",
    "KOKORO_VOICES": "adapters.speech.replicate",
    "ReplicateSpeechGenerator": "adapters.speech.replicate",
}

__all__ = [
    "ESPEAK_VOICES",
    "KOKORO_VERSION",
    "KOKORO_VOICES",
    "EspeakEngine",
    "ReplicateSpeechGenerator",
    "SpeechEngineError",
    "local_speech_generator",
    "local_voice_tag_generator",
    "render_speech",
    "render_voice_tag",
    "shared_engine",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
