"""An upload handed to a worker process through a file, not through the process pool's pipe.

Through the pipe an upload is pickled: a 20 MB recording costs 20 MB more in the bot process
while it is sent, and 40 MB in the worker that receives it (the message, then the bytes) before
any decoding starts. From a file the worker decodes as it reads, and holds none of it."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import time
from concurrent.futures import Executor
from pathlib import Path

from adapters.audio.intake import PyAVIntake
from core.domain.generation import PreparedClip

logger = logging.getLogger(__name__)

PREFIX = "upload-"
LEFTOVER_SECONDS = 3600.0  # no intake takes this long: an older file was left by a killed bot


class FileHandoffIntake:
    """`AudioIntake` for the bot process: each upload is written to a file in `folder`, prepared
    by `intake` in one of `workers`' processes, then deleted. It waits for the worker, so it is
    called off the event loop (the generation service runs an intake without an executor in a
    thread)."""

    def __init__(self, intake: PyAVIntake, workers: Executor, folder: Path) -> None:
        self.intake = intake
        self.workers = workers
        self.folder = folder
        self._ready = False
        self._lock = threading.Lock()

    def prepare(self, data: bytes, *, max_bytes: int, max_seconds: float) -> PreparedClip:
        self.intake.refuse_size(len(data), max_bytes)  # before anything is written
        self._make_folder()
        with tempfile.NamedTemporaryFile(dir=self.folder, prefix=PREFIX) as upload:
            upload.write(data)
            upload.flush()
            prepared = self.workers.submit(
                self.intake.prepare_file, Path(upload.name), max_bytes=max_bytes, max_seconds=max_seconds
            )
            return prepared.result()

    def _make_folder(self) -> None:
        """Made at the first upload (a bot that is sent none writes nothing), and cleared then of
        what a killed bot left."""
        with self._lock:
            if self._ready:
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            stale = time.time() - LEFTOVER_SECONDS
            for leftover in self.folder.glob(f"{PREFIX}*"):
                with contextlib.suppress(OSError):
                    if leftover.stat().st_mtime < stale:
                        leftover.unlink()
                        logger.info("removed %s, left by a bot that was killed", leftover.name)
            self._ready = True
