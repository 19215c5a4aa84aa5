"""The local melody synthesizer: a real melody follower standing in for MusicGen.

YIN pitch tracking → semitone notes → one instrument voice (piano, guitar, strings, synth,
bass) playing them, looped to the asked length → MP3.
"""

from adapters.localsynth.generator import UNKNOWN_PREDICTION, LocalSynthGenerator
from adapters.localsynth.notes import Note, segment_notes
from adapters.localsynth.pitch import PitchTrack, yin
from adapters.localsynth.render import extract_notes, render_mp3, render_notes
from adapters.localsynth.styles import DEFAULT_VOICE, voice_name_for_style
from adapters.localsynth.voices import VOICES, Voice

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
