"""What every chat adapter agrees on about recordings: which files look like audio before we
download them (the audio intake decides for sure), and the emoji on each style's buttons."""

from __future__ import annotations

AUDIO_EXTENSIONS = (".ogg", ".oga", ".opus", ".mp3", ".wav", ".m4a", ".aac", ".webm", ".flac", ".mp4")
STYLE_EMOJI = {"piano": "🎹", "guitar": "🎸", "strings": "🎻", "synth": "🎛", "bass": "🔊"}


def looks_like_audio(mime: str | None, filename: str | None) -> bool:
    """A content type or file name that may hold a recording (voice notes are checked apart)."""
    return (mime or "").lower().startswith(("audio/", "video/")) or (filename or "").lower().endswith(AUDIO_EXTENSIONS)
