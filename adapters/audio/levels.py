"""Loudness measures used to refuse silent clips and to normalise quiet ones."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_FLOOR = 1e-10


def loudest_window_dbfs(samples: NDArray[np.float32], sample_rate: int, window_seconds: float = 0.05) -> float:
    """RMS level (dBFS) of the loudest window: "is there any sound at all", robust to clicks
    (one sample spike barely moves a 50 ms RMS) and to long quiet stretches."""
    if len(samples) == 0:
        return -np.inf
    window = max(1, int(sample_rate * window_seconds))
    count = max(1, len(samples) // window)
    framed = samples[: count * window].reshape(count, window) if len(samples) >= window else samples[None, :]
    rms = np.sqrt(np.mean(np.square(framed, dtype=np.float64), axis=1))
    return float(20.0 * np.log10(max(float(rms.max()), _FLOOR)))


def normalise_peak(
    samples: NDArray[np.float32], *, target: float = 0.89, max_gain: float = 10.0
) -> NDArray[np.float32]:
    """Scale to a peak of `target` (-1 dBFS), boosting at most `max_gain` (+20 dB) so a quiet
    hum becomes usable without turning room noise into a roar."""
    centred = samples - np.float32(samples.mean()) if len(samples) else samples
    peak = float(np.abs(centred).max()) if len(centred) else 0.0
    if peak <= 0.0:
        return centred.astype(np.float32)
    gain = min(target / peak, max_gain)
    return (centred * np.float32(gain)).astype(np.float32)
