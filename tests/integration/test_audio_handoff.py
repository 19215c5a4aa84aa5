"""An upload handed to a worker process through a file: prepared exactly as its bytes would be
(the same clip, the same refusal with the same figures), the file read as it is decoded rather
than held whole, and nothing left in the folder afterwards."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from adapters.audio import FileHandoffIntake, PyAVIntake, encode_wav
from bot.processes import stop_pool, worker_pool
from core.domain.generation import PreparedClip
from core.errors import AudioTooLarge
from tests.audio_samples import (
    A4,
    C5,
    garbage_bytes,
    melody_clip,
    png_bytes,
    silence_clip,
    stereo_clip,
    tone_clip,
    truncated_clip,
)

LIMIT = 20 * 1024 * 1024


def wav_header_claiming(seconds: float, rate: int = 8_000) -> bytes:
    """A second of 8-bit audio whose header promises `seconds` (read from the header itself)."""
    body = (128 + 60 * np.sin(2 * np.pi * A4 * np.arange(rate) / rate)).astype(np.uint8).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    chunks += b"LIST" + struct.pack("<I", 4) + b"INFO"  # a chunk to step over before the data
    chunks += b"data" + struct.pack("<I", int(seconds * rate)) + body
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


def float_wav(values: np.ndarray, rate: int = 32_000) -> bytes:
    body = values.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, rate, rate * 4, 4, 32)
    chunks = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", len(chunks)) + chunks


UPLOADS = {
    **{f"melody-{fmt}": melody_clip([(A4, 1.0), (C5, 1.0)], fmt=fmt) for fmt in ("ogg", "mp3", "wav", "m4a", "flac")},
    "stereo-wav": stereo_clip(),
    "silent-ogg": silence_clip(3.0, "ogg"),
    "short-ogg": tone_clip([A4], 0.5, "ogg"),
    "cut-off-mp3": truncated_clip(seconds=4.0, keep=0.5, fmt="mp3"),
    "cut-off-wav": truncated_clip(seconds=4.0, keep=0.5, fmt="wav"),
    "wav-claiming-an-hour": wav_header_claiming(3600.0),
    "wav-claiming-what-it-has": wav_header_claiming(1.0),
    "nan-float-wav": float_wav(np.full(64_000, np.nan)),
    "garbage": garbage_bytes(4096),
    "png": png_bytes(),
}


def outcome(prepare: object) -> PreparedClip | tuple[str, dict[str, object]]:
    """The clip, or the refusal's type and figures."""
    try:
        return prepare()  # type: ignore[operator, no-any-return]
    except Exception as refusal:  # noqa: BLE001 - the refusal is the outcome compared
        return type(refusal).__name__, vars(refusal)


@pytest.fixture(scope="module")
def intake() -> PyAVIntake:
    return PyAVIntake()


@pytest.fixture
async def pool() -> AsyncIterator[ProcessPoolExecutor]:
    workers = worker_pool(1)
    yield workers
    await stop_pool(workers)


@pytest.mark.parametrize("name", UPLOADS)
def test_a_file_is_prepared_exactly_as_its_bytes(intake: PyAVIntake, tmp_path: Path, name: str) -> None:
    upload = tmp_path / "upload.mp3"  # a name that says otherwise: only the content counts
    upload.write_bytes(UPLOADS[name])
    from_bytes = outcome(lambda: intake.prepare(UPLOADS[name], max_bytes=LIMIT, max_seconds=30))
    from_file = outcome(lambda: intake.prepare_file(upload, max_bytes=LIMIT, max_seconds=30))
    assert from_file == from_bytes


def test_a_file_is_decoded_as_it_is_read_not_held_whole(intake: PyAVIntake, tmp_path: Path) -> None:
    # 15 minutes of 16 kHz float: a 58 MB file of which 30 s are kept (the clip's own working
    # copies come to about 20 MB).
    upload = tmp_path / "long.wav"
    upload.write_bytes(float_wav(0.3 * np.sin(2 * np.pi * A4 * np.arange(16_000 * 900) / 16_000), rate=16_000))
    tracemalloc.start()
    try:
        clip = intake.prepare_file(upload, max_bytes=10**8, max_seconds=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert clip.seconds == 30.0
    assert peak < upload.stat().st_size / 2


async def test_the_worker_prepares_each_upload_as_this_process_would(
    intake: PyAVIntake, pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    handoff = FileHandoffIntake(PyAVIntake(), pool, tmp_path / "uploads")
    for data in UPLOADS.values():
        here = outcome(lambda data=data: intake.prepare(data, max_bytes=LIMIT, max_seconds=30))
        assert outcome(lambda data=data: handoff.prepare(data, max_bytes=LIMIT, max_seconds=30)) == here
    assert list((tmp_path / "uploads").iterdir()) == []


async def test_an_upload_over_the_limit_is_refused_before_anything_is_written(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    handoff = FileHandoffIntake(PyAVIntake(), pool, tmp_path / "uploads")
    with pytest.raises(AudioTooLarge) as caught:
        handoff.prepare(encode_wav(np.zeros(32_000, dtype=np.float32), 32_000), max_bytes=1000, max_seconds=30)
    assert (caught.value.size_bytes, caught.value.limit_bytes) == (64_044, 1000)
    assert not (tmp_path / "uploads").exists()


async def test_files_a_killed_bot_left_are_removed_at_the_first_upload(
    pool: ProcessPoolExecutor, tmp_path: Path
) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    left, fresh, other = folder / "upload-left", folder / "upload-another-bots", folder / "notes.txt"
    for path in (left, fresh, other):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(left, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))

    handoff = FileHandoffIntake(PyAVIntake(), pool, folder)
    assert handoff.prepare(UPLOADS["melody-ogg"], max_bytes=LIMIT, max_seconds=30).seconds > 1.5

    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt", "upload-another-bots"]
