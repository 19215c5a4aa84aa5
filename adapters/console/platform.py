"""The console: a chat in the terminal against the same conversation, and the smallest example
of a platform. It reads lines, turns each into a `Request` (a command and its words, or the
number of a choice) and prints the `Reply`: its text, then its buttons as numbered choices.

`/generate <file> <style> <seconds>` waits for the clip, written under `<DATA_DIR>/clips/`, and
answers with the outcome; `--no-wait` answers at once with the job's status, and the rest is
printed when it comes. Works with piped input, so it can be scripted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import stat
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from adapters.chat.conversation import Conversation
from adapters.chat.messages import SILENT, Attachment, Button, LinkButton, Menu, Reply, Request, ShareButton, Surface
from adapters.chat.platform import ClipMessage, JobStatus
from adapters.console.lines import InputLines
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Delivered, Job
from core.domain.numbers import whole_number
from core.errors import OperationFailed

logger = logging.getLogger(__name__)

NAME = "console"
NO_WAIT = "--no-wait"
MAX_FILE_BYTES = 200_000_000  # read no more than this from disk; the intake applies its own limit


def read_file(path: str) -> Attachment:
    """A recording named by its path (read when the job needs it)."""

    async def read() -> bytes:
        return await asyncio.to_thread(read_regular_file, path)

    return Attachment(Path(path).name, read, _regular_size(path))


def _regular_size(path: str) -> int | None:
    """A regular file's size, so a file over the limit is refused before it is read (a stat
    never blocks, even on a FIFO)."""
    try:
        found = os.stat(Path(path).expanduser())
    except (OSError, ValueError, RuntimeError):
        return None
    return found.st_size if stat.S_ISREG(found.st_mode) else None


def read_regular_file(path: str) -> bytes:
    """The file's bytes, regular files only: opened without blocking (a FIFO would wait in
    `open()` for a writer, holding the whole chat), then checked before anything is read (a
    device such as /dev/zero never ends)."""
    if "\0" in path:
        raise OperationFailed("file_name_invalid")
    try:
        fd = os.open(Path(path).expanduser(), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError, RuntimeError):  # RuntimeError: "~nobody/…" names no home
        raise OperationFailed("file_not_found") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OperationFailed("file_not_regular")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        raise OperationFailed("file_not_found") from None
    finally:
        os.close(fd)


SURFACE = Surface(NAME, command_attachments=True, share_by_command=True, attach=read_file)


@dataclass
class _Waiting:
    """A command that may start a job: with `wait`, it answers with the job's outcome (its
    progress printed meanwhile); without, with the job's status so far."""

    wait: bool
    outcome: asyncio.Future[str]
    status: list[str] = field(default_factory=list)


