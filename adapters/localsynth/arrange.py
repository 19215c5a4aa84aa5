"""Fit a sung phrase to the asked length: loop it, stretching the loops slightly so a whole
number of them fills the time exactly; a phrase much longer than asked plays its opening."""

from __future__ import annotations

import logging
from dataclasses import replace

from adapters.localsynth.notes import Note

logger = logging.getLogger(__name__)

# When no pitched note is found (noise, speech, drums) we still owe the user music: a plain
# C-major figure, which any voice can play. Logged, so it is never silent about it.
FALLBACK_MOTIF: tuple[Note, ...] = tuple(
    Note(start=i * 0.4, duration=0.38, midi=m) for i, m in enumerate((60, 64, 67, 64, 62, 65, 67, 60))
)

MIN_STRETCH = 0.75  # below this, time-compressing the melody would mangle it: truncate instead


def fit_to_length(notes: list[Note], seconds: float) -> list[Note]:
    """Notes covering [0, seconds): the phrase from its first onset, repeated and stretched."""
    if not notes:
        logger.info("no melody found in the input; using the fallback motif")
        notes = list(FALLBACK_MOTIF)
    origin = notes[0].start
    phrase = [replace(n, start=n.start - origin) for n in notes]
    body = phrase[-1].end
    # A breath between repetitions, in proportion to the phrase.
    length = body + min(0.5, max(0.1, 0.1 * body))
    repeats = max(1, round(seconds / length))
    stretch = seconds / (repeats * length)
    if stretch < MIN_STRETCH:
        repeats, stretch = 1, 1.0

    fitted: list[Note] = []
    for r in range(repeats):
        offset = r * length * stretch
        for note in phrase:
            start = offset + note.start * stretch
            if start >= seconds - 0.05:
                break
            duration = min(note.duration * stretch, seconds - start)
            fitted.append(replace(note, start=start, duration=duration))
    return fitted
