"""A melody from words: the same words and seed always give the same tune.

The words pick the key, the mode (minor for dark or sad words), the tempo (slow for calm words,
fast for lively ones) and the seed for a stepwise walk on the scale, two bars repeated with a
variation, which is what makes it sound like a phrase rather than noise."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from adapters.localsynth.notes import Note

_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_DARK = {"dark", "sad", "minor", "melancholy", "moody", "rain", "night", "gloomy", "epic", "cinematic"}
_SLOW = {"calm", "slow", "ambient", "chill", "lofi", "lo-fi", "sleep", "ballad", "relaxing", "soft"}
_FAST = {"fast", "dance", "edm", "upbeat", "energetic", "happy", "party", "rock", "punk", "techno"}


def word_seed(words: str, seed: int) -> int:
    digest = hashlib.sha256(f"{words.strip().lower()}|{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def compose(words: str, seed: int, bars: int = 4) -> list[Note]:
    """About `bars` bars of melody in 4/4 (the renderer loops it to the clip's length)."""
    tokens = set(re.findall(r"[a-z-]+", words.lower()))
    rng = np.random.default_rng(word_seed(words, seed))
    scale = _MINOR if tokens & _DARK else _MAJOR
    bpm = 80 if tokens & _SLOW else 128 if tokens & _FAST else 100
    beat = 60.0 / bpm
    tonic = 57 + int(rng.integers(0, 12))  # A3..G#4
    degree = 0
    phrase: list[tuple[int, float]] = []  # (scale degree, beats)
    length = 0.0
    while length < 8:  # two bars
        beats = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0]))
        beats = min(beats, 8 - length)
        phrase.append((degree, beats))
        length += beats
        degree = int(np.clip(degree + rng.choice([-2, -1, -1, 1, 1, 2, 3]), -3, 9))
    notes: list[Note] = []
    start = 0.0
    for repeat in range(max(1, bars // 2)):
        for index, (step, beats) in enumerate(phrase):
            if repeat % 2 and index == len(phrase) - 1:
                step = 0  # the answering phrase comes home to the tonic
            octave, position = divmod(step, len(scale))
            midi = tonic + 12 * octave + scale[position]
            velocity = 1.0 if start % (4 * beat) < 1e-6 else 0.8
            notes.append(Note(start=start, duration=beats * beat * 0.95, midi=midi, velocity=velocity))
            start += beats * beat
    return notes
