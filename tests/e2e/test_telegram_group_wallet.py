"""`/groupwallet buy` on Telegram: a group admin buys a pack for the group's wallet with Stars
(an invoice in the group that only they can pay) or a Stripe Checkout link; the payment fills the
group wallet exactly once, however often Telegram or Stripe repeat it. Members are refused
before anything is created."""

from __future__ import annotations

from typing import Any

import aiohttp
from sqlalchemy import text

from adapters.web import WebServer
from core.domain.identity import Identity
from core.services.server_wallets import Server
from tests.e2e.telegram_stack import Stack, button, markup_of, telegram_stack
from tests.fakes.stripe_fake import FakeStripe

JSON = dict[str, Any]


async def group_wallet(stack: Stack, group: JSON) -> int:
    assert stack.app.server_wallets is not None
    view = await stack.app.server_wallets.balance(
        Server("telegram", str(group["id"])), Identity("telegram", "0"), actor_is_admin=True
    )
    return view.balance.available


async def count(stack: Stack, sql: str) -> int:
    return int(await stack.app.database.read(lambda c: c.execute(text(sql)).scalar() or 0))


async def test_a_group_admin_buys_a_pack_with_stars_and_the_group_wallet_is_credited_once(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        group = fake.new_group("Band room")
        ann, max_ = stack.user("Ann"), stack.user("Max")
        fake.set_member_status(group["id"], ann["id"], "administrator")

        menu = await stack.command(ann, "groupwallet", "buy", chat=group)
        assert menu["text"].startswith("The group wallet has 0 credits. Tap a pack to buy it for the group")
        labels = [b["text"] for b in markup_of(menu)]
        assert labels[0] == "⭐ Starter: 100 credits for 250 ⭐" and len(labels) == 4
        shown = stack.bot_message(group["id"], menu)
        other = await stack.answer(await stack.press(max_, shown, button(shown, "Starter")["callback_data"]))
        assert other["text"] == "This button belongs to someone else."
        await stack.press(ann, shown, button(shown, "Starter")["callback_data"])
        invoice = await fake.wait_for("sendInvoice", chat_id=group["id"])
        assert [p["amount"] for p in invoice["prices"]] == [250] and invoice["currency"] == "XTR"
        assert "this group's wallet" in invoice["description"]

        # Only the admin who asked can pay the invoice posted in the group.
        await stack.send(fake.build.pre_checkout_query(max_, total_amount=250, invoice_payload=invoice["payload"]))
        refused = await fake.wait_for("answerPreCheckoutQuery")
        assert refused["ok"] is False and "belongs to someone else" in refused["error_message"]
        await stack.send(fake.build.pre_checkout_query(ann, total_amount=250, invoice_payload=invoice["payload"]))
        assert (await fake.wait_for("answerPreCheckoutQuery", count=2))["ok"] is True

        paid = fake.build.successful_payment(ann, total_amount=250, invoice_payload=invoice["payload"], chat=group)
        await stack.send(paid)
        thanks = await fake.wait_for("sendMessage", lambda p: "Thank you!" in p["text"], chat_id=group["id"])
        assert thanks["text"] == "Thank you! +100 credits for the group wallet. It now has 100."

        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        again = fake.build.successful_payment(
            ann, total_amount=250, invoice_payload=invoice["payload"], telegram_payment_charge_id=charge, chat=group
        )
        await stack.send(again)
        await fake.wait_for(
            "sendMessage", lambda p: p["text"] == "That payment was already counted for the group wallet."
        )
        assert await group_wallet(stack, group) == 100
        assert await stack.available(ann) == 10  # the admin paid; the group got the credits
        assert await count(stack, "SELECT COUNT(*) FROM transfers WHERE reason = 'purchase'") == 1

        # The credits are the group's to gift.
        hello = fake.build.text(max_, "hi", chat=group)
        await stack.send(hello)
        gift = await stack.command(ann, "gift", "30", chat=group, reply_to=hello["message"])
        assert "gifted 30 credits to" in gift["text"] and "has 70 left" in gift["text"]
        assert await stack.available(max_) == 40
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_members_cannot_buy_for_the_group_and_nothing_is_created(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        group = fake.new_group("Band room")
        ann, max_ = stack.user("Ann"), stack.user("Max")
        fake.set_member_status(group["id"], ann["id"], "administrator")

        for args in ("buy", "buy starter"):
            refused = await stack.command(max_, "groupwallet", args, chat=group)
            assert refused["text"] == "Only the group's admins can do that."
            assert markup_of(refused) == []

        # An admin's keyboard, pressed after they were demoted: asked of Telegram again, refused.
        menu = stack.bot_message(group["id"], await stack.command(ann, "groupwallet", "buy", chat=group))
        fake.set_member_status(group["id"], ann["id"], "member")
        answer = await stack.answer(await stack.press(ann, menu, button(menu, "Starter")["callback_data"]))
        assert answer["text"] == "Only the group's admins can do that."

        unknown = await stack.command(max_, "groupwallet", "buy platinum", chat=group)
        assert unknown["text"] == "Only the group's admins can do that."
        assert fake.calls("sendInvoice") == []
        assert await count(stack, "SELECT COUNT(*) FROM orders") == 0
        # Max's refusals created no wallet; only Ann's (then admin) menu opened the group's.
        assert await count(stack, "SELECT COUNT(*) FROM accounts WHERE kind = 'server'") == 1
        private = await stack.command(ann, "groupwallet", "buy")
        assert private["text"] == "This command works in groups only."
        assert stack.unexpected_errors() == []


async def test_with_stripe_an_admin_gets_a_checkout_link_whose_webhook_fills_the_group_wallet_once(sqlite_url):
    async with FakeStripe() as stripe:
        settings = {
            "stripe_secret_key": stripe.api_key,
            "stripe_webhook_secret": stripe.webhook_secret,
            "stripe_api_base": stripe.base_url,
            "public_base_url": "https://bot.example",
        }
        async with telegram_stack(sqlite_url, **settings) as stack:
            fake = stack.fake
            group = fake.new_group("Band room")
            ann = stack.user("Ann")
            fake.set_member_status(group["id"], ann["id"], "creator")

            how = await stack.command(ann, "groupwallet", "buy starter", chat=group)
            assert how["text"] == "How would you like to pay?"
            assert [b["text"][0] for b in markup_of(how)] == ["⭐", "💳"]
            shown = stack.bot_message(group["id"], how)
            await stack.press(ann, shown, button(shown, "💳")["callback_data"])
            link = await fake.wait_for("sendMessage", lambda p: "Pay here" in p["text"], chat_id=group["id"])
            assert link["text"].startswith("For the group wallet (you pay, the group gets the credits):")
            [pay] = markup_of(link)
            assert pay["url"].startswith(f"{stripe.base_url}/c/pay/")
            [session_id] = stripe.sessions

            event = stripe.complete_session(session_id)
            body, signature = stripe.signed(event)
            headers = {"Stripe-Signature": signature, "Content-Type": "application/json"}
            async with WebServer(stack.app.web_hooks, "127.0.0.1", 0) as web, aiohttp.ClientSession() as http:
                for _ in range(2):  # Stripe delivers at least once
                    async with http.post(f"{web.base_url}/webhooks/stripe", data=body, headers=headers) as answer:
                        assert answer.status == 200
            assert await group_wallet(stack, group) == 100
            assert await stack.available(ann) == 10
            assert await count(stack, "SELECT COUNT(*) FROM transfers WHERE reason = 'purchase'") == 1
            assert await stack.audit() == []
            assert stack.unexpected_errors() == []
