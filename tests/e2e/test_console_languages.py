"""The console speaks the terminal's language (LANG), end to end through `python -m bot`: /help,
/balance and a refusal for too few credits (with the offer, prices as Babel writes them), and
/language overrides it for the person from then on."""

from __future__ import annotations

from pathlib import Path

from tests.audio_samples import A4, C5, hum_clip
from tests.e2e.test_console import run_console

LINES = ["/help", "/balance", "/generate hum.ogg piano 10"]


def speak(tmp_path: Path, lang: str, *more: str) -> str:
    (tmp_path / "hum.ogg").write_bytes(hum_clip([(A4, 1.0), (C5, 1.0)]))
    result = run_console(tmp_path, [*LINES, *more], LANG=lang, WELCOME_CREDITS="1")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_console_started_in_spanish_answers_in_spanish_until_the_person_picks_russian(tmp_path):
    out = speak(tmp_path, "es_ES.UTF-8", "/language ru", "/balance")
    assert "¡Hola! Tienes 1 crédito gratis." in out
    assert "Tararea, canta o toca una melodía" in out
    assert "Precios: 5 s → 1 crédito, 10 s → 2 créditos, 15 s → 3 créditos, 30 s → 5 créditos." in out
    assert "Créditos: 1 (1 gratis, 0 pagados)\nPlan: gratis" in out
    assert "Cuesta 2 créditos y tienes 1." in out
    assert "Starter: 100 créditos por 5\xa0US$" in out
    assert "Язык выбран: Русский." in out  # said in the language just chosen
    after = out.split("Язык выбран: Русский.")[1]
    assert "Кредиты: 1 (бесплатные: 1, платные: 0)\nТариф: бесплатный" in after
    assert "Credits:" not in out and "That costs" not in out


def test_the_console_started_in_russian_answers_in_russian(tmp_path):
    out = speak(tmp_path, "ru_RU.UTF-8")
    assert "Добро пожаловать! У вас 1 бесплатный кредит." in out
    assert "Цены: 5 с → 1 кредит, 10 с → 2 кредита, 15 с → 3 кредита, 30 с → 5 кредитов." in out
    assert "Кредиты: 1 (бесплатные: 1, платные: 0)" in out
    assert "Это стоит 2 кредита, а у вас 1." in out
    assert "Starter: 100 кредитов за 5\xa0$" in out
    assert "Welcome" not in out and "Credits:" not in out
