"""The local melody synthesizer: a real melody follower standing in for MusicGen.

YIN pitch tracking → semitone notes → one instrument voice (piano, guitar, strings, synth,
bass) playing them, looped to the asked length → MP3.

The synthesizer (numpy, PyAV) loads on first use, not with this package: the bot process keeps
only the generator's bookkeeping and renders in its worker processes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.localsynth.generator import UNKNOWN_PREDICTION, LocalSynthGenerator
    from adapters.localsynth.notes import Note, segment_notes
    from adapters.localsynth.pitch import PitchTrack, yin
    from adapters.localsynth.render import extract_notes, render_mp3, render_notes
    from adapters.localsynth.styles import DEFAULT_VOICE, voice_name_for_style
    from adapters.localsynth.voices import VOICES, Voice

_HOMES = {
    "DEFAULT_VOICE": "adapters.localsynth.styles",
    "UNKNOWN_PREDICTION": "adapters.localsynth.generator",
    "VOICES": "adapters.localsynth.voices",
    "LocalSynthGenerator": "adapters.localsynth.generator",
    "Note": "adapters.localsynth.notes",
    "PitchTrack": "adapters.localsynth.pitch",
    "Voice": "adapters.localsynth.voices",
    "extract_notes": "adapters.localsynth.render",
    "render_mp3": "adapters.localsynth.render",
    "render_notes": "adapters.localsynth.render",
    "segment_notes": "adapters.localsynth.notes",
    "voice_name_for_style": "adapters.localsynth.styles",
    "yin": "adapters.localsynth.pitch",
}

__all__ = [
    "DEFAULT_VOICE",
    "UNKNOWN_PREDICTION",
    "VOICES",
    "LocalSynthGenerator",
    "Note",
    "PitchTrack",
    "Voice",
    "extract_notes",
    "render_mp3",
    "render_notes",
    "segment_notes",
    "voice_name_for_style",
    "yin",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
