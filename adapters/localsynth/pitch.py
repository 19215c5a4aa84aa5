"""YIN pitch tracking (de Cheveigné & Kawahara, 2002), vectorised over frames with numpy.

Per frame: the difference function d(τ) from an FFT cross-correlation and running energies,
its cumulative-mean normalisation d'(τ), the first dip below `threshold` (walked down to its
local minimum), then parabolic interpolation for sub-sample lag.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

# Mono input samples: float32 from the decoder, float64 from numpy-made signals.
Samples = NDArray[np.float32] | NDArray[np.float64]

_CHUNK_FRAMES = 256  # frames per FFT batch: bounds memory on a 30 s clip (~4 MB per batch)


@dataclass(frozen=True)
class PitchTrack:
    """One value per hop; frame i is centred on `i * hop_seconds`."""

    hop_seconds: float
    f0: NDArray[np.float64]  # Hz, NaN where unvoiced
    aperiodicity: NDArray[np.float64]  # d'(τ) at the chosen lag: 0 = perfectly periodic
    rms: NDArray[np.float64]  # frame level, linear

    @property
    def voiced(self) -> NDArray[np.bool_]:
        return ~np.isnan(self.f0)

    @property
    def times(self) -> NDArray[np.float64]:
        return np.arange(len(self.f0), dtype=np.float64) * self.hop_seconds


def yin(
    samples: Samples,
    sample_rate: int,
    *,
    fmin: float = 50.0,
    fmax: float = 1200.0,
    frame_seconds: float = 0.04,
    hop_seconds: float = 0.01,
    threshold: float = 0.15,
    silence_db: float = -45.0,
    analysis_rate: int = 16_000,
) -> PitchTrack:
    """Track f0 of mono `samples`. Frames quieter than `silence_db` below the loudest frame
    (or below -60 dBFS) are unvoiced whatever their periodicity.

    Input above ~1.5 × `analysis_rate` is decimated first: a voice's f0 lies far below 8 kHz,
    and halving the rate quarters the work.
    """
    x = np.asarray(samples, dtype=np.float64)
    rate: float = sample_rate  # no longer whole once decimated
    factor = int(rate // analysis_rate)
    if factor >= 2 and rate / analysis_rate >= 1.5:
        x = _decimate(x, factor)
        rate = rate / factor
    window = int(round(frame_seconds * rate))
    hop = max(1, int(round(hop_seconds * rate)))
    tau_min = max(2, int(rate / fmax))
    tau_max = int(np.ceil(rate / fmin))
    if window <= tau_max:
        # The window must hold at least one period of the lowest pitch (plus some).
        window = tau_max + 1
    span = window + tau_max + 1
    frame_count = int(np.ceil(len(x) / hop)) if len(x) else 0
    if frame_count == 0:
        empty = np.zeros(0)
        return PitchTrack(hop / rate, empty, empty, empty)

    # Centre frame i on sample i*hop; pad the tail so every frame has a full span.
    padded = np.pad(x, (window // 2, span + hop))
    starts = np.arange(frame_count) * hop
    f0 = np.full(frame_count, np.nan)
    aperiodicity = np.ones(frame_count)
    rms = np.zeros(frame_count)
    nfft = 1 << int(np.ceil(np.log2(span)))
    for first in range(0, frame_count, _CHUNK_FRAMES):
        idx = starts[first : first + _CHUNK_FRAMES]
        frames = padded[idx[:, None] + np.arange(span)[None, :]]
        lag, ap, level = _yin_frames(frames, window, tau_min, tau_max, nfft, threshold)
        sl = slice(first, first + len(idx))
        with np.errstate(divide="ignore"):
            f0[sl] = np.where(lag > 0, rate / np.where(lag > 0, lag, 1.0), np.nan)
        aperiodicity[sl] = ap
        rms[sl] = level

    loudest = float(rms.max()) if len(rms) else 0.0
    gate = max(loudest * 10 ** (silence_db / 20), 10 ** (-60 / 20))
    f0[rms < gate] = np.nan
    return PitchTrack(hop / rate, f0, aperiodicity, rms)


def _decimate(x: NDArray[np.float64], factor: int) -> NDArray[np.float64]:
    """Low-pass (Hann-windowed sinc at 0.8 × the new Nyquist) then keep every `factor`-th."""
    half = 8 * factor
    n = np.arange(-half, half + 1)
    cutoff = 0.8 / factor  # as a fraction of the old Nyquist
    taps = cutoff * np.sinc(cutoff * n) * np.hanning(len(n))
    taps /= taps.sum()
    return np.convolve(x, taps, mode="same")[::factor]


def _yin_frames(
    frames: NDArray[np.float64], window: int, tau_min: int, tau_max: int, nfft: int, threshold: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Lag (samples, fractional; 0 = unvoiced), aperiodicity and RMS for a batch of frames."""
    head = frames[:, :window]
    # r(τ) = Σ_j x[j]·x[j+τ] for j < window: a linear cross-correlation (nfft ≥ span, no wrap).
    spectrum = np.conj(np.fft.rfft(head, nfft)) * np.fft.rfft(frames, nfft)
    corr = np.fft.irfft(spectrum, nfft)[:, : tau_max + 1]
    # Energy of x[τ : τ+window] for every τ, from a running sum of squares.
    power = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    taus = np.arange(tau_max + 1)
    energy = power[:, taus + window] - power[:, taus]
    diff = np.maximum(energy[:, :1] + energy - 2.0 * corr, 0.0)

    # Cumulative mean normalised difference d'(τ); d'(0) = 1 by definition.
    running = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    with np.errstate(divide="ignore", invalid="ignore"):
        cmnd[:, 1:] = np.where(running > 0, diff[:, 1:] * taus[1:] / running, 1.0)

    search = cmnd[:, tau_min:tau_max]
    below = search < threshold
    # First lag that is below threshold *and* not still descending = the dip's local minimum.
    settled = below & (search <= cmnd[:, tau_min + 1 : tau_max + 1])
    found = settled.any(axis=1)
    pick = np.argmax(settled, axis=1) + tau_min

    rows = np.arange(len(frames))
    ap = np.where(found, cmnd[rows, pick], search.min(axis=1))
    # Parabolic interpolation around the chosen lag.
    left = cmnd[rows, np.maximum(pick - 1, 0)]
    centre = cmnd[rows, pick]
    right = cmnd[rows, np.minimum(pick + 1, tau_max)]
    curvature = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(curvature) > 1e-12, 0.5 * (left - right) / curvature, 0.0)
    lag = np.where(found, pick + np.clip(shift, -1.0, 1.0), 0.0)
    level = np.sqrt(energy[:, 0] / window)
    return lag, ap, level
