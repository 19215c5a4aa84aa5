"""Value types shared by the generation use cases and the generator/audio adapters."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class PreparedClip:
    """A user's input after intake: normalised audio ready to send to a generator.

    `audio` is a mono WAV (PCM 16-bit) at `sample_rate`, trimmed to the longest allowed length;
    `seconds` is its measured duration.
    """

    audio: bytes
    sample_rate: int
    seconds: float


@dataclass(frozen=True)
class GenerationRequest:
    job_id: str
    clip: PreparedClip | None  # the recording (music from a melody); None for the other operations
    style: str
    seconds: int
    seed: int
    operation: str = "music"
    text: str = ""  # what is spoken (speech, a voice tag)
    voice: str = ""
    source_audio: bytes | None = None  # a voice tag: the delivered clip it goes on


class PredictionState(enum.StrEnum):
    STARTING = "starting"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def finished(self) -> bool:
        return self in (PredictionState.SUCCEEDED, PredictionState.FAILED, PredictionState.CANCELED)


@dataclass(frozen=True)
class PredictionStatus:
    prediction_id: str
    state: PredictionState
    output_url: str | None = None
    error: str | None = None
    compute_seconds: float | None = None  # the provider's billed compute time, once finished


@dataclass(frozen=True)
class GeneratedClip:
    """The delivered result: encoded audio (MP3 by default) and its format/extension."""

    audio: bytes
    format: str  # "mp3" | "ogg" | "wav"
    seconds: float
    # Delivered by a job resumed after a restart while it was delivering: the person may have
    # this clip already (the crash came between its delivery and the capture).
    resent: bool = False
