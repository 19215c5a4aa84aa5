"""Audio intake and codecs (PyAV): decode, validate, mix to mono, resample, trim, encode."""

from adapters.audio.decoding import Decoded, decode_mono, decode_pcm
from adapters.audio.encoding import encode_mp3, encode_opus_ogg, encode_wav
from adapters.audio.intake import PyAVIntake

__all__ = [
    "Decoded",
    "PyAVIntake",
    "decode_mono",
    "decode_pcm",
    "encode_mp3",
    "encode_opus_ogg",
    "encode_wav",
]
