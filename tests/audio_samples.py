"""Real test audio, made on the spot with PyAV and numpy (no fixture files to rot).

Every helper returns encoded bytes in a named format, so tests exercise the same decoders a
user's upload would. Import from anywhere under `tests/`:

    from tests.audio_samples import tone_clip, hum_clip, A4, C5
    data = tone_clip(freqs=[A4, C5], seconds=2.0, fmt="ogg")   # A4 for 1 s, then C5 for 1 s

These helpers deliberately use PyAV directly (not `adapters.audio`) so intake tests do not
test the encoder with itself.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

import av
import numpy as np

A4 = 440.0
C5 = 523.25
E5 = 659.25
G4 = 392.0

# fmt -> (container format, codec, codec sample rate or None for "same as input")
FORMATS: dict[str, tuple[str, str, int | None]] = {
    "ogg": ("ogg", "libopus", 48_000),  # a Telegram/Discord voice note
    "opus": ("ogg", "libopus", 48_000),
    "mp3": ("mp3", "libmp3lame", None),
    "wav": ("wav", "pcm_s16le", None),
    "m4a": ("ipod", "aac", None),  # what iPhones record
    "aac": ("adts", "aac", None),
    "webm": ("webm", "libopus", 48_000),  # what browsers record
    "flac": ("flac", "flac", None),
}
DEFAULT_RATE = 48_000


# --- raw signals (float32, mono unless stated) ------------------------------------------------


def sine(freq: float, seconds: float, *, sample_rate: int = DEFAULT_RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def melody(
    notes: Sequence[tuple[float, float]],
    *,
    sample_rate: int = DEFAULT_RATE,
    amplitude: float = 0.3,
    harmonics: int = 1,
    vibrato_cents: float = 0.0,
    noise: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Notes as (frequency Hz, seconds), one after another; a frequency of 0 is a rest.

    `harmonics` > 1 adds overtones at 1/k amplitude (a voice-like, hummed timbre);
    `vibrato_cents` adds a 5.5 Hz vibrato; `noise` adds white noise at that amplitude.
    Each note fades in/out over 10 ms so joins do not click.
    """
    rng = np.random.default_rng(seed)
    parts = []
    for freq, seconds in notes:
        n = int(round(seconds * sample_rate))
        t = np.arange(n) / sample_rate
        if freq <= 0:
            parts.append(np.zeros(n))
            continue
        inst = freq * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5.5 * t))
        phase = 2 * np.pi * np.cumsum(inst) / sample_rate
        tone = sum(np.sin(k * phase) / k for k in range(1, harmonics + 1))
        tone = tone / np.max(np.abs(tone))
        fade = min(n // 2, int(0.01 * sample_rate))
        envelope = np.ones(n)
        if fade:
            envelope[:fade] = np.linspace(0, 1, fade)
            envelope[-fade:] = np.linspace(1, 0, fade)
        parts.append(tone * envelope)
    signal = amplitude * np.concatenate(parts) if parts else np.zeros(0)
    if noise:
        signal = signal + noise * rng.standard_normal(len(signal))
    return signal.astype(np.float32)


# --- encoding --------------------------------------------------------------------------------


def encode(samples: np.ndarray, sample_rate: int = DEFAULT_RATE, fmt: str = "ogg") -> bytes:
    """Encode mono (n,) or multichannel (channels, n) float samples into `fmt` (see FORMATS)."""
    container_format, codec, codec_rate = FORMATS[fmt]
    planar = np.atleast_2d(np.asarray(samples, dtype=np.float32))
    layout = {1: "mono", 2: "stereo"}[planar.shape[0]]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container_format, container_options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=codec_rate or sample_rate, layout=layout)
        if planar.shape[1]:
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planar), format="fltp", layout=layout)
            frame.sample_rate = sample_rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


# --- ready-made clips ------------------------------------------------------------------------


def tone_clip(
    freqs: Sequence[float] = (A4,),
    seconds: float = 2.0,
    fmt: str = "ogg",
    *,
    sample_rate: int = DEFAULT_RATE,
    amplitude: float = 0.3,
    harmonics: int = 1,
) -> bytes:
    """Pure tones, one after another, each for `seconds / len(freqs)`."""
    share = seconds / len(freqs)
    signal = melody(
        [(f, share) for f in freqs],
        sample_rate=sample_rate,
        amplitude=amplitude,
        harmonics=harmonics,
    )
    return encode(signal, sample_rate, fmt)


