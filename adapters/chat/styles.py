"""The styles offered on buttons (each a row of the style × length picker, with its emoji and a
short label from the catalogue, `style.<key>`) and the presets suggested while typing a style.
A style's key goes into button data; its prompt is what the generator is asked for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    key: str
    prompt: str
    emoji: str


BUTTON_STYLES: tuple[Style, ...] = (
    Style("piano", "warm solo piano", "🎹"),
    Style("guitar", "acoustic guitar", "🎸"),
    Style("strings", "lush string orchestra", "🎻"),
    Style("synth", "retro synth lead", "🎛"),
    Style("bass", "deep bass groove", "🔊"),
)

# Suggested as a style is typed (any text is a style too).
STYLE_PRESETS: tuple[str, ...] = (
    *(style.prompt for style in BUTTON_STYLES),
    "lo-fi hip hop beat",
    "cinematic orchestral",
    "jazz piano trio",
    "8-bit chiptune",
    "ambient pads",
)

AUDIO_EXTENSIONS = (".ogg", ".oga", ".opus", ".mp3", ".wav", ".m4a", ".aac", ".webm", ".flac", ".mp4")


def style_of(key: str) -> Style | None:
    return next((style for style in BUTTON_STYLES if style.key == key), None)


def looks_like_audio(mime: str | None, filename: str | None) -> bool:
    """A content type or file name that may hold a recording (the audio intake decides for sure)."""
    return (mime or "").lower().startswith(("audio/", "video/")) or (filename or "").lower().endswith(AUDIO_EXTENSIONS)


def suggest_styles(typed: str, limit: int = 25) -> list[str]:
    typed = typed.strip()[:100]
    shown = [s for s in STYLE_PRESETS if typed.lower() in s.lower()]
    if typed and typed not in shown:
        shown.insert(0, typed)  # free text is a style too
    return shown[:limit]
