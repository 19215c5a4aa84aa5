"""A reply's controls as a Discord view, and the persistent items that answer them.

Every button's `custom_id` is the action it carries (`adapters.chat.actions`), so one
`DynamicItem` class, registered at start-up, answers every button, now and after a restart; a
menu is a select whose options' values are actions. discord.py only logs what a dynamic item
raises, so each callback hands the press to the platform, which answers every outcome."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import discord
from discord import ui

from adapters.chat.actions import Verb
from adapters.chat.messages import Control, LinkButton, Menu, ShareButton, StoreButton

Interaction = discord.Interaction[discord.Client]
Item = ui.Item[ui.View]
Press = Callable[[Interaction, str], Awaitable[None]]
MAX_ROWS, MAX_PER_ROW, MAX_LABEL = 5, 5, 80
STYLES = {
    Verb.CANCEL: discord.ButtonStyle.danger,
    Verb.AGAIN: discord.ButtonStyle.primary,
    Verb.BUY: discord.ButtonStyle.primary,
    Verb.GROUP_BUY: discord.ButtonStyle.primary,
    Verb.SHARE: discord.ButtonStyle.success,
}


def persistent_items(
    press: Press,
) -> tuple[type[ui.DynamicItem[ui.Button[ui.View]]] | type[ui.DynamicItem[ui.Select[ui.View]]], ...]:
    """The items that answer every button and menu this bot ever sent (registered at start-up)."""

    class ActionButton(ui.DynamicItem[ui.Button[ui.View]], template=r"(?P<data>[a-z]:[A-Za-z0-9_.:\-]{0,98})"):
        def __init__(self, data: str) -> None:
            super().__init__(ui.Button(custom_id=data))
            self.data = data

        @classmethod
        async def from_custom_id(
            cls, interaction: Interaction, item: ui.Item[ui.View], match: re.Match[str], /
        ) -> ActionButton:
            return cls(match["data"])

        async def callback(self, interaction: Interaction) -> None:
            await press(interaction, self.data)

    class ActionMenu(ui.DynamicItem[ui.Select[ui.View]], template=r"menu:(?P<key>[A-Za-z0-9_.:\-]{1,90})"):
        """A pick-one list; the chosen option's value is the action it carries."""

        def __init__(self, key: str, options: list[discord.SelectOption]) -> None:
            super().__init__(ui.Select(custom_id=f"menu:{key}", options=options))

        @classmethod
        async def from_custom_id(
            cls, interaction: Interaction, item: ui.Item[ui.View], match: re.Match[str], /
        ) -> ActionMenu:
            options = list(item.options) if isinstance(item, ui.Select) else []
            return cls(match["key"], options)  # what the message showed

        async def callback(self, interaction: Interaction) -> None:
            values = self.item.values
            await press(interaction, values[0] if values else "")

    class LegacyButton(ActionButton, template=r"(?P<data>(?:gen|buy|offer|rec):[A-Za-z0-9_.:\-]{1,95})"):
        """Buttons sent before actions were one string for every platform (`gen:again:<job>`)."""

        async def callback(self, interaction: Interaction) -> None:
            await press(interaction, legacy_action(self.data, str(interaction.user.id)))

    return (ActionButton, ActionMenu, LegacyButton)


_LEGACY = {"gen:cancel": "c", "gen:again": "a", "gen:styles": "o", "gen:longer": "l", "gen:share": "x"}


def legacy_action(data: str, presser: str) -> str:
    """An old `custom_id` as the action it meant (its presser is its owner: those buttons were
    only ever shown to them). Unknown ones stay as they are, and are answered as stale."""
    parts = data.split(":")
    head = ":".join(parts[:2])
    if head in _LEGACY:
        return ":".join([_LEGACY[head], presser, *parts[2:]])
    if parts[0] == "buy" and len(parts) == 2:
        return f"b:{presser}:p:{parts[1]}"
    if head in ("offer:free", "offer:support"):
        return f"{'f' if parts[1] == 'free' else 'h'}:{presser}"
    if parts[0] == "rec" and len(parts) == 4:
        return f"g:{parts[2]}:{parts[3]}:{parts[1]}"
    return data


def view_of(rows: tuple[tuple[Control, ...], ...], *, share: bool = True) -> discord.ui.View | None:
    """The controls as a view, stopped before it is sent so discord.py keeps nothing in memory:
    the registered dynamic items answer the presses. `share=False` leaves Share out (a clip can
    be posted to a channel only from a server)."""
    fits = len(rows) <= MAX_ROWS and all(len(row) <= MAX_PER_ROW for row in rows)
    items: list[ui.Item[ui.View]] = []
    for index, row in enumerate(rows):
        for control in row:
            item = _item(control, index if fits else None, share)
            if item is not None:
                items.append(item)
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items[: MAX_ROWS * MAX_PER_ROW]:
        view.add_item(item)
    view.stop()
    return view


def _item(control: Control, row: int | None, share: bool) -> ui.Item[ui.View] | None:
    if isinstance(control, LinkButton):
        return ui.Button(label=control.label[:MAX_LABEL], url=control.url, row=row)
    if isinstance(control, StoreButton):
        # A premium button: Discord draws it from the SKU (no label of ours).
        return ui.Button(sku_id=int(control.sku_id), row=row)
    if isinstance(control, Menu):
        options = [discord.SelectOption(label=o.label[:100], value=o.action.encode()) for o in control.options[:25]]
        key = options[0].value[:90] if options else "none"
        return ui.Select(custom_id=f"menu:{key}", options=options, placeholder=control.placeholder or None, row=row)
    if isinstance(control, ShareButton) and not share:
        return None
    style = STYLES.get(control.action.verb, discord.ButtonStyle.secondary)
    return ui.Button(label=control.label[:MAX_LABEL] or "…", custom_id=control.action.encode(), style=style, row=row)
