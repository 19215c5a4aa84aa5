"""The translations of the catalogue: one gettext `.po` file per language under
`<language>/LC_MESSAGES/messages.po`, read directly when the bot starts (no compile step; a
fuzzy or empty entry counts as missing). English is the catalogue itself (`ENGLISH` in
`adapters/chat/catalogue.py`); every entry's `msgctxt` is its key and its `msgid` the English
text, so a changed English text makes the old translation fuzzy until a translator looks at it.

`python -m bot locales update` extracts the English (Babel, with the extractor in `extract.py`)
into `messages.pot` and merges it into every `.po`; `python -m bot locales check` lists what a
language still lacks.
"""

from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

logger = logging.getLogger(__name__)

DIRECTORY = Path(__file__).parent
DOMAIN = "messages"
DEFAULT = "en"


def po_path(language: str) -> Path:
    return DIRECTORY / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> tuple[str, ...]:
    """English, then every language with a `.po` file."""
    found = sorted(p.parent.parent.name for p in DIRECTORY.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (DEFAULT, *(language for language in found if language != DEFAULT))


class English(gettext.NullTranslations):
    """What a language lacks is said in English, and logged once per language and key."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.missing: set[str] = set()

    def _note(self, key: str) -> None:
        if self.language != DEFAULT and key not in self.missing:
            self.missing.add(key)
            logger.warning("no %s translation for %s: English is used", self.language, key)

    def pgettext(self, context: str, message: str) -> str:
        self._note(context)
        return message

    def npgettext(self, context: str, msgid1: str, msgid2: str, n: int) -> str:
        self._note(context)
        return msgid1 if n == 1 else msgid2


def load(language: str) -> gettext.NullTranslations:
    """The language's translations, English where it lacks one."""
    english = English(language)
    if language == DEFAULT:
        return english
    with po_path(language).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # leaves out fuzzy and empty entries
    compiled.seek(0)
    found = gettext.GNUTranslations(compiled)
    found.add_fallback(english)
    return found


translations = functools.lru_cache(maxsize=None)(load)  # each language read once per process
