"""A person's languages, in memory: `LanguageStore`."""

from __future__ import annotations

from core.domain.languages import LanguagePreference
from tests.fakes.memory.world import World


class FakeLanguageStore:
    def __init__(self, world: World) -> None:
        self.world = world

    async def languages_of(self, identity: str) -> LanguagePreference:
        person_id = self.world.identities.get(identity)
        if person_id is None:
            return LanguagePreference()
        return LanguagePreference(self.world.languages.get(person_id), self.world.seen_languages.get(person_id))

    async def set_language(self, identity: str, language: str) -> None:
        with self.world.transaction():
            self.world.languages[self.world.require_person(identity).person_id] = language

    async def saw_language(self, identity: str, language: str) -> None:
        with self.world.transaction():
            person = self.world.find_person(identity)
            if person is not None:
                self.world.seen_languages[person.person_id] = language
