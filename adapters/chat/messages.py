"""The neutral conversation: what a person asked (`Request`) and what the bot answers (`Reply`).

Every chat platform turns its events into a `Request` and a `Reply` into its own message:
Telegram into a message with an inline keyboard, Discord into an (ephemeral) interaction
response with a view, the console into printed lines with numbered choices. Nothing here knows
a platform; what differs between them is described by the platform's `Surface`.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from adapters.chat.actions import Action
from adapters.chat.catalogue import utc_text
from core.domain.identity import Identity
from core.services.server_wallets import Server
from core.services.wallets import Welcome


class PayBy(enum.StrEnum):
    """A way to pay for a pack: what a platform can take (`Surface.payment_methods`) and what a
    pack button carries (one letter each: buttons sent long ago keep working)."""

    STARS = "s"  # a Telegram Stars invoice
    CARD = "p"  # a Stripe Checkout link
    STORE = "d"  # the platform's own store (Discord's consumable SKUs, where set)


@dataclass(frozen=True)
class Surface:
    """What one platform can show and do; the conversation words its replies by it."""

    name: str  # the platform part of its identities, e.g. "telegram"
    payment_methods: tuple[PayBy, ...] = (PayBy.CARD,)
    command_attachments: bool = False  # a command can carry a file (else recordings come as messages)
    attach: Callable[[str], Attachment] | None = None  # a file named by text (a path), where that is how
    share_by_command: bool = False  # no share button or picker: sharing is said with /share
    max_file_bytes: int | None = None  # the largest recording the platform lets the bot download
    member_by_reply: bool = False  # a member is named by replying to their message (else an option)
    group_kind: str = "group"  # what the platform calls a group ("server" on Discord): `place.<kind>` words
    invite_link: Callable[[str], str] | None = None  # a link that opens the bot with a start payload
    spell: Callable[[str], str] = lambda command: f"/{command}"  # how a command is typed here
    when: Callable[[dt.datetime], str] = utc_text  # a moment in time, as this platform shows it

    def command(self, name: str) -> str:
        return self.spell(name)


async def _not_admin() -> bool:
    return False


@dataclass(frozen=True)
class Place:
    """Where a request was made. `check_admin` asks the platform whether the sender administers
    this group (Discord: Manage Server, as computed for the interaction; Telegram: a chat
    administrator, asked of Telegram now), never anything they typed; it is asked only by what
    needs it."""

    private: bool = True
    group_id: str | None = None
    check_admin: Callable[[], Awaitable[bool]] = _not_admin


@dataclass(frozen=True)
class Attachment:
    """A recording that came with a request; `read` downloads it (the platform refuses a file
    over its limit before anything is downloaded or held)."""

    name: str
    read: Callable[[], Awaitable[bytes]]
    size: int | None = None


@dataclass(frozen=True)
class Member:
    """Someone else a request names (who receives a gift)."""

    identity: Identity
    mention: str
    is_bot: bool = False


@dataclass(frozen=True)
class Request:
    identity: Identity
    surface: Surface
    request_id: str  # the platform's id of this event: a repeat of it does nothing twice
    place: Place = Place()
    locale: str | None = None
    args: Mapping[str, str] = field(default_factory=dict)  # named arguments, parsed from the words or options
    attachment: Attachment | None = None
    # The words of the message a press answers (a person's text under the "what shall I make of
    # it" picker), found by the platform like a picker's recording.
    quoted: str | None = None
    member: Member | None = None
    mention: str = ""  # how to mention the sender in a public message
    # Where the messages about a job started by this request go: opaque to the conversation,
    # stored with the job so it survives a restart.
    reply_to: Mapping[str, object] = field(default_factory=dict)
    # The person's wallet as the conversation found it first (`welcome_credits` > 0: their first
    # contact, just granted).
    greeting: Welcome | None = None

    def arg(self, name: str, default: str = "") -> str:
        return self.args.get(name, default)

    @property
    def platform(self) -> str:
        return self.surface.name

    @property
    def server(self) -> Server:
        """The group (server) asked in, as core names its wallet."""
        return Server(self.platform, self.place.group_id or "")


# --- what the bot answers --------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    label: str
    action: Action


@dataclass(frozen=True)
class LinkButton:
    label: str
    url: str


@dataclass(frozen=True)
class StoreButton:
    """Buy a pack in the platform's own store (Discord's premium button for the pack's SKU)."""

    label: str
    sku_id: str


@dataclass(frozen=True)
class ShareButton:
    """Share a delivered clip: the platform's share picker, or a post in the channel."""

    label: str
    job_id: str
    action: Action  # what a press does where sharing is a button


@dataclass(frozen=True)
class Menu:
    """A pick-one list (a select menu where the platform has one, else a row of buttons)."""

    placeholder: str
    options: tuple[Button, ...]


Control = Button | LinkButton | ShareButton | Menu | StoreButton


@dataclass(frozen=True)
class Invoice:
    """A Telegram Stars invoice for an order (the platform sends it as an invoice message)."""

    title: str
    description: str
    payload: str
    currency: str
    amount: int


@dataclass(frozen=True)
class Reply:
    """One answer. `rows` are rows of controls; `private`: only the asker may see it (their
    private chat when asked in a group); `public`: for everyone in the channel where platforms
    answer commands discreetly by default (Discord's ephemeral replies); `note` is a short
    acknowledgement of a button press (a toast; `alert` makes it a pop-up) rather than a message;
    `dismiss` takes the buttons off the message that was pressed; `edit` replaces the message that
    was pressed."""

    text: str = ""
    rows: tuple[tuple[Control, ...], ...] = ()
    private: bool = False
    public: bool = False
    note: bool = False
    alert: bool = False
    dismiss: bool = False
    edit: bool = False
    invoice: Invoice | None = None
    publish: str | None = None  # also post the pressed message's clip for everyone, with this text

    @property
    def controls(self) -> tuple[Control, ...]:
        return tuple(control for row in self.rows for control in row)


SILENT = Reply()  # a button press acknowledged, nothing to say


def joined(*parts: str | None, sep: str = "\n") -> str:
    return sep.join(part for part in parts if part)
