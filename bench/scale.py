"""`python -m bench.scale`: several `python -m bot` processes on one PostgreSQL database, behind
a Telegram webhook load balancer, serving many people at once.

Each round starts N bot processes (Telegram in webhook mode, Stripe and Replicate configured)
on a fresh PostgreSQL database. A small load balancer in front of them routes each update by
chat (sticky, as a balancer hashing the chat id would), and the fake Bot API POSTs every
update to it. Every person at once: /start, /daily, a voice note, the first style button (the
fake Replicate finishes each prediction after 1 s) until the clip arrives, then `/buy starter`
until the checkout link arrives. Then every Stripe checkout completes, and each signed
`checkout.session.completed` event is delivered to EVERY process at the same time.

Figures: first reply (the /start update POSTed → the bot's first message in that chat) p50 and
p99 in the round with the most processes; throughput (updates handled per second, the first
update pushed → the last person's checkout link) per round; violations (the auditor's
findings, people whose pack was not granted exactly once, errors the bots logged, deadlocks);
double grants (orders granted more than once).

Then the burst: the same bots, freshly started, answering only everyone's /start at once, the
first reply without the rest of the journey queued beside it. Before the last line, the floor:
the same people's /start through the same fake and load balancer to as many `bench.echo_bot`
processes, which answer each update with one message and do nothing else. No bot can answer
faster on this machine: the harness and the cores set it.

Each line says where the cores went while people were served: CPU seconds of the bots, of the
PostgreSQL server, of this harness (the fakes and the balancer), and the machine's idle time,
out of cores × seconds. A burst the cores cannot absorb in 250 ms cannot be answered in 250 ms.

Last line: `scale processes=<n> users=<n> first_reply_p99_ms=<n> throughput_1=<n>
throughput_2=<n> violations=<k> double_grants=<k>`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
from aiohttp import web

from bench.common import scratch_postgres

ROOT = Path(__file__).resolve().parents[1]
PACK = "starter"
SECRET = "scale-secret"
UPDATES_PER_PERSON = 5  # /start, /daily, voice, button, /buy


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))] if ordered else float("nan")


# --- the load balancer: sticky by chat ---------------------------------------------------------


def chat_of(update: dict[str, Any]) -> int:
    for kind in ("message", "edited_message", "callback_query", "pre_checkout_query"):
        found = update.get(kind)
        if found:
            message = found.get("message", found)
            chat = message.get("chat") or found.get("from") or {}
            return int(chat.get("id", 0))
    return 0


@contextlib.asynccontextmanager
async def load_balancer(backends: list[int]) -> AsyncIterator[str]:
    """POST /webhooks/telegram → the process `chat id mod N` (what a hash-by-chat rule does)."""
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        port = backends[chat_of(json.loads(body)) % len(backends)]
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("content-type", "x-telegram"))}
        async with http.post(f"http://127.0.0.1:{port}/webhooks/telegram", data=body, headers=headers) as answer:
            return web.Response(status=answer.status, body=await answer.read())

    app = web.Application()
    app.router.add_post("/webhooks/telegram", forward)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/telegram"
    finally:
        await runner.cleanup()
        await http.close()


# --- watching the fake Bot API's log, chat by chat ----------------------------------------------


@dataclass
class ChatWatch:
    """Reads the fake's request log incrementally (a full rescan per wait is quadratic) and
    wakes whoever waits on a chat when that chat gets a new accepted call."""

    fake: Any
    seen: int = 0
    calls: dict[int, list[Any]] = field(default_factory=dict)
    waiters: dict[int, list[tuple[Callable[[list[Any]], Any], asyncio.Future[Any]]]] = field(default_factory=dict)

    async def run(self) -> None:
        while True:
            log = self.fake.requests_log
            for request in log[self.seen :]:
                chat = request.params.get("chat_id")
                if request.ok and chat is not None:
                    chat_id = int(chat)
                    self.calls.setdefault(chat_id, []).append(request)
                    self._check(chat_id)
            self.seen = len(log)
            await asyncio.sleep(0.005)

    def _check(self, chat: int) -> None:
        kept = []
        for condition, future in self.waiters.get(chat, []):
            found = condition(self.calls.get(chat, []))
            if found is not None and not future.done():
                future.set_result(found)
            elif not future.done():
                kept.append((condition, future))
        self.waiters[chat] = kept

    async def until(self, chat: int, condition: Callable[[list[Any]], Any], timeout: float) -> Any:  # noqa: ASYNC109
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters.setdefault(chat, []).append((condition, future))
        self._check(chat)
        return await asyncio.wait_for(future, timeout)


def nth(method: str, count: int) -> Callable[[list[Any]], Any]:
    def condition(calls: list[Any]) -> Any:
        matching = [c for c in calls if c.method == method]
        return matching[count - 1] if len(matching) >= count else None

    return condition


def keyboard_after(index: int) -> Callable[[list[Any]], Any]:
    """The first message with buttons among the chat's calls after the first `index`."""

    def condition(calls: list[Any]) -> Any:
        for call in calls[index:]:
            markup = call.params.get("reply_markup")
            if call.method == "sendMessage" and markup:
                rows = markup if isinstance(markup, dict) else json.loads(markup)
                if any("callback_data" in b for row in rows.get("inline_keyboard", []) for b in row):
                    return call
        return None

    return condition


