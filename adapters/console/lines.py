"""Lines of standard input for the console chat, read so that a stop never waits on them.

A `readline()` blocked in a worker thread keeps the process from ending (the default executor
is joined at exit), and a daemon thread blocked inside the buffered `sys.stdin` can abort the
interpreter's shutdown on its lock. So a daemon thread reads the raw descriptor and hands
complete lines to the event loop. A line that is not UTF-8 text is handed over as None: the chat
skips it with a note rather than guessing at its words.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from typing import TextIO

CHUNK = 65536


class InputLines:
    """`await lines.readline()`: the next line with its newline, '' at the end of input, or None
    for a line that is not UTF-8."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._fd: int | None
        try:
            self._fd = stream.fileno()
        except (OSError, ValueError, AttributeError):  # an in-memory stream (tests): never blocks
            self._fd = None
        self._queue: asyncio.Queue[str | None] | None = None

    async def readline(self) -> str | None:
        if self._fd is None:
            return read_line(self._stream)
        if self._queue is None:
            self._queue = asyncio.Queue()
            loop = asyncio.get_running_loop()
            reader = threading.Thread(target=self._pump, args=(loop, self._queue, self._fd), daemon=True)
            reader.name = "console-input"
            reader.start()
        return await self._queue.get()

    @staticmethod
    def _pump(loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], fd: int) -> None:
        def hand_over(line: bytes | str) -> None:
            text: str | None = line if isinstance(line, str) else _utf8(line)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is reading
                loop.call_soon_threadsafe(queue.put_nowait, text)

        pending = b""
        while True:
            try:
                chunk = os.read(fd, CHUNK)
            except OSError:
                chunk = b""
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                hand_over(line + b"\n")
            if not chunk:
                if pending:
                    hand_over(pending)
                hand_over("")
                return


def _utf8(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_line(stream: TextIO) -> str | None:
    """One line of an in-memory stream ("" at its end), None for a line that is not UTF-8: read
    as bytes where the stream has them, so one bad line is skipped rather than ending the chat."""
    raw = getattr(stream, "buffer", None)
    if raw is None:
        return stream.readline()
    return _utf8(raw.readline())
