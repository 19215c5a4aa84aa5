"""On Telegram (the real PTB against the loopback fake): the upsell under a second Stars invoice
for the same small pack, its button opening the bigger pack's invoice without a second upsell;
an operator's experiment changing the Stars packs a person is offered and invoiced."""

from __future__ import annotations

from tests.e2e.telegram_stack import OPERATOR_ID, button, markup_of, telegram_stack


async def test_upsell_follows_a_second_stars_invoice_for_the_same_pack_on_telegram(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        await stack.send(fake.build.command(ada, "buy", "starter"))
        await stack.pay_stars(ada, await fake.wait_for("sendInvoice", chat_id=ada["id"]))

        await stack.send(fake.build.command(ada, "buy", "starter"))
        upsell = await fake.wait_for("sendMessage", lambda p: "less per credit" in p["text"], chat_id=ada["id"])
        assert upsell["text"] == "Popular: 25 % less per credit (400 credits for 750 ⭐)."
        assert [p["amount"] for p in fake.calls("sendInvoice")[-1]["prices"]] == [250]
        assert [b["text"] for b in markup_of(upsell)] == ["⭐ Popular: 400 credits for 750 ⭐"]

        message = stack.bot_message(ada["id"], upsell)
        await stack.press(ada, message, button(message, "Popular")["callback_data"])
        bigger = await fake.wait_for("sendInvoice", lambda p: p["prices"][0]["amount"] == 750, chat_id=ada["id"])
        assert bigger["title"] == "Popular pack"
        upsells = [p for p in fake.calls("sendMessage") if "less per credit" in p.get("text", "")]
        assert len(upsells) == 1  # once per purchase flow
        assert stack.unexpected_errors() == []


async def test_experiment_started_by_an_operator_sets_the_stars_packs_on_telegram(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        operator = stack.fake.new_user(OPERATOR_ID, "Olga")
        started = await stack.command(operator, "admin", "experiment start dec only=starter:150:500:300")
        assert started["text"].startswith("Experiment dec started with 1 arm: only (1).")

        packs = await stack.command(ada, "buy")
        assert [b["text"] for b in markup_of(packs)] == ["⭐ Starter: 150 credits for 300 ⭐"]
        await stack.send(fake.build.command(ada, "buy", "starter"))
        invoice = await fake.wait_for("sendInvoice", chat_id=ada["id"])
        assert [p["amount"] for p in invoice["prices"]] == [300]

        await stack.command(operator, "admin", "experiment stop")
        _, thanks = await stack.pay_stars(ada, invoice)
        assert "+150 credits." in thanks["text"]  # the arm's, after the stop
        report = await stack.command(operator, "admin", "experiment report")
        assert "— only, control (weight 1): 1 people · 1 offer views · 1 packs chosen · 1 payers" in report["text"]
        assert stack.unexpected_errors() == []
