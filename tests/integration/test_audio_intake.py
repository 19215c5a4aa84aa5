"""PyAV intake against real audio made on the spot: every format, every refusal."""

from __future__ import annotations

import io
import tracemalloc
import wave

import numpy as np
import pytest

from adapters.audio import (
    PyAVIntake,
    decode_mono,
    decode_pcm,
    encode_mp3,
    encode_opus_ogg,
    encode_wav,
)
from core.errors import (
    AudioEmpty,
    AudioRejected,
    AudioSilent,
    AudioTooLarge,
    AudioTooShort,
    AudioTruncated,
    NoAudioStream,
    NotAudio,
)
from tests.audio_samples import (
    A4,
    C5,
    encode,
    garbage_bytes,
    melody_clip,
    mislabelled_clip,
    noise_clip,
    png_bytes,
    silence_clip,
    sine,
    stereo_clip,
    tone_clip,
    truncated_clip,
)

LIMIT = 20 * 1024 * 1024
INPUT_FORMATS = ("ogg", "mp3", "wav", "m4a", "aac", "webm", "flac")


@pytest.fixture(scope="module")
def intake() -> PyAVIntake:
    return PyAVIntake()


def prepare(intake: PyAVIntake, data: bytes, *, max_seconds: float = 30.0, max_bytes: int = LIMIT):
    return intake.prepare(data, max_bytes=max_bytes, max_seconds=max_seconds)


def read_wav(data: bytes) -> tuple[np.ndarray, int, int, int]:
    """(samples in [-1, 1], rate, channels, sample width) parsed with the standard library."""
    with wave.open(io.BytesIO(data)) as w:
        frames = w.readframes(w.getnframes())
        return (
            np.frombuffer(frames, "<i2").astype(np.float64) / 32768.0,
            w.getframerate(),
            w.getnchannels(),
            w.getsampwidth(),
        )


