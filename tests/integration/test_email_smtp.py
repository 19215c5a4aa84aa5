"""The aiosmtplib sender against a real SMTP server (aiosmtpd) on 127.0.0.1, port 0, running on
the test's own loop (both ends are async, so they share it)."""

from __future__ import annotations

import asyncio
import email
import re
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from adapters.chat.catalogue import Catalogue
from adapters.chat.words import Words
from adapters.email.smtp import SmtpConfig, SmtpEmailSender
from core.errors import EmailNotSent
from tests.integration.rewards_kit import make_kit

COMPOSE = Words(Catalogue()).email_message


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it receives (or refuses recipients when told)."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse_recipients: bool = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@dataclass
class Server:
    mailbox: Mailbox
    port: int
    logins: list[tuple[bytes, bytes]]


async def serve(mailbox: Mailbox, **smtp_options: object) -> tuple[asyncio.Server, int]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(mailbox, loop=loop, **smtp_options), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.fixture
async def plain_smtp() -> AsyncIterator[Server]:
    mailbox = Mailbox()
    server, port = await serve(mailbox, hostname="localhost")
    yield Server(mailbox, port, [])
    server.close()
    await server.wait_closed()


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A throwaway self-signed certificate for STARTTLS (the openssl tool makes it)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
async def secure_smtp(tls_context: ssl.SSLContext) -> AsyncIterator[Server]:
    """STARTTLS required, and AUTH only after it, with one known user."""
    mailbox = Mailbox()
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        assert isinstance(auth_data, LoginPassword)
        logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"bot" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself

    server, port = await serve(
        mailbox,
        hostname="localhost",
        tls_context=tls_context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    yield Server(mailbox, port, logins)
    server.close()
    await server.wait_closed()


def sender(port: int, **changes: object) -> SmtpEmailSender:
    options: dict[str, object] = dict(
        host="127.0.0.1", port=port, sender="Music Bot <bot@example.org>", starttls=False, timeout=5
    )
    options.update(changes)
    return SmtpEmailSender(SmtpConfig(**options), COMPOSE)  # type: ignore[arg-type]


def code_in(message: Message) -> str:
    body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    found = re.search(r"\b(\d{6})\b", body)
    assert found is not None, body
    return found.group(1)


async def test_the_code_arrives_as_a_plain_mail_with_subject_and_sender(plain_smtp):
    await sender(plain_smtp.port).send_code("ann@example.org", "123456", 15)
    [message] = plain_smtp.mailbox.messages
    assert (message["From"], message["To"], message["Subject"]) == (
        "Music Bot <bot@example.org>",
        "ann@example.org",
        "Your verification code",
    )
    assert code_in(message) == "123456" and "15 minutes" in message.get_payload(decode=True).decode()
    assert plain_smtp.mailbox.envelopes == [("bot@example.org", ["ann@example.org"])]


async def test_starttls_and_login_are_used_when_configured(secure_smtp):
    secure = sender(secure_smtp.port, starttls=True, username="bot", password="s3cret", validate_certs=False)
    await secure.send_code("bob@example.org", "654321", 15)
    assert secure_smtp.logins == [(b"bot", b"s3cret")]
    assert code_in(secure_smtp.mailbox.messages[0]) == "654321"


async def test_a_wrong_password_is_an_email_not_sent(secure_smtp):
    wrong = sender(secure_smtp.port, starttls=True, username="bot", password="nope", validate_certs=False)
    with pytest.raises(EmailNotSent):
        await wrong.send_code("bob@example.org", "654321", 15)
    assert secure_smtp.mailbox.messages == []


async def test_without_starttls_a_server_that_requires_it_refuses(secure_smtp):
    with pytest.raises(EmailNotSent):
        await sender(secure_smtp.port, starttls=False).send_code("bob@example.org", "111111", 15)


async def test_a_refused_recipient_and_a_closed_port_are_email_not_sent(plain_smtp):
    plain_smtp.mailbox.refuse_recipients = True
    with pytest.raises(EmailNotSent):
        await sender(plain_smtp.port).send_code("nobody@example.org", "111111", 15)
    closed, port = await serve(Mailbox())
    closed.close()
    await closed.wait_closed()
    with pytest.raises(EmailNotSent):
        await sender(port).send_code("ann@example.org", "111111", 15)


async def test_verification_end_to_end_through_a_real_smtp_server(plain_smtp, sqlite_url):
    from adapters.storage.database import Database

    async with Database(sqlite_url) as database:
        kit = make_kit(database, sender=sender(plain_smtp.port))  # type: ignore[arg-type]
        ann, _ = await kit.person("telegram:77")
        await kit.email.verify(ann, "ann@example.org")
        code = code_in(plain_smtp.mailbox.messages[-1])
        verified = await kit.email.verify(ann, code)
        assert (verified.granted, verified.balance.available) == (5, 15)
        # A server that refuses: the person is told, and may ask again at once.
        bob, _ = await kit.person("telegram:78")
        plain_smtp.mailbox.refuse_recipients = True
        with pytest.raises(EmailNotSent):
            await kit.email.verify(bob, "bob@example.org")
        plain_smtp.mailbox.refuse_recipients = False
        await kit.email.verify(bob, "bob@example.org")
        assert (await kit.email.verify(bob, code_in(plain_smtp.mailbox.messages[-1]))).granted == 5
        assert await kit.audit() == []
