"""The user side: a person in a private chat with the bot, who writes, taps buttons and reads.

Tests and the console act through a `LocalUser`: what it sends becomes updates the bot
fetches with getUpdates (or receives on its webhook); what the bot sends is read back as
`ChatMessage` objects that always show the message as it is now (edits included).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.localtelegram.chat import Chat, ChatMessage
from bot.localtelegram.formatting import utf16_len
from bot.localtelegram.protocol import JSON

if TYPE_CHECKING:
    from bot.localtelegram.server import LocalTelegram


class LocalUser:
    """One user chatting with the bot. Get one with `LocalTelegram.user()`."""

    def __init__(self, telegram: LocalTelegram, chat: Chat) -> None:
        self._telegram = telegram
        self.chat = chat
        self._cursor = 0  # how many bot messages next_reply() has handed out

    def __repr__(self) -> str:
        return f"LocalUser({self.id}, {self.chat.user.first_name!r})"

    @property
    def id(self) -> int:
        """The user's id, which is also the id of their private chat with the bot."""
        return self.chat.id

    # ---- what the user sees ----

    @property
    def messages(self) -> list[ChatMessage]:
        """Every message the bot sent to this chat, in order, each as it looks now."""
        return list(self.chat.bot_messages)

    @property
    def last(self) -> ChatMessage:
        """The bot's latest message in this chat; LookupError if there is none."""
        if not self.chat.bot_messages:
            raise LookupError(f"the bot has not written to {self!r} yet")
        return self.chat.bot_messages[-1]

    @property
    def toasts(self) -> list[str]:
        """The texts the bot showed this user when answering button presses."""
        return list(self.chat.toasts)

    @property
    def keyboard(self) -> list[list[str]] | None:
        """The reply keyboard shown under the input field (button texts by row), if any."""
        if self.chat.keyboard is None:
            return None
        return [
            [button if isinstance(button, str) else button["text"] for button in row]
            for row in self.chat.keyboard["keyboard"]
        ]

    @property
    def blocked(self) -> bool:
        """Whether the user has blocked the bot."""
        return self.chat.blocked

    # ---- what the user does ----

    def open_chat(self) -> None:
        """Let the bot write here without an update first, as if the user started it long ago."""
        self.chat.opened = True

    async def send(self, text: str) -> JSON:
        """Write a text message to the bot; returns the update the bot will receive.

        A text starting with '/' is a command and carries a bot_command entity, as in Telegram.
        """
        if not text.strip():
            raise ValueError("Telegram does not let users send empty messages")
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        if self.chat.keyboard is not None and self.chat.keyboard.get("one_time_keyboard"):
            self.chat.keyboard = None
        return self._write(content)

    async def share_location(self, latitude: float, longitude: float) -> JSON:
        """Send a location to the bot; returns the update the bot will receive."""
        return self._write({"location": {"latitude": latitude, "longitude": longitude}})

    async def press(
        self,
        button: str | None = None,
        *,
        callback_data: str | None = None,
        message: ChatMessage | None = None,
    ) -> JSON:
        """Tap an inline button by its text (or its callback_data); returns the update.

        Looks at `message`, or else at the bot's messages newest first, and taps the first
        matching button on screen. LookupError, listing what is on screen, if there is none.
        """
        if (button is None) == (callback_data is None):
            raise TypeError("press() needs a button text or callback_data=, not both")
        target, data = self._find_button(button, callback_data, message)
        query = {
            "id": self._telegram.open_callback_query(self.chat, target),
            "from": self.chat.user.as_user(),
            "message": target.to_api(),
            "chat_instance": str(-(self.chat.id * 1_000_003 % 2**62)),
            "data": data,
        }
        return self._telegram.push_update("callback_query", query)

    async def tap(
        self,
        button: str | None = None,
        *,
        callback_data: str | None = None,
        message: ChatMessage | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline per call reads best in tests
    ) -> ChatMessage:
        """Press a button and wait until the bot has answered the press.

        Returns the pressed message as it is then (edited, if the bot edited it). Bots that
        answer the press last, after their edits and replies, make this a full round trip.
        """
        update = await self.press(button, callback_data=callback_data, message=message)
        query = update["callback_query"]
        await self.wait_for(
            lambda: self._telegram.is_answered(query["id"]),
            timeout,
            what=f"an answer to the press of {button or callback_data!r}",
        )
        pressed = query["message"]["message_id"]
        return next(m for m in reversed(self.chat.bot_messages) if m.message_id == pressed)

    def block(self) -> None:
        """Block the bot: sends to this chat now fail with 403, and the bot is told."""
        if not self.chat.blocked:
            self.chat.blocked = True
            self._push_member_status(old="member", new="kicked")

    def unblock(self) -> None:
        """Unblock the bot again (the bot is told, as in Telegram)."""
        if self.chat.blocked:
            self.chat.blocked = False
            self._push_member_status(old="kicked", new="member")

    # ---- waiting for the bot ----

    async def next_reply(self, timeout: float = 5.0) -> ChatMessage:  # noqa: ASYNC109
        """The next bot message this handle has not handed out yet, waiting up to `timeout`.

        TimeoutError, with a transcript of the chat, if none comes.
        """
        await self.wait_for(
            lambda: self._cursor < len(self.chat.bot_messages), timeout, what="a reply"
        )
        message = self.chat.bot_messages[self._cursor]
        self._cursor += 1
        return message

    async def replies(self, count: int, timeout: float = 5.0) -> list[ChatMessage]:  # noqa: ASYNC109
        """The next `count` bot messages (see next_reply), all within `timeout`."""
        await self.wait_for(
            lambda: self._cursor + count <= len(self.chat.bot_messages),
            timeout,
            what=f"{count} replies",
        )
        start, self._cursor = self._cursor, self._cursor + count
        return self.chat.bot_messages[start : self._cursor]

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline per call reads best in tests
        *,
        what: str = "the condition",
    ) -> None:
        """Wait until `predicate()` holds, rechecking whenever the bot changes this chat or
        the bot confirms one of this user's updates.

        TimeoutError, with a transcript of the chat, after `timeout` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{self!r} waited {timeout:g}s for {what}; the chat so far:\n"
                    f"{self.chat.transcript()}"
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self.chat.changed.wait()

    # ---- helpers ----

    def _write(self, content: dict[str, Any]) -> JSON:
        if self.chat.blocked:
            raise RuntimeError(f"{self!r} has blocked the bot; unblock() first")
        self.chat.opened = True
        message = ChatMessage(
            self.chat.next_message_id(),
            self.chat.user,
            self.chat.user,
            self._telegram.timestamp(),
            **content,
        )
        self.chat.add(message)
        return self._telegram.push_update("message", message.to_api())

    def _push_member_status(self, *, old: str, new: str) -> None:
        bot = self._telegram.bot.as_user()

        def member(status: str) -> JSON:
            banned_forever = {"until_date": 0} if status == "kicked" else {}
            return {"user": bot, "status": status, **banned_forever}

        self._telegram.push_update(
            "my_chat_member",
            {
                "chat": self.chat.user.as_private_chat(),
                "from": self.chat.user.as_user(),
                "date": self._telegram.timestamp(),
                "old_chat_member": member(old),
                "new_chat_member": member(new),
            },
        )

    def _find_button(
        self, text: str | None, callback_data: str | None, message: ChatMessage | None
    ) -> tuple[ChatMessage, str]:
        candidates = [message] if message is not None else reversed(self.chat.bot_messages)
        for candidate in candidates:
            if candidate.deleted:
                continue
            for row in candidate.inline_keyboard:
                for button in row:
                    if text is not None and button["text"] != text:
                        continue
                    if callback_data is not None and button.get("callback_data") != callback_data:
                        continue
                    if "callback_data" not in button:
                        raise LookupError(
                            f"button {button['text']!r} does not send a press to the bot "
                            f"(it has no callback_data): {button}"
                        )
                    return candidate, button["callback_data"]
        wanted = repr(text) if text is not None else f"with callback_data={callback_data!r}"
        raise LookupError(f"{self!r} sees no button {wanted}; {self._buttons_on_screen()}")

    def _buttons_on_screen(self) -> str:
        shown = [
            f"message {message.message_id}: "
            + " | ".join(" ".join(f"[{text}]" for text in row) for row in message.buttons)
            for message in reversed(self.chat.bot_messages)
            if message.buttons and not message.deleted
        ]
        if not shown:
            return "no message in the chat shows inline buttons"
        return "buttons on screen (newest first): " + "; ".join(shown[:5])
