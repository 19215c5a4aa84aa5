"""`python -m bot reconcile-payments`, run as a real process against the fake Stripe."""

from __future__ import annotations

from pathlib import Path

from tests.integration.bot_process import run_bot
from tests.integration.payments_stack import payments_stack


async def test_reconcile_payments_fulfils_a_missed_webhook_from_the_command_line(sqlite_url: str, tmp_path: Path):
    async with payments_stack(sqlite_url) as stack:
        identity, link, session_id = await stack.buy("ann")
        stack.fake.complete_session(session_id)  # paid; the webhook never arrives
        env = {
            "DATABASE_URL": sqlite_url,
            "STRIPE_SECRET_KEY": stack.fake.api_key,
            "STRIPE_WEBHOOK_SECRET": stack.fake.webhook_secret,
            "STRIPE_API_BASE": stack.fake.base_url,
            "PUBLIC_BASE_URL": "https://bot.example",  # required with STRIPE_SECRET_KEY
        }
        code, out, err = await run_bot("reconcile-payments", "--hours", "1", env=env, cwd=tmp_path)

        assert code == 0, err
        assert f"fulfilled now: 1 {link.order_id}" in out
        assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
        assert await stack.purchase_grants(link.order_id) == 1
        assert await stack.ledger.audit() == []