def mentions(text: str, after: int) -> Callable[[list[Any]], Any]:
    def condition(calls: list[Any]) -> Any:
        return next((c for c in calls[after:] if text in json.dumps(c.params)), None)

    return condition


# --- one round ---------------------------------------------------------------------------------


@dataclass
class Round:
    processes: int
    users: int
    throughput: float = 0.0
    first_reply_ms: list[float] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    double_grants: int = 0
    bot_cpu_seconds: float = 0.0  # user + system of the bot processes and their children
    cores: CoreUse | None = None  # while people were served


async def start_bots(count: int, env_base: dict[str, str], folder: Path) -> list[tuple[Any, int]]:
    """`count` `python -m bot` processes, each with its own web port, data folder and worker id:
    (process, web port)."""
    bots = []
    for i in range(count):
        port = free_port()
        env = dict(env_base, WEB_PORT=str(port), DATA_DIR=str(folder / f"data{i}"), WORKER_ID=f"scale-{i}")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=folder,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        bots.append((process, port))
    return bots


async def stop_bots(bots: list[tuple[Any, int]]) -> list[tuple[bytes, bytes]]:
    """SIGTERM each, and their (stdout, stderr) once they have exited."""
    for process, _ in bots:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
    return list(await asyncio.gather(*(asyncio.wait_for(p.communicate(), 60) for p, _ in bots)))


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process and its children have used so far."""
    process = psutil.Process(pid)
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def postgres_cpu_seconds() -> float:
    """CPU time the PostgreSQL server's processes on this machine have used so far (those this
    user may read; backends that already exited are not counted)."""
    total = 0.0
    for process in psutil.process_iter(["name"]):
        if (process.info["name"] or "").startswith("postgres"):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
    return total


@dataclass
class CoreUse:
    """Where the machine's cores went over one stretch: CPU seconds per part, and idle."""

    seconds: float
    bots: float
    postgres: float
    harness: float
    idle: float

    def __str__(self) -> str:
        return (
            f"cores: bots {self.bots:.1f} s, PostgreSQL {self.postgres:.1f} s, harness {self.harness:.1f} s, "
            f"idle {self.idle:.1f} s of {psutil.cpu_count()} × {self.seconds:.1f} s"
        )


