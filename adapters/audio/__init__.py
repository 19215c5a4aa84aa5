"""Audio intake and codecs (PyAV): decode, validate, mix to mono, resample, trim, encode.

numpy and PyAV load on first use, not with this package: the bot process hands recordings to
its worker processes and never decodes one itself, so it need not carry either library."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.audio.decoding import Decoded, decode_mono, decode_pcm
    from adapters.audio.encoding import encode_mp3, encode_opus_ogg, encode_wav
    from adapters.audio.handoff import FileHandoffIntake
    from adapters.audio.intake import PyAVIntake

_HOMES = {
    "Decoded": "adapters.audio.decoding",
    "decode_mono": "adapters.audio.decoding",
    "decode_pcm": "adapters.audio.decoding",
    "encode_mp3": "adapters.audio.encoding",
    "encode_opus_ogg": "adapters.audio.encoding",
    "encode_wav": "adapters.audio.encoding",
    "FileHandoffIntake": "adapters.audio.handoff",
    "PyAVIntake": "adapters.audio.intake",
}

__all__ = [
    "Decoded",
    "FileHandoffIntake",
    "PyAVIntake",
    "decode_mono",
    "decode_pcm",
    "encode_mp3",
    "encode_opus_ogg",
    "encode_wav",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