def melody_clip(notes: Sequence[tuple[float, float]], fmt: str = "ogg", **kwargs: object) -> bytes:
    """`melody(notes, **kwargs)` encoded as `fmt`."""
    sample_rate = int(kwargs.get("sample_rate", DEFAULT_RATE))  # type: ignore[call-overload]
    return encode(melody(notes, **kwargs), sample_rate, fmt)  # type: ignore[arg-type]


def hum_clip(notes: Sequence[tuple[float, float]] = ((A4, 1.0), (C5, 1.0)), fmt: str = "ogg", seed: int = 0) -> bytes:
    """A hummed-sounding melody: overtones, 20-cent vibrato and a little breath noise."""
    signal = melody(notes, harmonics=6, vibrato_cents=20.0, noise=0.005, seed=seed)
    return encode(signal, DEFAULT_RATE, fmt)


def stereo_clip(
    left: float | None = A4,
    right: float | None = None,
    seconds: float = 2.0,
    fmt: str = "wav",
    *,
    sample_rate: int = DEFAULT_RATE,
) -> bytes:
    """Two channels with a tone (or silence, for None) in each."""
    n = int(seconds * sample_rate)
    channels = [sine(f, seconds, sample_rate=sample_rate) if f else np.zeros(n, np.float32) for f in (left, right)]
    return encode(np.stack(channels), sample_rate, fmt)


def silence_clip(seconds: float = 3.0, fmt: str = "ogg", *, sample_rate: int = DEFAULT_RATE) -> bytes:
    return encode(np.zeros(int(seconds * sample_rate), np.float32), sample_rate, fmt)


def noise_clip(
    seconds: float = 3.0,
    fmt: str = "ogg",
    *,
    amplitude: float = 0.3,
    seed: int = 0,
    sample_rate: int = DEFAULT_RATE,
) -> bytes:
    """White noise at `amplitude` RMS (amplitude 3e-4 is about -70 dBFS: a quiet room)."""
    rng = np.random.default_rng(seed)
    signal = np.clip(amplitude * rng.standard_normal(int(seconds * sample_rate)), -1, 1)
    return encode(signal.astype(np.float32), sample_rate, fmt)


def truncated_clip(
    seconds: float = 4.0, keep: float = 0.5, fmt: str = "mp3", *, sample_rate: int = DEFAULT_RATE
) -> bytes:
    """A tone file cut after `keep` of its bytes, like an interrupted upload. Use a format whose
    header declares the length: mp3 (Xing), flac (STREAMINFO), webm (Segment), wav (RIFF)."""
    data = tone_clip([A4], seconds, fmt, sample_rate=sample_rate)
    return data[: int(len(data) * keep)]


def mislabelled_clip(name: str = "voice.ogg", fmt: str = "mp3", seconds: float = 2.0) -> tuple[str, bytes]:
    """(file name, bytes) whose extension lies: e.g. MP3 bytes called voice.ogg."""
    return name, tone_clip([A4], seconds, fmt)


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A valid, tiny red PNG (a media file FFmpeg opens, with no audio stream)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([255, 0, 0]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def garbage_bytes(size: int = 4096, seed: int = 0) -> bytes:
    """Random bytes: not any media format."""
    return np.random.default_rng(seed).bytes(size)


# --- files that lie or are not sound (the hostile-input corpus) --------------------------------


def wav(body: bytes, *, rate: int, channels: int, tag: int, bits: int, data_size: int | None = None) -> bytes:
    """A RIFF/WAVE file with exactly these header fields, whatever they claim."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, (rate * block) & 0xFFFFFFFF, block & 0xFFFF, bits)
    size = len(body) if data_size is None else data_size
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + body
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def float_wav(values: np.ndarray, rate: int = 32_000) -> bytes:
    return wav(values.astype("<f4").tobytes(), rate=rate, channels=1, tag=3, bits=32)


def low_rate_flac(rate: int = 1, samples: int = 50_000) -> bytes:
    """A real FLAC at a rate no recording has: resampled to 32 kHz each 4096-sample frame would
    become 131 million samples."""
    out = io.BytesIO()
    with av.open(out, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono")
        tone = (np.sin(np.arange(samples) / 3.0) * 10_000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return out.getvalue()
