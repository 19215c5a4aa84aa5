"""The catalogue in every language: the translations are complete and well-formed (as
`python -m bot locales check` says), extracted from the current English, every message renders
in every language with sample values, a missing translation falls back to English and is logged
once, and names, descriptions and buttons fit where the platforms show them."""

from __future__ import annotations

import datetime as dt
import logging
import string

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from adapters.chat.catalogue import ENGLISH, Catalogue, Plural
from adapters.chat.locales import languages, tool
from adapters.discord.translator import VALID_NAME
from tests.unit.conversation_kit import DISCORD

CATALOGUE = Catalogue()
LANGUAGES = languages()
AT = dt.datetime(2026, 3, 10, 9, 15, tzinfo=dt.UTC)


def test_english_spanish_and_russian_are_spoken():
    assert LANGUAGES == ("en", "es", "ru")


def test_every_language_translates_every_message_with_the_same_placeholders_and_its_plural_forms():
    assert tool.check() == []


def test_the_template_and_the_translations_were_updated_from_the_current_english():
    """`python -m bot locales update` was run after the last change to `ENGLISH`."""
    wanted = {(message.context, message.id) for message in tool.template() if message.id}
    with tool.TEMPLATE.open("rb") as handle:
        on_disk = {(message.context, message.id) for message in read_po(handle) if message.id}
    assert on_disk == wanted
    for language in LANGUAGES[1:]:
        translated = {(message.context, message.id) for message in tool.read(language) if message.id}
        assert wanted <= translated, language


def test_babel_s_extractor_reads_every_message_and_each_plural_as_one():
    found = list(extract_from_file("adapters.chat.locales.extract.extract_english", str(tool.SOURCE)))
    assert len(found) == len([english for english in ENGLISH.values() if english])  # "" is no message
    contexts = {context: message for _, message, _, context in found}
    assert contexts["cost_item"] == ("{seconds} s → {credits} credit", "{seconds} s → {credits} credits")
    assert contexts["help"] == ENGLISH["help"]


def _sample(template: str, count: int) -> dict[str, object]:
    """A value of the right kind for each placeholder of a template."""
    values: dict[str, object] = {}
    for _, field, spec, _ in string.Formatter().parse(template):
        if not field or field.startswith("/"):
            continue
        if spec and spec.startswith("%"):
            values[field] = AT
        elif spec and spec.endswith("f"):
            values[field] = 2.5
        else:
            values[field] = count
    return values


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_in_every_language_with_sample_values(language):
    for key, english in ENGLISH.items():
        templates = (english.one, english.other) if isinstance(english, Plural) else (english,)
        for count in (1, 3, 5, 21):
            data = {}
            for template in templates:
                data.update(_sample(template, count))
            text = CATALOGUE.text(key, language, spell=DISCORD.command, **data)
            assert (text or not english) and text != key and "{" not in text, (language, key, text)


def test_russian_and_spanish_choose_the_plural_form_by_the_number():
    said = {n: CATALOGUE.text("you_have", "ru", available=n) for n in (1, 3, 5, 11, 21, 1000)}
    assert said == {
        1: "У вас 1 кредит.",
        3: "У вас 3 кредита.",
        5: "У вас 5 кредитов.",
        11: "У вас 11 кредитов.",
        21: "У вас 21 кредит.",
        1000: "У вас 1000 кредитов.",
    }
    spanish = [CATALOGUE.text("you_have", "es", available=n) for n in (1, 2)]
    assert spanish == ["Tienes 1 crédito.", "Tienes 2 créditos."]
    english = [CATALOGUE.text("you_have", "en", available=n) for n in (1, 2)]
    assert english == ["You have 1 credit.", "You have 2 credits."]


