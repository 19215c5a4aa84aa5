"""Console commands about buying credits: /buy."""

from __future__ import annotations

import uuid

from adapters.chat.render_payments import PaymentsRenderer
from adapters.console.chat import Handler
from core.domain.identity import Identity
from core.ports import Clock
from core.services.payments import PaymentService


def payment_commands(
    payments: PaymentService, identity: Identity, render: PaymentsRenderer, clock: Clock
) -> dict[str, Handler]:
    async def buy(args: list[str]) -> str:
        """`/buy` lists the packs; `/buy <pack>` prints a Stripe Checkout link."""
        if not args:
            text = render.pack_list(payments.packs())
            if not payments.stripe_enabled:
                text += "\n" + render.t("error.payments_not_configured")
            return text
        link = await payments.buy(identity, args[0], request_id=uuid.uuid4().hex)
        return render.checkout_link(link, clock.now())

    return {"/buy": buy}
