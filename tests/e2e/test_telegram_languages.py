"""Telegram in each person's language: the command menus set once per language code, a person
whose Telegram speaks Spanish answered in Spanish, and /language's buttons switching it."""

from __future__ import annotations

import json

from tests.e2e.telegram_stack import telegram_stack


async def test_command_menus_per_language_and_a_spanish_speaker_who_switches_to_russian(sqlite_url):
    async with telegram_stack(sqlite_url) as stack:
        menus = {
            (json.loads(key.split("|")[0])["type"], key.split("|")[1]): {c["command"]: c["description"] for c in cmds}
            for key, cmds in stack.fake.commands.items()
        }
        assert menus[("all_private_chats", "")]["balance"] == "Your credits and plan"
        assert menus[("all_private_chats", "es")]["balance"] == "Tus créditos y tu plan"
        assert menus[("all_private_chats", "ru")]["language"] == "Выбрать язык, на котором я с вами говорю"
        assert menus[("all_group_chats", "ru")]["gift"] == "Админам: подарить участнику кредиты из общего кошелька"
        assert list(menus[("all_private_chats", "ru")]) == list(menus[("all_private_chats", "")])

        ana = stack.user("Ana", language_code="es")
        balance = await stack.command(ana, "balance")
        assert balance["text"].startswith("¡Hola! Tienes 10 créditos gratis.")
        assert "Créditos: 10 (10 gratis, 0 pagados)" in balance["text"]

        listed = await stack.command(ana, "language")
        keyboard = listed["reply_markup"]["inline_keyboard"]
        assert [row[0]["text"] for row in keyboard] == ["English", "✓ Español", "Русский"]
        shown = stack.bot_message(ana["id"], listed)
        await stack.answer(await stack.press(ana, shown, keyboard[2][0]["callback_data"]))
        chosen = await stack.fake.wait_for("editMessageText", timeout=10)
        assert chosen["text"] == "Язык выбран: Русский."
        again = await stack.command(ana, "balance")
        assert "Кредиты: 10 (бесплатные: 10, платные: 0)" in again["text"]
        assert stack.unexpected_errors() == []