def test_prices_numbers_and_moments_are_written_as_each_language_writes_them():
    assert CATALOGUE.price(500, "usd", "en") == "$5"
    assert CATALOGUE.price(500, "usd", "es") == "5\xa0US$"
    assert CATALOGUE.price(499, "usd", "es") == "4,99\xa0US$"
    assert CATALOGUE.price(500, "usd", "ru") == "5\xa0$"
    assert CATALOGUE.price(250, "XTR", "ru") == "250 ⭐"
    packs = [CATALOGUE.text("offer_pack", lang, title="Pro", credits=1000, price="$") for lang in LANGUAGES]
    assert packs == ["Pro: 1,000 credits for $", "Pro: 1.000 créditos por $", "Pro: 1\xa0000 кредитов за $"]
    due = [CATALOGUE.text("next_daily", lang, when=AT) for lang in LANGUAGES]
    assert due == [
        "Next free daily credit: 2026-03-10 09:15 UTC",
        "Próximo crédito diario gratis: 10 mar 2026 09:15 UTC",
        "Следующий бесплатный кредит: 10 мар. 2026\u202fг. 09:15 UTC",
    ]


def test_a_message_a_language_lacks_is_said_in_english_and_logged_once(monkeypatch, caplog):
    monkeypatch.setitem(ENGLISH, "test.untranslated", "Only English, {n}.")
    with caplog.at_level(logging.WARNING, logger="adapters.chat.locales"):
        first = CATALOGUE.text("test.untranslated", "ru", n=1)
        second = CATALOGUE.text("test.untranslated", "ru", n=2)
    assert (first, second) == ("Only English, 1.", "Only English, 2.")
    logged = [r.getMessage() for r in caplog.records if "test.untranslated" in r.getMessage()]
    assert logged == ["no ru translation for test.untranslated: English is used"]


def test_an_unknown_or_odd_locale_is_english():
    assert [CATALOGUE.language(x) for x in (None, "", "C.UTF-8", "pt-BR", "es-419", "ru_RU.UTF-8", "ES")] == [
        "en",
        "en",
        "en",
        "en",
        "es",
        "ru",
        "es",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_command_names_and_descriptions_fit_discord_and_telegram(language):
    for key in ENGLISH:
        if key.startswith("name."):
            name = CATALOGUE.text(key, language)
            assert VALID_NAME.match(name) and name == name.lower(), (language, key, name)
        elif key.startswith("command.") or key == "context_menu.make_music":
            assert len(CATALOGUE.text(key, language)) <= 100, (language, key)


def test_every_command_and_option_has_a_name_in_every_language(bot):
    words = set()
    for command in bot.conversation.commands:
        words.add(command.name)
        words.update(p.name for p in command.params)
        for sub in command.subcommands:
            words.update(p.name for p in sub.params)
    assert sorted(w for w in words if f"name.{w}" not in ENGLISH) == []
    assert all(ENGLISH[f"name.{w}"] == w for w in words)
    for language in LANGUAGES:  # Discord refuses two options of one command with one name
        tops = [CATALOGUE.text(f"name.{c.name}", language) for c in bot.conversation.commands]
        assert len(set(tops)) == len(tops), language
        for command in (c for top in bot.conversation.commands for c in (top, *top.subcommands)):
            names = [CATALOGUE.text(f"name.{p.name}", language) for p in command.params]
            assert len(set(names)) == len(names), (language, command.name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_buttons_stay_short_enough_for_a_phone(language):
    """A Telegram inline button shows about 40 characters on a phone before it cuts the label."""
    samples = {"title": "Creator", "credits": 2500, "price": "75 US$", "emoji": "🎹", "seconds": 30}
    for key, english in ENGLISH.items():
        if not key.startswith(("button.", "style.")):
            continue
        templates = (english.one, english.other) if isinstance(english, Plural) else (english,)
        # A style or a voice as long as the longest offered ("Sintetizador").
        extra = {
            f: "Sintetizador"
            for t in templates
            for _, f, _, _ in string.Formatter().parse(t)
            if f and f not in samples and not f.startswith("/")
        }
        label = CATALOGUE.text(key, language, **{**samples, **extra})
        assert len(label) <= 40, (language, key, label)
