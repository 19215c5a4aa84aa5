"""Instrument voices: each turns one note into samples, vectorised with numpy.

A voice is monophonic and follows the melody exactly (no harmony), so the output's own pitch
track matches the input's notes. The bass alone moves the phrase down by octaves.
`render(freq, hold, sample_rate, rng, velocity)` returns `hold` samples plus the voice's
release tail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_TABLE_SIZE = 2048
_NYQUIST_GUARD = 0.45  # keep partials below 0.45 × the sample rate: no aliasing

RenderNote = Callable[[float, int, int, np.random.Generator, float], NDArray[np.float64]]


@dataclass(frozen=True)
class Voice:
    name: str
    render: RenderNote
    # MIDI note the phrase's median is moved to by whole octaves, or None to keep the pitch.
    register: int | None = None


# --- building blocks -----------------------------------------------------------------------


def _adsr(
    hold: int, sample_rate: int, attack: float, decay: float, sustain: float, release: float
) -> NDArray[np.float64]:
    """Attack (linear), decay (exponential) to `sustain` while held, then an exponential
    release tail of `release` seconds. Length: hold + release samples."""
    t = np.arange(hold) / sample_rate
    attack = max(attack, 1e-4)
    env = np.where(t < attack, t / attack, sustain + (1.0 - sustain) * np.exp(-(t - attack) / max(decay, 1e-4)))
    end = float(env[-1]) if hold else 0.0
    tail_t = np.arange(int(release * sample_rate)) / sample_rate
    tail = end * np.exp(-5.0 * tail_t / max(release, 1e-4)) * (1.0 - tail_t / max(release, 1e-4))
    return np.concatenate([env, tail])


def _wavetable(amplitudes: NDArray[np.float64], phases: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """One period (`_TABLE_SIZE` points, plus a wrap point) with partial k at amplitudes[k-1]."""
    spectrum = np.zeros(_TABLE_SIZE // 2 + 1, dtype=np.complex128)
    k = np.arange(1, len(amplitudes) + 1)
    phase = np.zeros(len(amplitudes)) if phases is None else phases
    spectrum[k] = -0.5j * _TABLE_SIZE * amplitudes * np.exp(1j * phase)
    table = np.fft.irfft(spectrum, _TABLE_SIZE)
    return np.append(table, table[0])


def _play(table: NDArray[np.float64], cycles: NDArray[np.float64]) -> NDArray[np.float64]:
    """Read `table` at phase `cycles` (in periods), linearly interpolated."""
    position = (cycles % 1.0) * _TABLE_SIZE
    index = position.astype(np.int64)
    frac = position - index
    return table[index] * (1.0 - frac) + table[index + 1] * frac


def _cycles(
    freq: float,
    n: int,
    sample_rate: int,
    *,
    vibrato_cents: float = 0.0,
    vibrato_rate: float = 5.5,
    vibrato_delay: float = 0.25,
    start_phase: float = 0.0,
) -> NDArray[np.float64]:
    """Running phase in periods, with a vibrato that fades in after `vibrato_delay`."""
    if vibrato_cents <= 0.0:
        return start_phase + freq * np.arange(n) / sample_rate
    t = np.arange(n) / sample_rate
    depth = vibrato_cents * np.clip((t - vibrato_delay) / 0.3, 0.0, 1.0)
    inst = freq * 2.0 ** (depth * np.sin(2 * np.pi * vibrato_rate * t) / 1200.0)
    return start_phase + np.cumsum(inst) / sample_rate


def _partials(freq: float, sample_rate: int, count: int) -> int:
    return max(1, min(count, int(_NYQUIST_GUARD * sample_rate / freq)))


# --- voices --------------------------------------------------------------------------------


def _piano(freq: float, hold: int, sample_rate: int, rng: np.random.Generator, velocity: float) -> NDArray[np.float64]:
    """Struck string: slightly stretched partials, each decaying faster the higher it is;
    the damper falls at note-off."""
    env = _adsr(hold, sample_rate, attack=0.004, decay=10.0, sustain=0.0, release=0.08)
    n = len(env)
    t = np.arange(n) / sample_rate
    count = _partials(freq * 1.05, sample_rate, 12)
    out = np.zeros(n)
    base_decay = 0.5 + freq / 600.0  # low strings ring longer
    for k in range(1, count + 1):
        stretch = np.sqrt(1.0 + 1.2e-4 * k * k)  # piano-string inharmonicity
        amp = (1.0 / k**1.4) * (0.6 + 0.4 * velocity)
        decay = base_decay * (1.0 + 0.45 * (k - 1))
        phase = rng.uniform(0, 2 * np.pi)
        out += amp * np.exp(-decay * t) * np.sin(2 * np.pi * freq * k * stretch * t + phase)
    # A soft hammer thump: 4 ms of decaying noise.
    thump = int(0.004 * sample_rate)
    out[:thump] += 0.05 * rng.standard_normal(thump) * np.linspace(1.0, 0.0, thump)
    return out * env


def _guitar(freq: float, hold: int, sample_rate: int, rng: np.random.Generator, velocity: float) -> NDArray[np.float64]:
    """Karplus-Strong plucked string, computed one period at a time in the frequency domain.

    The delay line is exactly `period` samples at a virtual rate of freq × period; each trip
    round the loop multiplies harmonic m by ρ·cos(πm/period)^b (a zero-phase low-pass), so all
    periods come out of one batched inverse FFT instead of a per-sample loop, and the pitch is
    exact. The result is then resampled to the output rate.
    """
    period = 64
    mute = _adsr(hold, sample_rate, attack=0.002, decay=10.0, sustain=1.0, release=0.04)
    ring = min(len(mute), int(5.0 * sample_rate))  # after 5 s a pluck is inaudible
    virtual_rate = freq * period
    trips = int(np.ceil((ring + 2) * virtual_rate / sample_rate)) // period + 2

    # The excitation: a string pulled aside at a point `pluck` of its length (harmonic m at
    # |sin(π·m·pluck)|/m^1.5), with random phases and a little jitter. White noise, as in the
    # textbook version, can leave the fundamental weaker than the octave: heard as the octave.
    m = np.arange(period // 2 + 1)
    pluck = rng.uniform(0.12, 0.22)
    shape = np.abs(np.sin(np.pi * m * pluck)) / np.maximum(m, 1) ** 1.5
    shape *= rng.uniform(0.85, 1.15, len(m))
    spectrum = shape * np.exp(2j * np.pi * rng.uniform(size=len(m)))
    spectrum[0] = 0.0
    spectrum[m * freq > _NYQUIST_GUARD * sample_rate] = 0.0
    spectrum *= 1.0 / (1.0 + (m / (6.0 + 10.0 * velocity)) ** 2)  # a soft pick is darker
    t60 = 1.2 + 250.0 / freq  # seconds: low strings sustain longer
    rho = 10.0 ** (-3.0 / (t60 * freq))
    loss = rho * np.cos(np.pi * m / period) ** 1.5
    gains = loss[None, :] ** np.arange(trips)[:, None]
    string = np.fft.irfft(spectrum[None, :] * gains, period, axis=1).reshape(-1)

    out = np.zeros(len(mute))
    position = np.arange(ring) * (virtual_rate / sample_rate)
    out[:ring] = np.interp(position, np.arange(len(string)), string)
    return 3.0 * out * mute * (0.6 + 0.4 * velocity)


def _strings(
    freq: float, hold: int, sample_rate: int, rng: np.random.Generator, velocity: float
) -> NDArray[np.float64]:
    """Bowed section / pad: three slightly detuned bright tones, slow attack, late vibrato."""
    env = _adsr(hold, sample_rate, attack=0.12, decay=0.4, sustain=0.85, release=0.25)
    n = len(env)
    count = _partials(freq * 1.01, sample_rate, 24)
    k = np.arange(1, count + 1, dtype=np.float64)
    # Phase is linear in frequency, so the detuned players share one vibrato curve.
    shared = _cycles(freq, n, sample_rate, vibrato_cents=12.0, vibrato_rate=5.0)
    out = np.zeros(n)
    for cents in (-6.0, 0.0, 6.0):
        table = _wavetable(1.0 / k**1.3, rng.uniform(0, 2 * np.pi, count))
        out += _play(table, shared * 2 ** (cents / 1200) + rng.uniform())
    return out / 3.0 * env * (0.6 + 0.4 * velocity)


def _synth(freq: float, hold: int, sample_rate: int, rng: np.random.Generator, velocity: float) -> NDArray[np.float64]:
    """Synth lead: a saw whose filter closes after the attack (bright → mellow), vibrato."""
    env = _adsr(hold, sample_rate, attack=0.008, decay=0.25, sustain=0.75, release=0.08)
    n = len(env)
    count = _partials(freq * 1.01, sample_rate, 40)
    k = np.arange(1, count + 1, dtype=np.float64)
    bright = _wavetable(1.0 / k)
    mellow = _wavetable(1.0 / k**2.2)
    cycles = _cycles(freq, n, sample_rate, vibrato_cents=15.0, vibrato_delay=0.2, start_phase=rng.uniform())
    t = np.arange(n) / sample_rate
    opening = 0.25 + 0.75 * np.exp(-t / 0.18)
    out = _play(mellow, cycles) + (_play(bright, cycles) - _play(mellow, cycles)) * opening
    return 0.8 * out * env * (0.6 + 0.4 * velocity)


def _bass(freq: float, hold: int, sample_rate: int, rng: np.random.Generator, velocity: float) -> NDArray[np.float64]:
    """Electric-bass-like: a few strong low partials, plucky envelope, gentle saturation."""
    env = _adsr(hold, sample_rate, attack=0.005, decay=0.3, sustain=0.55, release=0.06)
    count = _partials(freq, sample_rate, 6)
    table = _wavetable(np.array([1.0, 0.5, 0.3, 0.15, 0.08, 0.04])[:count])
    out = _play(table, _cycles(freq, len(env), sample_rate, start_phase=rng.uniform()))
    # float(): numpy's stubs leave a ufunc of a plain number untyped.
    return np.tanh(1.6 * out * env * (0.6 + 0.4 * velocity)) / float(np.tanh(1.6))


VOICES: dict[str, Voice] = {
    "piano": Voice("piano", _piano),
    "guitar": Voice("guitar", _guitar),
    "strings": Voice("strings", _strings),
    "synth": Voice("synth", _synth),
    "bass": Voice("bass", _bass, register=43),  # median near G2 (98 Hz)
}
