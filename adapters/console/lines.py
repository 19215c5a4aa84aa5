"""Lines of standard input for the console chat, read so that a stop never waits on them.

A `readline()` blocked in a worker thread keeps the process from ending (the default executor
is joined at exit), and a daemon thread blocked inside the buffered `sys.stdin` can abort the
interpreter's shutdown on its lock. So a daemon thread reads the raw descriptor and hands
complete lines to the event loop; bytes that are not UTF-8 become U+FFFD, never an error.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import threading
from typing import TextIO

CHUNK = 65536


class InputLines:
    """`await lines.readline()`: the next line with its newline, or '' at the end of input."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._fd: int | None
        try:
            self._fd = stream.fileno()
        except (OSError, ValueError, AttributeError):  # an in-memory stream (tests): never blocks
            self._fd = None
        self._queue: asyncio.Queue[str] | None = None

    async def readline(self) -> str:
        if self._fd is None:
            return self._stream.readline()
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            reader = threading.Thread(target=self._pump, args=(loop, self._queue, self._fd), daemon=True)
            reader.name = "console-input"
            reader.start()
        return await self._queue.get()

    @staticmethod
    def _pump(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str], fd: int) -> None:
        def hand_over(line: str) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading
                loop.call_soon_threadsafe(queue.put_nowait, line)

        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(fd, CHUNK)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *lines, pending = pending.split("\n")
            for line in lines:
                hand_over(line + "\n")
            if not chunk:
                if pending:
                    hand_over(pending)
                hand_over("")
                return
