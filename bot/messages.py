"""A message the bot sends, as plain data: text and rows of inline buttons."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data, at most 64 bytes


@dataclass(frozen=True)
class Screenful:
    """One message: text and rows of inline buttons."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    photo: bytes | None = None  # sent as a photo with `text` as its caption


@dataclass(frozen=True)
class Outcome:
    """What to do after a tap or a typed answer.

    `show` replaces the tapped message (or is sent after a typed answer); `toast` is the
    short notice on the tapped button; `after` are further messages to send.
    """

    show: Screenful | None = None
    toast: str | None = None
    after: tuple[Screenful, ...] = ()


def keyboard(screenful: Screenful) -> InlineKeyboardMarkup | None:
    """The screenful's buttons as a Telegram inline keyboard (None when it has none)."""
    if not screenful.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.label, callback_data=button.data) for button in row]
            for row in screenful.buttons
        ]
    )


def rows(buttons: list[Button], columns: int) -> list[tuple[Button, ...]]:
    """Buttons laid out `columns` to a row."""
    return [tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]