def spectral_peaks(samples: np.ndarray, rate: int, count: int = 1) -> list[float]:
    """The `count` strongest frequencies (Hz), by plain FFT: independent of the synth's YIN."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    peaks: list[float] = []
    for index in np.argsort(spectrum)[::-1]:
        if all(abs(freqs[index] - p) > 20 for p in peaks):
            peaks.append(float(freqs[index]))
        if len(peaks) == count:
            break
    return peaks


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", INPUT_FORMATS)
def test_each_format_decodes_to_a_mono_16_bit_wav_at_32_khz(intake: PyAVIntake, fmt: str) -> None:
    clip = prepare(intake, tone_clip([A4], 2.0, fmt))

    samples, rate, channels, width = read_wav(clip.audio)
    assert (rate, channels, width) == (32_000, 1, 2)
    assert clip.sample_rate == 32_000
    # AAC adds ~1024 samples of priming; every other codec is sample-exact.
    assert clip.seconds == pytest.approx(2.0, abs=0.05)
    assert len(samples) == round(clip.seconds * 32_000)
    assert spectral_peaks(samples, rate)[0] == pytest.approx(A4, abs=2.0)


def test_an_ogg_opus_voice_note_keeps_its_melody_in_order(intake: PyAVIntake) -> None:
    clip = prepare(intake, tone_clip([A4, C5], 2.0, "ogg"))
    samples, rate, _, _ = read_wav(clip.audio)
    half = len(samples) // 2
    assert spectral_peaks(samples[:half], rate)[0] == pytest.approx(A4, abs=2.0)
    assert spectral_peaks(samples[half:], rate)[0] == pytest.approx(C5, abs=2.0)


def test_stereo_is_mixed_to_mono_keeping_both_channels(intake: PyAVIntake) -> None:
    clip = prepare(intake, stereo_clip(left=A4, right=660.0, fmt="wav"))
    samples, rate, channels, _ = read_wav(clip.audio)
    assert channels == 1
    assert sorted(spectral_peaks(samples, rate, count=2)) == [
        pytest.approx(A4, abs=2.0),
        pytest.approx(660.0, abs=2.0),
    ]


def test_a_tone_in_one_stereo_channel_only_is_not_lost(intake: PyAVIntake) -> None:
    clip = prepare(intake, stereo_clip(left=None, right=A4, fmt="flac"))
    samples, rate, _, _ = read_wav(clip.audio)
    assert np.abs(samples).max() > 0.5  # normalised, not silent
    assert spectral_peaks(samples, rate)[0] == pytest.approx(A4, abs=2.0)


@pytest.mark.parametrize("source_rate", [8_000, 22_050, 44_100, 48_000])
def test_any_rate_is_resampled_keeping_pitch_and_length(intake: PyAVIntake, source_rate: int) -> None:
    data = tone_clip([A4], 2.0, "wav", sample_rate=source_rate)
    clip = prepare(intake, data)
    samples, rate, _, _ = read_wav(clip.audio)
    assert rate == 32_000
    assert clip.seconds == pytest.approx(2.0, abs=0.01)
    assert spectral_peaks(samples, rate)[0] == pytest.approx(A4, abs=2.0)


def test_the_output_rate_is_a_constructor_choice() -> None:
    clip = PyAVIntake(sample_rate=16_000).prepare(tone_clip(), max_bytes=LIMIT, max_seconds=30)
    _, rate, _, _ = read_wav(clip.audio)
    assert clip.sample_rate == rate == 16_000


def test_a_45_second_clip_is_trimmed_to_its_first_30_seconds(intake: PyAVIntake) -> None:
    # 30 s of A4 then 15 s of C5: what is kept must be the opening, all A4.
    data = melody_clip([(A4, 30.0), (C5, 15.0)], fmt="flac", sample_rate=16_000)
    clip = prepare(intake, data, max_seconds=30.0)
    samples, rate, _, _ = read_wav(clip.audio)
    assert clip.seconds == 30.0
    assert len(samples) == 30 * 32_000
    assert spectral_peaks(samples[-rate:], rate)[0] == pytest.approx(A4, abs=2.0)


def test_a_long_file_is_not_decoded_past_the_limit(intake: PyAVIntake) -> None:
    # 10 minutes at 8 kHz: 9.6 MB of WAV that would be 77 MB as float32 at 32 kHz.
    ten_minutes = (0.3 * np.sin(2 * np.pi * A4 * np.arange(8_000 * 600) / 8_000)).astype(np.float32)
    data = encode_wav(ten_minutes, 8_000)

    decoded = decode_mono(data, sample_rate=32_000, limit_seconds=5.0)
    assert decoded.reached_limit
    assert decoded.seconds == 5.0
    assert decoded.declared_seconds == pytest.approx(600.0)

    tracemalloc.start()
    try:
        clip = prepare(intake, data, max_seconds=30.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clip.seconds == 30.0
    assert peak < 30 * 1024 * 1024


def test_the_file_name_does_not_matter_only_the_bytes(intake: PyAVIntake) -> None:
    name, data = mislabelled_clip("voice.ogg", fmt="mp3")
    assert name.endswith(".ogg")
    assert prepare(intake, data).seconds == pytest.approx(2.0, abs=0.05)


def test_noise_is_audio_and_is_accepted(intake: PyAVIntake) -> None:
    assert prepare(intake, noise_clip(3.0)).seconds == pytest.approx(3.0, abs=0.01)


def test_a_quiet_hum_is_accepted_and_brought_up_to_a_usable_level(intake: PyAVIntake) -> None:
    quiet = melody_clip([(A4, 2.0)], fmt="wav", amplitude=0.02)  # about -37 dBFS
    samples, _, _, _ = read_wav(prepare(intake, quiet).audio)
    assert np.abs(samples).max() > 0.15


# --- refusals ------------------------------------------------------------------------------


def test_too_large_is_refused_before_decoding_with_the_sizes(intake: PyAVIntake) -> None:
    # Garbage would be NotAudio if it were decoded: the size check must come first.
    data = garbage_bytes(5_000)
    with pytest.raises(AudioTooLarge) as caught:
        prepare(intake, data, max_bytes=4_999)
    assert (caught.value.size_bytes, caught.value.limit_bytes) == (5_000, 4_999)


def test_exactly_the_byte_limit_is_accepted(intake: PyAVIntake) -> None:
    data = tone_clip()
    assert prepare(intake, data, max_bytes=len(data)).seconds > 1.0


def test_empty_bytes_are_refused(intake: PyAVIntake) -> None:
    with pytest.raises(AudioEmpty):
        prepare(intake, b"")


@pytest.mark.parametrize(
    "data",
    [
        garbage_bytes(4096),
        b"hello, this is a text file and not a voice note\n" * 20,
        b"x",
        tone_clip(fmt="m4a")[:3000],  # an MP4 cut before its index: corrupt
    ],
    ids=["random", "text", "one-byte", "cut-m4a"],
)
def test_garbage_and_corrupt_files_are_not_audio(intake: PyAVIntake, data: bytes) -> None:
    with pytest.raises(NotAudio):
        prepare(intake, data)


def test_an_image_has_no_audio_stream(intake: PyAVIntake) -> None:
    with pytest.raises(NoAudioStream):
        prepare(intake, png_bytes())


def test_shorter_than_a_second_is_refused_with_its_length(intake: PyAVIntake) -> None:
    with pytest.raises(AudioTooShort) as caught:
        prepare(intake, tone_clip([A4], 0.5, "ogg"))
    assert caught.value.seconds == pytest.approx(0.5, abs=0.02)
    assert caught.value.minimum_seconds == 1.0


@pytest.mark.parametrize(
    "data",
    [silence_clip(3.0, "ogg"), silence_clip(3.0, "wav"), noise_clip(3.0, "wav", amplitude=3e-4)],
    ids=["digital-silence-ogg", "digital-silence-wav", "room-noise-at-minus-70-dBFS"],
)
def test_silence_is_refused(intake: PyAVIntake, data: bytes) -> None:
    with pytest.raises(AudioSilent):
        prepare(intake, data)


@pytest.mark.parametrize("fmt", ["mp3", "flac", "webm", "wav"])
def test_a_cut_off_upload_is_refused_as_truncated(intake: PyAVIntake, fmt: str) -> None:
    with pytest.raises(AudioTruncated) as caught:
        prepare(intake, truncated_clip(seconds=4.0, keep=0.5, fmt=fmt))
    assert caught.value.declared_seconds == pytest.approx(4.0, abs=0.05)
    assert 1.0 < caught.value.seconds < 3.0


def test_a_truncated_long_file_still_long_enough_is_accepted(intake: PyAVIntake) -> None:
    # 20 s declared, ~16 s present, 10 s wanted: nothing the user needs is missing.
    data = truncated_clip(seconds=20.0, keep=0.8, fmt="mp3", sample_rate=16_000)
    assert prepare(intake, data, max_seconds=10.0).seconds == 10.0


@pytest.mark.parametrize(
    "data",
    [b"", garbage_bytes(), png_bytes(), silence_clip(), tone_clip([A4], 0.3)],
    ids=["empty", "garbage", "png", "silent", "short"],
)
def test_every_refusal_is_an_audio_rejection(intake: PyAVIntake, data: bytes) -> None:
    with pytest.raises(AudioRejected):
        prepare(intake, data)


# --- codec helpers -------------------------------------------------------------------------


def test_mp3_encoding_round_trips_length_and_pitch() -> None:
    samples = sine(A4, 3.0, sample_rate=32_000)
    decoded, rate = decode_pcm(encode_mp3(samples, 32_000))
    assert rate == 32_000
    assert len(decoded) == pytest.approx(len(samples), abs=32)
    assert spectral_peaks(decoded, rate)[0] == pytest.approx(A4, abs=2.0)


def test_opus_ogg_encoding_round_trips_and_is_deterministic() -> None:
    samples = sine(C5, 2.0, sample_rate=32_000)
    first = encode_opus_ogg(samples, 32_000)
    assert first == encode_opus_ogg(samples, 32_000)
    decoded, rate = decode_pcm(first, sample_rate=32_000)
    assert len(decoded) == pytest.approx(len(samples), abs=32)
    assert spectral_peaks(decoded, rate)[0] == pytest.approx(C5, abs=2.0)


def test_wav_encoding_is_exact_to_16_bits() -> None:
    samples = sine(A4, 1.0, sample_rate=16_000)
    decoded, rate = decode_pcm(encode_wav(samples, 16_000))
    assert rate == 16_000
    assert np.max(np.abs(decoded - samples)) < 1.0 / 32_000


def test_decode_pcm_refuses_what_is_not_audio() -> None:
    with pytest.raises(NotAudio):
        decode_pcm(garbage_bytes())
    with pytest.raises(NoAudioStream):
        decode_pcm(png_bytes())


def test_encoders_refuse_multichannel_arrays() -> None:
    with pytest.raises(ValueError):
        encode_mp3(np.zeros((2, 100), np.float32), 32_000)


def test_sample_helpers_make_the_format_they_name() -> None:
    for fmt in INPUT_FORMATS:
        assert decode_mono(encode(sine(A4, 1.0), 48_000, fmt)).seconds == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "wav"])
def test_resampling_a_second_at_a_time_gives_the_samples_of_resampling_each_frame(fmt: str) -> None:
    """The decoder gathers frames before resampling them; the result is what resampling every
    decoded frame on its own gives, sample for sample (the resampler keeps its state between
    calls either way)."""
    import av

    data = melody_clip([(A4, 1.3), (C5, 1.4)], fmt=fmt, sample_rate=44_100)
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=32_000)
        pieces = [
            out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
        ]
        pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    frame_by_frame = np.concatenate(pieces)

    decoded = decode_mono(data, sample_rate=32_000)
    assert len(decoded.samples) == len(frame_by_frame) > 2 * 32_000
    np.testing.assert_allclose(decoded.samples, frame_by_frame, atol=1e-6)


@pytest.mark.parametrize("channels", [(2, 1), (1, 2)], ids=["stereo-then-mono", "mono-then-stereo"])
def test_a_file_whose_channels_change_midway_is_decoded_up_to_the_change(channels: tuple[int, int]) -> None:
    """Two MP3s end to end, one stereo and one mono: the frames after the change are not read as
    if they had the first part's channels (reading past a mono frame's end crashed the process)."""
    second = 44_100
    tone = (0.3 * np.sin(2 * np.pi * A4 * np.arange(second) / second)).astype(np.float32)
    parts = [encode(np.stack([tone] * count) if count == 2 else tone, second, "mp3") for count in channels]

    decoded = decode_mono(parts[0] + parts[1], sample_rate=32_000)

    assert decoded.bad_packets >= 1
    assert 0.9 <= decoded.seconds <= 1.1  # the first part, whole
    assert spectral_peaks(decoded.samples, 32_000)[0] == pytest.approx(A4, abs=2.0)
