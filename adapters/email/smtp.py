"""`EmailSender` over SMTP (aiosmtplib). The words come from the chat catalogue through the
`compose` callable the composition root passes in, so this module holds no user-facing text."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from core.errors import EmailNotSent

logger = logging.getLogger(__name__)

# (code, minutes valid) -> (subject, body)
Compose = Callable[[str, int, str | None], tuple[str, str]]  # (code, minutes, language) -> subject, body


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    sender: str = "bot@localhost"
    starttls: bool = True  # upgrade with STARTTLS (required when True); port 465 uses implicit TLS
    timeout: float = 20.0
    validate_certs: bool = True


class SmtpEmailSender:
    def __init__(self, config: SmtpConfig, compose: Compose) -> None:
        self.config = config
        self.compose = compose

    async def send_code(self, to: str, code: str, valid_minutes: int, *, language: str | None = None) -> None:
        subject, body = self.compose(code, valid_minutes, language)
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        implicit_tls = self.config.port == 465
        try:
            await aiosmtplib.send(
                message,
                hostname=self.config.host,
                port=self.config.port,
                username=self.config.username or None,
                password=self.config.password or None,
                use_tls=implicit_tls,
                start_tls=False if implicit_tls else self.config.starttls,
                timeout=self.config.timeout,
                validate_certs=self.config.validate_certs,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            # Never log the code; the address is the person's own and useful to support.
            logger.warning("SMTP refused the verification mail to %s: %s", to, type(error).__name__)
            raise EmailNotSent(type(error).__name__) from error
