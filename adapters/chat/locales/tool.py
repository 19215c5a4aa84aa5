"""Keeping the translations in step with the English: `python -m bot locales update` (extract
with Babel, merge into every `.po`), `init <language>` (a new `.po`), `check` (what each
language lacks or gets wrong). The tests run the same checks."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po, write_po

from adapters.chat.locales import DIRECTORY, DOMAIN, languages, po_path
from adapters.chat.locales.extract import extract_english

ROOT = DIRECTORY.parents[2]
SOURCE = DIRECTORY.parent / "catalogue.py"
TEMPLATE = DIRECTORY / f"{DOMAIN}.pot"
PROJECT = "musicgen-credit-bot"


def template() -> Catalog:
    """The English messages, as Babel extracts them from the catalogue."""
    catalog = Catalog(project=PROJECT, fuzzy=False)
    where = str(SOURCE.relative_to(ROOT))
    for line, message, comments, context in extract_from_file(extract_english, str(SOURCE)):
        catalog.add(message, None, [(where, line)], auto_comments=comments, context=context)
    return catalog


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as handle:
        return read_po(handle, locale=language)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True, ignore_obsolete=True, include_previous=True)


def update() -> list[str]:
    """The template written, and merged into every language's `.po`; what each still lacks."""
    english = template()
    write(english, TEMPLATE)
    report = []
    for language in languages()[1:]:
        catalog = read(language)
        catalog.update(english)
        write(catalog, po_path(language))
        report.append(f"{language}: {len(list(missing(language)))} to translate")
    return report


def init(language: str) -> Path:
    """A new language's `.po`, every message still to translate."""
    catalog = Catalog(locale=language, project=PROJECT, fuzzy=False)
    for message in template():
        if message.id:
            catalog.add(
                message.id, None, message.locations, auto_comments=message.auto_comments, context=message.context
            )
    write(catalog, po_path(language))
    return po_path(language)


def _fields(text: str) -> frozenset[str]:
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field)


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return not message.fuzzy and all(strings)


def missing(language: str) -> Iterator[str]:
    """The keys the language has no (reviewed) translation for."""
    catalog = read(language)
    for message in template():
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        if found is None or not _translated(found):
            yield str(message.context)


def problems(language: str) -> Iterator[str]:
    """Translations whose placeholders differ from the English, plural entries without the
    language's number of forms, and a Plural-Forms header that is not the language's."""
    catalog = read(language)
    expected = get_plural(language)
    if catalog.num_plurals != expected.num_plurals or catalog.plural_expr != expected.plural_expr:
        yield f"{language}: Plural-Forms should be {expected.plural_forms}"
    for message in catalog:
        if not message.id or not _translated(message):
            continue
        english = message.id if isinstance(message.id, tuple | list) else (message.id,)
        wanted = frozenset().union(*(_fields(text) for text in english))
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if isinstance(message.id, tuple | list) and len(strings) != expected.num_plurals:
            yield f"{language} {message.context}: {len(strings)} plural forms, {expected.num_plurals} wanted"
        for text in strings:
            try:
                found = _fields(text)
            except ValueError as error:
                yield f"{language} {message.context}: {error}"
                continue
            if found != wanted:
                yield f"{language} {message.context}: placeholders {sorted(found)} instead of {sorted(wanted)}"


def check() -> list[str]:
    """Everything each language lacks or gets wrong (nothing: all complete)."""
    found: list[str] = []
    for language in languages()[1:]:
        found += [f"{language} {key}: not translated (or fuzzy: the English changed)" for key in missing(language)]
        found += list(problems(language))
    return found
