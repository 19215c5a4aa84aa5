"""The bot as `bot.bootstrap.build_app` builds it, against the loopback `FakeStripe` (real
`stripe` client, real signatures) and its real web server on 127.0.0.1:0."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.storage.database import Database
from adapters.stripe import StripeCheckout
from adapters.web import WebHooks, WebServer
from bot.bootstrap import App, AuditedLedger, build_app
from bot.config import Settings, load_settings
from core.domain.identity import Identity
from core.domain.orders import CheckoutLink, Order
from core.services.payments import PaymentService
from core.services.wallets import WalletService
from tests.fakes.stripe_fake import FakeStripe, signed_event

OPERATOR = Identity("console", "op")


@dataclass
class Stack:
    app: App
    fake: FakeStripe
    database: Database
    ledger: AuditedLedger
    wallets: WalletService
    payments: PaymentService
    stripe: StripeCheckout
    hooks: WebHooks
    server: WebServer
    http: aiohttp.ClientSession

    @property
    def webhook_url(self) -> str:
        return f"{self.server.base_url}/webhooks/stripe"

    async def post(
        self,
        event: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        body, signature = signed_event(event, secret or self.fake.webhook_secret, timestamp)
        return await self.post_raw(body, signature)

    async def post_raw(self, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["Stripe-Signature"] = signature
        async with self.http.post(self.webhook_url, data=body, headers=headers) as response:
            return response.status, await response.json()

    async def buy(
        self, name: str = "ann", pack: str = "popular", request: str = "r1"
    ) -> tuple[Identity, CheckoutLink, str]:
        """A purchase started as a chat adapter starts it; returns the Checkout session id too."""
        identity = Identity("console", name)
        link = await self.payments.buy(identity, pack, request_id=request)
        order = await self.order(link.order_id)
        assert order.stripe_session_id is not None
        return identity, link, order.stripe_session_id

    async def order(self, order_id: str) -> Order:
        order = await self.payments.store.get_order(order_id)
        assert order is not None
        return order

    async def wallet(self, identity: Identity) -> int:
        return (await self.wallets.person(identity)).wallet_id

    async def count(self, sql: str, **params: Any) -> int:
        return int(await self.database.read(lambda c: c.execute(text(sql), params).scalar() or 0))

    async def purchase_grants(self, order_id: str) -> int:
        return await self.count(
            "SELECT COUNT(*) FROM transfers WHERE reason = 'purchase' AND order_ref = :o",
            o=order_id,
        )

    async def recorded_events(self) -> int:
        return await self.count("SELECT COUNT(*) FROM payment_events")


def stack_settings(fake: FakeStripe, db_url: str, data_dir: str, **extra: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=db_url,
        data_dir=data_dir,
        intake_processes=0,
        replicate_api_token=None,
        telegram_bot_token=None,
        discord_bot_token=None,
        stripe_secret_key=fake.api_key,
        stripe_webhook_secret=fake.webhook_secret,
        stripe_api_base=fake.base_url,
        public_base_url="https://bot.example",
        operator_ids="console:op",
        low_balance_threshold=2,
        web_host="127.0.0.1",
        web_port=0,
    )
    values.update(extra)
    return load_settings(_env_file=None, **values)


@contextlib.asynccontextmanager
async def payments_stack(db_url: str, **settings: Any) -> AsyncIterator[Stack]:
    # The real clock: the fake Stripe checks `expires_at` against the real time.
    with tempfile.TemporaryDirectory() as data_dir:
        async with FakeStripe() as fake:
            app = await build_app(stack_settings(fake, db_url, data_dir, **settings))
            try:
                assert app.database is not None and app.stripe is not None and app.web is not None
                async with app.web as server, aiohttp.ClientSession() as http:
                    yield Stack(
                        app,
                        fake,
                        app.database,
                        app.ledger,
                        app.wallets,
                        app.payments,
                        app.stripe,
                        app.web_hooks,
                        server,
                        http,
                    )
            finally:
                await app.close()
