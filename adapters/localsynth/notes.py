"""From a pitch track to notes: smooth, quantise to semitones, segment, drop blips."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from adapters.localsynth.pitch import PitchTrack

logger = logging.getLogger(__name__)

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class Note:
    start: float  # seconds
    duration: float  # seconds
    midi: int  # 69 = A4 = 440 Hz
    velocity: float = 1.0  # 0..1, relative loudness

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def freq(self) -> float:
        return midi_to_hz(self.midi)

    @property
    def name(self) -> str:
        return f"{NOTE_NAMES[self.midi % 12]}{self.midi // 12 - 1}"


def hz_to_midi(freq: NDArray[np.float64] | float) -> NDArray[np.float64]:
    return 69.0 + 12.0 * np.log2(np.asarray(freq, dtype=np.float64) / 440.0)


def midi_to_hz(midi: float) -> float:
    return float(440.0 * 2.0 ** ((midi - 69) / 12.0))


def segment_notes(
    track: PitchTrack,
    *,
    median_frames: int = 5,
    min_note_seconds: float = 0.08,
    max_gap_seconds: float = 0.06,
) -> list[Note]:
    """Notes in `track`.

    1. A `median_frames` median over pitch (in semitones) and a majority vote over voicing
       remove single-frame octave jumps and dropouts.
    2. Rounded to the nearest semitone; runs of one value become candidate notes.
    3. Runs shorter than `min_note_seconds` (glides between notes, blips) join the note
       before them when it touches them, else vanish.
    4. Notes of the same pitch split by a gap shorter than `max_gap_seconds` are joined.
    """
    hop = track.hop_seconds
    if len(track.f0) == 0:
        return []
    with np.errstate(invalid="ignore", divide="ignore"):
        midi = hz_to_midi(track.f0)  # NaN where unvoiced
    smoothed, voiced = _median_smooth(midi, median_frames)
    quantised = np.where(voiced, np.round(np.nan_to_num(smoothed)), -1).astype(np.int64)
    runs = _runs(quantised)

    min_frames = max(1, int(round(min_note_seconds / hop)))
    kept: list[list[int]] = []  # [start, stop, midi]
    for start, stop, value in runs:
        if value < 0:
            continue
        if stop - start < min_frames:
            if kept and kept[-1][1] == start:
                kept[-1][1] = stop  # a glide out of the previous note: part of it
            continue
        kept.append([start, stop, value])

    merged: list[list[int]] = []
    max_gap = int(round(max_gap_seconds / hop))
    for start, stop, value in kept:
        if merged and merged[-1][2] == value and start - merged[-1][1] <= max_gap:
            merged[-1][1] = stop
        else:
            merged.append([start, stop, value])

    loudest = float(track.rms.max()) or 1.0
    notes = [
        Note(
            start=start * hop,
            duration=(stop - start) * hop,
            midi=int(value),
            velocity=float(np.clip(np.median(track.rms[start:stop]) / loudest, 0.2, 1.0)),
        )
        for start, stop, value in merged
    ]
    logger.debug("segmented %d notes: %s", len(notes), " ".join(n.name for n in notes[:24]))
    return notes


def transpose(notes: list[Note], semitones: int) -> list[Note]:
    return [replace(n, midi=n.midi + semitones) for n in notes]


def _median_smooth(midi: NDArray[np.float64], size: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Centred running nan-median of pitch, and majority-vote voicing, over `size` frames."""
    size = max(1, size | 1)  # odd
    half = size // 2
    padded = np.pad(midi, half, constant_values=np.nan)
    windows = sliding_window_view(padded, size)
    voiced_count = np.sum(~np.isnan(windows), axis=1)
    voiced = voiced_count > half
    smoothed = np.full(len(midi), np.nan)
    if voiced.any():
        smoothed[voiced] = np.nanmedian(windows[voiced], axis=1)
    return smoothed, voiced


def _runs(values: NDArray[np.int64]) -> list[tuple[int, int, int]]:
    """(start, stop, value) for each run of equal values."""
    if len(values) == 0:
        return []
    edges = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(values)]])
    return [(int(a), int(b), int(values[a])) for a, b in zip(starts, stops, strict=True)]
