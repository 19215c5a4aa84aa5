"""Speech on Replicate: the pinned Kokoro-82M version (`jaaari/kokoro-82m`), through the same
client, rate-limit handling and prediction polling as MusicGen.

The version is pinned so a model update never changes the voice or the input schema under us:
`jaaari/kokoro-82m:f559560eb822dc509045f3921a1921234918b91739db4bf3daab2169b71c7a13`, input
`{text, voice, speed}`, output one audio file URL (WAV). The output is re-encoded here as the
Ogg/Opus voice note the platforms expect.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor

from adapters.replicate.generator import ReplicateGenerator
from core.domain.generation import GenerationRequest, PredictionStatus
from core.errors import OutputUnavailable
from core.ports import SubmissionNote

logger = logging.getLogger(__name__)

KOKORO_VERSION = "f559560eb822dc509045f3921a1921234918b91739db4bf3daab2169b71c7a13"
# The neutral voices (core.domain.speech) → Kokoro's voice ids.
KOKORO_VOICES = {"female": "af_bella", "male": "am_michael"}


class ReplicateSpeechGenerator(ReplicateGenerator):
    """`MusicGenerator`'s port for speech: submit text, poll, download a voice note."""

    def __init__(
        self,
        *,
        voices: dict[str, str] | None = None,
        speed: float = 1.0,
        executor: Executor | None = None,
        **settings: object,
    ) -> None:
        settings.setdefault("model_version_id", KOKORO_VERSION)
        super().__init__(**settings)  # type: ignore[arg-type]
        self._voices = dict(voices or KOKORO_VOICES)
        self._speed = speed
        self._executor = executor  # the bot's worker processes re-encode; else a thread

    def __repr__(self) -> str:  # never show the token
        return f"ReplicateSpeechGenerator(version={self._version_id!r})"

    async def submit(
        self, request: GenerationRequest, *, webhook_url: str | None, before_create: SubmissionNote | None = None
    ) -> str:
        # Kokoro's input has no seed: after a crash the job's prediction is told by the same words,
        # voice and speed, made after the job was claimed (and by no other job).
        inputs: dict[str, object] = {
            "text": request.text,
            "voice": self._voices.get(request.voice, request.voice),
            "speed": self._speed,
        }
        return await self._create_noted(request, inputs, webhook_url, before_create)

    async def download(self, status: PredictionStatus, *, max_bytes: int) -> bytes:
        audio = await super().download(status, max_bytes=max_bytes)
        try:
            if self._executor is None:
                return await asyncio.to_thread(_voice_note, audio)
            return await asyncio.get_running_loop().run_in_executor(self._executor, _voice_note, audio)
        except Exception as error:  # noqa: BLE001 - a file we cannot read is an output we do not have
            raise OutputUnavailable(detail=f"speech output unreadable: {error}") from error


def _voice_note(audio: bytes) -> bytes:
    """The model's WAV as an Ogg/Opus voice note (numpy and PyAV load where this runs)."""
    from adapters.audio import decode_pcm, encode_opus_ogg
    from adapters.speech.rendering import VOICE_BITRATE, VOICE_COMPLEXITY

    samples, rate = decode_pcm(audio)
    return encode_opus_ogg(samples, rate, bitrate=VOICE_BITRATE, complexity=VOICE_COMPLEXITY)
