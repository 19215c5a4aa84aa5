"""The other commands on Telegram: /help, /history, /daily, /refer (and the deep link), /verify,
/support (forwarded to the operators' chat, answered back), group gifts, /admin, the menu."""

from __future__ import annotations

import re

from tests.e2e.telegram_stack import OPERATOR_ID, telegram_stack
from tests.integration.test_email_smtp import Mailbox, serve

OPERATORS_CHAT = -1009999


async def test_help_history_daily_and_the_command_menu(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        ada = stack.user("Ada")
        help_text = (await stack.command(ada, "help"))["text"]
        assert "10 s → 2 credits" in help_text and "/buy" in help_text and "/paysupport" in help_text

        daily = await stack.command(ada, "daily")
        assert "+1 daily credit! You have 11 credits." in daily["text"]
        again = await stack.command(ada, "daily")
        assert "You already claimed today's credit" in again["text"]

        history = await stack.command(ada, "history")
        assert "+1 daily credit" in history["text"] and "+10 welcome credits" in history["text"]
        balance = await stack.command(ada, "balance")
        assert "Credits: 11" in balance["text"] and "Next free daily credit:" in balance["text"]

        unknown = await stack.command(ada, "dance")
        assert unknown["text"] == "I don't know the command /dance. Try /help."
        verify = await stack.command(ada, "verify", "ada@example.com")
        assert verify["text"] == "Email verification isn't set up on this bot."

        menus = {key: [c["command"] for c in commands] for key, commands in fake.commands.items()}
        private = next(v for v in menus.values() if "paysupport" in v)
        assert {
            "start",
            "balance",
            "daily",
            "buy",
            "history",
            "refer",
            "support",
            "paysupport",
            "verify",
            "help",
        } <= set(private)
        assert any(v == ["gift", "groupwallet", "balance", "say", "describe", "help"] for v in menus.values())
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_refer_link_and_a_new_user_arriving_through_it(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada, bob = stack.user("Ada"), stack.user("Bob")
        refer = await stack.command(ada, "refer")
        assert "https://t.me/musicgen_test_bot?start=ref_" in refer["text"]
        code = refer["text"].split("start=ref_", 1)[1].split()[0]
        welcome = await stack.command(bob, "start", f"ref_{code}")
        assert "Welcome! You have 10 free credits." in welcome["text"]
        assert "Referral saved!" in welcome["text"]
        own = await stack.command(ada, "start", f"ref_{code}")
        assert "it's your own code" in own["text"]
        assert stack.unexpected_errors() == []


async def test_support_ticket_reaches_the_operators_and_their_reply_comes_back(sqlite_url):
    async with telegram_stack(sqlite_url, support_telegram_chat_id=OPERATORS_CHAT) as stack:
        fake = stack.fake
        operators = fake.new_group("Operators", chat_id=OPERATORS_CHAT)
        olga = fake.new_user(OPERATOR_ID, "Olga")
        ada = stack.user("Ada")

        usage = await stack.command(ada, "support")
        assert usage["text"] == "Usage: /support <your message>"
        opened = await stack.command(ada, "support", "my clip never arrived")
        assert opened["text"].startswith("Ticket #1 sent to support.")
        forwarded = await fake.wait_for("sendMessage", chat_id=OPERATORS_CHAT)
        assert "Ticket #1 from telegram:" in forwarded["text"] and "my clip never arrived" in forwarded["text"]
        assert "10 credits" in forwarded["text"]

        ticket = stack.bot_message(OPERATORS_CHAT, forwarded)
        await stack.send(fake.build.text(olga, "Sorry! Here are some credits grant 3", chat=operators, reply_to=ticket))
        answer = await fake.wait_for("sendMessage", lambda p: "Support answered" in p["text"], chat_id=ada["id"])
        assert "Sorry! Here are some credits" in answer["text"] and "+3 credits" in answer["text"]
        done = await fake.wait_for(
            "sendMessage",
            lambda p: "Reply to ticket #1 delivered" in p["text"],
            chat_id=OPERATORS_CHAT,
        )
        assert "Granted 3 credits" in done["text"]
        assert await stack.available(ada) == 13

        # A member of the operators' chat who is not an operator cannot answer for us.
        eve = fake.new_user(777, "Eve")
        await stack.send(fake.build.text(eve, "free credits for all grant 100", chat=operators, reply_to=ticket))
        await fake.wait_for(
            "sendMessage",
            lambda p: p["text"] == "You are not allowed to do that.",
            chat_id=OPERATORS_CHAT,
        )
        assert await stack.available(ada) == 13
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_group_admins_gift_from_the_group_wallet_checked_with_telegram(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        group = fake.new_group("Band room")
        admin, member, other = stack.user("Ann"), stack.user("Max"), stack.user("Oz")
        fake.set_member_status(group["id"], admin["id"], "administrator")
        said = await stack.command(member, "start")  # the member exists and wrote in the group
        assert "Welcome" in said["text"]
        hello = fake.build.text(member, "hi all", chat=group)
        await stack.send(hello)

        filled = await stack.command(admin, "groupwallet", "add 6", chat=group)
        assert "Moved 6 credits into the group wallet: it has 6. You have 4." in filled["text"]
        gift = await stack.command(admin, "gift", "4 great solo", chat=group, reply_to=hello["message"])
        assert (
            f"gifted 4 credits to @{member['username']}: “great solo”" in gift["text"] and "has 2 left" in gift["text"]
        )
        assert await stack.available(member) == 14

        refused = await stack.command(other, "gift", "1", chat=group, reply_to=hello["message"])
        assert refused["text"] == "Only the group's admins can do that."
        too_much = await stack.command(admin, "gift", "5", chat=group, reply_to=hello["message"])
        assert too_much["text"] == "The group wallet has only 2 credits, not enough to gift 5."
        no_target = await stack.command(admin, "gift", "1", chat=group)
        assert no_target["text"].startswith("Usage: reply to a member's message")
        assert [int(p["user_id"]) for p in fake.calls("getChatMember")].count(other["id"]) == 1
        assert await stack.available(member) == 14 and await stack.available(other) == 10
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_operator_admin_commands(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        ada = stack.user("Ada")
        olga = stack.fake.new_user(OPERATOR_ID, "Olga")
        await stack.command(ada, "start")
        granted = await stack.command(olga, "admin", f"grant telegram:{ada['id']} 5 sorry")
        assert granted["text"] == f"Granted 5 credits to telegram:{ada['id']}. Their balance: 15."
        user = await stack.command(olga, "admin", f"user telegram:{ada['id']}")
        assert "15 credits" in user["text"]
        stats = await stack.command(olga, "admin", "stats")
        assert stats["text"].startswith("Stats at") and "today" in stats["text"]
        tickets = await stack.command(olga, "admin", "tickets")
        assert tickets["text"] == "No open tickets."
        refused = await stack.command(ada, "admin", f"grant telegram:{ada['id']} 5 me")
        assert refused["text"] == "You are not allowed to do that."
        usage = await stack.command(olga, "admin")
        assert usage["text"].startswith("Usage: /admin grant|take")
        assert await stack.available(ada) == 15
        assert await stack.audit() == []
        assert stack.unexpected_errors() == []


async def test_balance_asked_in_a_group_is_answered_privately(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        fake = stack.fake
        group = fake.new_group("Band room")
        ada, bob = stack.user("Ada"), stack.user("Bob")
        pointer = await stack.command(ada, "balance", chat=group, mention_bot=True)
        assert pointer["text"] == "I sent it to you in a private message."
        private = await fake.wait_for("sendMessage", chat_id=ada["id"])
        assert private["text"].startswith("Welcome! You have 10 free credits. Send me a voice message to make music.")
        assert "\nCredits: 10 (10 free, 0 paid)\n" in private["text"]  # a first contact: the welcome first
        fake.block(bob["id"])  # Bob never opened a private chat with the bot
        refused = await stack.command(bob, "balance", chat=group)
        assert refused["text"].startswith("Open a private chat with me first (https://t.me/musicgen_test_bot)")
        assert stack.unexpected_errors() == []


async def test_verify_email_sends_a_code_and_pays_once(sqlite_url):
    mailbox = Mailbox()
    server, port = await serve(mailbox)
    try:
        smtp = {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_starttls": False,
            "smtp_from": "bot@example.com",
        }
        async with telegram_stack(sqlite_url, **smtp) as stack:
            ada = stack.user("Ada")
            usage = await stack.command(ada, "verify")
            assert usage["text"] == "Usage: /verify <address> · then /verify <6-digit code>"
            sent = await stack.command(ada, "verify", "ada@example.com")
            assert sent["text"].startswith("I sent a 6-digit code to ada@example.com.")
            [mail] = mailbox.messages
            code = re.search(r"\b(\d{6})\b", mail.get_payload()).group(1)  # type: ignore[union-attr]
            wrong = await stack.command(ada, "verify", "000000" if code != "000000" else "111111")
            assert wrong["text"].startswith("That code is wrong.")
            done = await stack.command(ada, "verify", code)
            assert done["text"] == "Email ada@example.com verified: +5 credits! You have 15."
            again = await stack.command(ada, "verify", code)
            assert "already verified" in again["text"]
            assert await stack.available(ada) == 15
            assert await stack.audit() == []
            assert stack.unexpected_errors() == []
    finally:
        server.close()
        await server.wait_closed()
