"""`AudioIntake` on PyAV: turn whatever a user uploaded into a clean mono WAV, or refuse it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.domain.generation import PreparedClip
from core.errors import AudioEmpty, AudioSilent, AudioTooLarge, AudioTooShort, AudioTruncated

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from adapters.audio.decoding import Decoded

logger = logging.getLogger(__name__)


class PyAVIntake:
    """Decode OGG/Opus, MP3, WAV, M4A/AAC, WebM, FLAC (anything FFmpeg reads) from bytes.

    Output: mono 16-bit WAV at `sample_rate`, DC removed, peak-normalised, at most
    `max_seconds` long. Refusals are `AudioRejected` subclasses, raised before any credit
    is held.
    """

    def __init__(
        self,
        *,
        sample_rate: int = 32_000,
        min_seconds: float = 1.0,
        silence_dbfs: float = -50.0,
        overrun_seconds: float = 0.5,
        truncation_tolerance_seconds: float = 0.5,
        truncation_tolerance_ratio: float = 0.1,
    ) -> None:
        self.sample_rate = sample_rate
        self.min_seconds = min_seconds
        # The loudest 50 ms must reach this level; a phone's noise floor sits near -60 dBFS.
        self.silence_dbfs = silence_dbfs
        # Decode a little past the limit: enough to know the file really is that long.
        self.overrun_seconds = overrun_seconds
        # Codecs pad and headers round: only a clear shortfall counts as truncation.
        self.truncation_tolerance_seconds = truncation_tolerance_seconds
        self.truncation_tolerance_ratio = truncation_tolerance_ratio

    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        self.refuse_size(len(data), max_bytes)
        return self._prepare(data, max_seconds)

    def prepare_file(self, path: Path, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        """The same for a file, read as it is decoded rather than held whole."""
        self.refuse_size(path.stat().st_size, max_bytes)
        return self._prepare(path, max_seconds)

    @staticmethod
    def refuse_size(size: int, max_bytes: int) -> None:
        if size == 0:
            raise AudioEmpty()
        if size > max_bytes:
            raise AudioTooLarge(size_bytes=size, limit_bytes=max_bytes)

    def _prepare(self, source: bytes | Path, max_seconds: float) -> PreparedClip:
        # numpy and PyAV load here, in the process that decodes (a worker), not with the module:
        # the bot process builds this object and sends it to its workers.
        import numpy as np

        from adapters.audio.decoding import decode_mono
        from adapters.audio.encoding import encode_wav
        from adapters.audio.levels import loudest_window_dbfs, normalise_peak

        decoded = decode_mono(source, sample_rate=self.sample_rate, limit_seconds=max_seconds + self.overrun_seconds)
        if len(decoded.samples) == 0 and not decoded.declared_seconds:
            raise AudioEmpty()
        if not np.isfinite(decoded.samples).all():
            # A float file of NaN or ±Inf: numbers, not sound (and NaN compares as "not silent").
            logger.info("clip with non-finite samples refused as silent")
            raise AudioSilent()
        self._refuse_truncated(decoded, max_seconds)

        samples = decoded.samples[: int(round(max_seconds * self.sample_rate))]
        seconds = len(samples) / self.sample_rate
        if len(samples) == 0:
            raise AudioEmpty()
        if seconds < self.min_seconds:
            raise AudioTooShort(seconds=round(seconds, 3), minimum_seconds=self.min_seconds)
        samples = _within_full_scale(samples - np.float32(samples.mean(dtype=np.float64)))
        level = loudest_window_dbfs(samples, self.sample_rate)
        if level < self.silence_dbfs:
            logger.info("silent clip: loudest window %.1f dBFS", level)
            raise AudioSilent()

        logger.debug(
            "prepared %s/%s: %.2f s (decoded %.2f s, declared %s), loudest %.1f dBFS",
            decoded.container_format,
            decoded.codec,
            seconds,
            decoded.seconds,
            decoded.declared_seconds,
            level,
        )
        audio = encode_wav(normalise_peak(samples), self.sample_rate)
        return PreparedClip(audio=audio, sample_rate=self.sample_rate, seconds=seconds)

    def _refuse_truncated(self, decoded: Decoded, max_seconds: float) -> None:
        declared = decoded.declared_seconds
        if declared is None or decoded.reached_limit:
            return  # nothing promised, or we already have all we need
        expected = min(declared, max_seconds)
        missing = expected - decoded.seconds
        tolerance = max(self.truncation_tolerance_seconds, self.truncation_tolerance_ratio * expected)
        if missing > tolerance:
            logger.info("truncated clip: decoded %.2f s of a declared %.2f s", decoded.seconds, declared)
            raise AudioTruncated(seconds=round(decoded.seconds, 3), declared_seconds=round(declared, 3))


def _within_full_scale(samples: NDArray[np.float32]) -> NDArray[np.float32]:
    """Float files may go past ±1 (up to ±3.4e38, where squaring overflows): scaled back in."""
    import numpy as np

    peak = float(np.abs(samples).max(initial=0.0))
    return (samples / np.float32(peak)).astype(np.float32) if peak > 1.0 else samples