class ConsolePlatform:
    """One terminal; any identity may talk through it (`chat(identity)`)."""

    def __init__(self, conversation: Conversation, clips_dir: Path, *, stdout: TextIO | None = None) -> None:
        self.conversation = conversation
        self.clips_dir = clips_dir
        self._stdout = stdout  # None: whatever sys.stdout is when something is printed
        self._waiting: dict[str, _Waiting] = {}  # request id → the command waiting
        self._shown: dict[str, list[str]] = {}  # job id → status lines printed so far

    @property
    def surface(self) -> Surface:
        return SURFACE

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for waiting in self._waiting.values():
            if not waiting.outcome.done():
                waiting.outcome.cancel()

    def chat(self, identity: Identity) -> ConsoleChat:
        return ConsoleChat(self, identity)

    @property
    def stdout(self) -> TextIO:
        return self._stdout or sys.stdout

    def say(self, text: str) -> None:
        if text:
            self.stdout.write(text.rstrip() + "\n")
            self.stdout.flush()

    # --- ChatPlatform ---------------------------------------------------------------------------

    async def send(self, to: Identity, reply: Reply) -> None:
        self.say(f"[{to.key}] {reply.text}")

    async def send_to_operators(self, reply: Reply) -> bool:
        self.say(self.conversation.words.t(None, "tickets_inbox", text=reply.text))
        return True

    async def show_status(self, status: JobStatus) -> None:
        """Print what is new in the status; the outcome goes to the `/generate` waiting for it."""
        job = status.job
        waiting = self._waiting.get(str(job.reply_to.get("request")))
        if status.final:
            self._shown.pop(job.job_id, None)
            if waiting is not None and waiting.wait and not waiting.outcome.done():
                waiting.outcome.set_result(status.reply.text)
            else:
                self.say(status.reply.text)
            return
        shown = self._shown.setdefault(job.job_id, [])
        lines = [line for line in status.reply.text.splitlines() if line not in shown]
        shown.extend(lines)
        if waiting is not None and not waiting.wait:
            waiting.status.extend(lines)
        else:
            self.say("\n".join(lines))

    async def send_clip(self, job: Job, clip: GeneratedClip, message: ClipMessage) -> Delivered | bool:
        path = self.clips_dir / f"{job.job_id}.{clip.format}"
        await asyncio.to_thread(_write_atomically, path, clip.audio)
        self.say(self.conversation.words.t(None, "clip_saved", caption=message.caption, path=path))
        return True

    async def send_after(self, job: Job, reply: Reply) -> None:
        self.say(reply.text)


class ConsoleChat:
    """One person's side of the console: a line in, the reply's words out."""

    def __init__(self, platform: ConsolePlatform, identity: Identity) -> None:
        self.platform = platform
        self.conversation = platform.conversation
        self.identity = identity
        self._choices: list[Button] = []

    async def run(self, stdin: TextIO | None = None) -> None:
        """Read lines until end of input or /quit; the first thing said is /start."""
        stdin = stdin or sys.stdin
        interactive = stdin.isatty()
        lines = InputLines(stdin)
        self.platform.say(await self.handle("/start"))
        while True:
            if interactive:
                self.platform.stdout.write("> ")
                self.platform.stdout.flush()
            line = await lines.readline()
            if line is None:
                self.platform.say(self.conversation.words.t(None, "console_not_utf8"))
                continue
            if not line or line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                self.platform.say(await self.handle(line))

    async def handle(self, line: str) -> str:
        """One line in, the reply's words (and numbered choices) out."""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            return ""
        choice = whole_number(words[0]) if len(words) == 1 else None
        if choice is not None:
            return await self._choose(choice)
        wait = NO_WAIT not in words
        words = [w for w in words if w != NO_WAIT]
        request_id = uuid.uuid4().hex
        request = Request(self.identity, SURFACE, request_id, reply_to={"request": request_id})
        waiting = _Waiting(wait, asyncio.get_running_loop().create_future())
        self.platform._waiting[request_id] = waiting
        try:
            reply = await self.conversation.run(request, words[0].removeprefix("/"), words[1:])
            if reply is not SILENT:
                return self._show(reply)
            if not wait:  # a job started: its status so far
                return "\n".join(waiting.status)
            return await waiting.outcome
        finally:
            self.platform._waiting.pop(request_id, None)

    async def _choose(self, number: int) -> str:
        if not 0 < number <= len(self._choices):
            return ""
        button = self._choices[number - 1]
        request_id = uuid.uuid4().hex
        request = Request(self.identity, SURFACE, request_id, reply_to={"request": request_id})
        return self._show(await self.conversation.press(request, button.action.encode()))

    def _show(self, reply: Reply) -> str:
        """The reply's text, then each button as a numbered choice (type the number)."""
        lines = [reply.text] if reply.text else []
        self._choices = []
        for control in reply.controls:
            for button in control.options if isinstance(control, Menu) else (control,):
                if isinstance(button, LinkButton):
                    lines.append(f"  {button.label}: {button.url}")
                elif isinstance(button, Button | ShareButton):
                    self._choices.append(Button(button.label, button.action))
                    lines.append(f"  [{len(self._choices)}] {button.label}")
        return "\n".join(line for line in lines if line)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)
