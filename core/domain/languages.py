"""A person's languages: the one they chose (/language) wins over the one their platform said
last; with neither, the caller's default (English)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguagePreference:
    chosen: str | None = None  # with /language
    seen: str | None = None  # what their platform said last

    @property
    def language(self) -> str | None:
        return self.chosen or self.seen
