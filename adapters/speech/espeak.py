"""eSpeak NG through ctypes, from the library and voice data the `espeakng-loader` wheel ships
(no system install).

eSpeak NG keeps global state (the voice, the callback, its buffers): one synthesis at a time per
process. Every call runs on one dedicated thread, which also loads and initialises the library
once, so callers on any thread (or the event loop, through `asyncio.wrap_future`) queue there.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import logging
import threading

import espeakng_loader
import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_RATE = 1  # espeakRATE: words per minute
_EE_OK = 0

# int callback(short *wav, int numsamples, espeak_EVENT *events): 0 goes on, 1 stops.
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# The eSpeak voice behind each neutral voice name (a `+variant` changes the speaker).
ESPEAK_VOICES = {"female": "en-us+f3", "male": "en"}


class SpeechEngineError(RuntimeError):
    pass


_SHARED_LOCK = threading.Lock()
_shared: EspeakEngine | None = None


def shared_engine() -> EspeakEngine:
    """The process's one engine: the library's state is per process, so two engines would
    trample each other."""
    global _shared
    with _SHARED_LOCK:
        if _shared is None:
            _shared = EspeakEngine()
        return _shared


class EspeakEngine:
    """`synthesize(text, voice)` → mono float32 samples at `sample_rate` (22,050 Hz). Use
    `shared_engine()`: there is one per process."""

    def __init__(self, voices: dict[str, str] | None = None, words_per_minute: int = 165) -> None:
        self.voices = dict(voices or ESPEAK_VOICES)
        self.words_per_minute = words_per_minute
        self._thread = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="espeak")
        self._lib: ctypes.CDLL | None = None
        self._voice: str | None = None
        self._chunks: list[NDArray[np.int16]] = []
        self._callback = _SynthCallback(self._collect)  # kept referenced: C holds the pointer
        self.sample_rate = 22_050
        self._init_lock = threading.Lock()

    def submit(self, text: str, voice: str) -> concurrent.futures.Future[NDArray[np.float32]]:
        """Queue a synthesis on the engine's thread."""
        return self._thread.submit(self._synthesize, text, voice)

    def synthesize(self, text: str, voice: str) -> NDArray[np.float32]:
        return self.submit(text, voice).result()

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    # --- on the engine's thread ------------------------------------------------------------

    def _load(self) -> ctypes.CDLL:
        with self._init_lock:
            if self._lib is None:
                lib = ctypes.cdll.LoadLibrary(espeakng_loader.get_library_path())
                lib.espeak_Initialize.restype = ctypes.c_int
                lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
                lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
                lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
                lib.espeak_SetVoiceByName.restype = ctypes.c_int
                lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
                lib.espeak_Synth.restype = ctypes.c_int
                lib.espeak_Synth.argtypes = [
                    ctypes.c_void_p,
                    ctypes.c_size_t,
                    ctypes.c_uint,
                    ctypes.c_int,
                    ctypes.c_uint,
                    ctypes.c_uint,
                    ctypes.c_void_p,
                    ctypes.c_void_p,
                ]
                data = espeakng_loader.get_data_path().encode()
                rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT)
                if rate <= 0:
                    raise SpeechEngineError(f"espeak_Initialize failed ({rate})")
                self.sample_rate = rate
                lib.espeak_SetSynthCallback(self._callback)
                lib.espeak_SetParameter(_RATE, self.words_per_minute, 0)
                self._lib = lib
                logger.info("eSpeak NG loaded: %d Hz", rate)
            return self._lib

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    def _synthesize(self, text: str, voice: str) -> NDArray[np.float32]:
        lib = self._load()
        name = self.voices.get(voice, voice)
        if name != self._voice:
            if lib.espeak_SetVoiceByName(name.encode()) != _EE_OK:
                raise SpeechEngineError(f"eSpeak has no voice {name!r}")
            lib.espeak_SetParameter(_RATE, self.words_per_minute, 0)
            self._voice = name
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        status = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        lib.espeak_Synchronize()
        chunks, self._chunks = self._chunks, []
        if status != _EE_OK:
            raise SpeechEngineError(f"espeak_Synth failed ({status})")
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return (np.concatenate(chunks).astype(np.float32) / 32768.0).astype(np.float32)
