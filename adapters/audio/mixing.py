"""A voice over music: the music ducked under the voice, the voice mixed in at the start."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

_PEAK = 0.89  # -1 dBFS


def resample_linear(samples: NDArray[np.float32], rate: int, target: int) -> NDArray[np.float32]:
    """Linear interpolation: plenty for speech going into a mix (and cheap)."""
    if rate == target or not len(samples):
        return samples.astype(np.float32, copy=False)
    count = int(round(len(samples) * target / rate))
    positions = np.arange(count, dtype=np.float64) * (rate / target)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def duck_and_mix(
    music: NDArray[np.float32],
    voice: NDArray[np.float32],
    sample_rate: int,
    *,
    lead_in: float = 0.25,
    duck_db: float = -14.0,
    fade: float = 0.2,
) -> NDArray[np.float32]:
    """The voice starts `lead_in` seconds in; the music fades down to `duck_db` just before it,
    stays there while it speaks and comes back up after. The clip keeps its length (a voice
    longer than the clip is cut)."""
    out = music.astype(np.float32, copy=True)
    total = len(out)
    start = min(int(lead_in * sample_rate), total)
    stop = min(start + len(voice), total)
    if stop <= start:
        return out
    ramp = max(1, int(fade * sample_rate))
    low = np.float32(10 ** (duck_db / 20))
    gain = np.ones(total, dtype=np.float32)
    down_from = max(0, start - ramp)
    gain[down_from:start] = np.linspace(1.0, low, start - down_from, dtype=np.float32)
    gain[start:stop] = low
    up_to = min(total, stop + ramp)
    gain[stop:up_to] = np.linspace(low, 1.0, up_to - stop, dtype=np.float32)
    out *= gain
    voice_peak = float(np.abs(voice).max()) or 1.0
    out[start:stop] += voice[: stop - start] * np.float32(_PEAK / voice_peak)
    peak = float(np.abs(out).max())
    if peak > _PEAK:
        out *= np.float32(_PEAK / peak)
    return out