class CoreMeter:
    """Snapshots at start and at `stop()`: the bots' (with children), PostgreSQL's, this
    process's and the machine's idle CPU time."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start = self._now()

    def _now(self) -> tuple[float, float, float, float, float]:
        harness = psutil.Process().cpu_times()
        return (
            time.monotonic(),
            sum(cpu_seconds(pid) for pid in self.pids),
            postgres_cpu_seconds(),
            harness.user + harness.system,
            psutil.cpu_times().idle,
        )

    def stop(self) -> CoreUse:
        end = self._now()
        wall, bots, postgres, harness, idle = (b - a for a, b in zip(self.start, end, strict=True))
        return CoreUse(wall, bots, postgres, harness, idle)


async def healthy(port: int, timeout: float) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bot on port {port} did not come up")
            await asyncio.sleep(0.1)


async def run_round(processes: int, users: int, timeout: float, *, journey: bool = True) -> Round:  # noqa: ASYNC109
    """`journey`: each person's whole journey and then the Stripe events, with the books checked
    afterwards; otherwise only everyone's /start at once (the burst)."""
    from tests.audio_samples import tone_clip
    from tests.fakes.replicate_fake import FakeReplicate
    from tests.fakes.stripe_fake import FakeStripe, signed_event
    from tests.fakes.telegram_fake import FakeBotAPI

    result = Round(processes, users)
    replicate = FakeReplicate(latency_seconds=1.0)
    await replicate.start()
    try:
        backends: list[int] = []  # the bots' ports, once they are started
        async with (
            FakeBotAPI() as fake,
            FakeStripe() as stripe,
            scratch_postgres() as db_url,
            load_balancer(backends) as hook_url,
        ):
            scratch = tempfile.TemporaryDirectory(prefix="scale-")
            folder = Path(scratch.name)
            env = {k: v for k, v in os.environ.items() if not k.endswith("_TOKEN")}
            try:
                env.update(
                    PYTHONPATH=str(ROOT),
                    LOG_LEVEL="WARNING",
                    DATABASE_URL=db_url,
                    TELEGRAM_BOT_TOKEN=fake.token,
                    TELEGRAM_API_BASE_URL=fake.base_url,
                    TELEGRAM_WEBHOOK_URL=hook_url,
                    TELEGRAM_WEBHOOK_SECRET=SECRET,
                    TELEGRAM_PAYMENTS="stripe",
                    STRIPE_SECRET_KEY=stripe.api_key,
                    STRIPE_WEBHOOK_SECRET=stripe.webhook_secret,
                    STRIPE_API_BASE=stripe.base_url,
                    PUBLIC_BASE_URL="https://bot.example",
                    REPLICATE_API_TOKEN=replicate.api_token,
                    REPLICATE_API_BASE=replicate.base_url,
                    POLL_INTERVAL_SECONDS="0.2",
                    MAX_CONCURRENT_JOBS="1000",
                    MAX_JOBS_PER_PERSON="2",
                    NEW_ACCOUNT_COOLDOWN_MINUTES="0",
                )
                bots = await start_bots(processes, env, folder)
                backends[:] = [port for _, port in bots]
                try:
                    await asyncio.gather(*(healthy(port, 60) for _, port in bots))
                    await fake.wait_for("setWebhook", count=processes, timeout=60)
                    meter = CoreMeter([process.pid for process, _ in bots])
                    if journey:
                        await drive(fake, stripe, bots, users, result, timeout, tone_clip, signed_event)
                    else:
                        result.first_reply_ms = await burst(fake, users, timeout)
                    result.cores = meter.stop()
                    result.bot_cpu_seconds = sum(cpu_seconds(process.pid) for process, _ in bots)
                    if journey:
                        await check_books(db_url, users, result)
                finally:
                    outputs = await stop_bots(bots)
                for (_, err), (process, _) in zip(outputs, bots, strict=True):
                    log = err.decode(errors="replace")
                    if process.returncode != 0:
                        result.violations.append(f"a bot exited with {process.returncode}")
                    result.violations += [f"bot log: {line[:200]}" for line in log.splitlines() if _bad(line)]
            finally:
                scratch.cleanup()
    finally:
        await replicate.stop()
    return result


async def burst(fake: Any, users: int, timeout: float) -> list[float]:  # noqa: ASYNC109
    """Everyone's /start at once; the first replies (ms)."""
    watch = ChatWatch(fake)
    watcher = asyncio.create_task(watch.run())
    replies: list[float] = []

    async def person(user: dict[str, Any]) -> None:
        sent = time.monotonic()
        await fake.push_update(fake.build.command(user, "start"))
        first = await watch.until(user["id"], nth("sendMessage", 1), timeout)
        replies.append((first.at - sent) * 1000)

    try:
        await asyncio.gather(*(person(fake.new_user()) for _ in range(users)))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    return replies


async def floor_round(processes: int, users: int, timeout: float) -> Round:  # noqa: ASYNC109
    """Everyone's /start at once through `processes` echo bots."""
    from tests.fakes.telegram_fake import FakeBotAPI

    result = Round(processes, users)
    backends: list[int] = []
    async with FakeBotAPI() as fake, load_balancer(backends) as hook_url:
        ports = [free_port() for _ in range(processes)]
        echoes = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.echo_bot", f"{fake.base_url}/bot{fake.token}", str(port), cwd=ROOT
            )
            for port in ports
        ]
        backends[:] = ports
        try:
            await asyncio.gather(*(healthy(port, 30) for port in ports))
            async with aiohttp.ClientSession() as http:
                hook = {"url": hook_url, "secret_token": SECRET}
                async with http.post(f"{fake.base_url}/bot{fake.token}/setWebhook", data=hook) as answer:
                    answer.raise_for_status()
            meter = CoreMeter([echo.pid for echo in echoes])
            result.first_reply_ms = await burst(fake, users, timeout)
            result.cores = meter.stop()
            return result
        finally:
            for echo in echoes:
                echo.kill()
                await echo.wait()


def _bad(line: str) -> bool:
    return line.startswith(("ERROR", "CRITICAL", "Traceback")) or "deadlock detected" in line


