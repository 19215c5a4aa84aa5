"""Console commands about making music: /generate, /jobs, /cancel; and the console's notifier.

`/generate path/to/hum.ogg warm piano 10` shows the cost, submits, prints the progress lines and
waits for the result: the clip written under `<DATA_DIR>/clips/`, then "−2 credits · 5 left"
(or what went wrong and "your 2 credits were not charged"). With `--no-wait` it returns at once
and the result is printed when it comes, so `/jobs` and `/cancel` have something to act on.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from adapters.chat.generation_text import GenerationText
from adapters.console.chat import Handler
from core.domain.generation import GeneratedClip
from core.domain.identity import Identity
from core.domain.jobs import Job, JobProgress
from core.domain.ledger import Balance
from core.domain.offers import Offer
from core.errors import BotError, JobCanceled, OperationFailed, UsageError
from core.services.generation import GenerationService

PLATFORM = "console"
NO_WAIT = "--no-wait"
MAX_FILE_BYTES = 200_000_000  # read no more than this from disk; the service applies its own limit


class ConsoleNotifier:
    """Prints a job's progress; writes the clip to `clips_dir` (that is the console's delivery).

    The final line of a job started by a waiting `/generate` goes back to that command; any other
    job's (`--no-wait`, or resumed after a restart) is printed when it comes.
    """

    def __init__(self, text: GenerationText, clips_dir: Path, say: Callable[[str], None]) -> None:
        self.text = text
        self.clips_dir = clips_dir
        self.say = say
        self._waiting: dict[str, asyncio.Future[str]] = {}  # request key → the final text

    def expect(self, request_key: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[request_key] = future
        return future

    def forget(self, request_key: str) -> None:
        self._waiting.pop(request_key, None)

    async def progress(self, job: Job, progress: JobProgress) -> None:
        self.say(self.text.progress(job, progress))

    async def deliver(self, job: Job, clip: GeneratedClip) -> bool:
        path = self.clips_dir / f"{job.job_id}.{clip.format}"
        await asyncio.to_thread(_write_atomically, path, clip.audio)
        self.say(self.text.render.t("gen_saved", path=str(path)))
        return True

    async def finished(self, job: Job, charged: int, balance: Balance, offer: Offer | None) -> None:
        self._final(job, self.text.charged(charged, balance, offer))

    async def failed(self, job: Job, error: BotError, balance: Balance) -> None:
        if isinstance(error, JobCanceled) and job.request_key not in self._waiting:
            return  # /cancel itself says so
        self._final(job, self.text.failed(job, error))

    def _final(self, job: Job, line: str) -> None:
        future = self._waiting.pop(job.request_key, None)
        if future is not None and not future.done():
            future.set_result(line)
        else:
            self.say(line)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    os.replace(partial, path)


def _read_clip(path: str) -> bytes:
    try:
        with open(Path(path).expanduser(), "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError:
        raise OperationFailed("file_not_found") from None


def generation_commands(
    service: GenerationService, identity: Identity, notifier: ConsoleNotifier
) -> dict[str, Handler]:
    text = notifier.text

    async def generate(args: list[str]) -> str:
        """Make a clip from a recording: /generate <file> <style> <seconds> [--no-wait]."""
        wait = NO_WAIT not in args
        args = [a for a in args if a != NO_WAIT]
        if len(args) < 3:
            raise UsageError("generate")
        path, style, seconds = args[0], " ".join(args[1:-1]), args[-1]
        audio = await asyncio.to_thread(_read_clip, path)
        notifier.say(text.quote(await service.quote(identity, seconds)))
        request_id = uuid.uuid4().hex
        result = notifier.expect(f"{identity.key}:{request_id}") if wait else None
        try:
            accepted = await service.submit(
                identity,
                audio,
                style,
                seconds,
                platform=PLATFORM,
                reply_to={},
                request_id=request_id,
            )
        except BaseException:
            notifier.forget(f"{identity.key}:{request_id}")
            raise
        if result is None:
            return text.accepted(accepted)
        notifier.say(text.accepted(accepted))
        return await result

    async def jobs(args: list[str]) -> str:
        """Your queued and running jobs."""
        return text.jobs(await service.jobs(identity))

    async def cancel(args: list[str]) -> str:
        """Cancel a job that has not been delivered yet: /cancel <job id>."""
        if len(args) != 1:
            raise UsageError("cancel")
        return text.canceled(await service.cancel(identity, args[0]))

    return {"/generate": generate, "/jobs": jobs, "/cancel": cancel}
