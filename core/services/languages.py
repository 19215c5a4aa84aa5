"""Which language to speak to a person: the one they chose with /language, else the one their
platform said last (remembered, so what they are told later with no request at hand, a referral
payout or a support answer, is in it too), else English. Both are kept on the person, so their
linked platforms agree."""

from __future__ import annotations

from core.domain.identity import Identity
from core.domain.languages import LanguagePreference
from core.errors import UnknownLanguage
from core.ports import LanguageStore


class LanguageService:
    def __init__(self, store: LanguageStore, known: tuple[str, ...]) -> None:
        self.store = store
        self.known = known  # the first is the default

    async def preference(self, identity: Identity) -> LanguagePreference:
        return await self.store.languages_of(identity.key)

    async def language_of(self, identity: str) -> str | None:
        """The language to tell the person something in, with no request at hand."""
        return (await self.store.languages_of(identity)).language

    async def choose(self, identity: Identity, language: str) -> str:
        """Remember `language` for the person; `UnknownLanguage` for one the bot does not speak."""
        code = language.strip().lower()
        if code not in self.known:
            raise UnknownLanguage(language, self.known)
        await self.store.set_language(identity.key, code)
        return code

    async def seen(self, identity: Identity, language: str, preference: LanguagePreference) -> None:
        """Their platform speaks `language` (one of `known`): remembered when it changed."""
        if language != (preference.seen or self.known[0]):
            await self.store.saw_language(identity.key, language)
