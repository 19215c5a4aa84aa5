"""Speech and voice tags made on this machine: eSpeak NG speaks, PyAV encodes, numpy mixes.

Both run on `LocalSynthGenerator`'s prediction bookkeeping (submit, status, download, cancel),
with their own render function, in the bot's worker processes when it has them (`executor`):
each worker has its own eSpeak engine, and the bot process loads neither eSpeak nor numpy."""

from __future__ import annotations

from concurrent.futures import Executor

from adapters.localsynth.generator import LocalSynthGenerator
from core.domain.generation import GenerationRequest


def speak(request: GenerationRequest) -> bytes:
    """The text spoken by this process's engine, as an Ogg/Opus voice note."""
    from adapters.speech.espeak import shared_engine
    from adapters.speech.rendering import render_speech

    return render_speech(shared_engine(), request)


def tag(request: GenerationRequest) -> bytes:
    """The delivered clip with the tag spoken over its start by this process's engine, as MP3."""
    from adapters.speech.espeak import shared_engine
    from adapters.speech.rendering import render_voice_tag

    return render_voice_tag(shared_engine(), request)


def local_speech_generator(
    *, executor: Executor | None = None, max_workers: int | None = None, max_seconds: float = 600.0
) -> LocalSynthGenerator:
    return LocalSynthGenerator(render=speak, executor=executor, max_workers=max_workers, max_seconds=max_seconds)


def local_voice_tag_generator(
    *, executor: Executor | None = None, max_workers: int | None = None, max_seconds: float = 600.0
) -> LocalSynthGenerator:
    return LocalSynthGenerator(render=tag, executor=executor, max_workers=max_workers, max_seconds=max_seconds)
