"""Text to speech: eSpeak NG in-process (no system install), Replicate's hosted model, and the
voice tag mixed into a delivered clip. Each is a provider behind the job runner's port."""

from adapters.speech.espeak import ESPEAK_VOICES, EspeakEngine, SpeechEngineError, shared_engine
from adapters.speech.local import local_speech_generator, local_voice_tag_generator, render_speech, render_voice_tag
from adapters.speech.replicate import KOKORO_VERSION, KOKORO_VOICES, ReplicateSpeechGenerator

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
