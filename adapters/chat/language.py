"""The language people are spoken to in, written once: every request is answered in the
language the person chose with /language (kept on the person, so their linked platforms agree),
else in their platform's (Telegram's `language_code`, Discord's locale, the console's `LANG`;
remembered on the person for the notices sent later), else in English. /language lists the
languages as buttons; `/language es` (or `español`) picks one."""

from __future__ import annotations

from dataclasses import replace

from babel import Locale

from adapters.chat.actions import Action, Verb, owned
from adapters.chat.commands import Command, Menu, Param
from adapters.chat.messages import Button, Reply, Request
from adapters.chat.words import Words
from core.services.languages import LanguageService


def native_name(language: str) -> str:
    """ "English", "Español", "Русский": a language as its speakers write it."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


class LanguageChat:
    def __init__(self, words: Words, languages: LanguageService) -> None:
        self.words = words
        self.languages = languages
        known = languages.known
        # What `/language <word>` accepts: the code, the language's own name, its English name.
        self._by_word = {code: code for code in known}
        for code in known:
            self._by_word[native_name(code).lower()] = code
            self._by_word[(Locale.parse(code).get_display_name("en") or code).lower()] = code

    def commands(self) -> list[Command]:
        choices = [(native_name(code), code) for code in self.languages.known]
        return [
            Command(
                "language", self.language, (Param("code", required=False, choices=lambda: choices),), menu=Menu.PRIVATE
            )
        ]

    async def localized(self, request: Request) -> Request:
        """The request in the person's chosen language, else their platform's (remembered on
        the person when it changed, for what they are told later); the jobs it starts keep that
        language for their notices."""
        preference = await self.languages.preference(request.identity)
        locale = preference.chosen or request.locale
        if not preference.chosen and request.locale:
            await self.languages.seen(request.identity, self.words.language(request), preference)
        if locale is None:
            return request
        return replace(request, locale=locale, reply_to={**request.reply_to, "locale": locale})

    async def language(self, request: Request) -> Reply:
        """The languages as buttons (the current one marked), or the one named chosen."""
        word = request.arg("code")
        if word:
            return await self._choose(request, self._by_word.get(word.strip().lower(), word))
        current = self.words.language(request)
        rows = tuple(
            (
                Button(
                    ("✓ " if code == current else "") + native_name(code),
                    owned(Verb.LANGUAGE, request.identity.user_id, code),
                ),
            )
            for code in self.languages.known
        )
        return Reply(self.words.t(request, "language_list", current=native_name(current)), rows, private=True)

    async def press_language(self, request: Request, action: Action) -> Reply:
        return replace(await self._choose(request, action.arg(0)), edit=True)

    async def _choose(self, request: Request, code: str) -> Reply:
        chosen = await self.languages.choose(request.identity, code)
        answer = replace(request, locale=chosen)
        return Reply(self.words.t(answer, "language_set", language=native_name(chosen)), private=True)