async def drive(
    fake: Any,
    stripe: Any,
    bots: list[tuple[Any, int]],
    users: int,
    result: Round,
    timeout: float,  # noqa: ASYNC109
    tone_clip: Any,
    signed_event: Any,
) -> None:
    watch = ChatWatch(fake)
    watcher = asyncio.create_task(watch.run())
    voice = tone_clip((440.0, 494.0, 523.0, 587.0), seconds=2.0)
    people = [fake.new_user() for _ in range(users)]
    try:

        async def person(user: dict[str, Any]) -> None:
            chat = user["id"]
            sent = time.monotonic()
            await fake.push_update(fake.build.command(user, "start"))
            first = await watch.until(chat, nth("sendMessage", 1), timeout)
            result.first_reply_ms.append((first.at - sent) * 1000)
            await fake.push_update(fake.build.command(user, "daily"))
            await watch.until(chat, nth("sendMessage", 2), timeout)
            before = len(watch.calls.get(chat, []))
            await fake.push_update(fake.build.voice(user, voice))
            keyboard = await watch.until(chat, keyboard_after(before), timeout)
            markup = keyboard.params["reply_markup"]
            rows = markup if isinstance(markup, dict) else json.loads(markup)
            data = rows["inline_keyboard"][0][0]["callback_data"]
            message_id = keyboard.response["result"]["message_id"]
            await fake.push_update(fake.build.callback_query(user, data, message_id=message_id))
            await watch.until(chat, nth("sendAudio", 1), timeout)
            before = len(watch.calls.get(chat, []))
            await fake.push_update(fake.build.command(user, "buy", PACK))
            await watch.until(chat, mentions("/c/pay/", before), timeout)

        started = time.monotonic()
        await asyncio.gather(*(person(user) for user in people))
        result.throughput = users * UPDATES_PER_PERSON / (time.monotonic() - started)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    # Every checkout completes; each event goes to every process at once.
    events = [stripe.complete_session(session_id) for session_id in list(stripe.sessions)]
    async with aiohttp.ClientSession() as http:

        async def deliver(event: dict[str, Any], port: int) -> None:
            body, header = signed_event(event, stripe.webhook_secret)
            headers = {"Stripe-Signature": header, "Content-Type": "application/json"}
            async with http.post(f"http://127.0.0.1:{port}/webhooks/stripe", data=body, headers=headers) as answer:
                if answer.status != 200:
                    result.violations.append(f"stripe webhook answered {answer.status}")

        await asyncio.gather(*(deliver(event, port) for event in events for _, port in bots))
    if len(events) != users:
        result.violations.append(f"{users} people asked to buy, {len(events)} checkouts opened")


async def check_books(db_url: str, users: int, result: Round) -> None:
    from adapters.storage.audit import audit
    from adapters.storage.database import Database

    async with Database(db_url) as db:
        result.violations += await db.read(audit)
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        grants = await conn.fetch(
            "SELECT order_ref, count(*) AS n FROM transfers WHERE reason = 'purchase' GROUP BY order_ref"
        )
    finally:
        await conn.close()
    result.double_grants = sum(1 for row in grants if row["n"] > 1)
    if len(grants) != users:
        result.violations.append(f"{users} packs bought, {len(grants)} granted")


def reply_figures(found: Round) -> str:
    """The round's first replies and where the cores went, for its line."""
    p50, p99 = statistics.median(found.first_reply_ms), percentile(found.first_reply_ms, 0.99)
    return f"first reply p50 {p50:.0f} ms, p99 {p99:.0f} ms; {found.cores}"


async def main(users: int, rounds: list[int], timeout: float) -> None:  # noqa: ASYNC109
    results = []
    for processes in rounds:
        found = await run_round(processes, users, timeout)
        results.append(found)
        print(
            f"{processes} process(es), {users} people: {found.throughput:,.0f} updates/s, "
            f"bot CPU {found.bot_cpu_seconds * 1000 / (users * UPDATES_PER_PERSON):.1f} ms per update, "
            f"violations {len(found.violations)}, double grants {found.double_grants}, {reply_figures(found)}",
            flush=True,
        )
        for problem in found.violations[:20]:
            print(f"  violation: {problem}")
    last = results[-1]
    only_start = await run_round(last.processes, users, timeout, journey=False)
    print(f"burst: {last.processes} bot(s), {users} people's /start only: {reply_figures(only_start)}", flush=True)
    for problem in only_start.violations[:20]:
        print(f"  violation: {problem}")
    floor = await floor_round(last.processes, users, timeout)
    print(f"floor: {last.processes} echo bot(s), {users} people's /start: {reply_figures(floor)}", flush=True)
    by_count = {r.processes: r for r in results}
    one = by_count.get(1)
    two = by_count.get(2)
    print(
        f"scale processes={last.processes} users={users} "
        f"first_reply_p99_ms={percentile(last.first_reply_ms, 0.99):.0f} "
        f"throughput_1={one.throughput if one else float('nan'):.0f} "
        f"throughput_2={two.throughput if two else float('nan'):.0f} "
        f"violations={sum(len(r.violations) for r in results) + len(only_start.violations)} "
        f"double_grants={sum(r.double_grants for r in results)}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="one round per count")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.processes, args.timeout))
