"""`TelegramRunner`: the Telegram adapter as a runtime component in the shared event loop.

Long polling by default; with TELEGRAM_WEBHOOK_URL set, Telegram POSTs updates to our own web
server (`/webhooks/telegram`, secret token checked there) and they are fed to the same
`Application`. Never `run_polling()`: Discord, the web server and the job workers share the loop.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from adapters.telegram.app import ALLOWED_UPDATES, PTBApplication, build_application, set_commands
from adapters.telegram.deps import Deps, TelegramConfig, TelegramServices
from adapters.telegram.notifier import TelegramNotifier
from adapters.telegram.support import TelegramSupportDesk
from core.errors import InvalidWebhook

logger = logging.getLogger(__name__)

PLATFORM = "telegram"


class TelegramRunner:
    def __init__(self, config: TelegramConfig, services: TelegramServices, *, web_hooks: Any = None) -> None:
        self.config = config
        self.services = services
        self.web_hooks = web_hooks  # `adapters.web.WebHooks`: needed in webhook mode
        self.notifier = TelegramNotifier()
        self.application: PTBApplication = build_application(config, services, self.notifier)
        self.deps: Deps = self.application.bot_data["deps"]
        self.support_desk = TelegramSupportDesk(self.application.bot, self.deps.rewards_text, config.support_chat_id)
        # Registered now, before the job workers start: jobs resumed at start-up need us.
        if services.generation is not None:
            services.generation.register_notifier(PLATFORM, self.notifier)
        if services.rewards is not None:
            inbox = self.support_desk if config.support_chat_id is not None else None
            services.rewards.support.add_platform(PLATFORM, inbox, self.support_desk)

    @classmethod
    def from_app(cls, app: Any) -> TelegramRunner:
        """From the composition root's `App` (settings and services read by attribute)."""
        return cls(
            TelegramConfig.from_settings(app.settings),
            TelegramServices.from_app(app),
            web_hooks=app.web_hooks,
        )

    @property
    def webhook_mode(self) -> bool:
        return bool(self.config.webhook_url)

    async def start(self) -> None:
        if self.webhook_mode and (self.web_hooks is None or not self.config.webhook_secret):
            raise RuntimeError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET and the web server")
        app = self.application
        await app.initialize()
        await set_commands(app, self.deps)
        await app.start()
        if self.webhook_mode:
            self.web_hooks.on_telegram_update = self.on_webhook
            await app.bot.set_webhook(
                self.config.webhook_url,
                secret_token=self.config.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("telegram: receiving updates by webhook")
        else:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, error_callback=self._polling_error)
            logger.info("telegram: long polling")
        self.notifier.start()

    async def stop(self) -> None:
        await self.notifier.stop()
        app = self.application
        if self.web_hooks is not None and self.web_hooks.on_telegram_update == self.on_webhook:
            self.web_hooks.on_telegram_update = None  # the webhook stays set: updates wait at Telegram
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()

    async def on_webhook(self, raw: bytes, headers: Mapping[str, str]) -> None:
        """One update POSTed by Telegram (the web server checked the secret token)."""
        try:
            update = Update.de_json(json.loads(raw), self.application.bot)
        except (ValueError, TypeError, KeyError) as error:
            raise InvalidWebhook("bad_update") from error
        await self.application.update_queue.put(update)

    @staticmethod
    def _polling_error(error: TelegramError) -> None:
        logger.warning("telegram polling: %s", error)
