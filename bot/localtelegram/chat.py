"""Private chats as the local Telegram keeps them: who is in them, every message as it is now."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.localtelegram.files import StoredFile
from bot.localtelegram.notify import Notifier
from bot.localtelegram.protocol import JSON


@dataclass(frozen=True, slots=True)
class Profile:
    """Who someone is, as Telegram shows them (a user or the bot)."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def as_user(self) -> JSON:
        """The Bot API User object."""
        user: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_private_chat(self) -> JSON:
        """The Bot API Chat object of this user's private chat with the bot."""
        chat: JSON = {"id": self.id, "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        chat["type"] = "private"
        return chat


@dataclass(frozen=True, slots=True)
class Version:
    """What a message showed before one of its edits."""

    text: str | None
    entities: list[JSON] | None
    caption: str | None
    caption_entities: list[JSON] | None
    reply_markup: JSON | None


@dataclass(eq=False, slots=True)
class ChatMessage:
    """One message in a chat, from the user or the bot, as it looks now."""

    message_id: int
    chat: Profile  # a private chat is described by the user in it
    sender: Profile
    date: int
    text: str | None = None
    entities: list[JSON] | None = None
    caption: str | None = None
    caption_entities: list[JSON] | None = None
    reply_markup: JSON | None = None  # only inline keyboards stay attached to a message
    attachment: StoredFile | None = None
    location: JSON | None = None
    reply_to: ChatMessage | None = None
    link_preview_options: JSON | None = None
    edit_date: int | None = None
    edits: list[Version] = field(default_factory=list)
    deleted: bool = False

    @property
    def from_bot(self) -> bool:
        """Whether the bot sent this message."""
        return self.sender.is_bot

    @property
    def inline_keyboard(self) -> list[list[JSON]]:
        """The inline keyboard's buttons as Bot API objects, row by row."""
        return self.reply_markup.get("inline_keyboard", []) if self.reply_markup else []

    @property
    def buttons(self) -> list[list[str]]:
        """The inline keyboard's button texts, row by row (empty without a keyboard)."""
        return [[button["text"] for button in row] for row in self.inline_keyboard]

    @property
    def button_data(self) -> list[list[str | None]]:
        """The callback_data of each inline button, laid out like `buttons`."""
        return [[button.get("callback_data") for button in row] for row in self.inline_keyboard]

    @property
    def photo(self) -> bytes | None:
        """The photo's bytes, if this is a photo message."""
        return self._file_content("photo")

    @property
    def document(self) -> bytes | None:
        """The document's bytes, if this is a document message."""
        return self._file_content("document")

    @property
    def file_name(self) -> str | None:
        """The name the attached file was uploaded with."""
        return self.attachment.file_name if self.attachment else None

    def version(self) -> Version:
        """What the message shows right now (the part an edit can change)."""
        return Version(
            self.text, self.entities, self.caption, self.caption_entities, self.reply_markup
        )

    def revise(self, new: Version, edit_date: int) -> None:
        """Apply an edit, keeping what the message showed before in `edits`."""
        self.edits.append(self.version())
        self.text, self.entities = new.text, new.entities
        self.caption, self.caption_entities = new.caption, new.caption_entities
        self.reply_markup = new.reply_markup
        self.edit_date = edit_date

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Bot API Message object, as Telegram sends it."""
        message: JSON = {
            "message_id": self.message_id,
            "from": self.sender.as_user(),
            "chat": self.chat.as_private_chat(),
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_to is not None and with_reply:
            message["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.attachment is not None:
            message[self.attachment.kind] = self.attachment.wire
        optional: dict[str, Any] = {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "location": self.location,
            "link_preview_options": self.link_preview_options,
            "reply_markup": self.reply_markup,
        }
        message.update((key, value) for key, value in optional.items() if value)
        return message

    def describe(self) -> str:
        """One line saying what the message shows, for transcripts and error messages."""
        if self.attachment is not None:
            body = f"[{self.attachment.kind} {self.attachment.file_name or ''}]".replace(" ]", "]")
            body += f" {self.caption}" if self.caption else ""
        elif self.location is not None:
            body = f"[location {self.location['latitude']}, {self.location['longitude']}]"
        else:
            body = self.text or ""
        for row in self.buttons:
            body += " " + " ".join(f"[{text}]" for text in row)
        if self.deleted:
            body += " (deleted)"
        elif self.edits:
            body += " (edited)"
        return body

    def _file_content(self, kind: str) -> bytes | None:
        if self.attachment is None or self.attachment.kind != kind:
            return None
        return self.attachment.content


@dataclass(eq=False, slots=True)
class Chat:
    """A user's private chat with the bot: its state and its messages in order."""

    user: Profile
    opened: bool = False  # the user has written to the bot, so the bot may write back
    blocked: bool = False
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    bot_messages: list[ChatMessage] = field(default_factory=list)
    keyboard: JSON | None = None  # the reply keyboard the user currently sees
    toasts: list[str] = field(default_factory=list)
    changed: Notifier = field(default_factory=Notifier)
    last_message_id: int = 0

    @property
    def id(self) -> int:
        """The chat id (in a private chat, the user's id)."""
        return self.user.id

    def next_message_id(self) -> int:
        """A new message id: user and bot messages share one increasing counter per chat."""
        self.last_message_id += 1
        return self.last_message_id

    def add(self, message: ChatMessage) -> None:
        """Keep a new message."""
        self.messages[message.message_id] = message
        if message.from_bot:
            self.bot_messages.append(message)

    def live_message(self, message_id: int | None) -> ChatMessage | None:
        """The message with this id, unless it never existed or was deleted."""
        message = self.messages.get(message_id) if message_id is not None else None
        return None if message is None or message.deleted else message

    def transcript(self, last: int = 12) -> str:
        """The chat's latest messages, one per line, marked 'bot:' or 'you:'."""
        recent = list(self.messages.values())[-last:]
        if not recent:
            return "  (the chat is empty)"
        return "\n".join(
            f"  {'bot' if message.from_bot else 'you'}: {message.describe()}" for message in recent
        )


@dataclass(frozen=True, slots=True)
class Event:
    """Something the user can see happen in a chat because of the bot.

    kind is "message" (new bot message), "edit", "delete" or "toast" (an answered button
    press; `text` holds the toast, which may be None for a silent answer).
    """

    kind: Literal["message", "edit", "delete", "toast"]
    chat_id: int
    message: ChatMessage | None
    text: str | None = None
    show_alert: bool = False
