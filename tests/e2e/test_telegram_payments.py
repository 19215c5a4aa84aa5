"""Out of credits → the offer → a Telegram Stars invoice → pre-checkout → successful payment →
credits → a clip; a repeated successful_payment grants once; /buy per TELEGRAM_PAYMENTS."""

from __future__ import annotations

from tests.audio_samples import tone_clip
from tests.e2e.telegram_stack import OPERATOR_ID, button, markup_of, telegram_stack
from tests.fakes.stripe_fake import FakeStripe

HUM = tone_clip((392.0, 440.0, 494.0), seconds=2.0)


async def test_out_of_credits_buy_stars_then_generate(sqlite_url):
    async with telegram_stack(sqlite_url, welcome_credits=1) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        keyboard = await stack.voice(ada, HUM)
        generate = button(keyboard, "🎹 10s")["callback_data"]

        query = await stack.press(ada, keyboard, generate)
        await stack.answer(query)
        refusal = await fake.wait_for(
            "sendMessage",
            lambda p: "That costs 2 credits and you have 1." in p["text"],
            chat_id=ada["id"],
        )
        assert "You have 1 credit left. Buy more to keep creating!" in refusal["text"]
        labels = [b["text"] for b in markup_of(refusal)]
        assert labels[0] == "⭐ Starter: 100 credits for 250 ⭐" and "Continue with free" in labels
        assert await stack.available(ada) == 1 and fake.calls("sendAudio") == []

        offer = stack.bot_message(ada["id"], refusal)
        await stack.press(ada, offer, button(offer, "Starter")["callback_data"])
        invoice = await fake.wait_for("sendInvoice", chat_id=ada["id"])
        assert invoice["currency"] == "XTR" and [p["amount"] for p in invoice["prices"]] == [250]
        assert invoice["title"] == "Starter pack"

        await stack.send(fake.build.pre_checkout_query(ada, total_amount=250, invoice_payload=invoice["payload"]))
        answer = await fake.wait_for("answerPreCheckoutQuery")
        assert answer["ok"] is True

        paid = fake.build.successful_payment(ada, total_amount=250, invoice_payload=invoice["payload"])
        await stack.send(paid)
        thanks = await fake.wait_for("sendMessage", lambda p: "Thank you!" in p["text"], chat_id=ada["id"])
        assert "+100 credits. You now have 101." in thanks["text"]

        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]
        again = fake.build.successful_payment(
            ada,
            total_amount=250,
            invoice_payload=invoice["payload"],
            telegram_payment_charge_id=charge,
        )
        await stack.send(again)
        already = await fake.wait_for("sendMessage", lambda p: "already counted" in p["text"], chat_id=ada["id"])
        assert "You have 101 credits." in already["text"]  # the wallet as it is, not "0"
        assert await stack.available(ada) == 101

        # A second pre-checkout for the paid invoice is refused with words.
        await stack.send(fake.build.pre_checkout_query(ada, total_amount=250, invoice_payload=invoice["payload"]))
        refused = await fake.wait_for("answerPreCheckoutQuery", count=2)
        assert refused["ok"] is False and "already paid" in refused["error_message"]

        await stack.press(ada, keyboard, generate)  # the same button, now affordable
        audio = await stack.wait_audio(ada["id"])
        assert audio["caption"] == "−2 credits · 99 left"
        await stack.wait_edit(ada["id"], keyboard["message_id"], "Done")  # charged by now
        balance = await stack.command(ada, "balance")
        assert "Credits: 99 (0 free, 99 paid)" in balance["text"] and "Plan: starter" in balance["text"]
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_buy_lists_stars_packs_and_an_operator_refunds_stars(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        operator = stack.fake.new_user(OPERATOR_ID, "Olga")
        packs = await stack.command(ada, "buy")
        assert "Credit packs:" in packs["text"] and "Popular: 400 credits for 750 ⭐" in packs["text"]
        assert [b["text"][0] for b in markup_of(packs)] == ["⭐"] * 4

        await stack.send(fake.build.command(ada, "buy", "starter"))  # one pack on sale: the invoice at once
        invoice = await fake.wait_for("sendInvoice", chat_id=ada["id"])
        paid, _ = await stack.pay_stars(ada, invoice)
        charge = paid["message"]["successful_payment"]["telegram_payment_charge_id"]

        refused = await stack.command(ada, "admin", f"refund-stars {charge}")
        assert refused["text"] == "You are not allowed to do that."
        done = await stack.command(operator, "admin", f"refund-stars {charge}")
        assert "Took back 100 credits" in done["text"]
        refund = await fake.wait_for("refundStarPayment")
        assert refund["telegram_payment_charge_id"] == charge and int(refund["user_id"]) == ada["id"]
        assert await stack.available(ada) == 10
        again = await stack.command(operator, "admin", f"refund-stars {charge}")  # Telegram: already refunded
        assert again["text"] == (
            f"That payment was already refunded; refund the Stars if that did not happen (charge {charge})."
        )

        unknown = await stack.command(ada, "buy", "platinum")
        assert "There is no pack called 'platinum'" in unknown["text"]
        support = await stack.command(ada, "paysupport")
        assert "/support" in support["text"]
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_with_stripe_configured_buy_offers_stars_and_card_checkout_links(sqlite_url):
    async with FakeStripe() as stripe:
        stripe_settings = {
            "stripe_secret_key": stripe.api_key,
            "stripe_webhook_secret": stripe.webhook_secret,
            "stripe_api_base": stripe.base_url,
            "public_base_url": "https://bot.example",
        }
        async with telegram_stack(sqlite_url, **stripe_settings) as stack:
            fake = stack.fake
            ada = stack.user("Ada")
            packs = await stack.command(ada, "buy")
            labels = [b["text"] for b in markup_of(packs)]
            assert "⭐ Starter: 100 credits for 250 ⭐" in labels
            assert "💳 Starter: 100 credits for $5" in labels and len(labels) == 8

            menu = stack.bot_message(ada["id"], packs)
            await stack.press(ada, menu, button(menu, "💳 Starter")["callback_data"])
            link = await fake.wait_for("sendMessage", lambda p: "Pay here" in p["text"], chat_id=ada["id"])
            [pay] = markup_of(link)
            assert pay["text"] == "💳 Pay $5" and pay["url"].startswith(f"{stripe.base_url}/c/pay/")
            assert pay["url"] in link["text"]
            assert [r.path for r in stripe.requests].count("/v1/checkout/sessions") == 1
            assert await stack.available(ada) == 10  # credits come only from Stripe's webhook
            assert stack.unexpected_errors() == []

        async with telegram_stack(sqlite_url, telegram_payments="stripe", **stripe_settings) as stack:
            ada = stack.user("Ada")
            packs = await stack.command(ada, "buy")
            assert [b["text"][0] for b in markup_of(packs)] == ["💳"] * 4
