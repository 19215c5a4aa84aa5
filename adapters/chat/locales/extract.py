"""Babel's extractor for the catalogue: every `ENGLISH` entry of `adapters/chat/catalogue.py`
becomes a message whose context (`msgctxt`) is its key and whose `msgid` is its English text;
a `Plural(one, other, count)` becomes a plural message (`npgettext`). It reads the source (no
import), so `pybabel extract -F babel.cfg` runs it too."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

CATALOGUE_NAME = "ENGLISH"

Extracted = tuple[int, str, tuple[str, ...], list[str]]


def extract_english(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[Extracted]:
    """(line, function, (key, English...), comments) for each entry, as Babel's `extract` wants."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == CATALOGUE_NAME for t in targets):
                yield from _entries(node.value)


def _entries(table: ast.Dict) -> Iterator[Extracted]:
    for key_node, value in zip(table.keys, table.values, strict=True):
        if key_node is None:
            continue
        key = ast.literal_eval(key_node)
        if isinstance(value, ast.Call):
            one, other, count = (ast.literal_eval(arg) for arg in [*value.args, *(k.value for k in value.keywords)])
            yield key_node.lineno, "npgettext", (key, one, other), [f"plural: the number is {{{count}}}"]
        elif text := ast.literal_eval(value):  # an empty message is nothing to translate
            yield key_node.lineno, "pgettext", (key, text), []
