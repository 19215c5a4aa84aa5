"""Whose language: the platform's (Telegram's `language_code`, Discord's locale), unless the
person chose one with /language, which is kept on the person (their linked platforms agree)
and used for what they are told later; anything unknown is English."""

from __future__ import annotations

from adapters.chat.catalogue import Catalogue
from adapters.chat.messages import Reply, Surface
from adapters.chat.words import Words
from core.domain.identity import Identity
from core.domain.notices import ReferralNotice
from tests.fakes.chat import RecordingPlatform, chat_notices
from tests.fakes.edges import FakeSender
from tests.unit.conversation_kit import HUM, button, labels


async def test_each_request_is_answered_in_its_platform_s_language_and_an_unknown_one_in_english(bot):
    spanish = await bot.say("telegram:1", "/balance", locale="es")
    assert spanish.text.startswith("¡Hola! Tienes 10 créditos gratis.") and "Créditos: 10 (10 gratis" in spanish.text
    russian = await bot.say("discord:2", "/balance", locale="ru")
    assert "Кредиты: 10 (бесплатные: 10, платные: 0)" in russian.text
    latin_american = await bot.say("discord:3", "/help", locale="es-419")
    assert latin_american.text.startswith("¡Hola! Tienes 10 créditos gratis. Envíame un mensaje de voz")
    assert "\nTararea, canta o toca una melodía" in latin_american.text
    portuguese = await bot.say("telegram:4", "/balance", locale="pt-BR")
    assert "Credits: 10 (10 free, 0 paid)" in portuguese.text


async def test_language_lists_the_languages_and_the_choice_holds_on_every_linked_platform(bot):
    listed = await bot.say("telegram:1", "/language", locale="es")
    assert listed.text.endswith("Idioma: Español. Elige uno:") and listed.private
    assert labels(listed) == ["English", "✓ Español", "Русский"]
    chosen = await bot.press("telegram:1", button(listed, "Русский"), locale="es")
    assert chosen.text == "Язык выбран: Русский." and chosen.edit
    assert "Кредиты: 10" in (await bot.say("telegram:1", "/balance", locale="es")).text

    code = await bot.app.rewards.linking.start(Identity.parse("telegram:1"))
    await bot.app.rewards.linking.redeem(Identity.parse("discord:1"), code.code)
    assert "Кредиты: 10" in (await bot.say("discord:1", "/balance", locale="en-US")).text
    english = await bot.say("discord:1", "/language english", locale="en-US")
    assert english.text == "Language set: English."
    assert "Credits: 10" in (await bot.say("telegram:1", "/balance", locale="ru")).text


async def test_an_unknown_language_is_refused_and_changes_nothing(bot):
    refused = await bot.say("telegram:1", "/language klingon")
    assert refused.text.endswith("I don't speak 'klingon'. Languages: en, es, ru.")
    assert bot.memory.world.languages == {}
    assert (await bot.press("telegram:1", "lg:1:tlh")).text.startswith("I don't speak 'tlh'")
    assert bot.memory.world.languages == {}


async def test_a_job_s_notices_speak_the_language_of_the_person_who_started_it(bot):
    await bot.say("telegram:1", "/language es")
    picker = await bot.send_recording("telegram:1")
    assert "Elige un estilo" in picker.text
    await bot.press("telegram:1", button(picker, "🎹 10s"), audio=HUM)
    status = bot.telegram.statuses[-1].reply.text
    assert status == "🎵 warm solo piano · 10 s · 2 créditos reservados · te quedan 8 para usar\nEn cola: n.º 1"
    await bot.run_jobs()
    final = bot.telegram.statuses[-1].reply.text
    assert final.startswith("✅ ¡Listo! −2 créditos · te quedan 8"), final


async def test_the_platform_s_language_is_remembered_once_for_the_notices_sent_later(bot):
    await bot.say("telegram:1", "/balance", locale="ru")
    await bot.say("telegram:1", "/balance", locale="ru")
    person = bot.memory.world.identities["telegram:1"]
    assert bot.memory.world.seen_languages == {person: "ru"}
    assert await bot.app.conversation.language.languages.language_of("telegram:1") == "ru"
    await bot.say("telegram:1", "/language es")
    await bot.say("telegram:1", "/balance", locale="en")  # a choice made: the platform's no longer counts
    assert bot.memory.world.seen_languages == {person: "ru"}
    assert await bot.app.conversation.language.languages.language_of("telegram:1") == "es"
    await bot.say("discord:9", "/balance", locale="en-US")  # English, the default: nothing to remember
    assert len(bot.memory.world.seen_languages) == 1


async def test_a_notice_with_no_request_at_hand_is_in_the_person_s_language():
    platform = RecordingPlatform(Surface("telegram"))
    chosen = {"telegram:7": "ru"}

    async def language_of(identity: str) -> str | None:
        return chosen.get(identity)

    notices = chat_notices(platform)
    notices.language_of = language_of
    await notices.referral_paid("telegram:7", _paid(credits=5))
    await notices.referral_paid("telegram:8", _paid(credits=1))
    assert [reply.text for _, reply in platform.sent] == [
        "Ваш друг сделал первый клип: +5 кредитов за приглашение!",
        "Your friend made their first clip: +1 referral credit!",
    ]
    assert isinstance(platform.sent[0][1], Reply)
    assert Words(Catalogue()).language("ru_RU.UTF-8") == "ru"


def _paid(credits: int) -> ReferralNotice:
    return ReferralNotice(key="referral:9:referrer", person_id=1, credits=credits, identities=())


def test_discord_spells_a_command_by_its_name_in_the_reader_s_language():
    words = Words(Catalogue())
    discord = Surface("discord", localized_names=True)
    said = [words.on(discord, locale, "next_daily_now") for locale in ("es-ES", "ru", "en-US")]
    assert said == ["ya (usa /diario)", "уже сейчас (команда /кредит-дня)", "now (use /daily)"]
    assert words.on(Surface("telegram"), "es", "next_daily_now") == "ya (usa /daily)"  # names can't be translated there


async def test_the_verification_mail_is_worded_in_the_person_s_language(make):
    sender = FakeSender()
    bot = make(email_sender=sender)
    sent = await bot.say("telegram:1", "/verify ana@example.org", locale="es")
    assert sent.text.endswith(
        "He enviado un código de 6 dígitos a ana@example.org. Envía /verify <código>; caduca 10 mar 2026 09:15 UTC."
    )
    await bot.say("discord:2", "/verify-email bo@example.org", locale="ru")
    assert sender.languages == ["es", "ru"]
    subject, body = Words(Catalogue()).email_message("123456", 15, "es")
    assert (subject, body.splitlines()[0]) == (
        "Tu código de verificación",
        "Tu código es 123456. Es válido durante 15 minutos.",
    )
