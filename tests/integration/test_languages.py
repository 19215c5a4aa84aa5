"""A person's languages (chosen with /language; said last by their platform), kept on the
person: on SQLite, PostgreSQL and the in-memory fake alike (the fake keeps the SQL contract).
Every identity of the person reads them, also one linked later; nobody yet has none and cannot
be given one."""

from __future__ import annotations

import datetime as dt

import pytest

from adapters.storage.database import Database
from adapters.storage.languages import SqlLanguageStore
from adapters.storage.ledger import SqlLedgerStore
from adapters.storage.linking import SqlLinkStore
from core.domain.languages import LanguagePreference
from core.errors import UnknownIdentity
from tests.fakes.memory import MemoryStores

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def no_welcome(person: object) -> None:
    return None


@pytest.fixture(params=["sql", "memory"])
async def stores(request, sqlite_url):
    if request.param == "memory":
        memory = MemoryStores()
        yield memory.ledger, memory.languages, memory.links
        return
    async with Database(sqlite_url) as db:
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        yield ledger, SqlLanguageStore(db), SqlLinkStore(db)


async def test_a_chosen_language_is_the_person_s_on_every_linked_identity(stores):
    ledger, languages, links = stores
    await ledger.open_wallet("telegram:1", welcome=no_welcome, now=NOW)
    await ledger.open_wallet("discord:2", welcome=no_welcome, now=NOW)
    assert await languages.languages_of("telegram:1") == LanguagePreference()
    await languages.saw_language("telegram:1", "ru")
    await languages.set_language("telegram:1", "ru")
    await languages.set_language("telegram:1", "es")  # the last choice counts
    assert await languages.languages_of("telegram:1") == LanguagePreference(chosen="es", seen="ru")
    await languages.saw_language("discord:2", "es")
    assert await languages.languages_of("discord:2") == LanguagePreference(seen="es")

    await links.create_link_code("telegram:1", "LINK42", expires_at=NOW + dt.timedelta(minutes=10), now=NOW)
    await links.redeem_link("discord:2", "LINK42", now=NOW)
    assert (await languages.languages_of("discord:2")).chosen == "es"
    await languages.set_language("discord:2", "ru")
    assert (await languages.languages_of("telegram:1")).language == "ru"


async def test_nobody_yet_has_no_language_and_cannot_be_given_one(stores):
    _, languages, _ = stores
    assert await languages.languages_of("telegram:404") == LanguagePreference()
    with pytest.raises(UnknownIdentity):
        await languages.set_language("telegram:404", "es")
    await languages.saw_language("telegram:404", "es")  # nothing to remember it on
    assert await languages.languages_of("telegram:404") == LanguagePreference()


@pytest.mark.postgres
async def test_postgresql_keeps_the_language_on_the_person(postgres_url):
    async with Database(postgres_url) as db:
        ledger = SqlLedgerStore(db)
        await ledger.prepare()
        languages = SqlLanguageStore(db)
        await ledger.open_wallet("telegram:1", welcome=no_welcome, now=NOW)
        await languages.set_language("telegram:1", "ru")
        await languages.saw_language("telegram:1", "es")
        assert await languages.languages_of("telegram:1") == LanguagePreference(chosen="ru", seen="es")
        with pytest.raises(UnknownIdentity):
            await languages.set_language("telegram:404", "es")
