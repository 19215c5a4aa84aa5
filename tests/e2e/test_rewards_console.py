"""The rewards commands through the console chat, on the real composition root (`build_app`,
SQLite) with a settable clock and a real SMTP server on loopback; and `python -m bot stats`."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.smtp import SMTP

from adapters.console import ConsoleChat
from bot import cli
from bot.bootstrap import App, build_app
from bot.config import load_settings
from core.clock import ManualClock
from core.domain.identity import Identity
from tests.e2e.console_kit import console_chat
from tests.integration.rewards_kit import START


@dataclass
class Mailbox:
    bodies: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.bodies.append(email.message_from_bytes(envelope.content).get_payload(decode=True).decode())
        return "250 OK"

    def last_code(self) -> str:  # a method: aiosmtpd looks at the handler's attributes
        found = re.search(r"\b(\d{6})\b", self.bodies[-1])
        assert found is not None
        return found.group(1)


@dataclass
class Bot:
    app: App
    clock: ManualClock
    mailbox: Mailbox

    def chat(self, identity: str) -> ConsoleChat:
        return console_chat(self.app, identity)


@pytest.fixture
async def bot(sqlite_url, tmp_path) -> AsyncIterator[Bot]:
    mailbox = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, loop=loop, hostname="localhost"), "127.0.0.1", 0)
    settings = load_settings(
        _env_file=None,
        database_url=sqlite_url,
        data_dir=str(tmp_path),
        operator_ids="console:op",
        new_account_cooldown_minutes=0,
        smtp_host="127.0.0.1",
        smtp_port=server.sockets[0].getsockname()[1],
        smtp_starttls=False,
        smtp_from="bot@example.org",
    )
    clock = ManualClock(START)
    app = await build_app(settings, clock=clock)
    yield Bot(app, clock, mailbox)
    await app.close()
    server.close()
    await server.wait_closed()


async def test_daily_credit_in_the_console(bot):
    ann = bot.chat("console:ann")
    assert "+1 daily credit! You have 11 credits. Next one: 2026-03-11 00:00 UTC." in await ann.handle("/daily")
    assert "The next one is due 2026-03-11 00:00 UTC" in await ann.handle("/daily")


async def test_referral_in_the_console(bot):
    ann, bob = bot.chat("discord:1"), bot.chat("telegram:2")
    reply = await ann.handle("/refer")
    code = re.search(r"referral code: (\w+)", reply).group(1)
    assert "Referral saved!" in await bob.handle(f"/refer {code}")
    assert "already saved" in await bob.handle(f"/refer {code}")
    assert "it's your own code" in await ann.handle(f"/refer {code}")
    assert "there is no such code" in await bob.handle("/refer NOPE1234")
    bob_person = await bot.app.wallets.person(Identity.parse("telegram:2"))
    await bot.app.rewards.referrals.on_success(bob_person.person_id)
    assert "Credits: 20" in await bob.handle("/balance")
    assert "Invited: 1 · rewarded: 1" in await ann.handle("/refer")


async def test_email_verification_in_the_console_through_smtp(bot):
    ann = bot.chat("console:ann")
    assert "I sent a 6-digit code to ann@example.org" in await ann.handle("/verify-email ann@example.org")
    code = bot.mailbox.last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    assert "That code is wrong. 4 tries left." in await ann.handle(f"/verify-email {wrong}")
    assert "Email ann@example.org verified: +5 credits! You have 15." in await ann.handle(f"/verify-email {code}")
    assert "already verified" in await ann.handle("/verify-email ann@example.org")
    assert "doesn't look like an email address" in await bot.chat("console:bob").handle("/verify-email nope")
    assert "Usage: /verify-email" in await ann.handle("/verify-email")


async def test_linking_in_the_console(bot):
    discord, telegram = bot.chat("discord:7"), bot.chat("telegram:7")
    reply = await discord.handle("/link")
    code = re.search(r"link code: (\w+)", reply).group(1)
    assert "Linked! discord:7, telegram:7 now share one wallet: 10 credits." in await telegram.handle(f"/link {code}")
    assert "unknown, used or expired" in await telegram.handle(f"/link {code}")


async def test_share_in_the_console_refuses_a_clip_that_is_not_yours(bot):
    assert "You can only share your own clips." in await bot.chat("console:ann").handle("/share nosuchjob")
    assert "Usage: /share" in await bot.chat("console:ann").handle("/share")


async def test_support_and_operator_commands_in_the_console(bot, capsys):
    ann, op = bot.chat("console:ann"), bot.chat("console:op")
    assert "Ticket #1 sent to support." in await ann.handle("/support my clip is silent")
    printed = capsys.readouterr().out
    assert "[support inbox] Ticket #1 from console:ann" in printed and "my clip is silent" in printed
    assert "#1 console:ann (10 credits): my clip is silent" in await op.handle("/admin tickets")
    replied = await op.handle("/admin reply 1 Sorry about that grant 3")
    assert "Reply to ticket #1 delivered. Granted 3 credits; their balance: 13." == replied
    assert "[console:ann] Support answered your ticket #1:\nSorry about that\n+3 credits" in capsys.readouterr().out
    assert "No open tickets." in await op.handle("/admin tickets")
    user = await op.handle("/admin user console:ann")
    assert "console:ann: 13 credits" in user
    assert "Tickets:\n#1 console:ann (10 credits): my clip is silent" in user
    stats = await op.handle("/admin stats")
    assert "today: 1 new persons" in stats and "granted: operator 3, welcome 10" in stats
    assert "You are not allowed to do that." in await ann.handle("/admin stats")
    assert "Granted 2 credits to console:ann" in await op.handle(
        "/admin grant console:ann 2 thanks"
    )  # the wallet's /admin still works
    assert "Usage: /admin reply" in await op.handle("/admin reply 1")
    assert "There is no ticket 99." in await op.handle("/admin reply 99 hello")
    assert "Usage: /support" in await ann.handle("/support")


def test_python_m_bot_stats_prints_the_figures(sqlite_url, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert cli.main(["stats"]) == 0
    out = capsys.readouterr().out
    assert "Stats at" in out and "— today: 0 new persons" in out and "— last 30 days" in out


async def test_a_ticket_names_the_persons_last_job(bot, capsys, tmp_path):
    from tests.audio_samples import tone_clip

    ann = bot.chat("console:ann")
    hum = tmp_path / "hum.ogg"
    hum.write_bytes(tone_clip((440.0, 523.0), seconds=2.0))
    await ann.handle(f"/generate {hum} piano 5 --no-wait")
    jobs = await bot.app.generation.store.recent_of(
        (await bot.app.wallets.person(Identity("console", "ann"))).person_id, limit=1
    )
    capsys.readouterr()

    assert "Ticket #1 sent to support." in await ann.handle("/support nothing came back")
    printed = capsys.readouterr().out
    line = next(line for line in printed.splitlines() if line.startswith("Last job: "))
    assert re.fullmatch(
        rf"Last job: {jobs[0].job_id} [a-z]+ · 5 s 'piano' · 1 credits · \d{{4}}-\d\d-\d\d \d\d:\d\d UTC", line
    ), line
