"""Decode any audio PyAV can read into one mono float32 array, with a bounded appetite.

The decode stops once it holds `limit_seconds` of output, so a small file that declares hours
of audio never costs more than the limit in memory or time. The audio comes as bytes or as a
file, which is read as it is decoded (never held whole).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import av
import numpy as np
from numpy.typing import NDArray

from core.errors import AudioUnusual, NoAudioStream, NotAudio

logger = logging.getLogger(__name__)

# A damaged packet here and there is skipped (FFmpeg conceals it); this many means "give up".
_MAX_BAD_PACKETS = 32
# What a recording can be. Outside this a header is lying to make decoding huge: a 1 Hz FLAC
# resampled to 32 kHz turns each 4096-sample frame into 131 million samples (500 MB).
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 8
MAX_FRAME_SAMPLES = 1 << 17  # FLAC's largest block is 65535; anything bigger is built to hurt


@dataclass(frozen=True)
class Decoded:
    samples: NDArray[np.float32]  # mono, in [-1, 1]
    sample_rate: int
    declared_seconds: float | None  # what the container header says, when it says anything
    reached_limit: bool  # decoding stopped because `limit_seconds` was reached
    bad_packets: int
    container_format: str
    codec: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def decode_pcm(data: bytes, *, sample_rate: int | None = None) -> tuple[NDArray[np.float32], int]:
    """Decode `data` to (mono float32 samples, sample rate); native rate unless `sample_rate`.

    Raises `NotAudio` / `NoAudioStream` like the intake does.
    """
    decoded = decode_mono(data, sample_rate=sample_rate)
    return decoded.samples, decoded.sample_rate


def decode_mono(source: bytes | Path, *, sample_rate: int | None = None, limit_seconds: float | None = None) -> Decoded:
    """Decode the first audio stream of `source` (bytes, or a file's path), mixed to mono and
    resampled to `sample_rate`."""
    with _reader(source) as data:
        return _decode_mono(source, data, sample_rate, limit_seconds)


@contextlib.contextmanager
def _reader(source: bytes | Path) -> Iterator[BinaryIO]:
    """A file object over `source`. A file has no name FFmpeg could guess a format from (the
    bytes have none either): the format is found from the content alone."""
    if isinstance(source, bytes):
        yield io.BytesIO(source)
        return
    with io.FileIO(source) as file, io.BufferedReader(_Unnamed(file)) as reader:
        yield reader


class _Unnamed(io.RawIOBase):
    """A file's bytes without its name (PyAV hands a file object's name to FFmpeg)."""

    def __init__(self, file: io.FileIO) -> None:
        self._file = file

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        return self._file.readinto(buffer)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()


def _decode_mono(source: bytes | Path, data: BinaryIO, sample_rate: int | None, limit_seconds: float | None) -> Decoded:
    try:
        container = av.open(data, mode="r", metadata_errors="ignore")
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise NotAudio() from exc
    with container:
        if not container.streams.audio:
            kinds = sorted({s.type for s in container.streams})
            logger.info("no audio stream in %s (streams: %s)", container.format.name, kinds)
            raise NoAudioStream()
        stream = container.streams.audio[0]
        if stream.codec_context is None:  # a codec FFmpeg has no decoder for (or a header naming none)
            raise NotAudio()
        header_rate = stream.codec_context.sample_rate or stream.rate
        if header_rate:  # a header that names no rate leaves it to each frame
            _refuse_unusual(header_rate, stream.codec_context.channels)
        rate = sample_rate or stream.codec_context.sample_rate or stream.rate or 48_000
        declared = _declared_seconds(source, container, stream)
        limit = None if limit_seconds is None else int(limit_seconds * rate)
        samples, reached, bad = _decode_stream(container, stream, rate, limit)
        if len(samples) == 0 and bad:
            raise NotAudio()
        return Decoded(
            samples=samples,
            sample_rate=rate,
            declared_seconds=declared,
            reached_limit=reached,
            bad_packets=bad,
            container_format=container.format.name,
            codec=stream.codec_context.name,
        )


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    rate: int,
    limit: int | None,
) -> tuple[NDArray[np.float32], bool, int]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    # Decoded frames wait in a FIFO and go through the resampler up to a second at a time: a
    # voice note is ~100 frames of 20 ms, and resampling each alone cost more than decoding it.
    fifo = av.AudioFifo()
    first: av.AudioFrame | None = None  # every frame must be like it, for the FIFO
    chunks: list[NDArray[np.float32]] = []
    total = 0  # samples out of the resampler so far
    bad = 0
    reached = False

    def resample(frame: av.AudioFrame | None) -> None:
        nonlocal total
        for out in resampler.resample(frame):
            # The resampler emits "flt", so this is float32 already (no copy); PyAV's stubs
            # only promise one of the dtypes any frame format could give.
            chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
            chunks.append(chunk)
            total += len(chunk)

    def drain() -> None:
        if fifo.samples:
            resample(fifo.read())

    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                # A damaged packet: skip it, like a player would; too many means corrupt.
                bad += 1
                if bad > _MAX_BAD_PACKETS:
                    break
                continue
            for frame in frames:
                # Each frame may say otherwise than the header (FLAC's do): checked again before
                # the resampler multiplies it.
                _refuse_unusual(frame.sample_rate, frame.layout.nb_channels, frame.samples)
                if first is None:
                    first = frame
                elif (
                    frame.format.name != first.format.name
                    or frame.layout != first.layout
                    or frame.sample_rate != first.sample_rate
                ):
                    # Checked here, as the resampler checks it: the FIFO does not compare the
                    # channels, and would read a mono frame as if it were stereo (past its end).
                    raise ValueError("a frame unlike those before it")
                frame.pts = None  # the FIFO would check the timestamps run on without a gap
                fifo.write(frame)
                buffered = fifo.samples
                if buffered >= frame.sample_rate or (
                    limit is not None and total + buffered * rate // frame.sample_rate >= limit
                ):
                    drain()
                if limit is not None and total >= limit:
                    break
            if limit is not None and total >= limit:
                reached = True
                break
    except (av.FFmpegError, ValueError) as exc:
        # The container itself broke off (cut file, garbage after the header): keep what we have.
        bad += 1
        logger.info("decode stopped early: %s", exc)
    try:
        drain()
        resample(None)
    except (av.FFmpegError, ValueError):
        pass
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if limit is not None:
        samples = samples[:limit]
    return samples.astype(np.float32, copy=False), reached, bad


def _refuse_unusual(sample_rate: int, channels: int, samples: int = 0) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE or channels > MAX_CHANNELS or samples > MAX_FRAME_SAMPLES:
        logger.info("unusual audio refused: %d Hz, %d channels, %d samples in a frame", sample_rate, channels, samples)
        raise AudioUnusual(sample_rate=sample_rate, channels=channels)


def _declared_seconds(
    source: bytes | Path, container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    """The duration the file claims. FFmpeg clamps a WAV's to the bytes present, so a WAV's
    own header is read directly (through a reader of its own: the decoder's is in use);
    otherwise the stream's, then the container's."""
    with _reader(source) as header:
        wav = _wav_declared_seconds(header)
    if wav is not None:
        return wav
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _wav_declared_seconds(data: BinaryIO) -> float | None:
    """Seconds promised by a RIFF/WAVE header's `data` chunk size, or None."""
    length = data.seek(0, io.SEEK_END)
    if length < 12 or _read_at(data, 0, 4) != b"RIFF" or _read_at(data, 8, 4) != b"WAVE":
        return None
    offset = 12
    byte_rate = 0
    while offset + 8 <= length:
        chunk_id = _read_at(data, offset, 4)
        size = _u32le(_read_at(data, offset + 4, 4))
        body = offset + 8
        if chunk_id == b"fmt " and body + 12 <= length:
            byte_rate = _u32le(_read_at(data, body + 8, 4))
        elif chunk_id == b"data":
            # 0 and 0xFFFFFFFF are what streaming writers put when they do not know the size.
            if byte_rate <= 0 or size in (0, 0xFFFFFFFF):
                return None
            return size / byte_rate
        offset = body + size + (size & 1)
    return None


def _read_at(data: BinaryIO, offset: int, size: int) -> bytes:
    data.seek(offset)
    return data.read(size)


def _u32le(four: bytes) -> int:
    """The little-endian uint32 in `four` bytes (the caller has checked they are there)."""
    return int.from_bytes(four, "little")
