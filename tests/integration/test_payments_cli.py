"""`python -m bot reconcile-payments`, run as a real process against the fake Stripe."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.integration.payments_stack import payments_stack

ROOT = Path(__file__).resolve().parents[2]


async def test_reconcile_payments_fulfils_a_missed_webhook_from_the_command_line(sqlite_url: str, tmp_path: Path):
    async with payments_stack(sqlite_url) as stack:
        identity, link, session_id = await stack.buy("ann")
        stack.fake.complete_session(session_id)  # paid; the webhook never arrives
        env = {
            **os.environ,
            "DATABASE_URL": sqlite_url,
            "STRIPE_SECRET_KEY": stack.fake.api_key,
            "STRIPE_WEBHOOK_SECRET": stack.fake.webhook_secret,
            "STRIPE_API_BASE": stack.fake.base_url,
            "PUBLIC_BASE_URL": "https://bot.example",  # required with STRIPE_SECRET_KEY
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),  # this checkout's code, whatever else is installed
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "reconcile-payments",
            "--hours",
            "1",
            cwd=tmp_path,  # no .env there
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()  # the fake keeps serving on this loop meanwhile

        assert process.returncode == 0, err.decode()
        assert f"fulfilled now: 1 {link.order_id}" in out.decode()
        assert (await stack.ledger.balance(await stack.wallet(identity))).paid == 400
        assert await stack.purchase_grants(link.order_id) == 1
        assert await stack.ledger.audit() == []
